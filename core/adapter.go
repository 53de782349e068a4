package kinde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// This file is the plumbing the framework adapters (Gin, Echo, Fiber) are
// built on. Everything exported here is for adapters: each one translates
// between its framework and Exchange, and the web layer is written once
// against it. Applications use their adapter's Register, Middleware and
// guards instead, or core's net/http front end (Web.Handler, Web.Middleware
// and the Web's Require… methods).

// Exchange is one HTTP request and its response, as the web layer sees them.
// For adapters: each framework adapter implements it once.
//
// Header and Cookie may return strings that share memory with the request
// (Fiber returns them without copying, as fasthttp reuses its buffers once
// the handler returns): the web layer copies whatever it keeps beyond the
// call, such as a bearer token stored in a Session. The other methods return
// values the caller owns.
type Exchange interface {
	// Context is the request's context.
	Context() context.Context
	// Method is the HTTP method.
	Method() string
	// Path is the URL path, unescaped.
	Path() string
	// RawQuery is the URL query, without the leading "?".
	RawQuery() string
	// Query returns the first value of a query parameter.
	Query(name string) string
	// Header returns the first value of a request header.
	Header(name string) string
	// Cookie returns the value of a request cookie.
	Cookie(name string) (string, bool)
	// RemoteAddr is the peer address ("ip:port").
	RemoteAddr() string
	// IsTLS reports whether the request arrived over TLS.
	IsTLS() bool

	// SetCookie adds a Set-Cookie header to the response.
	SetCookie(c *http.Cookie)
	// SetHeader sets a response header.
	SetHeader(name, value string)
	// Redirect answers with a redirect.
	Redirect(status int, location string)
	// Write answers with a status, a content type and a body.
	Write(status int, contentType string, body []byte)
}

// httpExchange is the Exchange of a net/http request.
type httpExchange struct {
	w  http.ResponseWriter
	r  *http.Request
	st *requestState // the state allocated together with the exchange, until LoadContext attaches it
}

// NewHTTPExchange returns the Exchange of the net/http request r answered
// through w, for adapters built on net/http (Gin, Echo) and core's own
// net/http front end.
//
// Within a request whose context the session middleware prepared (see
// LoadContext), the Exchange is kept in that request's state and reused
// when w is the same writer, so a guard after the middleware allocates none.
func NewHTTPExchange(w http.ResponseWriter, r *http.Request) Exchange {
	if st, ok := r.Context().(*requestState); ok && st.http.r != nil && sameWriter(st.http.w, w) {
		st.http.r = r
		return &st.http
	}
	// One allocation for the exchange and the request state LoadContext
	// will need.
	st := &requestState{}
	st.http = httpExchange{w: w, r: r, st: st}
	return &st.http
}

// sameWriter reports whether a and b are the same ResponseWriter, without
// comparing values whose type is not comparable (which would panic).
func sameWriter(a, b http.ResponseWriter) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// Context implements Exchange.
func (x *httpExchange) Context() context.Context { return x.r.Context() }

// Method implements Exchange.
func (x *httpExchange) Method() string { return x.r.Method }

// Path implements Exchange.
func (x *httpExchange) Path() string { return x.r.URL.Path }

// RawQuery implements Exchange.
func (x *httpExchange) RawQuery() string { return x.r.URL.RawQuery }

// Query implements Exchange.
func (x *httpExchange) Query(name string) string { return x.r.URL.Query().Get(name) }

// Header implements Exchange.
func (x *httpExchange) Header(name string) string {
	if len(name) == 4 && strings.EqualFold(name, "Host") {
		// net/http moves Host out of the header map into r.Host.
		return x.r.Host
	}
	return x.r.Header.Get(name)
}

// Cookie implements Exchange. Within a request the web layer handles, its
// own cookies are read from one pass over the Cookie header (see
// cookieJar).
func (x *httpExchange) Cookie(name string) (string, bool) {
	if x.st != nil {
		return x.st.cookie(name)
	}
	return cookieValue(x.r.Header["Cookie"], name)
}

// RemoteAddr implements Exchange.
func (x *httpExchange) RemoteAddr() string { return x.r.RemoteAddr }

// IsTLS implements Exchange.
func (x *httpExchange) IsTLS() bool { return x.r.TLS != nil }

// SetCookie implements Exchange.
func (x *httpExchange) SetCookie(c *http.Cookie) { http.SetCookie(x.w, c) }

// SetHeader implements Exchange.
func (x *httpExchange) SetHeader(name, value string) { x.w.Header().Set(name, value) }

// Redirect implements Exchange.
func (x *httpExchange) Redirect(status int, location string) {
	x.w.Header().Set("Location", location)
	x.w.Header().Set("Cache-Control", "no-store")
	x.w.WriteHeader(status)
}

// Write implements Exchange.
func (x *httpExchange) Write(status int, contentType string, body []byte) {
	x.w.Header().Set("Content-Type", contentType)
	x.w.Header().Set("Cache-Control", "no-store")
	x.w.Header().Set("X-Content-Type-Options", "nosniff")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// Rule is a condition a guard checks on the signed-in user's session. For
// adapters: the guards of every front end are built from these rules.
type Rule struct {
	name   string
	check  func(*Session) bool
	scopes []string // the scopes a refusal names (RFC 6750 insufficient_scope)
}

// String describes the rule, e.g. `permissions "create:todos"`.
func (r Rule) String() string { return r.name }

// RuleSignedIn is met by any signed-in user.
func RuleSignedIn() Rule { return Rule{name: "signed in", check: func(*Session) bool { return true }} }

// RulePermissions is met when the user has every one of keys.
func RulePermissions(keys ...string) Rule {
	return Rule{name: "permissions " + quoteList(keys), check: func(s *Session) bool { return s.HasPermissions(keys...) }}
}

// RuleScopes is met when the access token grants every one of scopes (its
// scp array or space-separated scope claim): the rule for machine callers,
// whose tokens carry scopes, not permissions. A refusal names the scopes in
// WWW-Authenticate (RFC 6750 insufficient_scope).
func RuleScopes(scopes ...string) Rule {
	return Rule{name: "scopes " + quoteList(scopes), scopes: scopes, check: func(s *Session) bool { return s.HasScopes(scopes...) }}
}

// RulePermissionsOrScopes is met when each of keys is a permission of the
// user or a scope of the token, for APIs called by users (permissions) and
// by machines (scopes) alike.
func RulePermissionsOrScopes(keys ...string) Rule {
	return Rule{name: "permissions or scopes " + quoteList(keys), scopes: keys, check: func(s *Session) bool {
		a, _ := s.snapshot()
		have, scopes := a.permissions().Keys, a.scopeList()
		for _, k := range keys {
			if k == "" || !slices.Contains(have, k) && !slices.Contains(scopes, k) {
				return false
			}
		}
		return true
	}}
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

// SessionFrom returns the signed-in user's session carried by ctx, or nil for
// an anonymous request (or when no session middleware ran). Handlers of
// net/http applications call it with r.Context(); adapters offer their own
// SessionFrom(c).
func SessionFrom(ctx context.Context) *Session {
	if st := stateFrom(ctx); st != nil {
		return st.session
	}
	return nil
}

// WebFrom returns the *Web whose session middleware handled the request of
// ctx, or nil. For adapters: their guards find the web layer with it.
func WebFrom(ctx context.Context) *Web {
	if st := stateFrom(ctx); st != nil {
		return st.web
	}
	return nil
}

// WithAdapterConfig is for adapters: it keeps an adapter's own
// configuration (its error handler, its skipper, …) in the Web, where the
// adapter's middleware and guards read it back with AdapterConfig. Each
// adapter wraps it in its WithConfig option; applications use that.
func WithAdapterConfig(v any) WebOption {
	return func(o *webOptions) error { o.adapter = v; return nil }
}

// AdapterConfig returns the value given to WithAdapterConfig, or nil. For
// adapters.
func (w *Web) AdapterConfig() any { return w.o.adapter }

// LoadContext loads the session of x and returns x's context
// carrying w and the session, for SessionFrom and the guards, and the
// session when the user is signed in. For adapters: their session
// middleware makes the result the request's context.
func (w *Web) LoadContext(x Exchange) (context.Context, *Session) {
	var st *requestState
	hx, ok := x.(*httpExchange)
	switch {
	case ok && hx.st != nil && hx.st.Context == nil:
		st = hx.st // allocated with the exchange, not attached yet
	case ok:
		st = &requestState{}
		st.http = httpExchange{w: hx.w, r: hx.r, st: st}
	default:
		st = &requestState{}
		st.cx = cookieExchange{Exchange: x, st: st}
	}
	// The loader reads cookies through the state, which reads the Cookie
	// header once for the whole request.
	lx := Exchange(&st.cx)
	if ok {
		lx = &st.http
	}
	st.web = w
	st.session = w.load(lx)
	return st.attach(x.Context()), st.session
}

// SkipContext returns ctx carrying w but no session, without reading the
// request's cookies. For adapters whose middleware skips a request (Echo's
// Skipper, Fiber's Next): the request is then anonymous, so the guards on it
// refuse it as they refuse a signed-out user, and RequireBearer still
// checks its token.
func (w *Web) SkipContext(ctx context.Context) context.Context {
	return (&requestState{web: w}).attach(ctx)
}

// errNoMiddleware is the cause of the answer of a guard whose request was
// not handled by a session middleware.
var errNoMiddleware = errors.New("kinde: the request reached a guard without the session middleware: install the front end's Middleware (or call its Register) before adding the guarded routes")

// Check applies rule to the request x, whose context carries the *Web and
// the session (see LoadContext). For adapters: it returns nil when the
// request may proceed, and otherwise the answer the web layer gives,
// recorded rather than written (see Denial). When x's context carries no
// *Web (the session middleware did not run) the answer is a 500 whose
// Unwrap says so: the adapter logs how to fix it.
func Check(x Exchange, rule Rule) *Denial {
	st := stateFrom(x.Context())
	if st == nil || st.web == nil {
		return noMiddleware()
	}
	return st.web.deny(x, st.session, rule)
}

// CheckBearer verifies the request's "Authorization: Bearer" access token
// (see Client.VerifyAccessToken; opts as there) and, on success, makes the
// session built from it the session of x's context, for SessionFrom and the
// guards that follow, and returns nil. For adapters: on failure it returns
// the recorded answer (400 or 401 with RFC 6750's WWW-Authenticate), and a
// 500 as Check does when the session middleware did not run.
func CheckBearer(x Exchange, opts ...VerifyOption) *Denial {
	st := stateFrom(x.Context())
	if st == nil || st.web == nil {
		return noMiddleware()
	}
	if d := st.web.bearer(x, &st.own, opts); d != nil {
		return d
	}
	st.session = &st.own
	return nil
}

// noMiddleware is the answer of a guard that finds no *Web.
func noMiddleware() *Denial {
	return &Denial{Status: http.StatusInternalServerError, ContentType: "text/plain; charset=utf-8",
		Body: []byte(http.StatusText(http.StatusInternalServerError)), cause: errNoMiddleware}
}

// Denial is the answer to a request that a guard refused: a redirect to
// sign-in (302), 400 or 401 JSON with WWW-Authenticate, a 403 page or JSON,
// or a 500 when the guard runs without the session middleware. For
// adapters: they write a redirect as it is (Write) and hand the others to
// the application's error handling as an error, after setting the headers
// (WriteHeaders); an error handler can still write the web layer's own
// answer with Write. A Denial is an error: errors.As finds it in what the
// adapters return.
type Denial struct {
	// Status is the HTTP status: 302, 400, 401, 403 or 500.
	Status int
	// Location is the redirect target when Status is a redirect.
	Location string
	// ContentType and Body are the response body, when there is one.
	ContentType string
	Body        []byte

	reason  string // what Message returns, when set
	cause   error  // what Unwrap returns
	headers [][2]string
	cookies []*http.Cookie
}

// Error implements error, e.g. "kinde: request denied: 401 Unauthorized:
// sign in first: …", followed by the cause, if any.
func (d *Denial) Error() string {
	msg := fmt.Sprintf("kinde: request denied: %d %s: %s", d.Status, http.StatusText(d.Status), d.Message())
	if d.cause != nil {
		msg += ": " + d.cause.Error()
	}
	return msg
}

// Message is the reason of the refusal, fit to show to the user: the
// error_description of a JSON answer, the explanation of a 403 page, the
// redirect target of a redirect, or else the status text.
func (d *Denial) Message() string {
	switch {
	case d.reason != "":
		return d.reason
	case d.Location != "":
		return "sign in first: " + d.Location
	}
	return http.StatusText(d.Status)
}

// Unwrap returns the cause of the refusal, when there is one: the
// verification error of a rejected bearer token (errors.Is(err,
// kinde.ErrTokenExpired), …), or the missing session middleware of a 500.
func (d *Denial) Unwrap() error { return d.cause }

// WriteHeaders sets the answer's headers (WWW-Authenticate, Location for a
// redirect) and cookies on x, leaving the status and body to the caller.
func (d *Denial) WriteHeaders(x Exchange) {
	d.setHeaders(x)
	if d.Location != "" {
		x.SetHeader("Location", d.Location)
	}
}

// Write sends the whole answer to x, exactly as core's net/http guards do.
func (d *Denial) Write(x Exchange) {
	d.setHeaders(x)
	if d.Location != "" {
		x.Redirect(d.Status, d.Location)
		return
	}
	x.Write(d.Status, d.ContentType, d.Body)
}

func (d *Denial) setHeaders(x Exchange) {
	for _, c := range d.cookies {
		x.SetCookie(c)
	}
	for _, h := range d.headers {
		x.SetHeader(h[0], h[1])
	}
}

// recorder reads the request from the Exchange it wraps and records the
// answer in a Denial.
type recorder struct {
	Exchange
	d Denial
}

func (r *recorder) SetCookie(c *http.Cookie) { r.d.cookies = append(r.d.cookies, c) }
func (r *recorder) SetHeader(name, value string) {
	r.d.headers = append(r.d.headers, [2]string{name, value})
}
func (r *recorder) Redirect(status int, location string) {
	r.d.Status, r.d.Location = status, location
}
func (r *recorder) Write(status int, contentType string, body []byte) {
	r.d.Status, r.d.ContentType, r.d.Body = status, contentType, body
}

// roomyReadBufferSize is a request-header buffer for a fasthttp server
// (Fiber) with which cookie sessions of users with many permissions or
// feature flags fit without a server-side store; below it, CheckReadBufferSize
// says that sessions are kept small.
const roomyReadBufferSize = 16 << 10

// CheckReadBufferSize tells the web layer that the server reads at most
// size bytes of request line and headers (fasthttp's ReadBufferSize; 0
// means fasthttp's default, 4096), so that it never writes cookies such a
// server cannot read back (it would answer 431 to every later request).
// The web layer's cookies then take at most size less 1700 bytes (room for
// a browser's other headers, about 1.5 KB): a session that does not fit is
// not written, and the sign-in ends on an error page that names the fixes
// (kinde.WithStore, or a larger read buffer); flow cookies of abandoned
// sign-ins are dropped to make room. With several servers the smallest size
// wins. For adapters: the Fiber adapters call it from Register and from
// Middleware.
func (w *Web) CheckReadBufferSize(size int) {
	if w.o.resource {
		return
	}
	if size <= 0 {
		size = 4096
	}
	budget, lowered := w.setReadBufferSize(size)
	if lowered && w.o.store == nil && size < roomyReadBufferSize {
		w.log.Info("kinde: the server's read buffer is small, so session cookies are kept within cookie_budget bytes; a user whose session is larger sees an error page at sign-in: keep sessions server-side with kinde.WithStore or raise fiber.Config.ReadBufferSize if that happens",
			"read_buffer_size", size, "cookie_budget", budget)
	}
}
