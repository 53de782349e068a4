package conformance

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// globex is the second organization of the suite's directory: Alice is a
// member there, without the admin role.
const globex = "org_globex000001"

// switchOrgScenarios move a signed-in user to another organization through
// the switch_org route.
var switchOrgScenarios = []scenario{
	{"switch org signs in silently", testSwitchOrgSilent},
	{"switch org falls back to the login screen", testSwitchOrgLoginRequired},
	{"switch org needs a valid org_code", testSwitchOrgInvalid},
}

// switchOrg asks the app to move b to org and returns the authorize URL it
// redirects to, after checking that it asks Kinde for org silently.
func (b *browser) switchOrg(org string) *url.URL {
	f := b.f
	f.t.Helper()
	q := url.Values{"org_code": {org}, "post_login_redirect_url": {PathMe}}
	return f.wantAuthorize(b.get(f.paths.SwitchOrg+"?"+q.Encode(), navigation), org, "none")
}

// wantAuthorize checks that r sends the browser to Kinde's authorize
// endpoint for org with the given prompt ("" for none), and with a flow
// cookie, and returns the authorize URL.
func (f *fixture) wantAuthorize(r *response, org, prompt string) *url.URL {
	f.t.Helper()
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.srv.URL()+"/oauth2/auth?") {
		f.t.Fatalf("got %d to %q, want 302 to Kinde; body %s", r.status, r.location(), r.body)
	}
	u, err := url.Parse(r.location())
	if err != nil {
		f.t.Fatal(err)
	}
	q := u.Query()
	if q.Get("org_code") != org || q.Get("prompt") != prompt || q.Get("redirect_uri") != f.cfg.RedirectURL ||
		q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
		f.t.Errorf("authorize query %v, want org_code=%s and prompt=%q", q, org, prompt)
	}
	flow := false
	for _, c := range r.cookies(f.t) {
		flow = flow || strings.HasPrefix(c.Name, "kinde_flow_") && c.MaxAge > 0
	}
	if !flow {
		f.t.Errorf("no flow cookie set: %q", r.header.Values("Set-Cookie"))
	}
	return u
}

// wantCallback checks that Kinde's answer r sends the browser back to the
// callback with the parameter param (code or error; with value when it is
// not "") and returns the callback URL.
func (f *fixture) wantCallback(r *response, param, value string) *url.URL {
	f.t.Helper()
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.cfg.RedirectURL+"?") {
		f.t.Fatalf("Kinde answered %d to %q, want 302 to the callback; body %s", r.status, r.location(), r.body)
	}
	u, err := url.Parse(r.location())
	if err != nil {
		f.t.Fatal(err)
	}
	if got := u.Query().Get(param); got == "" || value != "" && got != value {
		f.t.Fatalf("callback %s, want %s=%s", r.location(), param, value)
	}
	return u
}

// testSwitchOrgSilent: a user signed in to Acme switches to Globex. Kinde
// still has its own session with the browser, so it answers prompt=none
// with a code at once and the app's session moves to Globex.
func testSwitchOrgSilent(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.user(f.alice.ID, "")
	f.srv.SignInAs("") // from here on, only Kinde's session cookie signs Alice in
	f.wantMe(b.get(PathOrg, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))

	f.srv.ResetRequests()
	authorize := b.switchOrg(globex)
	callback := f.wantCallback(b.get(authorize.String(), navigation), "code", "")
	f.wantRedirect(b.get(callback.String(), navigation), PathMe)
	if n := f.srv.Requests("/oauth2/token"); n != 1 {
		t.Errorf("%d token requests, want 1: the switch's code exchange", n)
	}
	f.wantMe(b.get(PathMe, api), f.me(f.alice, globex, []string{APIPermission}, "member"))
	f.wantError(b.get(PathOrg, api), http.StatusForbidden, f.realm()+`, error="insufficient_scope"`, "forbidden",
		fmt.Sprintf("this request needs organization %q", OrgCode))
}

// testSwitchOrgLoginRequired: Kinde has no session with the browser (its
// cookies are gone), so it answers prompt=none with login_required; the app
// then starts an interactive sign-in to Globex, and the user ends up there.
func testSwitchOrgLoginRequired(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.user(f.alice.ID, "")
	f.srv.SignInAs("")

	authorize := b.switchOrg(globex)
	// A browser without Kinde's cookies: a fresh cookie jar visits Kinde.
	callback := f.wantCallback(f.browser().get(authorize.String(), navigation), "error", "login_required")
	if got := callback.Query().Get("state"); got != authorize.Query().Get("state") {
		t.Errorf("login_required came back with state %q, want %q", got, authorize.Query().Get("state"))
	}
	again := f.wantAuthorize(b.get(callback.String(), navigation), globex, "")
	if again.Query().Get("state") == authorize.Query().Get("state") {
		t.Error("the interactive sign-in reuses the silent one's state")
	}

	f.srv.SignInAs(f.alice.ID) // Alice signs in on Kinde's login screen
	callback = f.wantCallback(b.get(again.String(), navigation), "code", "")
	f.wantRedirect(b.get(callback.String(), navigation), PathMe)
	f.wantMe(b.get(PathMe, api), f.me(f.alice, globex, []string{APIPermission}, "member"))
}

// testSwitchOrgInvalid: without a well-formed org_code the route answers
// 400 and does not go to Kinde; the session is untouched.
func testSwitchOrgInvalid(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.user(f.alice.ID, "")
	for _, query := range []string{"", "?org_code=", "?org_code=org%20acme", "?org_code=" + strings.Repeat("x", 129)} {
		r := b.get(f.paths.SwitchOrg+query, navigation)
		if r.status != http.StatusBadRequest || r.location() != "" {
			t.Errorf("GET %s%s: got %d to %q, want 400", f.paths.SwitchOrg, query, r.status, r.location())
		}
	}
	f.wantMe(b.get(PathMe, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
}
