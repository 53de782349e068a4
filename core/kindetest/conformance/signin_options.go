package conformance

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// signInOptionScenarios shape sign-ins (app defaults, the query whitelist,
// the app's own sign-in handler) and send users to Kinde's self-serve
// portal through the portal route.
var signInOptionScenarios = []scenario{
	{"sign-in options: step-up from the app's own handler", testStepUp},
	{"sign-in options: billing and whitelisted query parameters reach Kinde", testQueryWhitelist},
	{"sign-in options: prompt, audience and scope come only from the app", testQueryCannotOverride},
	{"portal: signed-in user goes to Kinde's portal", testPortalSignedIn},
	{"portal: anonymous user signs in first", testPortalAnonymous},
	{"portal: bad return URL or page refused", testPortalRefused},
}

// follow takes the browser from an authorize redirect r through Kinde (as
// userID) to the callback, and returns the callback's answer.
func (b *browser) follow(r *response, userID string) *response {
	f := b.f
	f.t.Helper()
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.srv.URL()+"/oauth2/auth?") {
		f.t.Fatalf("got %d to %q, want 302 to Kinde; body %s", r.status, r.location(), r.body)
	}
	f.srv.SignInAs(userID)
	r = b.get(r.location(), navigation)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.cfg.RedirectURL+"?") {
		f.t.Fatalf("Kinde answered %d to %q, want 302 to the callback: %s", r.status, r.location(), r.body)
	}
	return b.get(r.location(), navigation)
}

// testStepUp: the app's own handler (PathStepUp) starts a sign-in with
// prompt=login through the front end's SignIn, and it completes at the
// callback. An app that builds the URL itself with Client.AuthURL gets no
// flow cookie, and its callback answers 400 "Sign-in expired".
func testStepUp(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.user(f.alice.ID, "")
	r := b.get(PathStepUp, navigation)
	f.wantAuthorize(r, "", "login")
	r = b.follow(r, f.alice.ID)
	if got := f.srv.LastAuthorizeParams().Get("prompt"); got != "login" {
		t.Errorf("Kinde's authorize endpoint got prompt=%q, want login", got)
	}
	f.wantRedirect(r, StepUpReturn)
	f.wantMe(b.get(StepUpReturn, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
}

// testQueryWhitelist: the login and register routes pass plan_interest,
// pricing_table_key and the other documented parameters on to Kinde's
// authorize endpoint, refuse invalid values, and the sign-in completes.
func testQueryWhitelist(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	want := url.Values{
		"plan_interest": {"pro_plan"}, "pricing_table_key": {"pricing_2026"}, "lang": {"fr"},
		"login_hint": {"alice@acme.test"}, "connection_id": {"conn_0123456789"}, "utm_source": {"newsletter"},
	}
	for _, path := range []string{f.paths.Login, f.paths.Register} {
		b := f.browser()
		r := b.get(path+"?"+want.Encode(), navigation)
		u := f.wantAuthorize(r, "", map[string]string{f.paths.Login: "", f.paths.Register: "create"}[path])
		for k := range want {
			if got := u.Query().Get(k); got != want.Get(k) {
				t.Errorf("GET %s: authorize %s=%q, want %q", path, k, got, want.Get(k))
			}
		}
		f.wantRedirect(b.follow(r, f.alice.ID), "/")
		got := f.srv.LastAuthorizeParams()
		for _, k := range []string{"plan_interest", "pricing_table_key"} {
			if got.Get(k) != want.Get(k) {
				t.Errorf("GET %s: Kinde's authorize endpoint got %s=%q, want %q", path, k, got.Get(k), want.Get(k))
			}
		}
	}
	for _, q := range []string{"plan_interest=pro%20plan", "pricing_table_key=%0Ax", "login_hint=a%0Ab"} {
		if r := f.browser().get(f.paths.Login+"?"+q, navigation); r.status != http.StatusBadRequest {
			t.Errorf("GET %s?%s: %d to %q, want 400", f.paths.Login, q, r.status, r.location())
		}
	}
}

// testQueryCannotOverride: with app defaults (kinde.WithAuthOptions), a
// query cannot set prompt, audience or scope, nor what the SDK owns
// (client_id, redirect_uri, state, nonce, PKCE, response_type); the
// defaults apply to the login, register and switch_org routes alike.
func testQueryCannotOverride(t *testing.T, start Start) {
	const other = "https://billing.example.com/api"
	scopes := []string{"openid", "profile", "email", "offline"}
	f := setup(t, start, kinde.Paths{}, false, func(a *App) {
		a.Options = append(a.Options, kinde.WithAuthOptions(kinde.WithAudience(Audience, other),
			kinde.WithScopes(scopes...), kinde.WithParam("has_success_page", "true")))
	})
	f.srv.AddAPI(other)
	evil := url.Values{
		"prompt": {"none"}, "audience": {"https://evil.example/api"}, "scope": {"openid admin"},
		"client_id": {"evil"}, "redirect_uri": {"https://evil.example/cb"}, "state": {"0123456789abcdef0123"},
		"nonce": {"n"}, "code_challenge": {"x"}, "code_challenge_method": {"plain"}, "response_type": {"token"},
		"has_success_page": {"false"},
	}
	check := func(path string, u *url.URL) {
		t.Helper()
		q := u.Query()
		if got := q["audience"]; !slices.Equal(got, []string{Audience, other}) {
			t.Errorf("GET %s: authorize audience %q, want the app's defaults", path, got)
		}
		if got := q.Get("scope"); got != strings.Join(scopes, " ") {
			t.Errorf("GET %s: authorize scope %q, want the app's default", path, got)
		}
		if q.Get("client_id") != f.cfg.ClientID || q.Get("response_type") != "code" || q.Get("nonce") == "n" ||
			q.Get("state") == evil.Get("state") || q.Get("code_challenge") == "x" || q.Get("has_success_page") != "true" {
			t.Errorf("GET %s: the query overrode the SDK's or the app's parameters: %v", path, q)
		}
	}
	b := f.browser()
	r := b.get(f.paths.Login+"?"+evil.Encode(), navigation)
	check(f.paths.Login, f.wantAuthorize(r, "", ""))
	f.wantRedirect(b.follow(r, f.alice.ID), "/")
	if got := f.srv.LastAuthorizeParams().Get("prompt"); got != "" {
		t.Errorf("Kinde's authorize endpoint got prompt=%q, want none sent", got)
	}
	r = f.browser().get(f.paths.Register+"?"+evil.Encode(), navigation)
	check(f.paths.Register, f.wantAuthorize(r, "", "create"))
	sw := url.Values{"org_code": {globex}, "audience": {"https://evil.example/api"}, "scope": {"openid admin"}}
	r = b.get(f.paths.SwitchOrg+"?"+sw.Encode(), navigation)
	check(f.paths.SwitchOrg, f.wantAuthorize(r, globex, "none"))
}

// portalQuery is the portal route with subnav and return_url.
func (f *fixture) portalQuery(subnav, returnURL string) string {
	v := url.Values{}
	if subnav != "" {
		v.Set("subnav", subnav)
	}
	if returnURL != "" {
		v.Set("return_url", returnURL)
	}
	return kinde.DefaultPaths().Portal + "?" + v.Encode()
}

// wantPortal checks that r sends the browser to the portal link Kinde's
// Account API made, and that the link opens page for the user with a way
// back to returnURL.
func (f *fixture) wantPortal(b *browser, r *response, page, returnURL string) {
	f.t.Helper()
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.srv.URL()+"/portal_redirect?key=") {
		f.t.Fatalf("got %d to %q, want 302 to Kinde's portal; body %s", r.status, r.location(), r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		f.t.Errorf("Cache-Control %q, want no-store", got)
	}
	p := b.get(r.location(), navigation)
	for _, want := range []string{"Page: " + page + ".", `href="` + returnURL + `"`, f.alice.Email} {
		if p.status != http.StatusOK || !bytes.Contains(p.body, []byte(want)) {
			f.t.Errorf("portal page: %d, lacks %q:\n%s", p.status, want, p.body)
		}
	}
}

func testPortalSignedIn(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.user(f.alice.ID, "")
	f.wantPortal(b, b.get(f.portalQuery("profile", PathMe+"?tab=1"), navigation), "profile", f.base+PathMe+"?tab=1")
	// An absolute URL on this site is a return URL too; without one the
	// portal comes back to the after-login path.
	f.wantPortal(b, b.get(f.portalQuery("plan_details", f.base+PathProtected), navigation), "plan_details", f.base+PathProtected)
	f.wantPortal(b, b.get(f.portalQuery("", ""), navigation), "profile", f.base+"/")
}

func testPortalAnonymous(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	b := f.browser()
	target := f.portalQuery("organization_details", PathMe)
	r := b.follow(b.get(target, navigation), f.alice.ID)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), kinde.DefaultPaths().Portal+"?") {
		t.Fatalf("callback: %d to %q, want 302 back to the portal route", r.status, r.location())
	}
	f.wantPortal(b, b.get(r.location(), navigation), "organization_details", f.base+PathMe)
}

func testPortalRefused(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	signedIn := f.user(f.alice.ID, "")
	for _, q := range []string{
		f.portalQuery("profile", "https://evil.example/"),
		f.portalQuery("profile", "//evil.example/"),
		f.portalQuery("profile", "/%2F%2Fevil.example"),
		f.portalQuery("profile", "javascript:alert(1)"),
		f.portalQuery("nope", PathMe),
		kinde.DefaultPaths().Portal + "?return_url=%2Fme&return_url=https%3A%2F%2Fevil.example",
	} {
		for _, b := range []*browser{signedIn, f.browser()} {
			if r := b.get(q, navigation); r.status != http.StatusBadRequest {
				t.Errorf("GET %s: %d to %q, want 400", q, r.status, r.location())
			}
		}
	}
}
