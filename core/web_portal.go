package kinde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// portalTimeout bounds the Account API call of the portal route.
const portalTimeout = 10 * time.Second

// portalPages are the subnav values the portal route accepts: the enum of
// subnav in the Account API spec (GET /account_api/v1/portal_link), plus
// organization_members and organization_plan_details, which js-utils'
// PortalPage lists too (reference/kinde-protocol.md §1.2). Package account
// has the same list as its Portal… constants.
var portalPages = []string{
	"profile", "organization_details", "organization_payment_details", "organization_plan_selection",
	"payment_details", "plan_details", "plan_selection", "organization_members", "organization_plan_details",
}

// errPortalRefused is a portal_link reply of 401 or 403: Kinde did not
// accept the session's access token.
var errPortalRefused = errors.New("kinde: the Account API refused the access token")

// portal sends a signed-in user to Kinde's self-serve portal: it asks the
// Account API for a one-time portal link (GET /account_api/v1/portal_link)
// and redirects the browser to it. Query parameters: subnav (the portal's
// page, one of portalPages; Kinde chooses without it) and return_url (where
// the portal sends the user back: a path or URL on this site; the
// after-login path without it). Anything else in return_url is refused. An
// anonymous user signs in first and comes back to this route.
func (w *Web) portal(x Exchange) {
	q, err := url.ParseQuery(x.RawQuery())
	if err != nil || len(q["subnav"]) > 1 || len(q["return_url"]) > 1 {
		w.fail(x, http.StatusBadRequest, "Invalid portal link", "The portal link has a malformed query string.")
		return
	}
	subnav := q.Get("subnav")
	if subnav != "" && !slices.Contains(portalPages, subnav) {
		w.fail(x, http.StatusBadRequest, "Invalid portal link", "The subnav parameter is not a page of the account portal.")
		return
	}
	back := w.o.afterLogin
	if r := q.Get("return_url"); r != "" {
		p, ok := w.sameSitePath(x, r)
		if !ok {
			w.log.InfoContext(x.Context(), "kinde: refused a portal return URL that is not on this site", "return_url", truncate(r, 80))
			w.fail(x, http.StatusBadRequest, "Invalid portal link", "The return_url parameter must be a page of this site.")
			return
		}
		back = p
	}
	s := w.requestSession(x)
	if s == nil {
		// Sign in first, then come back here with the same (validated) page.
		v := url.Values{"return_url": {back}}
		if subnav != "" {
			v.Set("subnav", subnav)
		}
		w.redirectToKinde(x, flowState{ReturnTo: w.o.paths.Portal + "?" + v.Encode()}, w.authOpts(withSupportsReauth())...)
		return
	}
	link, err := w.portalLink(x.Context(), s, subnav, w.origin+back)
	switch {
	case err == nil:
		x.Redirect(http.StatusFound, link)
	case errors.Is(err, errPortalRefused):
		w.log.InfoContext(x.Context(), "kinde: the portal link was refused", "error", err)
		w.fail(x, http.StatusUnauthorized, "Please sign in again", "Kinde did not accept your session for the account portal. Sign in again and retry.")
	default:
		w.log.WarnContext(x.Context(), "kinde: cannot get a portal link", "error", err)
		w.fail(x, http.StatusBadGateway, "Account portal unavailable", "Kinde did not give a link to the account portal. Please try again in a moment.")
	}
}

// requestSession returns the session of x: the one the session middleware
// of w loaded, or else one loaded now (nil when anonymous).
func (w *Web) requestSession(x Exchange) *Session {
	if st := stateFrom(x.Context()); st != nil && st.web == w {
		return st.session
	}
	return w.load(x)
}

// portalLink calls GET /account_api/v1/portal_link with the session's
// access token and returns the url of the reply, which must be an absolute
// https URL (http only on loopback hosts). The request and the reply follow
// the Account API spec (specs/kinde-account-api.yaml, GetPortalLink: query
// subnav and return_url, reply {"url": …}, 403 for invalid credentials, 429
// when throttled).
func (w *Web) portalLink(ctx context.Context, s *Session, subnav, returnURL string) (string, error) {
	q := url.Values{"return_url": {returnURL}}
	if subnav != "" {
		q.Set("subnav", subnav)
	}
	endpoint := strings.TrimRight(w.c.Issuer(), "/") + "/account_api/v1/portal_link?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, portalTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", fmt.Errorf("kinde: build the portal_link request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Kinde-SDK", w.c.cfg.UserAgent)
	req.Header.Set("Authorization", "Bearer "+s.AccessToken())
	resp, err := w.c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("kinde: GET /account_api/v1/portal_link: %w (%w)", err, ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return "", fmt.Errorf("kinde: read the portal_link reply: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", fmt.Errorf("%w: GET /account_api/v1/portal_link answered %d", errPortalRefused, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("kinde: GET /account_api/v1/portal_link answered %d: %s", resp.StatusCode, truncate(string(body), 200))
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("kinde: the portal_link reply is not the expected JSON: %w", err)
	}
	if !portalURLOK(out.URL) {
		return "", fmt.Errorf("kinde: the portal_link reply's url %q is not an absolute https URL; refusing to redirect to it", truncate(out.URL, 120))
	}
	return out.URL, nil
}

// portalURLOK reports whether raw is an absolute https URL, or http on a
// loopback host (a local emulator).
func portalURLOK(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		if strings.EqualFold(h, "localhost") {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}
