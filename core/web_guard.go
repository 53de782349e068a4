package kinde

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Rule is a condition a guard checks on the signed-in user's session.
type Rule struct {
	name  string
	check func(*Session) bool
}

// String describes the rule, e.g. `permission "create:todos"`.
func (r Rule) String() string { return r.name }

// RuleSignedIn is met by any signed-in user.
func RuleSignedIn() Rule { return Rule{name: "signed in", check: func(*Session) bool { return true }} }

// RulePermissions is met when the user has every one of keys.
func RulePermissions(keys ...string) Rule {
	return Rule{name: "permissions " + quoteList(keys), check: func(s *Session) bool { return s.HasPermissions(keys...) }}
}

// RuleRoles is met when the user has every one of the role keys.
func RuleRoles(keys ...string) Rule {
	return Rule{name: "roles " + quoteList(keys), check: func(s *Session) bool { return s.HasRoles(keys...) }}
}

// RuleOrg is met when the user is signed in to the organization code.
func RuleOrg(code string) Rule {
	return Rule{name: fmt.Sprintf("organization %q", code), check: func(s *Session) bool { return s.Organization().Code == code }}
}

// RuleFlag is met when the boolean feature flag code is on.
func RuleFlag(code string) Rule {
	return Rule{name: fmt.Sprintf("feature flag %q", code), check: func(s *Session) bool {
		on, err := s.BoolFlag(code, false)
		return err == nil && on
	}}
}

// RuleFunc is met when f returns true.
func RuleFunc(f func(*Session) bool) Rule {
	return Rule{name: "custom rule", check: func(s *Session) bool { return s != nil && f(s) }}
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

// Authorize checks rule for the request's session s. When it fails it
// answers the request and returns false: a browser navigation without a
// session is redirected to sign-in (and comes back afterwards), an API
// request gets 401; a signed-in user who does not meet the rule gets 403
// (an HTML page or JSON).
func (w *Web) Authorize(x Exchange, s *Session, rule Rule) bool {
	if s == nil {
		w.Unauthenticated(x)
		return false
	}
	if rule.check != nil && !rule.check(s) {
		w.Forbidden(x, rule)
		return false
	}
	return true
}

// Unauthenticated answers a request that needs a signed-in user.
func (w *Web) Unauthenticated(x Exchange) {
	if isNavigation(x) {
		target := x.Path()
		if q := x.RawQuery(); q != "" {
			target += "?" + q
		}
		loc := w.o.paths.Login
		if p, ok := safeRedirectPath(target, ""); ok && p != w.o.afterLogin {
			loc += "?" + url.Values{"post_login_redirect_url": {p}}.Encode()
		}
		x.Redirect(http.StatusFound, loc)
		return
	}
	x.SetHeader("WWW-Authenticate", w.realm(""))
	writeJSONError(x, http.StatusUnauthorized, "unauthenticated", "sign in first: this endpoint needs a Kinde session or a bearer token")
}

// Forbidden answers a signed-in request that does not meet rule.
func (w *Web) Forbidden(x Exchange, rule Rule) {
	if isNavigation(x) {
		w.fail(x, http.StatusForbidden, "Access denied", "Your account does not have access to this page (it needs "+rule.String()+").")
		return
	}
	x.SetHeader("WWW-Authenticate", w.realm("insufficient_scope"))
	writeJSONError(x, http.StatusForbidden, "forbidden", "this request needs "+rule.String())
}

// isNavigation reports whether the request is a browser page load (which
// can be redirected to sign-in) rather than an API call.
func isNavigation(x Exchange) bool {
	if m := x.Method(); m != http.MethodGet && m != http.MethodHead {
		return false
	}
	if x.Header("Authorization") != "" || x.Header("X-Requested-With") != "" {
		return false
	}
	if mode := x.Header("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return acceptsHTML(x.Header("Accept"))
}

func acceptsHTML(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			return true
		}
	}
	return false
}

func writeJSONError(x Exchange, status int, code, desc string) {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	x.Write(status, "application/json; charset=utf-8", b)
}

// Bearer verifies the request's "Authorization: Bearer" access token and
// returns a session built from it (access token only; nothing is stored).
// On failure it answers 401 (missing or invalid token, with RFC 6750's
// WWW-Authenticate) or 400 (malformed header) and returns nil.
func (w *Web) Bearer(x Exchange, opts ...VerifyOption) *Session {
	s := new(Session)
	if !w.bearer(x, s, opts) {
		return nil
	}
	return s
}

// bearer is Bearer filling a caller-provided Session, so adapters can keep
// it inside their per-request state without another allocation.
func (w *Web) bearer(x Exchange, s *Session, opts []VerifyOption) bool {
	h := x.Header("Authorization")
	if h == "" {
		x.SetHeader("WWW-Authenticate", w.realm(""))
		writeJSONError(x, http.StatusUnauthorized, "unauthenticated", "send an access token in the Authorization header: Bearer <token>")
		return false
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || hasSeparator(token) || len(token) > maxTokenBytes {
		x.SetHeader("WWW-Authenticate", w.realm("invalid_request"))
		writeJSONError(x, http.StatusBadRequest, "invalid_request", "the Authorization header must be: Bearer <token>")
		return false
	}
	if len(opts) == 0 && len(w.c.cfg.Audience) == 0 {
		w.noAudienceWarning.Do(func() {
			w.log.Warn("kinde: RequireBearer without an audience accepts any access token of your Kinde domain, including other applications' machine-to-machine tokens; set Config.Audience (KINDE_AUDIENCE) to your API's audience or pass kinde.VerifyAudience")
		})
	}
	claims, err := w.c.VerifyAccessToken(x.Context(), token, opts...)
	if err != nil {
		w.c.debug(x.Context(), "bearer token rejected", "error", err)
		x.SetHeader("WWW-Authenticate", w.realm("invalid_token"))
		writeJSONError(x, http.StatusUnauthorized, "invalid_token", bearerReason(err))
		return false
	}
	s.c = w.c
	// claims.token is the verifier's own copy: token itself may live in a
	// buffer the framework reuses after the request.
	s.tokens = Tokens{AccessToken: claims.token, ExpiresAt: claims.ExpiresAt, TokenType: "bearer", leeway: w.c.cfg.Leeway, now: w.c.cfg.Now}
	s.access = claims
	return true
}

// hasSeparator reports a space, tab or comma: a header carrying more than
// one token or scheme. IndexByte is vectorised; ContainsAny on a 4 KB token
// cost more than verifying it from the cache.
func hasSeparator(s string) bool {
	return strings.IndexByte(s, ' ') >= 0 || strings.IndexByte(s, '\t') >= 0 || strings.IndexByte(s, ',') >= 0
}

// realm is the WWW-Authenticate challenge, with an RFC 6750 error code.
func (w *Web) realm(code string) string {
	if code == "" {
		return `Bearer realm="` + w.c.Issuer() + `"`
	}
	return `Bearer realm="` + w.c.Issuer() + `", error="` + code + `"`
}

// bearerReason says why a token was rejected without echoing the token.
func bearerReason(err error) string {
	for _, s := range []error{ErrTokenExpired, ErrTokenNotYetValid, ErrTokenAudience, ErrTokenIssuer, ErrTokenAlgorithm,
		ErrTokenSignature, ErrTokenUnknownKey, ErrTokenMalformed, ErrTokenClaims, ErrKeySetUnavailable} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "the access token is invalid"
}

// ErrorPage is what the built-in error page shows.
type ErrorPage struct {
	Status    int
	Title     string
	Message   string
	SignInURL string
}

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}a.button{display:inline-block;margin-top:1rem;padding:.5rem 1rem;background:#1f2328;color:#fff;border-radius:.4rem;text-decoration:none}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .SignInURL}}<p><a class="button" id="sign-in-again" href="{{.SignInURL}}">Sign in again</a></p>{{end}}
</body></html>
`))

// fail answers with an error page (or JSON for API requests).
func (w *Web) fail(x Exchange, status int, title, msg string) {
	if !isNavigation(x) && x.Header("Accept") != "" && !acceptsHTML(x.Header("Accept")) {
		writeJSONError(x, status, strings.ToLower(strings.ReplaceAll(title, " ", "_")), msg)
		return
	}
	p := ErrorPage{Status: status, Title: title, Message: msg}
	if status != http.StatusForbidden {
		p.SignInURL = w.o.paths.Login
	}
	if w.o.render != nil {
		w.o.render(x, p)
		return
	}
	var buf bytes.Buffer
	if err := errorTemplate.Execute(&buf, p); err != nil {
		x.Write(status, "text/plain; charset=utf-8", []byte(title+": "+msg))
		return
	}
	x.Write(status, "text/html; charset=utf-8", buf.Bytes())
}
