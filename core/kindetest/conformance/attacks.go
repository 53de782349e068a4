package conformance

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// Web attacks, run through the public routes of every front end: whatever
// the framework, a forged or replayed request must get the same refusal.
func init() {
	scenarios = append(scenarios,
		scenario{"attack: forged session cookie", testForgedSession},
		scenario{"attack: login CSRF with another browser's callback", testLoginCSRF},
		scenario{"attack: replayed callback", testReplayedCallback},
		scenario{"attack: issuer mix-up at the callback", testIssuerMixUp},
		scenario{"attack: open redirect after sign-in", testOpenRedirect},
		scenario{"attack: session fixation", testSessionFixation},
		scenario{"attack: unsigned bearer token", testBearerAlgNone},
		scenario{"attack: ID token as bearer token", testBearerIDToken},
	)
}

// pendingCallback starts a sign-in in b as userID and returns the callback
// URL Kinde redirects to, without visiting it.
func (b *browser) pendingCallback(userID string) string {
	f := b.f
	f.t.Helper()
	f.srv.SignInAs(userID)
	r := b.get(f.paths.Login, navigation)
	if r.status != http.StatusFound {
		f.t.Fatalf("login answered %d", r.status)
	}
	r = b.get(r.location(), navigation)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.cfg.RedirectURL+"?") {
		f.t.Fatalf("Kinde answered %d to %q", r.status, r.location())
	}
	return r.location()
}

// wantRefused checks a 400 answer that sets no session cookie.
func (f *fixture) wantRefused(r *response) {
	f.t.Helper()
	if r.status != http.StatusBadRequest {
		f.t.Errorf("status %d, want 400; body %s", r.status, r.body)
	}
	for _, c := range r.cookies(f.t) {
		if strings.HasPrefix(c.Name, "kinde_session") && c.Value != "" && c.MaxAge >= 0 {
			f.t.Errorf("a refused request set session cookie %s", c.Name)
		}
	}
}

// sessionCookies returns the session cookies b holds for the application.
func (b *browser) sessionCookies() []*http.Cookie {
	u, err := url.Parse(b.f.base + "/")
	if err != nil {
		b.f.t.Fatal(err)
	}
	var out []*http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasPrefix(strings.TrimPrefix(c.Name, "__Host-"), "kinde_session") {
			out = append(out, c)
		}
	}
	return out
}

// withSession returns a new browser holding exactly cookies as its session.
func (f *fixture) withSession(cookies []*http.Cookie) *browser {
	b := f.browser()
	u, err := url.Parse(f.base + "/")
	if err != nil {
		f.t.Fatal(err)
	}
	set := make([]*http.Cookie, 0, len(cookies))
	for _, c := range cookies {
		set = append(set, &http.Cookie{Name: c.Name, Value: c.Value, Path: "/"})
	}
	b.c.Jar.SetCookies(u, set)
	return b
}

func testForgedSession(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	alice := f.user(f.alice.ID, "")
	cookies := alice.sessionCookies()
	if len(cookies) == 0 {
		t.Fatal("no session cookie after sign-in")
	}
	for _, forge := range []func(string) string{
		func(v string) string { return flipByte(v, 0) },
		func(v string) string { return flipByte(v, len(v)/2) },
		func(v string) string { return flipByte(v, len(v)-1) },
		func(v string) string { return v[:len(v)/2] },
		func(string) string { return "not-a-session" },
	} {
		forged := make([]*http.Cookie, len(cookies))
		for i, c := range cookies {
			forged[i] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
		forged[0].Value = forge(forged[0].Value)
		b := f.withSession(forged)
		f.wantMe(b.get(PathMe, api), Me{})
		f.wantRedirect(b.get(PathProtected, navigation), f.loginURL(PathProtected))
	}
	// The genuine session is untouched.
	f.wantMe(alice.get(PathMe, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
}

func flipByte(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func testLoginCSRF(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	victim := f.user(f.bob.ID, "")
	u := f.browser().pendingCallback(f.carol.ID) // the attacker's sign-in
	f.wantRefused(victim.get(u, navigation))
	f.wantMe(victim.get(PathMe, api), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
}

func testReplayedCallback(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.browser()
	u := b.pendingCallback(f.bob.ID)
	if r := b.get(u, navigation); r.status != http.StatusFound {
		t.Fatalf("first use of the callback: %d %s", r.status, r.body)
	}
	f.wantRefused(b.get(u, navigation))
	f.wantMe(b.get(PathMe, api), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
}

func testIssuerMixUp(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.browser()
	u := b.pendingCallback(f.bob.ID)
	f.wantRefused(b.get(u+"&iss="+url.QueryEscape("https://evil.example.com"), navigation))
	f.wantMe(b.get(PathMe, api), Me{})
}

func testOpenRedirect(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	for _, target := range []string{"//evil.example.com", "https://evil.example.com/", "/\\evil.example.com",
		"/%2F%2Fevil.example.com", "javascript:alert(1)"} {
		b := f.browser()
		r := b.signIn(f.bob.ID, "?"+url.Values{"post_login_redirect_url": {target}}.Encode())
		f.wantRedirect(r, "/")
	}
}

func testSessionFixation(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	planted := f.user(f.carol.ID, "").sessionCookies()
	victim := f.withSession(planted)
	f.wantMe(victim.get(PathMe, api), f.me(f.carol, OrgCode, nil))
	if r := victim.signIn(f.bob.ID, ""); r.status != http.StatusFound {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	after := victim.sessionCookies()
	if len(after) == 0 || after[0].Value == planted[0].Value {
		t.Fatal("the session cookie was not renewed at sign-in")
	}
	f.wantMe(victim.get(PathMe, api), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
	// The planted cookie still names the attacker's own session, never the victim's.
	f.wantMe(f.withSession(planted).get(PathMe, api), f.me(f.carol, OrgCode, nil))
}

func testBearerAlgNone(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	claims := f.srv.AccessTokenClaims(f.bob.ID, kindetest.IssueOptions{Audience: []string{Audience}})
	for _, h := range []kindetest.Header{{Alg: "none"}, {Alg: "HS256"}} {
		r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+f.srv.Sign(claims, h))
		f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", kinde.ErrTokenAlgorithm.Error())
	}
}

func testBearerIDToken(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	tr, err := f.srv.IssueTokens(f.bob.ID, kindetest.IssueOptions{Audience: []string{Audience}})
	if err != nil {
		t.Fatal(err)
	}
	r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+tr.IDToken)
	f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", kinde.ErrTokenClaims.Error())
}
