package kinde

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// AuthRequest is a sign-in request: the URL to send the browser to, and the
// values the callback needs to finish it. Keep State, CodeVerifier and Nonce
// on the server side (the web layer keeps them in an encrypted flow cookie).
type AuthRequest struct {
	URL          string
	State        string
	CodeVerifier string // empty when PKCE is disabled
	Nonce        string
	RedirectURL  string // the redirect_uri sent; the code exchange must use the same
}

// AuthOption customises a sign-in URL.
type AuthOption func(*authParams) error

type authParams struct {
	q         url.Values
	redirect  string
	scopes    []string
	audiences []string
}

// reservedParams cannot be set through WithParam: the SDK owns them.
var reservedParams = []string{
	"client_id", "response_type", "redirect_uri", "state", "nonce",
	"code_challenge", "code_challenge_method", "scope", "audience",
}

// marketingParams are passed through to Kinde for attribution.
var marketingParams = []string{
	"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gclid", "click_id",
	"hsa_acc", "hsa_cam", "hsa_grp", "hsa_ad", "hsa_src", "hsa_tgt", "hsa_kw", "hsa_mt", "hsa_net", "hsa_ver",
	"match_type", "keyword", "device", "ad_group_id", "campaign_id", "creative", "network", "ad_position",
	"fbclid", "li_fat_id", "msclkid", "twclid", "ttclid",
}

// isMarketingParam reports whether name is one of the attribution parameters
// Kinde accepts (utm_*, gclid, fbclid, …).
func isMarketingParam(name string) bool { return slices.Contains(marketingParams, name) }

func setParam(name, value string) AuthOption {
	return func(p *authParams) error {
		if value == "" {
			p.q.Del(name)
			return nil
		}
		p.q.Set(name, value)
		return nil
	}
}

// WithOrgCode signs the user in to (or registers them with) an organization.
func WithOrgCode(code string) AuthOption { return setParam("org_code", code) }

// WithRegistration shows Kinde's sign-up screen instead of sign-in (prompt=create).
func WithRegistration() AuthOption { return setParam("prompt", "create") }

// WithCreateOrg shows sign-up and creates an organization named name for the
// new user (is_create_org=true, org_name).
func WithCreateOrg(name string) AuthOption {
	return func(p *authParams) error {
		p.q.Set("prompt", "create")
		p.q.Set("is_create_org", "true")
		if name != "" {
			p.q.Set("org_name", name)
		}
		return nil
	}
}

// WithAudience requests access to one or more APIs. It replaces
// Config.Audience for this sign-in. Each audience is sent as its own
// audience parameter.
func WithAudience(audience ...string) AuthOption {
	return func(p *authParams) error {
		p.audiences = append([]string(nil), audience...)
		return nil
	}
}

// WithScopes replaces Config.Scopes for this sign-in.
func WithScopes(scopes ...string) AuthOption {
	return func(p *authParams) error {
		for _, s := range scopes {
			if s == "" || strings.ContainsAny(s, " \t\n") {
				return fmt.Errorf("kinde: scope %q is not valid: scopes are single words", s)
			}
		}
		p.scopes = append([]string(nil), scopes...)
		return nil
	}
}

// WithRedirectURL replaces Config.RedirectURL for this sign-in. The URL is
// kept in AuthRequest.RedirectURL, which ExchangeCode sends with the code,
// and must be registered in Kinde.
func WithRedirectURL(u string) AuthOption {
	return func(p *authParams) error {
		if err := validateAbsoluteURL(u, "RedirectURL", ""); err != nil {
			return err
		}
		p.redirect = u
		return nil
	}
}

// WithPrompt sets prompt: "login" forces re-authentication, "create" shows
// sign-up, "none" signs in silently or fails with login_required.
func WithPrompt(prompt string) AuthOption { return setParam("prompt", prompt) }

// WithLoginHint pre-fills the identity: an email, "phone:+447700900000:gb" or
// "username:joebloggs".
func WithLoginHint(hint string) AuthOption { return setParam("login_hint", hint) }

// WithConnectionID sends the user straight to one authentication connection.
func WithConnectionID(id string) AuthOption { return setParam("connection_id", id) }

// WithLang sets the language of Kinde's pages (two-letter ISO code).
func WithLang(lang string) AuthOption { return setParam("lang", lang) }

// WithInvitationCode accepts an organization invitation. A blank code is ignored.
func WithInvitationCode(code string) AuthOption {
	return func(p *authParams) error {
		code = strings.TrimSpace(code)
		if code == "" {
			return nil
		}
		p.q.Set("invitation_code", code)
		p.q.Set("is_invitation", "true")
		return nil
	}
}

// withSupportsReauth tells Kinde that the app handles error=login_link_expired
// by restarting the sign-in with the returned reauth_state.
func withSupportsReauth() AuthOption { return setParam("supports_reauth", "true") }

// withReauthState restarts an expired sign-in with the parameters Kinde
// returned in reauth_state (base64 JSON). Invalid input is an error.
func withReauthState(state string) AuthOption {
	return func(p *authParams) error {
		v, err := decodeReauthState(state)
		if err != nil {
			return err
		}
		for k, vs := range v {
			p.q[k] = vs
		}
		return nil
	}
}

// WithPlanInterest and WithPricingTableKey pass billing choices to Kinde's sign-up.
func WithPlanInterest(plan string) AuthOption { return setParam("plan_interest", plan) }

// WithPricingTableKey selects the pricing table shown at sign-up.
func WithPricingTableKey(key string) AuthOption { return setParam("pricing_table_key", key) }

// withMarketing passes attribution parameters (utm_source, gclid, …).
// Unknown names are an error.
func withMarketing(params map[string]string) AuthOption {
	return func(p *authParams) error {
		for k, v := range params {
			if !isMarketingParam(k) {
				return fmt.Errorf("kinde: %q is not a marketing parameter Kinde accepts", k)
			}
			if v != "" {
				p.q.Set(k, v)
			}
		}
		return nil
	}
}

// WithParam adds any other parameter Kinde understands (has_success_page,
// workflow_deployment_id, pages_mode, …). Parameters the SDK owns (client_id,
// response_type, redirect_uri, state, nonce, code_challenge, scope, audience)
// cannot be set this way.
func WithParam(name, value string) AuthOption {
	return func(p *authParams) error {
		if slices.Contains(reservedParams, name) {
			return fmt.Errorf("kinde: parameter %q is set by the SDK and cannot be overridden with WithParam", name)
		}
		if name == "" {
			return fmt.Errorf("kinde: WithParam needs a parameter name")
		}
		p.q.Set(name, value)
		return nil
	}
}

// reauthKeys maps the camelCase keys Kinde uses in reauth_state to the
// authorize parameters they restore.
var reauthKeys = map[string]string{
	"orgCode": "org_code", "orgName": "org_name", "loginHint": "login_hint",
	"connectionId": "connection_id", "isCreateOrg": "is_create_org", "hasSuccessPage": "has_success_page",
	"workflowDeploymentId": "workflow_deployment_id", "planInterest": "plan_interest",
	"pricingTableKey": "pricing_table_key", "pagesMode": "pages_mode", "lang": "lang", "prompt": "prompt",
	"invitationCode": "invitation_code", "isInvitation": "is_invitation",
}

// reauthParamNames are the authorize parameters reauth_state may restore.
var reauthParamNames = []string{
	"org_code", "org_name", "login_hint", "connection_id", "is_create_org", "has_success_page",
	"workflow_deployment_id", "plan_interest", "pricing_table_key", "pages_mode", "lang", "prompt",
	"invitation_code", "is_invitation",
}

// decodeReauthState decodes Kinde's reauth_state (base64 of a JSON object)
// into authorize parameters. Keys the SDK owns, such as redirect_uri or
// state, are dropped; unknown keys are ignored.
func decodeReauthState(s string) (url.Values, error) {
	if len(s) > 8192 {
		return nil, fmt.Errorf("kinde: reauth_state is too long")
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kinde: reauth_state is not base64: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("kinde: reauth_state is not a JSON object: %w", err)
	}
	out := url.Values{}
	for k, v := range m {
		name, ok := reauthKeys[k]
		if !ok {
			// Accept the snake_case spelling of the same parameters too.
			if !slices.Contains(reauthParamNames, k) {
				continue
			}
			name = k
		}
		switch x := v.(type) {
		case string:
			if x != "" {
				out.Set(name, x)
			}
		case bool:
			out.Set(name, fmt.Sprint(x))
		case float64:
			out.Set(name, fmt.Sprint(x))
		}
	}
	return out, nil
}

// apply applies opts in order; nil options are skipped.
func (p *authParams) apply(opts []AuthOption) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(p); err != nil {
			return err
		}
	}
	return nil
}

// applyAuthOptions applies opts to empty parameters, to validate them and
// see what they set: the query parameters, and a redirect URL (redirect is
// non-empty only when an option sets it).
func applyAuthOptions(opts []AuthOption) (authParams, error) {
	p := authParams{q: url.Values{}}
	err := p.apply(opts)
	return p, err
}

// randomString returns n random bytes encoded as unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (it crashes the program instead).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pkceChallenge returns the S256 code challenge for verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthURL returns a fresh sign-in request: a URL for Kinde's authorization
// endpoint with a new random state, nonce and (unless disabled) PKCE S256
// verifier. Every call returns new values.
func (c *Client) AuthURL(opts ...AuthOption) (*AuthRequest, error) {
	p := authParams{q: url.Values{}, redirect: c.cfg.RedirectURL, scopes: c.cfg.Scopes, audiences: c.cfg.Audience}
	if err := p.apply(opts); err != nil {
		return nil, err
	}
	if p.redirect == "" {
		return nil, &ConfigError{Field: "RedirectURL", Env: envRedirectURL, Reason: "is required to sign in: set it to your callback URL, e.g. http://localhost:8080/api/auth/kinde_callback, and register it in Kinde"}
	}
	req := &AuthRequest{State: randomString(32), Nonce: randomString(16), RedirectURL: p.redirect}
	q := p.q
	q.Set("client_id", c.cfg.ClientID)
	q.Set("response_type", "code")
	q.Set("redirect_uri", p.redirect)
	q.Set("scope", strings.Join(p.scopes, " "))
	q.Set("state", req.State)
	q.Set("nonce", req.Nonce)
	q.Del("audience")
	for _, a := range p.audiences {
		q.Add("audience", a)
	}
	if !c.cfg.DisablePKCE {
		req.CodeVerifier = randomString(48)
		q.Set("code_challenge", pkceChallenge(req.CodeVerifier))
		q.Set("code_challenge_method", "S256")
	}
	req.URL = withQuery(c.ep.authorize, q)
	return req, nil
}
