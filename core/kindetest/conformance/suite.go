package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// Run checks the front end that start serves. Each scenario is a subtest
// with its own emulator and application. Run uses t.Setenv, so it must not
// run in a parallel test.
func Run(t *testing.T, start Start) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, start) })
	}
}

// Scenarios returns the number of scenarios Run runs, counting each guard's
// allow and deny cases separately.
func Scenarios() int { return len(scenarios) }

type scenario struct {
	name string
	run  func(t *testing.T, start Start)
}

// scenarios are run in this order.
var scenarios = func() []scenario {
	out := []scenario{
		{"routes redirect to Kinde", testRoutes},
		{"callback without a started sign-in", testCallbackWithoutFlow},
		{"sign-in sets the session", testSignIn},
		{"anonymous navigation redirects to sign-in", testAnonymousNavigation},
		{"anonymous API call gets 401", testAnonymousAPI},
		{"forbidden page for navigation", testForbiddenPage},
		{"forbidden JSON for API calls", testForbiddenJSON},
	}
	for _, g := range guardCases {
		out = append(out, scenario{"guard " + g.path + " " + g.name, g.run})
	}
	out = append(out, switchOrgScenarios...)
	out = append(out, signInOptionScenarios...)
	return append(out,
		scenario{"bearer valid", testBearerValid},
		scenario{"bearer missing", testBearerMissing},
		scenario{"bearer malformed header", testBearerMalformed},
		scenario{"bearer invalid signature", testBearerInvalid},
		scenario{"bearer expired", testBearerExpired},
		scenario{"bearer wrong audience", testBearerAudience},
		scenario{"bearer without permission", testBearerForbidden},
		scenario{"session accessor", testAccessor},
		scenario{"refresh after the clock advances", testRefresh},
		scenario{"logout clears the session", testLogout},
		scenario{"custom paths", testCustomPaths},
		scenario{"configuration from the environment", testFromEnv},
	)
}()

func testRoutes(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	checkRoutes(f)
}

// checkRoutes checks that every sign-in route sends the browser to Kinde
// with a flow cookie scoped to the callback.
func checkRoutes(f *fixture) {
	t := f.t
	for _, rt := range []struct {
		path, query string
		param       string // a parameter the route must pass to Kinde
		value       string
	}{
		{f.paths.Login, "?lang=en", "lang", "en"},
		{f.paths.Register, "", "prompt", "create"},
		{f.paths.CreateOrg, "?org_name=Initech", "is_create_org", "true"},
		{f.paths.SwitchOrg, "?org_code=org_globex000001", "prompt", "none"},
	} {
		r := f.browser().get(rt.path+rt.query, navigation)
		if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.srv.URL()+"/oauth2/auth?") {
			t.Errorf("GET %s: got %d to %q, want 302 to Kinde", rt.path, r.status, r.location())
			continue
		}
		u, err := url.Parse(r.location())
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get(rt.param) != rt.value || q.Get("redirect_uri") != f.cfg.RedirectURL ||
			q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
			t.Errorf("GET %s: authorize query %v", rt.path, q)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", rt.path, got)
		}
		flow := 0
		for _, c := range r.cookies(t) {
			if strings.HasPrefix(c.Name, "kinde_flow_") {
				flow++
				// Path: a directory holding the start route and the callback,
				// so that a start sees the flows to bound (issue 18 item 5).
				inPath := strings.HasSuffix(c.Path, "/") && strings.HasPrefix(f.paths.Callback, c.Path) && strings.HasPrefix(rt.path, c.Path)
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || !inPath || c.Secure || c.MaxAge <= 0 {
					t.Errorf("GET %s: flow cookie %s", rt.path, c)
				}
			}
		}
		if flow != 1 {
			t.Errorf("GET %s: %d flow cookies, want 1", rt.path, flow)
		}
	}
}

func testCallbackWithoutFlow(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	r := f.browser().get(f.paths.Callback+"?code=abc&state=0123456789abcdef0123", api)
	f.wantError(r, http.StatusBadRequest, "", "sign-in_expired",
		"This sign-in was not started in this browser, has expired, or was already completed. Please sign in again.")
	r = f.browser().get(f.paths.Callback+"?error=access_denied", navigation)
	if r.status != http.StatusBadRequest || r.header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!bytes.Contains(r.body, []byte("Sign-in not completed")) {
		t.Errorf("callback with error: got %d %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func testSignIn(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.browser()
	r := b.signIn(f.alice.ID, "?"+url.Values{"post_login_redirect_url": {PathMe + "?x=1"}}.Encode())
	f.wantRedirect(r, PathMe+"?x=1")
	session := 0
	for _, c := range r.cookies(t) {
		switch {
		case strings.HasPrefix(c.Name, "kinde_session"):
			session++
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge <= 0 {
				t.Errorf("session cookie %s", c)
			}
		case strings.HasPrefix(c.Name, "kinde_flow_"):
			if c.MaxAge >= 0 && (c.Expires.IsZero() || c.Expires.After(time.Unix(1, 0))) {
				t.Errorf("flow cookie not deleted: %s", c)
			}
		}
	}
	if session == 0 {
		t.Errorf("callback set no session cookie: %q", r.header.Values("Set-Cookie"))
	}
	f.wantMe(b.get(PathMe, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
	if r := b.get(PathProtected, navigation); r.status != http.StatusOK {
		t.Errorf("GET %s after sign-in: %d", PathProtected, r.status)
	}
}

func testAnonymousNavigation(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.browser()
	r := b.get(PathProtected+"?tab=1", navigation)
	f.wantRedirect(r, f.loginURL(PathProtected+"?tab=1"))
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	// The sign-in started there comes back to the page.
	f.wantRedirect(b.signInFrom(r.location(), f.alice.ID), PathProtected+"?tab=1")
	f.wantMe(b.get(PathProtected+"?tab=1", navigation), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
	// The home page is the default destination, so it is not repeated.
	f.wantRedirect(f.browser().get(PathProtected, navigation), f.loginURL(PathProtected))
}

func testAnonymousAPI(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.browser()
	for _, path := range []string{PathProtected, PathAdmin, PathRole, PathOrg, PathFlag, PathCustom} {
		r := b.get(path, api)
		f.wantError(r, http.StatusUnauthorized, f.realm(), "unauthenticated",
			"sign in first: this endpoint needs a Kinde session or a bearer token")
	}
	// X-Requested-With marks an API call even when HTML is accepted.
	r := b.get(PathProtected, navigation, "Sec-Fetch-Mode", "", "X-Requested-With", "XMLHttpRequest")
	f.wantError(r, http.StatusUnauthorized, f.realm(), "unauthenticated",
		"sign in first: this endpoint needs a Kinde session or a bearer token")
}

func testForbiddenPage(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	r := f.user(f.bob.ID, "").get(PathAdmin, navigation)
	if r.status != http.StatusForbidden {
		t.Fatalf("status %d, want 403; body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{"<title>Access denied</title>", `it needs permissions &#34;admin:read&#34;`} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("page lacks %q:\n%s", want, r.body)
		}
	}
	if r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("a page carries WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
}

func testForbiddenJSON(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	r := f.user(f.bob.ID, "").get(PathAdmin, api)
	f.wantError(r, http.StatusForbidden, f.realm()+`, error="insufficient_scope"`, "forbidden",
		`this request needs permissions "admin:read"`)
}

// guardCase is one guard and one user, allowed or denied.
type guardCase struct {
	path, name string
	rule       string // the rule as the 403 answer names it
	user       func(f *fixture) (kindetest.User, string)
	allow      bool
}

var guardCases = func() []guardCase {
	alice := func(f *fixture) (kindetest.User, string) { return f.alice, "" }
	bob := func(f *fixture) (kindetest.User, string) { return f.bob, "" }
	aliceGlobex := func(f *fixture) (kindetest.User, string) { return f.alice, "?org_code=org_globex000001" }
	var out []guardCase
	for _, g := range []struct {
		path, rule  string
		allow, deny func(f *fixture) (kindetest.User, string)
	}{
		{PathProtected, "signed in", alice, nil},
		{PathAdmin, fmt.Sprintf("permissions %q", Permission), alice, bob},
		{PathRole, fmt.Sprintf("roles %q", Role), alice, bob},
		{PathOrg, fmt.Sprintf("organization %q", OrgCode), alice, aliceGlobex},
		{PathFlag, fmt.Sprintf("feature flag %q", Flag), alice, bob},
		{PathCustom, "custom rule", alice, bob},
	} {
		out = append(out, guardCase{path: g.path, name: "allows", rule: g.rule, user: g.allow, allow: true})
		if g.deny != nil {
			out = append(out, guardCase{path: g.path, name: "denies", rule: g.rule, user: g.deny})
		}
	}
	return out
}()

func (g guardCase) run(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	u, query := g.user(f)
	r := f.user(u.ID, query).get(g.path, api)
	if !g.allow {
		f.wantError(r, http.StatusForbidden, f.realm()+`, error="insufficient_scope"`, "forbidden", "this request needs "+g.rule)
		return
	}
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	f.wantMe(r, f.me(u, OrgCode, []string{Permission, APIPermission}, Role))
}

// me is the expected Me of a signed-in user.
func (f *fixture) me(u kindetest.User, org string, perms []string, roles ...string) Me {
	return Me{SignedIn: true, UserID: u.ID, Email: u.Email, OrgCode: org, Permissions: perms, Roles: roles}
}

// bearer mints an access token for u with the given audience.
func (f *fixture) bearer(u kindetest.User, audience string) string {
	f.t.Helper()
	tr, err := f.srv.IssueTokens(u.ID, kindetest.IssueOptions{Audience: []string{audience}})
	if err != nil {
		f.t.Fatalf("IssueTokens: %v", err)
	}
	return tr.AccessToken
}

func testBearerValid(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+f.bearer(f.bob, Audience))
	f.wantMe(r, f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
}

func testBearerMissing(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	// A signed-in browser session does not stand in for a bearer token.
	r := f.user(f.alice.ID, "").get(PathAPI, navigation)
	f.wantError(r, http.StatusUnauthorized, f.realm(), "unauthenticated",
		"send an access token in the Authorization header: Bearer <token>")
}

func testBearerMalformed(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	for _, h := range []string{"Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer a b"} {
		r := f.browser().get(PathAPI, api, "Authorization", h)
		f.wantError(r, http.StatusBadRequest, f.realm()+`, error="invalid_request"`, "invalid_request",
			"the Authorization header must be: Bearer <token>")
	}
}

func testBearerInvalid(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	// Change one character in the middle of the signature.
	tok := []byte(f.bearer(f.bob, Audience))
	i := bytes.LastIndexByte(tok, '.') + 10
	if tok[i] == 'A' {
		tok[i] = 'B'
	} else {
		tok[i] = 'A'
	}
	r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+string(tok))
	f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", kinde.ErrTokenSignature.Error())
	r = f.browser().get(PathAPI, api, "Authorization", "Bearer not-a-token")
	f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", kinde.ErrTokenMalformed.Error())
}

func testBearerExpired(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	tok := f.bearer(f.bob, Audience)
	f.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Hour)
	r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+tok)
	f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", kinde.ErrTokenExpired.Error())
}

func testBearerAudience(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+f.bearer(f.bob, "https://other.example.com/api"))
	f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", kinde.ErrTokenAudience.Error())
}

func testBearerForbidden(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	r := f.browser().get(PathAPI, api, "Authorization", "Bearer "+f.bearer(f.carol, Audience))
	f.wantError(r, http.StatusForbidden, f.realm()+`, error="insufficient_scope"`, "forbidden",
		fmt.Sprintf("this request needs permissions %q", APIPermission))
}

func testAccessor(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	f.wantMe(f.browser().get(PathMe, api), Me{})
	f.wantMe(f.user(f.alice.ID, "?org_code=org_globex000001").get(PathMe, api),
		f.me(f.alice, "org_globex000001", []string{APIPermission}, "member"))
	f.wantMe(f.user(f.bob.ID, "").get(PathMe, navigation), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
	f.wantMe(f.user(f.carol.ID, "").get(PathMe, api), f.me(f.carol, OrgCode, nil))
}

func testRefresh(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	f.srv.SetTokenLifetimes(5*time.Minute, 0, 0)
	b := f.user(f.alice.ID, "")
	f.srv.ResetRequests()
	f.srv.Advance(6 * time.Minute)
	want := f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role)
	// Requests arriving together with the expired session share one refresh.
	var wg sync.WaitGroup
	results := make([]*response, 4)
	for i := range results {
		wg.Go(func() { results[i] = b.get(PathMe, api) })
	}
	wg.Wait()
	for _, r := range results {
		f.wantMe(r, want)
	}
	f.wantMe(b.get(PathMe, api), want)
	if n := f.srv.Requests("/oauth2/token"); n != 1 {
		t.Errorf("%d token requests, want exactly 1", n)
	}
}

func testLogout(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.user(f.alice.ID, "")
	f.srv.ResetRequests()
	r := b.get(f.paths.Logout, navigation)
	f.wantRedirect(r, f.srv.URL()+"/logout?"+url.Values{"redirect": {f.cfg.PostLogoutRedirectURL}}.Encode())
	cleared := 0
	for _, c := range r.cookies(t) {
		if strings.HasPrefix(c.Name, "kinde_session") {
			if c.Value != "" || (c.MaxAge >= 0 && (c.Expires.IsZero() || c.Expires.After(time.Unix(1, 0)))) {
				t.Errorf("session cookie not deleted: %s", c)
			}
			cleared++
		}
	}
	if cleared == 0 {
		t.Errorf("logout cleared no session cookie: %q", r.header.Values("Set-Cookie"))
	}
	if n := f.srv.Requests("/oauth2/revoke"); n != 1 {
		t.Errorf("%d revocations, want 1", n)
	}
	f.wantMe(b.get(PathMe, api), Me{})
	f.wantRedirect(b.get(PathProtected, navigation), f.loginURL(PathProtected))
}

func testCustomPaths(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{Login: "/auth/sign-in", Register: "/auth/sign-up", CreateOrg: "/auth/new-org",
		Callback: "/auth/back", Logout: "/auth/sign-out", SwitchOrg: "/auth/org"}, false)
	checkRoutes(f)
	for _, p := range []string{kinde.DefaultPaths().Login, kinde.DefaultPaths().Callback, kinde.DefaultPaths().Logout} {
		if r := f.browser().get(p, navigation); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
	b := f.browser()
	r := b.get(PathAdmin, navigation)
	f.wantRedirect(r, "/auth/sign-in?post_login_redirect_url=%2Fadmin")
	f.wantRedirect(b.signInFrom(r.location(), f.alice.ID), PathAdmin)
	f.wantMe(b.get(PathAdmin, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
	if r := b.get("/auth/sign-out", navigation); r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.srv.URL()+"/logout") {
		t.Errorf("custom logout: %d to %q", r.status, r.location())
	}
	f.wantMe(b.get(PathMe, api), Me{})
}

func testFromEnv(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, true)
	b := f.browser()
	f.wantRedirect(b.signIn(f.alice.ID, ""), "/")
	f.wantMe(b.get(PathProtected, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
}
