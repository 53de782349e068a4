package account

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// PortalPage is the page of Kinde's self-serve portal a user lands on (the
// subnav parameter of GET /account_api/v1/portal_link).
type PortalPage string

// Self-serve portal pages: the Account API spec's subnav values plus the
// pages js-utils' PortalPage lists (organization_members,
// organization_plan_details).
const (
	PortalProfile                    PortalPage = "profile"
	PortalOrganizationDetails        PortalPage = "organization_details"
	PortalOrganizationMembers        PortalPage = "organization_members"
	PortalOrganizationPlanDetails    PortalPage = "organization_plan_details"
	PortalOrganizationPaymentDetails PortalPage = "organization_payment_details"
	PortalOrganizationPlanSelection  PortalPage = "organization_plan_selection"
	PortalPaymentDetails             PortalPage = "payment_details"
	PortalPlanDetails                PortalPage = "plan_details"
	PortalPlanSelection              PortalPage = "plan_selection"
)

func (p PortalPage) valid() bool {
	switch p {
	case PortalProfile, PortalOrganizationDetails, PortalOrganizationMembers, PortalOrganizationPlanDetails,
		PortalOrganizationPaymentDetails, PortalOrganizationPlanSelection, PortalPaymentDetails,
		PortalPlanDetails, PortalPlanSelection:
		return true
	}
	return false
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// webURL reports whether raw is an absolute https URL with a host, or http
// on a loopback host.
func webURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return nil, false
	}
	switch u.Scheme {
	case "https":
		return u, true
	case "http":
		return u, isLoopbackHost(u.Hostname())
	}
	return nil, false
}

// PortalURL returns a one-time link to Kinde's self-serve portal, opened at
// page ("" lets Kinde choose), which sends the user back to returnURL;
// redirect the browser to it. The returnURL must be an absolute https URL
// (http only on loopback hosts) and is checked before Kinde is called. A
// reply whose url is missing, relative or not https is refused.
func (c *Client) PortalURL(ctx context.Context, returnURL string, page PortalPage) (string, error) {
	if _, ok := webURL(returnURL); !ok {
		if u, err := url.Parse(returnURL); err == nil && u.Scheme == "http" && u.Host != "" {
			return "", fmt.Errorf("account: PortalURL: return URL %q uses plain http, which is allowed only for loopback hosts: use https", returnURL)
		}
		return "", fmt.Errorf("account: PortalURL: return URL %q must be an absolute https URL, for example https://app.example.com/account", returnURL)
	}
	if page != "" && !page.valid() {
		return "", fmt.Errorf("account: PortalURL: unknown portal page %q: use one of the account.Portal… constants", page)
	}
	q := url.Values{"return_url": {returnURL}}
	if page != "" {
		q.Set("subnav", string(page))
	}
	var out struct {
		URL *string `json:"url"`
	}
	if err := c.get(ctx, "portal_link", q, &out); err != nil {
		return "", err
	}
	if out.URL == nil || *out.URL == "" {
		return "", fmt.Errorf("account: GET /account_api/v1/portal_link: the reply has no url")
	}
	if _, ok := webURL(*out.URL); !ok {
		return "", fmt.Errorf("account: GET /account_api/v1/portal_link: the reply's url %q is not an absolute https URL; refusing to redirect to it", clip(*out.URL, 200))
	}
	return *out.URL, nil
}
