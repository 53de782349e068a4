package kinde_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// wantAnonymous fails unless cookies get the anonymous treatment: a page
// load is sent to sign-in and an API call gets 401.
func wantAnonymous(t *testing.T, a *webApp, cookies []*http.Cookie) {
	t.Helper()
	if h := replay(t, a, cookies, "/dashboard"); h.Status != http.StatusFound || !strings.HasPrefix(h.Location, "/api/auth/login") {
		t.Fatalf("page load answered %d to %q with body %q, want 302 to sign-in", h.Status, h.Location, h.Body)
	}
	b := newBrowser(t, a)
	b.setSessionCookies(cookies)
	if h := b.do(http.MethodGet, a.url+"/dashboard", apiHeaders); h.Status != http.StatusUnauthorized {
		t.Fatalf("API call answered %d, want 401", h.Status)
	}
}

// flip returns s with the byte at i changed to another base64url character.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func withValue(cookies []*http.Cookie, name string, f func(string) string) []*http.Cookie {
	out := make([]*http.Cookie, 0, len(cookies))
	for _, c := range cookies {
		v := c.Value
		if c.Name == name {
			v = f(v)
		}
		out = append(out, &http.Cookie{Name: c.Name, Value: v})
	}
	return out
}

func TestWebForgedSessionCookies(t *testing.T) {
	const name = "kinde_session"
	for _, st := range webStores() {
		t.Run(st.name, func(t *testing.T) {
			a := newWebApp(t, webAppConfig{store: st.store(), bigTokens: true})
			alice := signedIn(t, a, a.demo.Alice.ID, "")
			bob := signedIn(t, a, a.demo.Bob.ID, "")
			ac, bc := alice.sessionCookies(), bob.sessionCookies()
			cases := []struct {
				name    string
				cookies []*http.Cookie
			}{
				{"flip first byte", withValue(ac, name, func(v string) string { return flip(v, 0) })},
				{"flip middle byte", withValue(ac, name, func(v string) string { return flip(v, len(v)/2) })},
				{"flip last byte", withValue(ac, name, func(v string) string { return flip(v, len(v)-1) })},
				{"truncated", withValue(ac, name, func(v string) string { return v[:len(v)/2] })},
				{"one byte short", withValue(ac, name, func(v string) string { return v[:len(v)-1] })},
				{"empty", withValue(ac, name, func(string) string { return "" })},
				{"garbage", withValue(ac, name, func(string) string { return "not-a-session" })},
				{"renamed chunk marker", withValue(ac, name, func(v string) string { return "9." + v })},
			}
			if a.store == nil {
				if len(ac) < 2 || len(bc) < 2 {
					t.Fatalf("sessions use %d and %d cookies; the test needs chunks", len(ac), len(bc))
				}
				mixed := []*http.Cookie{ac[0]}
				mixed = append(mixed, bc[1:]...)
				cases = append(cases,
					struct {
						name    string
						cookies []*http.Cookie
					}{"chunks of two users", mixed},
					struct {
						name    string
						cookies []*http.Cookie
					}{"missing chunk", ac[:1]},
					struct {
						name    string
						cookies []*http.Cookie
					}{"tampered chunk", withValue(ac, ac[1].Name, func(v string) string { return flip(v, len(v)/2) })},
				)
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					wantAnonymous(t, a, tc.cookies)
					// The real sessions are untouched.
					alice.in(t).wantSignedIn(aliceEmail)
					bob.in(t).wantSignedIn(bobEmail)
				})
			}
		})
	}
}

func TestWebReplayAfterLogout(t *testing.T) {
	t.Run("memory store", func(t *testing.T) {
		a := newWebApp(t, webAppConfig{store: kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000})})
		b := signedIn(t, a, a.demo.Alice.ID, "")
		stolen := b.sessionCookies()
		b.get("/api/auth/logout")
		// The server-side session is gone: the copied cookie is dead at once.
		wantAnonymous(t, a, stolen)
	})
	t.Run("cookies", func(t *testing.T) {
		a := newWebApp(t, webAppConfig{})
		b := signedIn(t, a, a.demo.Alice.ID, "")
		stolen := b.sessionCookies()
		b.get("/api/auth/logout")
		// Stateless sessions cannot be recalled: a copy of the cookies made
		// before sign-out keeps working while its access token is valid...
		if h := replay(t, a, stolen, "/dashboard"); h.Status != http.StatusOK {
			t.Fatalf("replayed cookie before expiry answered %d; the documented behaviour is 200", h.Status)
		}
		// ...but it cannot be refreshed: sign-out revoked the refresh token.
		a.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
		calls := a.srv.Requests("/oauth2/token")
		wantAnonymous(t, a, stolen)
		if a.srv.Requests("/oauth2/token") == calls {
			t.Fatal("the replayed session was rejected without trying its refresh token")
		}
	})
}

func TestWebOpenRedirect(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	host := strings.TrimPrefix(a.url, "http://")
	targets := []string{
		"//evil.example",
		"///evil.example",
		"/\\evil.example",
		"\\\\evil.example",
		"https:evil.example",
		"https://evil.example",
		"HTTPS://evil.example/path",
		"/%2F%2Fevil.example",
		"/%2f%2fevil.example",
		"/%5Cevil.example",
		"%2F%2Fevil.example",
		"/\t/evil.example",
		"/%09/evil.example",
		"/\n/evil.example",
		"javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"/%252F%252Fevil.example",
		"/%25252F%25252Fevil.example",
		"http://localhost.evil.example",
		"http://" + host + ".evil.example/",
		"http://" + host + "@evil.example/",
		"http://evil.example/" + a.url,
		"https://" + host + "/dashboard", // other scheme than the app
		" //evil.example",
		"//evil.example/%2e%2e",
	}
	for _, route := range []string{"/api/auth/login", "/api/auth/register"} {
		for _, target := range targets {
			t.Run(route+"/"+url.PathEscape(target), func(t *testing.T) {
				b := newBrowser(t, a)
				a.srv.SignInAs(a.demo.Alice.ID)
				p := b.get(route + "?" + url.Values{"post_login_redirect_url": {target}}.Encode())
				if p.Offsite != "" {
					t.Fatalf("redirected off-site to %s", p.Offsite)
				}
				if p.Status != http.StatusOK || p.URL.String() != a.url+"/" {
					t.Fatalf("sign-in ended with %d at %s, want 200 at the default path %s/", p.Status, p.URL, a.url)
				}
				wantPage(t, p, "home: "+aliceEmail)
			})
		}
	}
	t.Run("spoofed Host header", func(t *testing.T) {
		b := newBrowser(t, a)
		a.srv.SignInAs(a.demo.Alice.ID)
		req, err := http.NewRequest(http.MethodGet, a.url+"/api/auth/login?post_login_redirect_url="+url.QueryEscape("http://evil.example/x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "evil.example"
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		p := b.get(resp.Header.Get("Location"))
		if p.Offsite != "" || !strings.HasPrefix(p.URL.String(), a.url+"/") {
			t.Fatalf("sign-in ended at %s (offsite %q)", p.URL, p.Offsite)
		}
	})
}

// pendingCallback starts a sign-in in b and lets the emulator answer it,
// returning the callback URL without visiting it.
func pendingCallback(t *testing.T, b *browser, userID string) string {
	t.Helper()
	b.app.srv.SignInAs(userID)
	h := b.step("/api/auth/login")
	h = b.do(http.MethodGet, h.Location, navigationHeaders)
	if h.Status != http.StatusFound || !strings.HasPrefix(h.Location, b.app.url+kinde.DefaultPaths().Callback+"?") {
		t.Fatalf("emulator answered %d to %q", h.Status, h.Location)
	}
	return h.Location
}

func TestWebCallbackAttacks(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	victim := signedIn(t, a, a.demo.Bob.ID, "")
	callback := a.url + kinde.DefaultPaths().Callback

	stillBob := func(t *testing.T) {
		t.Helper()
		victim.in(t).wantSignedIn(bobEmail)
	}
	wantRejected := func(t *testing.T, h hop) {
		t.Helper()
		if h.Status != http.StatusBadRequest {
			t.Fatalf("callback answered %d %q, want 400", h.Status, h.Body)
		}
		for _, c := range (&http.Response{Header: h.Header}).Cookies() {
			if c.Name == "kinde_session" && c.MaxAge >= 0 {
				t.Fatal("a rejected callback set a session cookie")
			}
		}
	}

	t.Run("state without a flow cookie", func(t *testing.T) {
		wantRejected(t, victim.in(t).step(callback+"?code=abc&state="+strings.Repeat("A", 43)))
		stillBob(t)
	})
	t.Run("no state", func(t *testing.T) {
		wantRejected(t, victim.in(t).step(callback+"?code=abc"))
		stillBob(t)
	})
	t.Run("login CSRF: another browser's callback", func(t *testing.T) {
		attacker := newBrowser(t, a)
		u := pendingCallback(t, attacker, a.demo.Alice.ID)
		wantRejected(t, victim.in(t).step(u))
		stillBob(t)
	})
	t.Run("another tab's state", func(t *testing.T) {
		b := signedIn(t, a, a.demo.Bob.ID, "")
		u1 := mustParse(t, pendingCallback(t, b, a.demo.Alice.ID))
		u2 := mustParse(t, pendingCallback(t, b, a.demo.Alice.ID))
		swapped := url.Values{"code": {u1.Query().Get("code")}, "state": {u2.Query().Get("state")}}
		wantRejected(t, b.step(callback+"?"+swapped.Encode()))
		b.wantSignedIn(bobEmail)
	})
	t.Run("duplicate state", func(t *testing.T) {
		b := signedIn(t, a, a.demo.Bob.ID, "")
		u := mustParse(t, pendingCallback(t, b, a.demo.Alice.ID))
		q := u.Query()
		dup := callback + "?" + u.RawQuery + "&state=" + url.QueryEscape(q.Get("state"))
		wantRejected(t, b.step(dup))
		b.wantSignedIn(bobEmail)
		// Duplicate codes likewise.
		u = mustParse(t, pendingCallback(t, b, a.demo.Alice.ID))
		wantRejected(t, b.step(callback+"?"+u.RawQuery+"&code=other"))
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := newBrowser(t, a)
		u := pendingCallback(t, b, a.demo.Alice.ID)
		flow := b.cookies(kinde.DefaultPaths().Callback)
		wantPage(t, b.get(u), "home: "+aliceEmail)
		// Second use in the same browser: the flow is finished.
		wantRejected(t, b.step(u))
		b.wantSignedIn(aliceEmail)
		// Second use with a copy of the flow cookie: Kinde refuses the code.
		thief := newBrowser(t, a)
		thief.jar.SetCookies(mustParse(t, callback), flow)
		h := thief.step(u)
		wantRejected(t, h)
		if len(thief.sessionCookies()) != 0 {
			t.Fatal("the replayed callback signed the thief in")
		}
		b.wantSignedIn(aliceEmail)
	})
	// Security review, finding 6: the error page showed any
	// error_description, so a crafted link put the attacker's text on this
	// site. Kinde's words are shown only for a sign-in this browser started,
	// and escaped.
	t.Run("error text of a crafted link is not shown", func(t *testing.T) {
		q := url.Values{"error": {"access_denied"}, "error_description": {"Call +1 555 0100 to unlock your account"}}
		h := victim.in(t).step(callback + "?" + q.Encode())
		wantRejected(t, h)
		if strings.Contains(h.Body, "555 0100") {
			t.Fatalf("error page shows a crafted description: %s", h.Body)
		}
		stillBob(t)
	})
	t.Run("error text of this browser's sign-in is escaped", func(t *testing.T) {
		b := newBrowser(t, a)
		state := mustParse(t, pendingCallback(t, b, a.demo.Alice.ID)).Query().Get("state")
		q := url.Values{"error": {"access_denied"}, "error_description": {"<script>alert(1)</script>"}, "state": {state}}
		h := b.step(callback + "?" + q.Encode())
		wantRejected(t, h)
		if strings.Contains(h.Body, "<script>alert") || !strings.Contains(h.Body, "&lt;script&gt;") {
			t.Fatalf("error page does not show the escaped description: %s", h.Body)
		}
	})
	// Security review, finding 5: login_link_expired with a reauth_state
	// restarted a sign-in with the link's parameters (prompt=none, an
	// organization, a login hint with CR) without any flow of this browser.
	t.Run("reauth without a flow of this browser", func(t *testing.T) {
		rs := base64.StdEncoding.EncodeToString([]byte(`{"orgCode":"org_evil","prompt":"none","loginHint":"a@b.c"}`))
		h := victim.in(t).step(callback + "?" + url.Values{"error": {"login_link_expired"}, "reauth_state": {rs}}.Encode())
		if h.Status == http.StatusFound {
			t.Fatalf("a crafted reauth link started a sign-in at %s", h.Location)
		}
		stillBob(t)
	})
	t.Run("reauth with parameters the login route refuses", func(t *testing.T) {
		b := newBrowser(t, a)
		state := mustParse(t, pendingCallback(t, b, a.demo.Alice.ID)).Query().Get("state")
		for _, raw := range []string{`{"prompt":"none"}`, `{"loginHint":"a@b.c\r\nx"}`, `{"orgCode":"org 1"}`} {
			rs := base64.StdEncoding.EncodeToString([]byte(raw))
			h := b.step(callback + "?" + url.Values{"error": {"login_link_expired"}, "reauth_state": {rs}, "state": {state}}.Encode())
			if h.Status == http.StatusFound {
				t.Fatalf("reauth_state %s started a sign-in at %s", raw, h.Location)
			}
		}
	})
	t.Run("issuer mix-up", func(t *testing.T) {
		b := newBrowser(t, a)
		u := mustParse(t, pendingCallback(t, b, a.demo.Alice.ID))
		wantRejected(t, b.step(callback+"?"+u.RawQuery+"&iss="+url.QueryEscape("https://evil.example")))
		if len(b.sessionCookies()) != 0 {
			t.Fatal("a callback from another issuer signed in")
		}
	})
}

func TestWebSessionFixation(t *testing.T) {
	for _, st := range webStores() {
		t.Run(st.name, func(t *testing.T) {
			a := newWebApp(t, webAppConfig{store: st.store()})
			// The attacker signs in and plants their session cookie in the
			// victim's browser.
			attacker := signedIn(t, a, a.demo.Bob.ID, "")
			planted := attacker.sessionCookies()
			victim := newBrowser(t, a)
			victim.setSessionCookies(planted)
			victim.wantSignedIn(bobEmail)

			victim.signIn(a.demo.Alice.ID, "")
			after := victim.sessionCookies()
			if len(after) == 0 || after[0].Value == planted[0].Value {
				t.Fatal("the session cookie was not renewed at sign-in")
			}
			victim.wantSignedIn(aliceEmail)
			// The planted cookie never gives the attacker the victim's session.
			h := replay(t, a, planted, "/dashboard")
			if strings.Contains(h.Body, aliceEmail) {
				t.Fatal("the planted session cookie now belongs to the victim")
			}
			if a.store != nil && h.Status != http.StatusFound {
				// With a store the old session was deleted at sign-in.
				t.Fatalf("planted session id answered %d, want 302 to sign-in", h.Status)
			}
		})
	}
	t.Run("chosen id", func(t *testing.T) {
		a := newWebApp(t, webAppConfig{store: kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 1000})})
		b := newBrowser(t, a)
		b.setSessionCookies([]*http.Cookie{{Name: "kinde_session", Value: "attacker-chosen-id"}})
		b.signIn(a.demo.Alice.ID, "")
		if c := b.sessionCookies(); len(c) != 1 || c[0].Value == "attacker-chosen-id" {
			t.Fatalf("session cookies after sign-in: %v", c)
		}
		b.wantSignedIn(aliceEmail)
	})
}

func FuzzCallbackQuery(f *testing.F) {
	srv := kindetest.NewServer()
	defer srv.Close()
	const redirect = "http://127.0.0.1/api/auth/kinde_callback"
	srv.AllowRedirectURI(srv.ClientID(), redirect)
	web, err := kinde.NewWeb(kinde.WithConfig(kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: redirect, SessionSecret: webTestSecret, Now: srv.Now,
		Logger: slog.New(slog.DiscardHandler),
	}))
	if err != nil {
		f.Fatal(err)
	}
	h := web.Handler()

	// A started sign-in, so that inputs with its state reach the code exchange.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/auth/login", nil))
	flow := rec.Result().Cookies()
	if len(flow) != 1 {
		f.Fatalf("login set %d cookies, want the flow cookie", len(flow))
	}
	authorize, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		f.Fatal(err)
	}
	state := authorize.Query().Get("state")

	for _, s := range []string{
		"", "code=abc&state=" + state, "state=" + state, "code=&state=" + state,
		"code=abc&state=" + state + "&state=" + state, "error=access_denied&state=" + state,
		"error=login_link_expired&reauth_state=e30%3D&state=" + state,
		"error=login_link_expired&reauth_state=eyJvcmdDb2RlIjoib3JnXzEyMyJ9",
		"error=login_required&state=" + state, "code=abc&state=" + state + "&iss=https%3A%2F%2Fevil.example",
		"%zz", "state=%00", "code=" + strings.Repeat("a", 3000) + "&state=" + state, ";;;&&&==",
		"error=" + strings.Repeat("x", 500) + "&error_description=%3Cscript%3E",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, withFlow bool) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/auth/kinde_callback", nil)
		req.URL.RawQuery = rawQuery
		req.Header.Set("Accept", "text/html")
		if withFlow {
			for _, c := range flow {
				req.AddCookie(c)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("query %q: status %d", rawQuery, rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if strings.HasPrefix(c.Name, "kinde_session") && c.MaxAge >= 0 && c.Value != "" {
				t.Fatalf("query %q set session cookie %s", rawQuery, c.Name)
			}
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, srv.URL()+"/oauth2/auth?") {
			t.Fatalf("query %q redirected to %q", rawQuery, loc)
		}
	})
}

// Security review, finding 4: sign-out and organization switch are GETs
// that change state, so a page of another site could sign the user out
// (revoking the refresh token) or switch their organization. Requests the
// browser marks as cross-site, or whose Origin/Referer is another site, are
// refused; same-site links keep working.
func TestWebCrossSiteStateChanges(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	headers := func(kv ...string) http.Header {
		h := navigationHeaders.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name     string
		path     string
		h        http.Header
		refused  bool
		signedIn bool // still signed in afterwards
	}{
		{"logout, cross-site", kinde.DefaultPaths().Logout, headers("Sec-Fetch-Site", "cross-site"), true, true},
		{"logout, Referer of another site", kinde.DefaultPaths().Logout, headers("Referer", "https://evil.example/page"), true, true},
		{"logout, Origin of another site", kinde.DefaultPaths().Logout, headers("Origin", "https://evil.example"), true, true},
		{"logout, same origin", kinde.DefaultPaths().Logout, headers("Sec-Fetch-Site", "same-origin"), false, false},
		{"logout, typed or bookmarked", kinde.DefaultPaths().Logout, headers("Sec-Fetch-Site", "none"), false, false},
		{"logout, Referer of this site", kinde.DefaultPaths().Logout, headers("Referer", a.url+"/dashboard"), false, false},
		{"logout, no fetch metadata", kinde.DefaultPaths().Logout, headers(), false, false},
		{"switch_org, cross-site", kinde.DefaultPaths().SwitchOrg + "?org_code=" + a.demo.Globex.Code, headers("Sec-Fetch-Site", "cross-site"), true, true},
		{"switch_org, same origin", kinde.DefaultPaths().SwitchOrg + "?org_code=" + a.demo.Globex.Code, headers("Sec-Fetch-Site", "same-origin"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := signedIn(t, a, a.demo.Alice.ID, "")
			h := b.do(http.MethodGet, b.abs(tt.path), tt.h)
			if refused := h.Status == http.StatusForbidden; refused != tt.refused {
				t.Fatalf("status %d (Location %q), refused %v; want refused %v", h.Status, h.Location, refused, tt.refused)
			}
			if tt.refused && (h.Location != "" || strings.Contains(h.Header.Get("Set-Cookie"), "kinde_session=;")) {
				t.Fatalf("a refused request still acted: Location %q, Set-Cookie %q", h.Location, h.Header.Values("Set-Cookie"))
			}
			if tt.signedIn {
				b.wantSignedIn(aliceEmail)
			} else if len(b.sessionCookies()) != 0 {
				t.Fatal("a same-site sign-out left the session")
			}
		})
	}
}

// Security review, finding 7: pages of a signed-in user carried no
// Cache-Control, so a shared cache or the back button could show them to
// someone else after sign-out.
func TestWebSignedInPagesAreNotCached(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	anonymous := newBrowser(t, a)
	if h := anonymous.step("/"); strings.Contains(h.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("anonymous page: Cache-Control %q, want the application's own", h.Header.Get("Cache-Control"))
	}
	b := signedIn(t, a, a.demo.Alice.ID, "")
	h := b.step("/")
	if got := h.Header.Get("Cache-Control"); got != "private, no-store" {
		t.Fatalf("signed-in page: Cache-Control %q, want private, no-store", got)
	}
}
