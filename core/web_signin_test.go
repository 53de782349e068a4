package kinde_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// TestWithAuthOptionsRefusesAtStartup: invalid defaults, and a default
// redirect URL (the callback is Config.RedirectURL), fail NewWeb.
func TestWithAuthOptionsRefusesAtStartup(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	for name, opt := range map[string]kinde.AuthOption{
		"bad scope":    kinde.WithScopes("openid profile"),
		"redirect URL": kinde.WithRedirectURL("https://app.example.com/other_callback"),
		"SDK's param":  kinde.WithParam("state", "x"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := kinde.NewWeb(kinde.WithConfig(a.config(webTestSecret)), kinde.WithAuthOptions(opt)); err == nil {
				t.Error("NewWeb accepted it")
			}
		})
	}
}

// TestSignInRefuses: Web.SignIn returns an error and writes nothing for
// invalid options, a redirect URL, a return path off this site, and on a
// ResourceServer.
func TestSignInRefuses(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	web := a.web.Load()
	for _, c := range []struct {
		name     string
		returnTo string
		opts     []kinde.AuthOption
	}{
		{"bad scope", "/", []kinde.AuthOption{kinde.WithScopes("")}},
		{"redirect URL", "/", []kinde.AuthOption{kinde.WithRedirectURL("https://app.example.com/cb")}},
		{"other site", "https://evil.example/", nil},
		{"scheme-relative", "//evil.example/", nil},
		{"encoded", "/%2F%2Fevil.example", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, a.url+"/step-up", nil)
			if err := web.SignIn(kinde.NewHTTPExchange(rec, req), c.returnTo, c.opts...); err == nil {
				t.Error("SignIn accepted it")
			}
			if rec.Header().Get("Location") != "" || rec.Header().Get("Set-Cookie") != "" || rec.Body.Len() > 0 {
				t.Errorf("SignIn wrote an answer: %v %q", rec.Header(), rec.Body)
			}
		})
	}
	rs, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: a.srv.URL(), Audience: []string{webTestAPI}}))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := rs.SignIn(kinde.NewHTTPExchange(rec, httptest.NewRequest(http.MethodGet, "/", nil)), "/"); err == nil {
		t.Error("a ResourceServer's SignIn accepted a sign-in")
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPortalKindeAnswers: the portal route's answer to what Kinde's
// portal_link replies (specs/kinde-account-api.yaml, GetPortalLink: 200
// {"url"}, 403 invalid credentials, 429 throttled): a refused token asks
// the user to sign in again, anything else that is not an absolute https
// link is never followed.
func TestPortalKindeAnswers(t *testing.T) {
	a := newWebApp(t, webAppConfig{})
	b := newBrowser(t, a)
	b.signIn(a.demo.Alice.ID, "")
	cookies := b.sessionCookies()
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   int
		loc    string
	}{
		{"link", 200, `{"url":"https://acme.kinde.com/portal_redirect?key=abc"}`, http.StatusFound, "https://acme.kinde.com/portal_redirect?key=abc"},
		{"refused", 403, `{"errors":[{"code":"INVALID_CREDENTIALS","message":"Invalid credentials"}]}`, http.StatusUnauthorized, ""},
		{"throttled", 429, ``, http.StatusBadGateway, ""},
		{"plain http link", 200, `{"url":"http://evil.example/portal"}`, http.StatusBadGateway, ""},
		{"relative link", 200, `{"url":"/portal_redirect?key=abc"}`, http.StatusBadGateway, ""},
		{"javascript link", 200, `{"url":"javascript:alert(1)"}`, http.StatusBadGateway, ""},
		{"no url", 200, `{}`, http.StatusBadGateway, ""},
		{"not JSON", 200, `<html>`, http.StatusBadGateway, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := a.config(webTestSecret)
			var asked string
			cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if r.URL.Path != "/account_api/v1/portal_link" {
					return http.DefaultTransport.RoundTrip(r)
				}
				asked = r.URL.RawQuery
				return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(c.body)), Request: r}, nil
			})}
			web, err := kinde.NewWeb(kinde.WithConfig(cfg))
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, a.url+"/api/auth/portal?subnav=profile&return_url=%2Fdashboard", nil)
			req.Header.Set("Accept", "text/html")
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			web.Middleware(web.Handler()).ServeHTTP(rec, req)
			if rec.Code != c.want || rec.Header().Get("Location") != c.loc {
				t.Errorf("got %d to %q, want %d to %q", rec.Code, rec.Header().Get("Location"), c.want, c.loc)
			}
			if q, _ := url.ParseQuery(asked); q.Get("return_url") != a.url+"/dashboard" || q.Get("subnav") != "profile" {
				t.Errorf("portal_link query %q, want subnav=profile and return_url=%s/dashboard", asked, a.url)
			}
		})
	}
}
