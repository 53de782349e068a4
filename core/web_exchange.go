package kinde

import (
	"context"
	"net/http"
	"strings"
)

// Exchange is one HTTP request and its response, as the web layer sees them.
// Each framework adapter implements it once; everything else about sign-in
// is written once in core against it.
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

// HTTPExchange adapts net/http to Exchange. Gin and Echo use it too, as both
// sit on net/http.
type HTTPExchange struct {
	W http.ResponseWriter
	R *http.Request
}

// NewHTTPExchange returns an Exchange for w and r.
func NewHTTPExchange(w http.ResponseWriter, r *http.Request) *HTTPExchange {
	return &HTTPExchange{W: w, R: r}
}

// Context implements Exchange.
func (x *HTTPExchange) Context() context.Context { return x.R.Context() }

// Method implements Exchange.
func (x *HTTPExchange) Method() string { return x.R.Method }

// Path implements Exchange.
func (x *HTTPExchange) Path() string { return x.R.URL.Path }

// RawQuery implements Exchange.
func (x *HTTPExchange) RawQuery() string { return x.R.URL.RawQuery }

// Query implements Exchange.
func (x *HTTPExchange) Query(name string) string { return x.R.URL.Query().Get(name) }

// Header implements Exchange.
func (x *HTTPExchange) Header(name string) string { return x.R.Header.Get(name) }

// Cookie implements Exchange.
func (x *HTTPExchange) Cookie(name string) (string, bool) {
	return cookieValue(x.R.Header["Cookie"], name)
}

// cookieValue finds one cookie in Cookie header lines without parsing (and
// allocating) all of them, as net/http's Request.Cookie does. Values the web
// layer reads are sealed and authenticated, so no further validation is
// needed here; surrounding double quotes are removed like net/http does.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			v = strings.TrimRight(v, " \t")
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// RemoteAddr implements Exchange.
func (x *HTTPExchange) RemoteAddr() string { return x.R.RemoteAddr }

// IsTLS implements Exchange.
func (x *HTTPExchange) IsTLS() bool { return x.R.TLS != nil }

// SetCookie implements Exchange.
func (x *HTTPExchange) SetCookie(c *http.Cookie) { http.SetCookie(x.W, c) }

// SetHeader implements Exchange.
func (x *HTTPExchange) SetHeader(name, value string) { x.W.Header().Set(name, value) }

// Redirect implements Exchange.
func (x *HTTPExchange) Redirect(status int, location string) {
	x.W.Header().Set("Location", location)
	x.W.Header().Set("Cache-Control", "no-store")
	x.W.WriteHeader(status)
}

// Write implements Exchange.
func (x *HTTPExchange) Write(status int, contentType string, body []byte) {
	x.W.Header().Set("Content-Type", contentType)
	x.W.Header().Set("Cache-Control", "no-store")
	x.W.Header().Set("X-Content-Type-Options", "nosniff")
	x.W.WriteHeader(status)
	_, _ = x.W.Write(body)
}

type ctxKey struct{}

// requestState is what the web layer attaches to a request: one context
// value, allocated once per request, carrying the *Web and the session.
type requestState struct {
	web     *Web
	session *Session
	own     Session  // storage for a session built for this request (bearer tokens)
	rec     recorder // storage for a guard's answer
	// mine marks a state made by LoadContext for one request only: the
	// bearer guard may then fill it in place instead of deriving a new
	// context.
	mine bool
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(ctxKey{}).(*requestState)
	return st
}

// ContextWithSession returns a context that carries s. The middleware of
// every adapter does this; handlers read the session with SessionFrom.
func ContextWithSession(ctx context.Context, s *Session) context.Context {
	st := &requestState{session: s}
	if prev := stateFrom(ctx); prev != nil {
		st.web = prev.web
	}
	return context.WithValue(ctx, ctxKey{}, st)
}

// SessionFrom returns the signed-in user's session carried by ctx, or nil for
// an anonymous request (or when the middleware did not run).
func SessionFrom(ctx context.Context) *Session {
	if st := stateFrom(ctx); st != nil {
		return st.session
	}
	return nil
}

// ContextWithWeb returns a context that carries w, so guards that were
// created without a *Web can find it.
func ContextWithWeb(ctx context.Context, w *Web) context.Context {
	st := &requestState{web: w}
	if prev := stateFrom(ctx); prev != nil {
		st.session = prev.session
	}
	return context.WithValue(ctx, ctxKey{}, st)
}

// WebFrom returns the *Web carried by ctx, or nil.
func WebFrom(ctx context.Context) *Web {
	if st := stateFrom(ctx); st != nil {
		return st.web
	}
	return nil
}
