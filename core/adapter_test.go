package kinde_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
)

// adapterWeb returns a web layer signing in at an emulator with demo data.
func adapterWeb(t *testing.T) (*kinde.Web, *kindetest.Server, kindetest.Demo) {
	t.Helper()
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	web, err := kinde.NewWeb(kinde.WithConfig(conformance.Config(srv, "http://localhost:8080/api/auth/kinde_callback")))
	if err != nil {
		t.Fatal(err)
	}
	return web, srv, demo
}

// loaded returns the exchange of r after the session middleware's work.
func loaded(web *kinde.Web, w http.ResponseWriter, r *http.Request) kinde.Exchange {
	ctx, _ := web.LoadContext(kinde.NewHTTPExchange(w, r))
	return kinde.NewHTTPExchange(w, r.WithContext(ctx))
}

func TestCheckRecordsWhatAuthorizeWrites(t *testing.T) {
	web, _, _ := adapterWeb(t)
	for _, tc := range []struct {
		name, accept string
	}{
		{"api", "application/json"},
		{"navigation", "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/reports?y=2024", nil)
			req.Header.Set("Accept", tc.accept)
			direct := httptest.NewRecorder()
			if web.Authorize(kinde.NewHTTPExchange(direct, req), nil, kinde.RuleSignedIn()) {
				t.Fatal("Authorize let an anonymous request through")
			}

			rec := httptest.NewRecorder()
			x := loaded(web, rec, req)
			d := kinde.Check(x, kinde.RuleSignedIn())
			if d == nil {
				t.Fatal("Check let an anonymous request through")
			}
			if len(rec.Header()) != 0 || rec.Body.Len() != 0 {
				t.Fatalf("Check wrote %v %q", rec.Header(), rec.Body)
			}
			d.Write(x)
			if rec.Code != direct.Code || rec.Body.String() != direct.Body.String() {
				t.Errorf("replayed %d %q, want %d %q", rec.Code, rec.Body, direct.Code, direct.Body)
			}
			for _, h := range []string{"Location", "WWW-Authenticate", "Content-Type", "Cache-Control"} {
				if rec.Header().Get(h) != direct.Header().Get(h) {
					t.Errorf("%s: replayed %q, want %q", h, rec.Header().Get(h), direct.Header().Get(h))
				}
			}

			only := httptest.NewRecorder()
			d.WriteHeaders(kinde.NewHTTPExchange(only, req))
			if only.Body.Len() != 0 || only.Header().Get("Location") != direct.Header().Get("Location") ||
				only.Header().Get("WWW-Authenticate") != direct.Header().Get("WWW-Authenticate") {
				t.Errorf("WriteHeaders wrote %v %q", only.Header(), only.Body)
			}
		})
	}
}

func TestDenialDescribesItself(t *testing.T) {
	web, _, _ := adapterWeb(t)
	req := httptest.NewRequest(http.MethodGet, "/admin", nil)
	req.Header.Set("Accept", "application/json")
	d := kinde.Check(loaded(web, httptest.NewRecorder(), req), kinde.RuleSignedIn())
	const want = "sign in first: this endpoint needs a Kinde session or a bearer token"
	if d.Status != http.StatusUnauthorized || d.Message() != want || d.Location != "" {
		t.Errorf("denial %d %q %q", d.Status, d.Message(), d.Location)
	}
	if got := d.Error(); got != "kinde: request denied: 401 Unauthorized: "+want {
		t.Errorf("Error() = %q", got)
	}
	var err error = d
	var target *kinde.Denial
	if !errors.As(err, &target) {
		t.Error("errors.As does not find the *kinde.Denial")
	}

	req.Header.Set("Accept", "text/html")
	d = kinde.Check(loaded(web, httptest.NewRecorder(), req), kinde.RuleSignedIn())
	if d.Status != http.StatusFound || d.Location != "/api/auth/login?post_login_redirect_url=%2Fadmin" ||
		!strings.HasPrefix(d.Message(), "sign in first: /api/auth/login") {
		t.Errorf("navigation denial %d %q %q", d.Status, d.Location, d.Message())
	}
}

func TestCheckBearer(t *testing.T) {
	web, srv, demo := adapterWeb(t)
	tokens, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/todos", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	lx := loaded(web, httptest.NewRecorder(), req)
	ctx, d := kinde.CheckBearer(lx, kinde.SkipAudienceCheck())
	if d != nil {
		t.Fatalf("denied: %v", d)
	}
	if ctx != nil {
		t.Fatal("with the middleware's state in place, CheckBearer must not derive a new context")
	}
	ctx = lx.Context()
	if s := kinde.SessionFrom(ctx); s == nil || s.UserID() != demo.Bob.ID || kinde.WebFrom(ctx) != web {
		t.Fatalf("context carries session %v and web %p", s, kinde.WebFrom(ctx))
	}
	// The guards that follow see the bearer session.
	x := kinde.NewHTTPExchange(httptest.NewRecorder(), req.WithContext(ctx))
	if d := kinde.Check(x, kinde.RulePermissions("read:todos")); d != nil {
		t.Errorf("member denied read:todos: %v", d)
	}
	if d := kinde.Check(x, kinde.RulePermissions("delete:todos")); d == nil || d.Status != http.StatusForbidden {
		t.Errorf("member allowed delete:todos: %v", d)
	}

	req.Header.Set("Authorization", "Bearer not-a-token")
	if ctx, d := kinde.CheckBearer(loaded(web, httptest.NewRecorder(), req)); ctx != nil || d == nil || d.Status != http.StatusUnauthorized {
		t.Errorf("invalid token: ctx %v, denial %v", ctx, d)
	}
}

func TestCheckWithoutMiddlewarePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "install the adapter's Middleware") {
			t.Errorf("recovered %v", r)
		}
	}()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	kinde.Check(kinde.NewHTTPExchange(httptest.NewRecorder(), req), kinde.RuleSignedIn())
}
