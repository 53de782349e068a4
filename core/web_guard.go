package kinde

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// deny returns the answer to a request whose session s (nil when
// anonymous) does not meet rule, or nil when it does: a browser navigation
// without a session is redirected to sign-in (and comes back afterwards),
// an API request gets 401; a signed-in user who does not meet the rule gets
// 403 (an HTML page or JSON).
func (w *Web) deny(x Exchange, s *Session, rule Rule) *Denial {
	if s == nil {
		return w.unauthenticated(x)
	}
	if rule.check != nil && !rule.check(s) {
		return w.forbidden(x, rule)
	}
	return nil
}

// unauthenticated is the answer to a request that needs a signed-in user.
func (w *Web) unauthenticated(x Exchange) *Denial {
	if isNavigation(x) && !w.o.resource {
		target := x.Path()
		if q := x.RawQuery(); q != "" {
			target += "?" + q
		}
		loc := w.o.paths.Login
		if p, ok := safeRedirectPath(target, ""); ok && p != w.o.afterLogin {
			loc += "?" + url.Values{"post_login_redirect_url": {p}}.Encode()
		}
		return &Denial{Status: http.StatusFound, Location: loc}
	}
	if w.o.resource && x.Header("Authorization") != "" {
		// An API's sessions come only from RequireBearer, which would have
		// refused a bad token itself: it did not run before this guard.
		w.guardOrderWarning.Do(func() {
			w.log.Error("kinde: a guard ran before RequireBearer on an API: put RequireBearer first (on the route group), so that the guards see the token's session")
		})
		return w.jsonDenial(http.StatusUnauthorized, "", "unauthenticated",
			"the bearer token was not checked: the API must run RequireBearer before this guard", nil)
	}
	return w.jsonDenial(http.StatusUnauthorized, "", "unauthenticated",
		"sign in first: this endpoint needs a Kinde session or a bearer token", nil)
}

// forbidden is the answer to a signed-in request that does not meet rule.
func (w *Web) forbidden(x Exchange, rule Rule) *Denial {
	if isNavigation(x) {
		reason := "Your account does not have access to this page (it needs " + rule.String() + ")."
		rec := &recorder{Exchange: x}
		w.fail(rec, http.StatusForbidden, "Access denied", reason)
		rec.d.reason = reason
		return &rec.d
	}
	d := w.jsonDenial(http.StatusForbidden, "insufficient_scope", "forbidden", "this request needs "+rule.String(), nil)
	if len(rule.scopes) > 0 {
		// RFC 6750 §3: the scope attribute lists the scopes the request needs.
		d.headers[0][1] += `, scope="` + strings.Join(rule.scopes, " ") + `"`
	}
	return d
}

// jsonDenial is a JSON error answer with RFC 6750's WWW-Authenticate
// (challenge is its error code, "" for none).
func (w *Web) jsonDenial(status int, challenge, code, desc string, cause error) *Denial {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return &Denial{Status: status, ContentType: "application/json; charset=utf-8", Body: b, reason: desc, cause: cause,
		headers: [][2]string{{"WWW-Authenticate", w.realm(challenge)}}}
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

// bearer verifies the request's "Authorization: Bearer" access token and
// fills s with a session built from it (access token only; nothing is
// stored), so adapters can keep it inside their per-request state without
// another allocation. On failure it returns the answer: 401 (missing or
// invalid token, with RFC 6750's WWW-Authenticate) or 400 (malformed
// header), and leaves s alone.
func (w *Web) bearer(x Exchange, s *Session, opts []VerifyOption) *Denial {
	h := x.Header("Authorization")
	if h == "" {
		return w.jsonDenial(http.StatusUnauthorized, "", "unauthenticated", "send an access token in the Authorization header: Bearer <token>", nil)
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || hasSeparator(token) || len(token) > maxTokenBytes {
		return w.jsonDenial(http.StatusBadRequest, "invalid_request", "invalid_request", "the Authorization header must be: Bearer <token>", nil)
	}
	if len(opts) == 0 {
		opts = w.o.verify
	}
	if len(opts) == 0 && len(w.c.cfg.Audience) == 0 && !w.o.resource {
		w.noAudienceWarning.Do(func() {
			w.log.Warn("kinde: RequireBearer without an audience accepts any access token of your Kinde domain, including other applications' machine-to-machine tokens; set Config.Audience (KINDE_AUDIENCE) to your API's audience or pass kinde.VerifyAudience")
		})
	}
	claims, err := w.c.VerifyAccessToken(x.Context(), token, opts...)
	if err != nil {
		w.c.debug(x.Context(), "bearer token rejected", "error", err)
		return w.jsonDenial(http.StatusUnauthorized, "invalid_token", "invalid_token", bearerReason(err), err)
	}
	s.c = w.c
	// claims.token is the verifier's own copy: token itself may live in a
	// buffer the framework reuses after the request.
	s.tokens = Tokens{AccessToken: claims.token, ExpiresAt: claims.ExpiresAt, TokenType: "bearer", leeway: w.c.cfg.Leeway, now: w.c.cfg.Now}
	s.access = claims
	return nil
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
