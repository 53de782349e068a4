package kinde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// This file holds what the Gin, Echo and Fiber adapters share, so that each
// of them only translates between its framework and Exchange.

// errNoWeb explains a guard that runs without the session middleware.
var errNoWeb = errors.New("kinde: no *kinde.Web in the request context: install the adapter's Middleware (or call its Register) before the guards")

// LoadContext loads the session of x (see Load) and returns x's context
// carrying w, for the guards, and the session when the user is signed in.
// An adapter's middleware makes the result the request's context.
func (w *Web) LoadContext(x Exchange) (context.Context, *Session) {
	st := &requestState{web: w, session: w.Load(x), mine: true}
	return context.WithValue(x.Context(), ctxKey{}, st), st.session
}

// Check applies rule to the request x, whose context carries the *Web and
// the session (see LoadContext). It returns nil when the request may
// proceed, and otherwise the answer the web layer gives (see
// Web.Authorize), recorded rather than written. It panics when x's context
// carries no *Web: the middleware was not installed.
func Check(x Exchange, rule Rule) *Denial {
	w := mustWeb(x)
	rec := &recorder{Exchange: x}
	if w.Authorize(rec, SessionFrom(x.Context()), rule) {
		return nil
	}
	return &rec.d
}

// CheckBearer verifies the request's "Authorization: Bearer" access token
// (see Web.Bearer). On success it returns the context the request must
// carry from now on, with the session built from the token, or nil when the
// state the middleware attached was filled in place and x's context is
// already right (the common case: no new context, no new request). On
// failure it returns the recorded answer.
func CheckBearer(x Exchange, opts ...VerifyOption) (context.Context, *Denial) {
	w := mustWeb(x)
	var ctx context.Context
	st := stateFrom(x.Context())
	if st == nil || !st.mine || st.web != w {
		st = &requestState{web: w}
		ctx = context.WithValue(x.Context(), ctxKey{}, st)
	}
	st.rec = recorder{Exchange: x}
	if !w.bearer(&st.rec, &st.own, opts) {
		d := st.rec.d
		st.rec = recorder{}
		return nil, &d
	}
	st.rec = recorder{}
	st.session = &st.own
	return ctx, nil
}

func mustWeb(x Exchange) *Web {
	w := WebFrom(x.Context())
	if w == nil {
		panic(errNoWeb)
	}
	return w
}

// Denial is the answer to a request that a guard refused: a redirect to
// sign-in, 401 or 400 JSON with WWW-Authenticate, or a 403 page or JSON.
// Adapters write it as it is (Write), or hand it to the application's error
// handling as an error after setting its headers (WriteHeaders).
type Denial struct {
	// Status is the HTTP status: 302, 400, 401 or 403.
	Status int
	// Location is the redirect target when Status is a redirect.
	Location string
	// ContentType and Body are the response body, when there is one.
	ContentType string
	Body        []byte

	headers [][2]string
	cookies []*http.Cookie
}

// Error implements error, e.g. "kinde: request denied: 401 Unauthorized: sign in first…".
func (d *Denial) Error() string {
	return fmt.Sprintf("kinde: request denied: %d %s: %s", d.Status, http.StatusText(d.Status), d.Message())
}

// Message returns the error_description of a JSON answer, the redirect
// target of a redirect, or else the status text.
func (d *Denial) Message() string {
	if d.Location != "" {
		return "sign in first: " + d.Location
	}
	var e struct {
		Description string `json:"error_description"`
	}
	if json.Unmarshal(d.Body, &e) == nil && e.Description != "" {
		return e.Description
	}
	return http.StatusText(d.Status)
}

// WriteHeaders sets the answer's headers (WWW-Authenticate, Location for a
// redirect) and cookies on x, leaving the status and body to the caller.
func (d *Denial) WriteHeaders(x Exchange) {
	d.setHeaders(x)
	if d.Location != "" {
		x.SetHeader("Location", d.Location)
	}
}

// Write sends the whole answer to x, exactly as the web layer would have.
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

// RecommendedReadBufferSize is the request-header buffer a fasthttp server
// (Fiber) needs for cookie sessions: the session cookies of a signed-in user
// take about 4 KB, and a sign-in adds a flow cookie on top.
const RecommendedReadBufferSize = 16 << 10

// CheckReadBufferSize logs a warning when sessions live in cookies and a
// fasthttp server reads at most size bytes of request headers (0 means
// fasthttp's default, 4096): such a server answers 431 once a user signs in.
// The Fiber adapters call it from Register.
func (w *Web) CheckReadBufferSize(size int) {
	if size == 0 {
		size = 4096
	}
	if w.o.store == nil && size < RecommendedReadBufferSize {
		w.log.Warn("kinde: the server's ReadBufferSize is too small for cookie sessions and will answer 431 after sign-in; set fiber.Config{ReadBufferSize: 16 << 10} or keep sessions server-side with kinde.WithStore",
			"read_buffer_size", size)
	}
}
