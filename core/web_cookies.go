package kinde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The web layer reads a request's Cookie header once: the first time it
// asks for one of its own cookies (the session cookie and its chunks, the
// flow cookies), the header is scanned a single time, up to a cap, and
// the SDK's cookies are kept in the request's state; every later lookup in
// the same request (the session's chunks, clearing them, the flow at the
// callback) reads that view. A request with a rejected session cookie used
// to scan the whole header a dozen times.
const (
	// maxCookieHeaderBytes is how much of the Cookie header the web layer
	// reads: room for the largest cookie session (10 cookies of 4 KB) and
	// flow cookies behind several dozen KB of the application's cookies.
	// Browsers keep at most 4096 bytes per cookie and 50 cookies per domain
	// by RFC 6265 section 6.1's minimum (Chrome keeps 180).
	maxCookieHeaderBytes = 128 << 10
	// maxCookiesRead is how many cookies of the header the web layer looks
	// at, whoever set them.
	maxCookiesRead = 256
	// maxOwnCookies is how many of its own cookies the web layer keeps: a
	// session of at most cookie.DefaultMaxChunks cookies and maxFlows flows,
	// with room to spare for leftovers it then clears.
	maxOwnCookies = 24
)

type cookiePair struct{ name, value string }

// cookieJar is the web layer's view of one request's Cookie header.
type cookieJar struct {
	own    []cookiePair // the web layer's cookies, in header order
	inline [2]cookiePair
}

// cookieHeaderer is implemented by Exchanges that hand over the raw Cookie
// header (the Fiber adapters), so that the web layer reads it in one pass.
type cookieHeaderer interface{ CookieHeader() string }

// cookieExchange is the Exchange LoadContext hands to the session loader:
// its Cookie reads the request state's view of the Cookie header.
type cookieExchange struct {
	Exchange
	st *requestState
}

func (x *cookieExchange) Cookie(name string) (string, bool) { return x.st.cookie(name) }

// Cookie returns the request cookie name as the web layer sees it (see
// cookieJar). Adapters reach it through the request's context: a method of
// an unexported type, found with an anonymous interface, so that the
// exchanges of a request share one read of the header.
func (st *requestState) Cookie(name string) (string, bool) { return st.cookie(name) }

// source is the Exchange whose request the state belongs to, or nil.
func (st *requestState) source() Exchange {
	if st.cx.Exchange != nil {
		return st.cx.Exchange
	}
	if st.http.r != nil {
		return &st.http
	}
	return nil
}

func (st *requestState) cookie(name string) (string, bool) {
	if st.web == nil || !st.web.ownCookie(name) {
		return st.scan(name)
	}
	if !st.jarRead && !st.fill() {
		return st.scan(name)
	}
	if st.jar == nil {
		return "", false
	}
	for _, c := range st.jar.own {
		if c.name == name {
			return c.value, true
		}
	}
	return "", false
}

// scan looks name up in the header directly, for a cookie that is not the
// web layer's own (never the case for the SDK's reads).
func (st *requestState) scan(name string) (string, bool) {
	switch src := st.source().(type) {
	case *httpExchange:
		return cookieValue(src.r.Header["Cookie"], name)
	case cookieHeaderer:
		return cookieValue([]string{src.CookieHeader()}, name)
	case nil:
		return "", false
	default:
		return src.Cookie(name)
	}
}

// fill reads the Cookie header into the jar, once; false when the source
// cannot hand over its header (an Exchange of another adapter), whose
// Cookie is then asked for each name.
func (st *requestState) fill() bool {
	var lines []string
	var one string
	src := st.source()
	switch s := src.(type) {
	case *httpExchange:
		lines = s.r.Header["Cookie"]
	case cookieHeaderer:
		one = s.CookieHeader()
	default:
		return false
	}
	st.jarRead = true
	budget, count := maxCookieHeaderBytes, 0
	var stop string
	read := func(line string) bool {
		cut := false
		if len(line) > budget {
			line, cut = line[:budget], true
		}
		budget -= len(line)
		for len(line) > 0 {
			if count == maxCookiesRead {
				stop = "cookies"
				return false
			}
			part, rest, more := strings.Cut(line, ";")
			if !more && cut {
				stop = "bytes" // the last cookie read is incomplete
				return false
			}
			line = rest
			part = strings.TrimLeft(part, " \t")
			if part == "" {
				continue
			}
			count++
			k, v, ok := strings.Cut(part, "=")
			if !ok || !st.web.ownCookie(k) {
				continue
			}
			if st.jar == nil {
				st.jar = &cookieJar{}
				st.jar.own = st.jar.inline[:0]
			}
			if len(st.jar.own) == maxOwnCookies {
				stop = "own cookies"
				continue
			}
			v = strings.TrimRight(v, " \t")
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			st.jar.own = append(st.jar.own, cookiePair{k, v})
		}
		if cut {
			stop = "bytes"
			return false
		}
		return true
	}
	if lines == nil {
		read(one)
	}
	for _, line := range lines {
		if !read(line) {
			break
		}
	}
	if stop != "" {
		st.web.c.debug(src.Context(), "the request's Cookie header is larger than the web layer reads; the rest is ignored",
			"limit", stop, "max_bytes", maxCookieHeaderBytes, "max_cookies", maxCookiesRead)
	}
	return true
}

// ownCookie reports whether name is one of the web layer's cookies: the
// session cookie, a chunk of it (name.1, name.2, …) or a flow cookie.
func (w *Web) ownCookie(name string) bool {
	if strings.HasPrefix(name, flowCookiePrefix) {
		return true
	}
	rest, ok := strings.CutPrefix(name, w.o.cookieName)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// stateOf returns the request state holding the cookie view of x's
// request, making a temporary one for an Exchange outside the session
// middleware.
func (w *Web) stateOf(x Exchange) *requestState {
	switch v := x.(type) {
	case *cookieExchange:
		return v.st
	case *httpExchange:
		if v.st != nil && (v.st.web == nil || v.st.web == w) {
			v.st.web = w
			return v.st
		}
	}
	if st := stateFrom(x.Context()); st != nil && st.web == w && st.source() != nil {
		return st
	}
	st := &requestState{web: w}
	st.cx = cookieExchange{Exchange: x, st: st}
	return st
}

// ownCookies returns the web layer's cookies the request carries (at most
// maxOwnCookies), in header order.
func (w *Web) ownCookies(x Exchange) []cookiePair {
	st := w.stateOf(x)
	if !st.jarRead && !st.fill() || st.jar == nil {
		return nil // none, or an Exchange that cannot list its cookies
	}
	return st.jar.own
}

// cookieBytes is what a cookie adds to a request's Cookie header.
func cookieBytes(name, value string) int { return len(name) + 1 + len(value) + 2 }

// headerAllowance is what a request's line and other headers take in a
// server's read buffer: a browser sends about 1.5 KB of headers besides its
// cookies (user agent, client hints, Accept…), and the request line carries
// the URL.
const headerAllowance = 1700

// minCookieBudget is the smallest budget a read buffer can set: below it
// the web layer cannot store a session, which CheckReadBufferSize logs.
const minCookieBudget = 512

// cookieBudget returns the bytes of Cookie header the web layer's cookies
// may take in any request, or 0 for no limit but the codec's own.
func (w *Web) cookieBudget() int { return int(w.budget.Load()) }

// setReadBufferSize lowers the cookie budget to what a server reading at
// most size bytes of request headers can read back.
func (w *Web) setReadBufferSize(size int) (budget int, lowered bool) {
	budget = max(size-headerAllowance, minCookieBudget)
	for {
		old := w.budget.Load()
		if old != 0 && old <= int64(budget) {
			return int(old), false
		}
		if w.budget.CompareAndSwap(old, int64(budget)) {
			return budget, true
		}
	}
}

// cookieBudgetError is the error of a session whose cookies would not fit
// the cookie budget: it is not written. errors.Is(err, ErrSessionTooLarge)
// holds for it.
type cookieBudgetError struct{ size, budget int }

func (e *cookieBudgetError) Error() string {
	return fmt.Sprintf("kinde: the session needs %d bytes of cookies, more than the %d bytes this server reads back (its request header buffer less room for other headers), so it was not written; keep sessions server-side with kinde.WithStore, or raise the server's read buffer (fiber.Config.ReadBufferSize)",
		e.size, e.budget)
}

func (e *cookieBudgetError) Is(target error) bool { return target == ErrSessionTooLarge }

// checkCookieBudget refuses session cookies that would not fit the cookie
// budget. Flow cookies sent with the same request (the callback's) count
// too: when they and the new session do not fit together, the flows of
// other sign-ins are cleared (each would end with "Sign-in expired" rather
// than with a request the server cannot read).
func (w *Web) checkCookieBudget(x Exchange, cookies []*http.Cookie) error {
	budget := w.cookieBudget()
	if budget == 0 {
		return nil
	}
	size := 0
	for _, c := range cookies {
		if c.MaxAge >= 0 && c.Value != "" {
			size += cookieBytes(c.Name, c.Value)
		}
	}
	if size > budget {
		return &cookieBudgetError{size: size, budget: budget}
	}
	flows := 0
	for _, c := range w.ownCookies(x) {
		if strings.HasPrefix(c.name, flowCookiePrefix) {
			flows += cookieBytes(c.name, c.value)
		}
	}
	if size+flows > budget {
		for _, c := range w.ownCookies(x) {
			if strings.HasPrefix(c.name, flowCookiePrefix) {
				w.expireFlow(x, c.name)
			}
		}
	}
	return nil
}

// flowPath is the Path of flow cookies: the longest directory shared by the
// routes that start a sign-in and the callback ("/api/auth/" by default), so
// that a sign-in start sees the flows a browser already holds (and can drop
// the oldest) while the application's pages never receive them.
func (w *Web) flowPath() string {
	p := w.o.paths
	prefix := p.Callback
	for _, r := range []string{p.Login, p.Register, p.CreateOrg, p.SwitchOrg} {
		for !strings.HasPrefix(r, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		return prefix[:i+1]
	}
	return "/"
}

// expireFlow deletes the flow cookie name.
func (w *Web) expireFlow(x Exchange, name string) {
	x.SetCookie(&http.Cookie{Name: name, Value: "", Path: w.flowPath(), MaxAge: -1,
		Expires: time.Unix(0, 0), HttpOnly: true, Secure: w.secure(x), SameSite: http.SameSiteLaxMode})
}

// isBudgetError reports a session refused by the cookie budget.
func isBudgetError(err error) bool {
	var be *cookieBudgetError
	return errors.As(err, &be)
}

var _ context.Context = (*requestState)(nil)
