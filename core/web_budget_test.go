package kinde_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// flowCookies returns the flow cookies the browser sends to the callback.
func (b *browser) flowCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range b.cookies(kinde.DefaultPaths().Callback) {
		if strings.HasPrefix(c.Name, "kinde_flow_") {
			out = append(out, c)
		}
	}
	return out
}

// cookieHeaderBytes is the size of the Cookie header the browser sends to path.
func (b *browser) cookieHeaderBytes(path string) int {
	n := 0
	for _, c := range b.cookies(path) {
		n += len(c.Name) + 1 + len(c.Value) + 2
	}
	return n
}

// startSignIn loads the login route with query and returns the state of
// the sign-in request it starts.
func (b *browser) startSignIn(query string) string {
	b.t.Helper()
	h := b.step("/api/auth/login?" + query)
	if h.Status != http.StatusFound {
		b.t.Fatalf("login: status %d: %s", h.Status, h.Body)
	}
	return mustParse(b.t, h.Location).Query().Get("state")
}

// TestAbandonedSignInsBounded: each started sign-in leaves a flow cookie
// for the flow lifetime; 22 of them used to push the callback's Cookie
// header past 8 KB (issue 18 item 5). A browser keeps at most four, the
// oldest is dropped first, and the newest still completes.
func TestAbandonedSignInsBounded(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	var states []string
	for range 22 {
		states = append(states, b.startSignIn("post_login_redirect_url=/dashboard"))
		a.srv.Advance(time.Second)
	}
	if n := len(b.flowCookies()); n > 4 {
		t.Errorf("the browser keeps %d flow cookies after 22 abandoned sign-ins; want at most 4", n)
	}
	if n := b.cookieHeaderBytes(kinde.DefaultPaths().Callback); n > 2048 {
		t.Errorf("the callback's Cookie header is %d bytes; want at most 2048", n)
	}
	for _, c := range b.flowCookies() {
		if strings.HasPrefix(states[0], strings.TrimPrefix(c.Name, "kinde_flow_")) {
			t.Errorf("the oldest sign-in's flow cookie is still there; the oldest must go first")
		}
	}
	// The newest sign-in completes.
	a.srv.SignInAs(a.demo.Alice.ID)
	h := b.step("/api/auth/login?post_login_redirect_url=/dashboard")
	p := b.get(h.Location)
	wantPage(t, p, "user="+aliceEmail)
}

// TestLongReturnToNotStored: a post-login path longer than 512 bytes is
// not kept in the flow cookie (six sign-ins with a long return-to locked a
// Fiber user out, DECISIONS "cheap refusals"): the sign-in lands on the
// after-login path.
func TestLongReturnToNotStored(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	long := "/dashboard?q=" + strings.Repeat("x", 1900) // a flow cookie of about 3 KB
	for range 6 {
		b.startSignIn("post_login_redirect_url=" + url.QueryEscape(long))
	}
	for _, c := range b.flowCookies() {
		if len(c.Value) > 1024 {
			t.Errorf("flow cookie of %d bytes; want the long return-to left out", len(c.Value))
		}
	}
	if n := b.cookieHeaderBytes(kinde.DefaultPaths().Callback); n > 2048 {
		t.Errorf("the callback's Cookie header is %d bytes after six long sign-ins; want at most 2048", n)
	}
	p := b.signIn(a.demo.Alice.ID, "post_login_redirect_url="+url.QueryEscape(long))
	if p.URL.Path != "/" {
		t.Errorf("landed on %s; want the after-login path /", p.URL.Path)
	}
	// A return-to within the cap is kept.
	b2 := newBrowser(t, a)
	short := "/dashboard?q=" + strings.Repeat("y", 400)
	p = b2.signIn(a.demo.Alice.ID, "post_login_redirect_url="+url.QueryEscape(short))
	if p.URL.RequestURI() != short {
		t.Errorf("landed on %s; want %s", p.URL.RequestURI(), short)
	}
}

// TestCookieBudgetRefusesLargeSession: once the server says how much of a
// request it reads (CheckReadBufferSize, what the Fiber adapters call), a
// session whose cookies would not fit is not written; the sign-in ends on
// a page naming the fixes, and the browser carries nothing the server
// cannot read (issue 16 item 5).
func TestCookieBudgetRefusesLargeSession(t *testing.T) {
	a := newWebApp(t, webAppConfig{bigTokens: true})
	a.web.Load().CheckReadBufferSize(4096)
	b := newBrowser(t, a)
	a.srv.SignInAs(a.demo.Alice.ID)
	p := b.get("/api/auth/login")
	if p.Status != http.StatusInternalServerError || !strings.Contains(p.Body, "WithStore") || !strings.Contains(p.Body, "ReadBufferSize") {
		t.Fatalf("sign-in answered %d: %q; want 500 naming WithStore and ReadBufferSize", p.Status, p.Body)
	}
	if c := b.sessionCookies(); len(c) != 0 {
		t.Errorf("the browser got %d session cookies over the budget", len(c))
	}
	if n := b.cookieHeaderBytes("/"); n > 4096-1700 {
		t.Errorf("the browser sends %d bytes of cookies; want at most %d", n, 4096-1700)
	}

	// A larger read buffer lets the same session through.
	big := newWebApp(t, webAppConfig{bigTokens: true})
	big.web.Load().CheckReadBufferSize(64 << 10)
	bb := newBrowser(t, big)
	bb.signIn(big.demo.Alice.ID, "")
	bb.wantSignedIn(aliceEmail)
}

// TestSignInStartMakesRoomForFlow: when a signed-in user starts a sign-in
// and the session cookies and the new flow cookie would not fit the
// callback's request together, the session cookies go (the callback
// replaces the session anyway) rather than the callback answering 431.
func TestSignInStartMakesRoomForFlow(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	b.signIn(a.demo.Alice.ID, "")
	session := b.cookieHeaderBytes("/")
	a.web.Load().CheckReadBufferSize(session + 100 + 1700)
	b.startSignIn("")
	if n := b.cookieHeaderBytes(kinde.DefaultPaths().Callback); n > session+100 {
		t.Errorf("the callback would carry %d bytes of cookies; budget %d", n, session+100)
	}
	if len(b.sessionCookies()) != 0 {
		t.Error("the session cookies stayed beside a flow cookie that does not fit with them")
	}
	p := b.signIn(a.demo.Alice.ID, "")
	wantPage(t, p, "home: "+aliceEmail)
}
