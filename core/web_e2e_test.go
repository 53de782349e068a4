package kinde_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"go.uber.org/goleak"
)

// checkGoroutines registers, before anything else starts, a cleanup that
// fails the test when goroutines it started are still running after every
// other cleanup (servers, connections) has run.
func checkGoroutines(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// webStores are the session stores every end-to-end test runs with.
func webStores() []struct {
	name  string
	store func() kinde.Store
} {
	return []struct {
		name  string
		store func() kinde.Store
	}{
		{"cookies", func() kinde.Store { return nil }},
		{"memory", func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000}) }},
	}
}

func TestWebE2ELifecycle(t *testing.T) {
	tests := []struct {
		name      string
		store     func() kinde.Store
		bigTokens bool
	}{
		{"cookies", func() kinde.Store { return nil }, false},
		{"cookies chunked", func() kinde.Store { return nil }, true},
		{"memory", func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000}) }, false},
		{"memory big tokens", func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000}) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			a := newWebApp(t, webAppConfig{store: tt.store(), bigTokens: tt.bigTokens})
			b := newBrowser(t, a)
			a.srv.SignInAs(a.demo.Alice.ID)

			// An anonymous visit to a protected page signs in and comes back.
			p := b.get("/dashboard?tab=2")
			wantPage(t, p, "page /dashboard user="+aliceEmail)
			if p.URL.Path != "/dashboard" || p.URL.RawQuery != "tab=2" {
				t.Fatalf("landed on %s, want /dashboard?tab=2", p.URL)
			}
			if first := p.Hops[0]; first.Status != http.StatusFound || first.Location != "/api/auth/login?post_login_redirect_url=%2Fdashboard%3Ftab%3D2" {
				t.Fatalf("anonymous visit answered %d to %q", first.Status, first.Location)
			}
			for _, h := range p.Hops {
				if strings.Contains(h.URL, kinde.DefaultPaths().Callback) && h.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("callback answered without Cache-Control: no-store")
				}
			}
			if n := len(b.cookies(kinde.DefaultPaths().Callback)) - len(b.cookies("/")); n != 0 {
				t.Errorf("%d flow cookies left after the callback", n)
			}
			chunks := b.sessionCookies()
			switch {
			case len(chunks) == 0:
				t.Fatal("no session cookie after sign-in")
			case tt.bigTokens && a.store == nil && len(chunks) < 2:
				t.Fatalf("big session kept in %d cookie; the test needs chunks", len(chunks))
			case a.store != nil && len(chunks) != 1:
				t.Fatalf("server-side session uses %d cookies, want 1", len(chunks))
			}

			// The access token expires: the next request refreshes and
			// stores the rotated tokens.
			before := b.tokens()
			a.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
			calls := a.srv.Requests("/oauth2/token")
			b.wantSignedIn(aliceEmail)
			if got := a.srv.Requests("/oauth2/token") - calls; got != 1 {
				t.Fatalf("%d token requests for one expired session, want 1", got)
			}
			after := b.tokens()
			if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
				t.Fatal("stored tokens did not rotate after the refresh")
			}
			if !after.ExpiresAt.After(a.srv.Now()) {
				t.Fatalf("refreshed access token expires at %v, before now %v", after.ExpiresAt, a.srv.Now())
			}
			b.wantSignedIn(aliceEmail)
			if got := a.srv.Requests("/oauth2/token") - calls; got != 1 {
				t.Fatalf("%d token requests after the refresh, want still 1", got)
			}

			// Sign-out: Kinde's logout, back to the app, every cookie gone,
			// the refresh token revoked.
			names := map[string]bool{}
			for _, c := range b.sessionCookies() {
				names[c.Name] = true
			}
			p = b.get("/api/auth/logout")
			wantPage(t, p, "home: anonymous")
			if p.URL.String() != a.url+"/" {
				t.Fatalf("sign-out ended at %s, want %s/", p.URL, a.url)
			}
			wantLogout := a.srv.URL() + "/logout?redirect=" + url.QueryEscape(a.url+"/")
			if len(p.Hops) < 2 || p.Hops[0].Location != wantLogout {
				t.Fatalf("sign-out redirected to %q, want %q", p.Hops[0].Location, wantLogout)
			}
			for _, c := range (&http.Response{Header: p.Hops[0].Header}).Cookies() {
				if names[c.Name] && c.MaxAge < 0 {
					delete(names, c.Name)
				}
			}
			if len(names) != 0 {
				t.Fatalf("sign-out did not clear cookies %v", names)
			}
			if left := b.sessionCookies(); len(left) != 0 {
				t.Fatalf("session cookies left after sign-out: %d", len(left))
			}
			_, err := a.client().Refresh(context.Background(), &after)
			if !errors.Is(err, kinde.ErrInvalidGrant) {
				t.Fatalf("refresh with the signed-out refresh token: %v, want ErrInvalidGrant", err)
			}

			// Signed out, the protected page asks for sign-in again.
			h := b.step("/dashboard")
			if h.Status != http.StatusFound || h.Location != "/api/auth/login?post_login_redirect_url=%2Fdashboard" {
				t.Fatalf("after sign-out /dashboard answered %d to %q", h.Status, h.Location)
			}
		})
	}
}

func TestWebTwoTabs(t *testing.T) {
	for _, st := range webStores() {
		t.Run(st.name, func(t *testing.T) {
			a := newWebApp(t, webAppConfig{store: st.store()})
			b := newBrowser(t, a)
			tab1 := b.step("/api/auth/login?post_login_redirect_url=%2Fdashboard")
			tab2 := b.step("/api/auth/login?post_login_redirect_url=%2Fadmin")
			for _, h := range []hop{tab1, tab2} {
				if h.Status != http.StatusFound || !strings.HasPrefix(h.Location, a.srv.URL()+"/oauth2/auth?") {
					t.Fatalf("login answered %d to %q", h.Status, h.Location)
				}
			}
			if tab1.Location == tab2.Location {
				t.Fatal("two sign-ins got the same authorize URL")
			}

			a.srv.SignInAs(a.demo.Bob.ID)
			wantPage(t, b.get(tab1.Location), "page /dashboard user="+bobEmail)
			a.srv.SignInAs(a.demo.Alice.ID)
			wantPage(t, b.get(tab2.Location), "page /admin user="+aliceEmail)
			b.wantSignedIn(aliceEmail)
		})
	}
}

func TestWebCancelledSignIn(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	a.srv.SignInAs(a.demo.Alice.ID)
	a.srv.CancelNextLogin()
	p := b.get("/api/auth/login")
	if p.Status < 400 || p.Status > 499 {
		t.Fatalf("cancelled sign-in answered %d, want 4xx", p.Status)
	}
	if !strings.Contains(p.URL.Path, kinde.DefaultPaths().Callback) || !strings.Contains(p.URL.RawQuery, "error=access_denied") {
		t.Fatalf("cancelled sign-in ended at %s", p.URL)
	}
	for _, want := range []string{"cancelled", "Sign in again", `href="/api/auth/login"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("cancelled sign-in page lacks %q: %s", want, p.Body)
		}
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want HTML", ct)
	}
	if len(b.sessionCookies()) != 0 {
		t.Fatal("a cancelled sign-in set a session cookie")
	}
	// The link on the page works.
	wantPage(t, b.get("/api/auth/login"), "home: "+aliceEmail)
}

func TestWebExpiredFlow(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	a.srv.SignInAs(a.demo.Alice.ID)
	h := b.step("/api/auth/login")
	a.srv.Advance((15 * time.Minute) + time.Second)
	p := b.get(h.Location)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Sign-in expired") || !strings.Contains(p.Body, "Sign in again") {
		t.Fatalf("late callback answered %d: %s", p.Status, p.Body)
	}
	if len(b.sessionCookies()) != 0 {
		t.Fatal("an expired sign-in set a session cookie")
	}
	if n := len(b.cookies(kinde.DefaultPaths().Callback)); n != 0 {
		t.Fatalf("%d flow cookies left after the expired callback", n)
	}
	wantPage(t, b.get("/api/auth/login"), "home: "+aliceEmail)
}

func TestWebReauth(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	a.srv.SignInAs(a.demo.Alice.ID)
	a.srv.ExpireNextLoginLink()
	globex := a.demo.Globex.Code
	p := b.get("/api/auth/login?" + url.Values{"org_code": {globex}, "post_login_redirect_url": {"/globex"}}.Encode())
	wantPage(t, p, "page /globex user="+aliceEmail+" org="+globex)
	if got := a.srv.Requests("/oauth2/auth"); got != 2 {
		t.Fatalf("%d authorize requests, want 2 (expired link, then the restart)", got)
	}
	sawExpired := false
	for _, h := range p.Hops {
		if strings.Contains(h.URL, "error=login_link_expired") && strings.Contains(h.URL, "reauth_state=") {
			sawExpired = true
			if h.Status != http.StatusFound || !strings.HasPrefix(h.Location, a.srv.URL()+"/oauth2/auth?") {
				t.Fatalf("expired-link callback answered %d to %q, want a new sign-in", h.Status, h.Location)
			}
		}
	}
	if !sawExpired {
		t.Fatal("the emulator never reported the expired login link")
	}
	if got := a.srv.LastAuthorizeParams().Get("org_code"); got != globex {
		t.Fatalf("restarted sign-in has org_code %q, want %q", got, globex)
	}
}

func TestWebPostLoginRedirect(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	tests := []struct {
		name, target, want string
	}{
		{"path", "/dashboard", "/dashboard"},
		{"path and query", "/dashboard?tab=2&q=a%20b", "/dashboard?tab=2&q=a%20b"},
		{"same origin URL", a.url + "/admin?x=1", "/admin?x=1"},
		{"none", "", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, a)
			q := ""
			if tt.target != "" {
				q = url.Values{"post_login_redirect_url": {tt.target}}.Encode()
			}
			p := b.signIn(a.demo.Alice.ID, q)
			if got := p.URL.RequestURI(); got != tt.want {
				t.Fatalf("landed on %s, want %s", got, tt.want)
			}
		})
	}
}

// signedIn returns a browser signed in as userID with the extra login query.
func signedIn(t *testing.T, a *webApp, userID, query string) *browser {
	t.Helper()
	b := newBrowser(t, a)
	b.signIn(userID, query)
	return b
}

func TestWebGuards(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	browsers := map[string]*browser{
		"anonymous":    newBrowser(t, a),
		"alice":        signedIn(t, a, a.demo.Alice.ID, ""),
		"alice@globex": signedIn(t, a, a.demo.Alice.ID, "org_code="+a.demo.Globex.Code),
		"bob":          signedIn(t, a, a.demo.Bob.ID, ""),
	}
	routes := []struct {
		path    string
		allowed []string
	}{
		{"/dashboard", []string{"alice", "alice@globex", "bob"}},
		{"/admin", []string{"alice"}},                      // delete:todos: admin role in Acme only
		{"/admin-role", []string{"alice"}},                 // admin role
		{"/globex", []string{"alice@globex"}},              // signed in to Globex
		{"/beta", []string{"alice", "alice@globex"}},       // dark_mode on for Alice
		{"/alice-only", []string{"alice", "alice@globex"}}, // custom rule
	}
	issuer := a.srv.URL()
	for _, r := range routes {
		for _, who := range []string{"anonymous", "alice", "alice@globex", "bob"} {
			allowed := false
			for _, w := range r.allowed {
				allowed = allowed || w == who
			}
			for _, mode := range []string{"navigation", "api"} {
				t.Run(r.path+"/"+who+"/"+mode, func(t *testing.T) {
					b := browsers[who].in(t)
					hdr := navigationHeaders
					if mode == "api" {
						hdr = apiHeaders
					}
					h := b.do(http.MethodGet, a.url+r.path, hdr)
					switch {
					case allowed:
						if h.Status != http.StatusOK || !strings.Contains(h.Body, "page "+r.path) {
							t.Fatalf("got %d %q, want 200", h.Status, h.Body)
						}
					case who == "anonymous" && mode == "navigation":
						want := "/api/auth/login?post_login_redirect_url=" + url.QueryEscape(r.path)
						if h.Status != http.StatusFound || h.Location != want {
							t.Fatalf("got %d to %q, want 302 to %q", h.Status, h.Location, want)
						}
					case who == "anonymous":
						wantJSONError(t, h, http.StatusUnauthorized, "unauthenticated", `Bearer realm="`+issuer+`"`)
					case mode == "navigation":
						if h.Status != http.StatusForbidden || !strings.HasPrefix(h.Header.Get("Content-Type"), "text/html") ||
							!strings.Contains(h.Body, "Access denied") || strings.Contains(h.Body, "Sign in again") {
							t.Fatalf("got %d %q %q, want a 403 HTML page", h.Status, h.Header.Get("Content-Type"), h.Body)
						}
					default:
						wantJSONError(t, h, http.StatusForbidden, "forbidden", `Bearer realm="`+issuer+`", error="insufficient_scope"`)
					}
				})
			}
		}
	}
}

// wantJSONError checks an OAuth-style JSON error answer.
func wantJSONError(t *testing.T, h hop, status int, code, authenticate string) {
	t.Helper()
	if h.Status != status {
		t.Fatalf("status %d, want %d (body %q)", h.Status, status, h.Body)
	}
	if ct := h.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(h.Body), &body); err != nil || body.Error != code || body.Description == "" {
		t.Fatalf("body %q (%v), want error %q with a description", h.Body, err, code)
	}
	if got := h.Header.Get("WWW-Authenticate"); got != authenticate {
		t.Fatalf("WWW-Authenticate %q, want %q", got, authenticate)
	}
}

func TestWebRequireBearer(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	alice := a.demo.Alice.ID
	issue := func(opts kindetest.IssueOptions) string {
		tok, err := a.srv.IssueTokens(alice, opts)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	valid := issue(kindetest.IssueOptions{})
	idTokens, err := a.srv.IssueTokens(alice, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	forAPI := issue(kindetest.IssueOptions{Audience: []string{webTestAPI}})
	otherAPI := issue(kindetest.IssueOptions{Audience: []string{"https://other.example/api"}})
	claims := a.srv.AccessTokenClaims(alice, kindetest.IssueOptions{})
	claims["iat"] = a.srv.Now().Add(-2 * time.Hour).Unix()
	claims["exp"] = a.srv.Now().Add(-time.Hour).Unix()
	expired := a.srv.Sign(claims, kindetest.Header{})
	unsigned := a.srv.Sign(a.srv.AccessTokenClaims(alice, kindetest.IssueOptions{}), kindetest.Header{Alg: "none"})

	other := kindetest.Start(t)
	stranger := other.AddUser(kindetest.User{Email: "mallory@example.com"})
	foreign, err := other.IssueTokens(stranger.ID, kindetest.IssueOptions{})

	if err != nil {
		t.Fatal(err)
	}

	realm := `Bearer realm="` + a.srv.URL() + `"`
	tests := []struct {
		name, path, header string
		status             int
		code, authenticate string
	}{
		{"valid", "/api/me", "Bearer " + valid, http.StatusOK, "", ""},
		{"lower-case scheme", "/api/me", "bearer " + valid, http.StatusOK, "", ""},
		{"audience", "/api/todos", "Bearer " + forAPI, http.StatusOK, "", ""},
		{"missing", "/api/me", "", http.StatusUnauthorized, "unauthenticated", realm},
		{"basic", "/api/me", "Basic YWxpY2U6c2VjcmV0", http.StatusBadRequest, "invalid_request", realm + `, error="invalid_request"`},
		{"scheme only", "/api/me", "Bearer", http.StatusBadRequest, "invalid_request", realm + `, error="invalid_request"`},
		{"two tokens", "/api/me", "Bearer " + valid + " " + valid, http.StatusBadRequest, "invalid_request", realm + `, error="invalid_request"`},
		{"not a JWT", "/api/me", "Bearer abc.def", http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
		{"expired", "/api/me", "Bearer " + expired, http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
		{"unsigned", "/api/me", "Bearer " + unsigned, http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
		{"no audience", "/api/todos", "Bearer " + valid, http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
		{"wrong audience", "/api/todos", "Bearer " + otherAPI, http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
		{"other issuer", "/api/me", "Bearer " + foreign.AccessToken, http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
		{"ID token as bearer", "/api/me", "Bearer " + idTokens.IDToken, http.StatusUnauthorized, "invalid_token", realm + `, error="invalid_token"`},
	}
	b := newBrowser(t, a)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{"Accept": {"application/json"}}
			if tt.header != "" {
				hdr.Set("Authorization", tt.header)
			}
			h := b.in(t).do(http.MethodGet, a.url+tt.path, hdr)
			if tt.status == http.StatusOK {
				if h.Status != http.StatusOK || !strings.Contains(h.Body, alice) {
					t.Fatalf("got %d %q, want 200 for %s", h.Status, h.Body, alice)
				}
				return
			}
			wantJSONError(t, h, tt.status, tt.code, tt.authenticate)
			if strings.Contains(h.Body, "eyJ") {
				t.Fatalf("the error echoes the token: %s", h.Body)
			}
		})
	}
	t.Run("expired says why", func(t *testing.T) {
		h := b.in(t).do(http.MethodGet, a.url+"/api/me", http.Header{"Authorization": {"Bearer " + expired}})
		if !strings.Contains(h.Body, "expired") {
			t.Fatalf("body %q does not say the token expired", h.Body)
		}
	})
}

func TestWebConcurrentRefresh(t *testing.T) {
	for _, st := range webStores() {
		t.Run(st.name, func(t *testing.T) {
			checkGoroutines(t)
			a := newWebApp(t, webAppConfig{store: st.store()})
			b := signedIn(t, a, a.demo.Alice.ID, "")
			old := b.sessionCookies()
			a.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
			calls := a.srv.Requests("/oauth2/token")

			const n = 50
			tr := http.DefaultTransport.(*http.Transport).Clone()
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			var wg sync.WaitGroup
			results := make([]hop, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					results[i], errs[i] = fetchWithCookies(client, a.url+"/dashboard", old)
				})
			}
			close(start)
			wg.Wait()
			for i, h := range results {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				if h.Status != http.StatusOK || !strings.Contains(h.Body, "user="+aliceEmail) {
					t.Fatalf("request %d: status %d %q", i, h.Status, h.Body)
				}
			}
			if got := a.srv.Requests("/oauth2/token") - calls; got != 1 {
				t.Fatalf("%d refresh requests for %d concurrent requests, want 1", got, n)
			}

			// The browser keeps what the last answer set; the session goes on
			// without another refresh.
			b.jar.SetCookies(mustParse(t, a.url+"/"), (&http.Response{Header: results[n-1].Header}).Cookies())
			b.wantSignedIn(aliceEmail)
			if got := a.srv.Requests("/oauth2/token") - calls; got != 1 {
				t.Fatalf("%d refresh requests after the burst, want still 1", got)
			}
			if a.store != nil {
				// The server-side session was updated in place: the old
				// cookie is the same session.
				if h := replay(t, a, old, "/dashboard"); h.Status != http.StatusOK {
					t.Fatalf("old session id after the refresh: status %d", h.Status)
				}
			}
		})
	}
}

// fetchWithCookies loads a page with exactly the given cookies; it is safe
// to call from any goroutine.
func fetchWithCookies(client *http.Client, rawURL string, cookies []*http.Cookie) (hop, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return hop{}, err
	}
	for k, v := range navigationHeaders {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := client.Do(req)
	if err != nil {
		return hop{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return hop{}, fmt.Errorf("read %s: %w", rawURL, err)
	}
	return hop{URL: rawURL, Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(body)}, nil
}

// replay loads a page in a fresh browser that carries exactly cookies.
func replay(t *testing.T, a *webApp, cookies []*http.Cookie, path string) hop {
	t.Helper()
	b := newBrowser(t, a)
	b.setSessionCookies(cookies)
	return b.do(http.MethodGet, a.url+path, navigationHeaders)
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestWebAppRestart(t *testing.T) {
	t.Run("cookies, same secret", func(t *testing.T) {
		a := newWebApp(t, webAppConfig{bigTokens: true})
		b := signedIn(t, a, a.demo.Alice.ID, "")
		a.restart(webTestSecret)
		b.wantSignedIn(aliceEmail)
	})
	t.Run("cookies, new secret", func(t *testing.T) {
		a := newWebApp(t, webAppConfig{})
		b := signedIn(t, a, a.demo.Alice.ID, "")
		a.restart("another-session-secret-0123456789-abcdefghij")
		if h := b.step("/dashboard"); h.Status != http.StatusFound {
			t.Fatalf("a session sealed with another secret answered %d, want 302 to sign-in", h.Status)
		}
	})
	t.Run("memory store", func(t *testing.T) {
		a := newWebApp(t, webAppConfig{store: kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000})})
		b := signedIn(t, a, a.demo.Alice.ID, "")
		a.restart(webTestSecret)
		b.wantSignedIn(aliceEmail)
	})
}

// outageStore is a real MemoryStore whose reads fail while down is set, as a
// Redis that is briefly unreachable does.
type outageStore struct {
	*kinde.MemoryStore
	down atomic.Bool
}

func (s *outageStore) Get(ctx context.Context, id string) ([]byte, error) {
	if s.down.Load() {
		return nil, errors.New("store unreachable")
	}
	return s.MemoryStore.Get(ctx, id)
}

func TestWebStoreOutageKeepsSession(t *testing.T) {
	store := &outageStore{MemoryStore: kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000})}
	a := newWebApp(t, webAppConfig{store: store})
	b := signedIn(t, a, a.demo.Alice.ID, "")
	store.down.Store(true)
	h := b.do(http.MethodGet, a.url+"/dashboard", apiHeaders)
	if h.Status != http.StatusUnauthorized {
		t.Fatalf("during the outage: status %d, want 401", h.Status)
	}
	if len(b.sessionCookies()) != 1 {
		t.Fatal("a store outage deleted the session cookie")
	}
	store.down.Store(false)
	b.wantSignedIn(aliceEmail)
}

// Kinde answers a refresh with the same access token while it has not
// expired (shared/reference/kinde-protocol.md, "Refresh behaviour"), so a
// refresh before expiry gains nothing: the session is refreshed only once
// the access token has expired, exactly once.
func TestWebRefreshWindowWithSameAccessToken(t *testing.T) {
	for _, st := range webStores() {
		t.Run(st.name, func(t *testing.T) {
			a := newWebApp(t, webAppConfig{store: st.store()})
			b := signedIn(t, a, a.demo.Alice.ID, "")
			first := b.tokens()
			a.srv.Advance(kindetest.DefaultAccessTokenLifetime - 40*time.Second)
			before := a.srv.Requests("/oauth2/token")
			for range 5 {
				b.wantSignedIn(aliceEmail)
			}
			if n := a.srv.Requests("/oauth2/token") - before; n != 0 {
				t.Fatalf("%d refreshes in the last minute before expiry, want 0", n)
			}
			a.srv.Advance(time.Minute)
			for range 3 {
				b.wantSignedIn(aliceEmail)
			}
			if n := a.srv.Requests("/oauth2/token") - before; n != 1 {
				t.Fatalf("%d refreshes in total, want 1 (after expiry)", n)
			}
			if got := b.tokens(); got.AccessToken == first.AccessToken || !got.ExpiresAt.After(a.srv.Now()) {
				t.Fatal("no fresh access token after the old one expired")
			}
		})
	}
}
