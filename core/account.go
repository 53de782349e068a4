package kinde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Account API errors. An *AccountAPIError matches ErrUnauthenticated (HTTP
// 401), ErrForbidden (403) and ErrRateLimited (429) with errors.Is.
var (
	// ErrUnauthenticated means Kinde did not accept the access token (HTTP
	// 401): it is missing, expired or revoked. Refresh the session or sign in again.
	ErrUnauthenticated = errors.New("kinde: not authenticated")
	// ErrForbidden means Kinde refused the call for this token (HTTP 403).
	ErrForbidden = errors.New("kinde: forbidden")
	// ErrEntitlementNotFound means the organization has no entitlement with that feature key.
	ErrEntitlementNotFound = errors.New("kinde: entitlement not found")
	// ErrProfileSubject means the user profile Kinde returned is not the
	// session's user (its sub differs from the ID token's sub).
	ErrProfileSubject = errors.New("kinde: user profile sub does not match the signed-in user")
)

// AccountAPIError is an error reply from the Account API or another endpoint
// called with the user's access token (user profile, introspection).
type AccountAPIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code and Message come from Kinde's error body, e.g. "TOO_MANY_REQUESTS".
	Code    string
	Message string
	// RetryAfter is how long to wait before retrying (from RateLimit-Reset
	// or Retry-After); zero when Kinde did not say.
	RetryAfter time.Duration
	// Endpoint is the method and path called, e.g. "GET /account_api/v1/roles".
	Endpoint string
}

// Error describes the reply and what to do about it.
func (e *AccountAPIError) Error() string {
	var b strings.Builder
	b.WriteString("kinde: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		b.WriteString(" (the access token is missing, expired or revoked: refresh the session or sign in again)")
	case e.StatusCode == http.StatusForbidden:
		b.WriteString(" (Kinde refused this access token: check that it is a user token of this Kinde domain and that the feature is enabled for the application)")
	case e.StatusCode == http.StatusTooManyRequests && e.RetryAfter > 0:
		fmt.Fprintf(&b, " (rate limited: retry in %s)", e.RetryAfter)
	case e.StatusCode == http.StatusTooManyRequests:
		b.WriteString(" (rate limited: retry later with backoff)")
	case e.StatusCode >= 500:
		b.WriteString(" (Kinde is unavailable: retry later)")
	}
	return b.String()
}

// Is lets errors.Is match ErrUnauthenticated, ErrForbidden and ErrRateLimited.
func (e *AccountAPIError) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// AccountOption changes an Account API listing.
type AccountOption func(*accountParams)

type accountParams struct{ pageSize int }

// DefaultAccountPageSize is the page size the Account API listings request
// unless WithPageSize says otherwise.
const DefaultAccountPageSize = 100

// WithPageSize sets how many items each Account API request asks for
// (Kinde accepts 1 to 500). Every page is still read.
func WithPageSize(n int) AccountOption { return func(p *accountParams) { p.pageSize = n } }

func accountOpts(opts []AccountOption) accountParams {
	p := accountParams{pageSize: DefaultAccountPageSize}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// accountBase is the base URL of the Account API: the verified issuer of
// the access token, which equals the configured issuer.
func (s *Session) accountBase() string {
	if a := s.AccessClaims(); a != nil && a.Issuer != "" {
		return a.Issuer
	}
	return s.c.Issuer()
}

// callAPI sends a request authenticated with bearer and decodes a JSON
// reply into out. Non-2xx replies become *AccountAPIError.
func (c *Client) callAPI(ctx context.Context, method, endpoint, bearer string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return fmt.Errorf("kinde: build request to %s: %w", endpoint, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Kinde-SDK", c.cfg.UserAgent)
	req.Header.Set("Authorization", "Bearer "+bearer)
	name := method + " " + req.URL.Path
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("kinde: %s failed: %w", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("kinde: read reply of %s: %w", name, err)
	}
	c.debug(ctx, "api reply", "endpoint", name, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(name, resp, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("kinde: reply of %s is not the expected JSON (check that KINDE_DOMAIN points at your Kinde domain): %w", name, err)
	}
	return nil
}

// apiError decodes the error shapes Kinde uses: {"errors":[{code,message}]},
// {"errors":{code,message}} and OAuth's {error, error_description}.
func apiError(name string, resp *http.Response, body []byte) *AccountAPIError {
	e := &AccountAPIError{StatusCode: resp.StatusCode, Endpoint: name, RetryAfter: retryAfter(resp.Header)}
	var shape struct {
		Errors      json.RawMessage `json:"errors"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &shape) != nil {
		return e
	}
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var list []item
	var one item
	switch {
	case json.Unmarshal(shape.Errors, &list) == nil && len(list) > 0:
		e.Code, e.Message = list[0].Code, list[0].Message
	case json.Unmarshal(shape.Errors, &one) == nil && one.Code != "":
		e.Code, e.Message = one.Code, one.Message
	case shape.Error != "":
		e.Code, e.Message = shape.Error, shape.Description
	}
	return e
}

// retryAfter reads RateLimit-Reset (seconds), else Retry-After (seconds or
// an HTTP date).
func retryAfter(h http.Header) time.Duration {
	for _, name := range []string{"RateLimit-Reset", "Retry-After"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n < 1e7 {
			return time.Duration(n * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
		}
	}
	return 0
}

// accountGet calls GET /account_api/v1/<route>.
func (s *Session) accountGet(ctx context.Context, route string, q url.Values, out any) error {
	endpoint := s.accountBase() + "/account_api/v1/" + route
	if len(q) > 0 {
		endpoint += "?" + q.Encode()
	}
	return s.c.callAPI(ctx, http.MethodGet, endpoint, s.AccessToken(), nil, out)
}

type pageMeta struct {
	HasMore bool   `json:"has_more"`
	Next    string `json:"next_page_starting_after"`
}

type accountPage[D any] struct {
	Data     D        `json:"data"`
	Metadata pageMeta `json:"metadata"`
}

// maxAccountPages bounds a listing, in case a server keeps saying has_more.
const maxAccountPages = 10000

// paginate reads every page of route, handing each page's data to yield
// until yield returns false.
func paginate[D any](ctx context.Context, s *Session, route string, p accountParams, yield func(D) bool) error {
	after := ""
	seen := map[string]bool{}
	for range maxAccountPages {
		q := url.Values{}
		if p.pageSize > 0 {
			q.Set("page_size", strconv.Itoa(p.pageSize))
		}
		if after != "" {
			q.Set("starting_after", after)
		}
		var page accountPage[D]
		if err := s.accountGet(ctx, route, q, &page); err != nil {
			return err
		}
		if !yield(page.Data) || !page.Metadata.HasMore {
			return nil
		}
		next := page.Metadata.Next
		if next == "" || seen[next] {
			return fmt.Errorf("kinde: GET /account_api/v1/%s: Kinde reported more pages without a new next_page_starting_after", route)
		}
		seen[next] = true
		after = next
	}
	return fmt.Errorf("kinde: GET /account_api/v1/%s: more than %d pages; stopped", route, maxAccountPages)
}

// --- entitlements ---

// Entitlement is a billing entitlement of the user's organization.
type Entitlement struct {
	ID          string `json:"id"`
	FixedCharge *int64 `json:"fixed_charge"`
	PriceName   string `json:"price_name"`
	UnitAmount  *int64 `json:"unit_amount"`
	FeatureKey  string `json:"feature_key"`
	FeatureName string `json:"feature_name"`
	// LimitMax and LimitMin are the entitled units; nil means no limit.
	LimitMax *int64 `json:"entitlement_limit_max"`
	LimitMin *int64 `json:"entitlement_limit_min"`
}

// Plan is a billing plan the organization subscribes to.
type Plan struct {
	Key          string    `json:"key"`
	Name         string    `json:"name"`
	SubscribedOn time.Time `json:"subscribed_on"`
}

// EntitlementsResult is the whole entitlements listing of an organization.
type EntitlementsResult struct {
	OrgCode      string
	Plans        []Plan
	Entitlements []Entitlement
}

type entitlementsData struct {
	OrgCode      string        `json:"org_code"`
	Plans        []Plan        `json:"plans"`
	Entitlements []Entitlement `json:"entitlements"`
}

// Entitlements lists the entitlements of the user's organization from the
// Account API, reading every page (see WithPageSize) as the loop asks for
// more. An error is yielded once, last.
//
//	for e, err := range sess.Entitlements(ctx) {
//		if err != nil { return err }
//		fmt.Println(e.FeatureKey)
//	}
func (s *Session) Entitlements(ctx context.Context, opts ...AccountOption) iter.Seq2[Entitlement, error] {
	p := accountOpts(opts)
	return func(yield func(Entitlement, error) bool) {
		more := true
		err := paginate(ctx, s, "entitlements", p, func(d entitlementsData) bool {
			for _, e := range d.Entitlements {
				if more = yield(e, nil); !more {
					return false
				}
			}
			return true
		})
		if err != nil && more {
			yield(Entitlement{}, err)
		}
	}
}

// AllEntitlements returns every entitlement of the user's organization with
// its plans and org code (the Ruby SDK's getAllEntitlements).
func (s *Session) AllEntitlements(ctx context.Context, opts ...AccountOption) (*EntitlementsResult, error) {
	res := &EntitlementsResult{Plans: []Plan{}, Entitlements: []Entitlement{}}
	plans := map[string]bool{}
	err := paginate(ctx, s, "entitlements", accountOpts(opts), func(d entitlementsData) bool {
		if res.OrgCode == "" {
			res.OrgCode = d.OrgCode
		}
		for _, pl := range d.Plans {
			if !plans[pl.Key] {
				plans[pl.Key] = true
				res.Plans = append(res.Plans, pl)
			}
		}
		res.Entitlements = append(res.Entitlements, d.Entitlements...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Entitlement returns the entitlement with the feature key of the user's
// organization. When there is none the error wraps ErrEntitlementNotFound.
func (s *Session) Entitlement(ctx context.Context, featureKey string) (*Entitlement, error) {
	if featureKey == "" {
		return nil, errors.New("kinde: Entitlement needs a feature key")
	}
	var page accountPage[struct {
		OrgCode     string       `json:"org_code"`
		Entitlement *Entitlement `json:"entitlement"`
	}]
	err := s.accountGet(ctx, "entitlement/"+url.PathEscape(featureKey), nil, &page)
	var apiErr *AccountAPIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("kinde: entitlement %q: %w (%w)", featureKey, ErrEntitlementNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	if page.Data.Entitlement == nil {
		return nil, fmt.Errorf("kinde: entitlement %q: %w", featureKey, ErrEntitlementNotFound)
	}
	return page.Data.Entitlement, nil
}

// HasEntitlements reports whether the organization has an entitlement for
// every one of the feature keys. With no keys it reports true without
// calling Kinde.
func (s *Session) HasEntitlements(ctx context.Context, featureKeys ...string) (bool, error) {
	return s.hasEntitlements(ctx, featureKeys, func(e Entitlement) string { return e.FeatureKey })
}

// HasBillingEntitlements reports whether the organization has an
// entitlement for every one of the price names. With no names it reports
// true without calling Kinde.
func (s *Session) HasBillingEntitlements(ctx context.Context, priceNames ...string) (bool, error) {
	return s.hasEntitlements(ctx, priceNames, func(e Entitlement) string { return e.PriceName })
}

func (s *Session) hasEntitlements(ctx context.Context, want []string, field func(Entitlement) string) (bool, error) {
	if len(want) == 0 {
		return true, nil
	}
	have := map[string]bool{}
	for e, err := range s.Entitlements(ctx) {
		if err != nil {
			return false, err
		}
		have[field(e)] = true
	}
	for _, w := range want {
		if !have[w] {
			return false, nil
		}
	}
	return true, nil
}

// EntitlementLimit returns the maximum units of the entitlement with the
// feature key; ok is false when the entitlement has no maximum. When there
// is no such entitlement the error wraps ErrEntitlementNotFound.
func (s *Session) EntitlementLimit(ctx context.Context, featureKey string) (limit int64, ok bool, err error) {
	e, err := s.Entitlement(ctx, featureKey)
	if err != nil {
		return 0, false, err
	}
	if e.LimitMax == nil {
		return 0, false, nil
	}
	return *e.LimitMax, true, nil
}

// --- permissions, roles, flags and properties from the API ---
//
// The token helpers (Permissions, Roles, Flags, UserProperties) read the
// claims, which are as fresh as the access token. The …FromAPI methods ask
// the Account API instead, which sees changes made since sign-in, at the cost
// of a request (or several, one per page).

type idKeyName struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// PermissionsFromAPI returns the user's permissions in their current
// organization from the Account API.
func (s *Session) PermissionsFromAPI(ctx context.Context, opts ...AccountOption) (Permissions, error) {
	out := Permissions{Keys: []string{}}
	err := paginate(ctx, s, "permissions", accountOpts(opts), func(d struct {
		OrgCode     string      `json:"org_code"`
		Permissions []idKeyName `json:"permissions"`
	}) bool {
		if out.OrgCode == "" {
			out.OrgCode = d.OrgCode
		}
		for _, p := range d.Permissions {
			if p.Key != "" {
				out.Keys = append(out.Keys, p.Key)
			}
		}
		return true
	})
	if err != nil {
		return Permissions{}, err
	}
	if out.OrgCode == "" {
		out.OrgCode = s.Organization().Code
	}
	return out, nil
}

// PermissionFromAPI asks the Account API whether the user holds the
// permission key.
func (s *Session) PermissionFromAPI(ctx context.Context, key string) (PermissionResult, error) {
	if key == "" {
		return PermissionResult{}, errors.New("kinde: PermissionFromAPI needs a permission key")
	}
	var page accountPage[struct {
		Key       string `json:"permission_key"`
		KeyCamel  string `json:"permissionKey"`
		Org       string `json:"org_code"`
		OrgCamel  string `json:"orgCode"`
		Granted   *bool  `json:"is_granted"`
		GrantedCm *bool  `json:"isGranted"`
	}]
	if err := s.accountGet(ctx, "permission/"+url.PathEscape(key), nil, &page); err != nil {
		return PermissionResult{}, err
	}
	d := page.Data
	res := PermissionResult{Key: key, OrgCode: d.Org}
	if res.OrgCode == "" {
		res.OrgCode = d.OrgCamel
	}
	switch {
	case d.Granted != nil:
		res.Granted = *d.Granted
	case d.GrantedCm != nil:
		res.Granted = *d.GrantedCm
	}
	return res, nil
}

// RolesFromAPI returns the user's roles in their current organization from
// the Account API.
func (s *Session) RolesFromAPI(ctx context.Context, opts ...AccountOption) ([]Role, error) {
	out := []Role{}
	err := paginate(ctx, s, "roles", accountOpts(opts), func(d struct {
		Roles []idKeyName `json:"roles"`
	}) bool {
		for _, r := range d.Roles {
			out = append(out, Role(r))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FlagsFromAPI returns the user's feature flags from the Account API, by
// key. Entries of an unknown type are skipped.
func (s *Session) FlagsFromAPI(ctx context.Context, opts ...AccountOption) (map[string]FlagValue, error) {
	out := map[string]FlagValue{}
	err := paginate(ctx, s, "feature_flags", accountOpts(opts), func(d struct {
		Flags []struct {
			Key   string          `json:"key"`
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"feature_flags"`
	}) bool {
		for _, f := range d.Flags {
			if fv, ok := parseFlag(f.Key, f.Type, f.Value); ok && f.Key != "" {
				out[f.Key] = fv
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PropertiesFromAPI returns the user's properties from the Account API, by
// key, with values as in UserProperties.
func (s *Session) PropertiesFromAPI(ctx context.Context, opts ...AccountOption) (map[string]any, error) {
	out := map[string]any{}
	err := paginate(ctx, s, "properties", accountOpts(opts), func(d struct {
		Properties []struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	}) bool {
		for _, p := range d.Properties {
			if p.Key == "" {
				continue
			}
			v, err := decodeJSONValue(p.Value)
			if err != nil {
				v = nil
			}
			out[p.Key] = v
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// --- self-serve portal ---

// PortalPage is the page of Kinde's self-serve portal a user lands on.
type PortalPage string

// Self-serve portal pages.
const (
	PortalProfile                    PortalPage = "profile"
	PortalOrganizationDetails        PortalPage = "organization_details"
	PortalOrganizationMembers        PortalPage = "organization_members"
	PortalOrganizationPaymentDetails PortalPage = "organization_payment_details"
	PortalOrganizationPlanSelection  PortalPage = "organization_plan_selection"
	PortalPaymentDetails             PortalPage = "payment_details"
	PortalPlanDetails                PortalPage = "plan_details"
	PortalPlanSelection              PortalPage = "plan_selection"
)

func (p PortalPage) valid() bool {
	switch p {
	case PortalProfile, PortalOrganizationDetails, PortalOrganizationMembers, PortalOrganizationPaymentDetails,
		PortalOrganizationPlanSelection, PortalPaymentDetails, PortalPlanDetails, PortalPlanSelection:
		return true
	}
	return false
}

// PortalURL returns a one-time link to Kinde's self-serve portal, opened at
// page ("" lets Kinde choose), which sends the user back to returnURL. The
// returnURL must be an absolute https URL (http only on loopback hosts);
// it is checked before Kinde is called.
func (s *Session) PortalURL(ctx context.Context, returnURL string, page PortalPage) (string, error) {
	u, err := url.Parse(returnURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("kinde: PortalURL: return URL %q must be absolute, for example https://app.example.com/account", returnURL)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("kinde: PortalURL: return URL %q uses plain http, which is allowed only for loopback hosts: use https", returnURL)
	}
	if page != "" && !page.valid() {
		return "", fmt.Errorf("kinde: PortalURL: unknown portal page %q: use one of the kinde.Portal… constants", page)
	}
	q := url.Values{"return_url": {returnURL}}
	if page != "" {
		q.Set("subnav", string(page))
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := s.accountGet(ctx, "portal_link", q, &out); err != nil {
		return "", err
	}
	if out.URL == "" {
		return "", errors.New("kinde: GET /account_api/v1/portal_link: the reply has no url")
	}
	return out.URL, nil
}

// --- user profile, introspection, revocation ---

// UserProfile is the user's profile from Kinde's user profile endpoint
// (/oauth2/v2/user_profile).
type UserProfile struct {
	ID            string
	ProvidedID    string
	Name          string
	GivenName     string
	FamilyName    string
	Email         string
	EmailVerified bool
	Picture       string
	Username      string // preferred_username
	UpdatedAt     time.Time
}

// Profile fetches the user's profile from Kinde with the access token. As
// OpenID Connect requires of a relying party, a profile whose sub differs
// from the ID token's sub (or, without an ID token, the access token's) is
// rejected with an error wrapping ErrProfileSubject.
func (s *Session) Profile(ctx context.Context) (*UserProfile, error) {
	var r struct {
		Sub           string          `json:"sub"`
		ID            string          `json:"id"`
		ProvidedID    *string         `json:"provided_id"`
		Name          string          `json:"name"`
		GivenName     string          `json:"given_name"`
		FamilyName    string          `json:"family_name"`
		Email         string          `json:"email"`
		EmailVerified bool            `json:"email_verified"`
		Picture       *string         `json:"picture"`
		Username      *string         `json:"preferred_username"`
		UpdatedAt     json.RawMessage `json:"updated_at"`
	}
	if err := s.c.callAPI(ctx, http.MethodGet, s.c.ep.profile, s.AccessToken(), nil, &r); err != nil {
		return nil, err
	}
	sub := r.Sub
	if sub == "" {
		sub = r.ID
	}
	want := s.UserID()
	if id := s.IDClaims(); id != nil {
		want = id.Subject
	}
	if sub != want {
		return nil, fmt.Errorf("kinde: user profile is for %q, the session is for %q: %w", truncate(sub, 64), want, ErrProfileSubject)
	}
	p := &UserProfile{ID: sub, Name: r.Name, GivenName: r.GivenName, FamilyName: r.FamilyName,
		Email: r.Email, EmailVerified: r.EmailVerified, UpdatedAt: unixOrRFC3339(r.UpdatedAt)}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&p.ProvidedID, r.ProvidedID}, {&p.Picture, r.Picture}, {&p.Username, r.Username}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return p, nil
}

// unixOrRFC3339 reads a time given as Unix seconds (number or numeric
// string) or as an RFC 3339 string; anything else gives the zero time.
func unixOrRFC3339(raw json.RawMessage) time.Time {
	if len(raw) == 0 || isNull(raw) {
		return time.Time{}
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, ok := toInt64(n); ok && i > 0 {
			return time.Unix(i, 0)
		}
		return time.Time{}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil && i > 0 {
			return time.Unix(i, 0)
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Introspection is Kinde's answer to a token introspection request.
type Introspection struct {
	// Active is false for tokens that are expired, revoked or unknown; the
	// other fields are then empty.
	Active    bool
	Audience  []string
	ClientID  string
	Subject   string
	Scope     string
	TokenType string // "access_token" or "refresh_token", when Kinde says
	ExpiresAt time.Time
	IssuedAt  time.Time
}

// Introspect asks Kinde whether token (an access or refresh token; "" means
// the session's access token) is active, authenticating with the session's
// access token.
func (s *Session) Introspect(ctx context.Context, token string) (*Introspection, error) {
	bearer := s.AccessToken()
	if token == "" {
		token = bearer
	}
	var r struct {
		Active    bool            `json:"active"`
		Aud       json.RawMessage `json:"aud"`
		ClientID  string          `json:"client_id"`
		Sub       string          `json:"sub"`
		Scope     string          `json:"scope"`
		TokenType string          `json:"token_type"`
		Exp       json.RawMessage `json:"exp"`
		Iat       json.RawMessage `json:"iat"`
	}
	if err := s.c.callAPI(ctx, http.MethodPost, s.c.ep.introspect, bearer, url.Values{"token": {token}}, &r); err != nil {
		return nil, err
	}
	in := &Introspection{Active: r.Active, ClientID: r.ClientID, Subject: r.Sub, Scope: r.Scope,
		TokenType: r.TokenType, ExpiresAt: unixOrRFC3339(r.Exp), IssuedAt: unixOrRFC3339(r.Iat)}
	if len(r.Aud) > 0 && !isNull(r.Aud) {
		var one string
		if json.Unmarshal(r.Aud, &one) == nil {
			in.Audience = []string{one}
		} else {
			in.Audience = stringList(r.Aud)
		}
	}
	return in, nil
}

// Revoke asks Kinde to revoke the session's refresh token (or, when it has
// none, its access token), as a sign-out should. It is best effort: the
// session itself is not changed, and callers signing a user out usually log
// the error and carry on. Kinde's error replies come back as *TokenError.
func (s *Session) Revoke(ctx context.Context) error {
	t := s.Tokens()
	if t.RefreshToken != "" {
		return s.c.RevokeToken(ctx, t.RefreshToken, "refresh_token")
	}
	return s.c.RevokeToken(ctx, t.AccessToken, "access_token")
}
