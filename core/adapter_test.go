package kinde_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
)

// adapterWeb returns a web layer signing in at an emulator with demo data,
// logging to logs (discarded when nil), and its options.
func adapterWeb(t *testing.T, logs *bytes.Buffer, opts ...kinde.WebOption) (*kinde.Web, *kindetest.Server, kindetest.Demo) {
	t.Helper()
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	cfg := conformance.Config(srv, "http://localhost:8080/api/auth/kinde_callback")
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	web, err := kinde.NewWeb(append([]kinde.WebOption{kinde.WithConfig(cfg)}, opts...)...)
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

// Check records the answer core's net/http guards write, to the byte.
func TestCheckRecordsWhatGuardsWrite(t *testing.T) {
	web, srv, demo := adapterWeb(t, nil)
	tokens, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, accept, auth string
		rule               kinde.Rule
		guard              func(http.Handler) http.Handler // the same rule in net/http
		status             int
	}{
		{"api", "application/json", "", kinde.RuleSignedIn(), web.RequireAuth(), http.StatusUnauthorized},
		{"navigation", "text/html", "", kinde.RuleSignedIn(), web.RequireAuth(), http.StatusFound},
		{"forbidden api", "application/json", "Bearer " + tokens.AccessToken, kinde.RulePermissions("delete:todos"),
			web.RequirePermission("delete:todos"), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/reports?y=2024", nil)
			req.Header.Set("Accept", tc.accept)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			guards := func(next http.Handler) http.Handler { return next }
			if tc.auth != "" {
				guards = web.RequireBearer(kinde.SkipAudienceCheck())
			}
			direct := httptest.NewRecorder()
			web.Middleware(guards(tc.guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("the guard let the request through")
			})))).ServeHTTP(direct, req)

			rec := httptest.NewRecorder()
			x := loaded(web, rec, req)
			if tc.auth != "" {
				if d := kinde.CheckBearer(x, kinde.SkipAudienceCheck()); d != nil {
					t.Fatalf("CheckBearer: %v", d)
				}
			}
			d := kinde.Check(x, tc.rule)
			if d == nil || d.Status != tc.status {
				t.Fatalf("Check = %v, want status %d", d, tc.status)
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
	web, srv, demo := adapterWeb(t, nil)
	check := func(accept, auth string, rule kinde.Rule) *kinde.Denial {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/admin", nil)
		req.Header.Set("Accept", accept)
		x := loaded(web, httptest.NewRecorder(), req)
		if auth != "" {
			req.Header.Set("Authorization", auth)
			if d := kinde.CheckBearer(x, kinde.SkipAudienceCheck()); d != nil {
				return d
			}
			// Without the header the request is a page load again.
			req.Header.Del("Authorization")
		}
		return kinde.Check(x, rule)
	}

	d := check("application/json", "", kinde.RuleSignedIn())
	const want = "sign in first: this endpoint needs a Kinde session or a bearer token"
	if d.Status != http.StatusUnauthorized || d.Message() != want || d.Location != "" || d.Unwrap() != nil {
		t.Errorf("denial %d %q %q %v", d.Status, d.Message(), d.Location, d.Unwrap())
	}
	if got := d.Error(); got != "kinde: request denied: 401 Unauthorized: "+want {
		t.Errorf("Error() = %q", got)
	}
	var err error = d
	var target *kinde.Denial
	if !errors.As(err, &target) {
		t.Error("errors.As does not find the *kinde.Denial")
	}

	d = check("text/html", "", kinde.RuleSignedIn())
	if d.Status != http.StatusFound || d.Location != "/api/auth/login?post_login_redirect_url=%2Fadmin" ||
		!strings.HasPrefix(d.Message(), "sign in first: /api/auth/login") {
		t.Errorf("navigation denial %d %q %q", d.Status, d.Location, d.Message())
	}

	// A page load's 403 carries its reason, though its body is a page.
	tokens, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d = check("text/html", "Bearer "+tokens.AccessToken, kinde.RulePermissions("delete:todos"))
	if d.Status != http.StatusForbidden || !strings.HasPrefix(d.ContentType, "text/html") ||
		d.Message() != `Your account does not have access to this page (it needs permissions "delete:todos").` {
		t.Errorf("forbidden page %d %q %q", d.Status, d.ContentType, d.Message())
	}

	// A rejected token's denial unwraps to the verification error.
	d = check("application/json", "Bearer not-a-token", kinde.RuleSignedIn())
	if d.Status != http.StatusUnauthorized || !errors.Is(d, kinde.ErrTokenMalformed) ||
		d.Message() != kinde.ErrTokenMalformed.Error() || !strings.Contains(d.Error(), kinde.ErrTokenMalformed.Error()) {
		t.Errorf("invalid token: %d %q, Unwrap %v", d.Status, d.Message(), d.Unwrap())
	}
}

func TestCheckBearer(t *testing.T) {
	web, srv, demo := adapterWeb(t, nil)
	tokens, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/todos", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	x := loaded(web, httptest.NewRecorder(), req)
	if d := kinde.CheckBearer(x, kinde.SkipAudienceCheck()); d != nil {
		t.Fatalf("denied: %v", d)
	}
	ctx := x.Context()
	if s := kinde.SessionFrom(ctx); s == nil || s.UserID() != demo.Bob.ID || kinde.WebFrom(ctx) != web {
		t.Fatalf("context carries session %v and web %p", s, kinde.WebFrom(ctx))
	}
	// The guards that follow see the bearer session.
	if d := kinde.Check(x, kinde.RulePermissions("read:todos")); d != nil {
		t.Errorf("member denied read:todos: %v", d)
	}
	if d := kinde.Check(x, kinde.RulePermissions("delete:todos")); d == nil || d.Status != http.StatusForbidden {
		t.Errorf("member allowed delete:todos: %v", d)
	}

	req.Header.Set("Authorization", "Bearer not-a-token")
	x = loaded(web, httptest.NewRecorder(), req)
	if d := kinde.CheckBearer(x); d == nil || d.Status != http.StatusUnauthorized || kinde.SessionFrom(x.Context()) != nil {
		t.Errorf("invalid token: denial %v, session %v", d, kinde.SessionFrom(x.Context()))
	}
}

// A request the middleware skipped is anonymous, and the guards still find
// the web layer: they refuse it, and RequireBearer checks its token.
func TestSkipContext(t *testing.T) {
	web, srv, demo := adapterWeb(t, nil)
	req := httptest.NewRequest(http.MethodGet, "/api/todos", nil)
	req.Header.Set("Accept", "application/json")
	x := kinde.NewHTTPExchange(httptest.NewRecorder(), req.WithContext(web.SkipContext(req.Context())))
	if kinde.SessionFrom(x.Context()) != nil || kinde.WebFrom(x.Context()) != web {
		t.Fatal("a skipped request carries a session or no web layer")
	}
	if d := kinde.Check(x, kinde.RuleSignedIn()); d == nil || d.Status != http.StatusUnauthorized {
		t.Errorf("Check on a skipped request: %v", d)
	}
	tokens, err := srv.IssueTokens(demo.Alice.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	if d := kinde.CheckBearer(x, kinde.SkipAudienceCheck()); d != nil || kinde.SessionFrom(x.Context()).UserID() != demo.Alice.ID {
		t.Errorf("CheckBearer on a skipped request: %v", d)
	}
}

// Without the session middleware, Check and CheckBearer answer 500 and say
// why; they never panic.
func TestCheckWithoutMiddleware(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	x := kinde.NewHTTPExchange(httptest.NewRecorder(), req)
	for name, d := range map[string]*kinde.Denial{
		"Check":       kinde.Check(x, kinde.RuleSignedIn()),
		"CheckBearer": kinde.CheckBearer(x),
	} {
		if d == nil || d.Status != http.StatusInternalServerError || d.Unwrap() == nil ||
			!strings.Contains(d.Error(), "Middleware") || d.Message() != "Internal Server Error" {
			t.Errorf("%s: %v", name, d)
		}
	}
}

// A net/http guard without Web.Middleware answers 500 and logs the fix once
// at Error level; RequireBearer works alone.
func TestNetHTTPGuardWithoutMiddleware(t *testing.T) {
	var logs bytes.Buffer
	web, srv, demo := adapterWeb(t, &logs)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	guarded := web.RequireAuth()(ok)
	for range 3 {
		rec := httptest.NewRecorder()
		guarded.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard", nil))
		if rec.Code != http.StatusInternalServerError || rec.Body.String() != "Internal Server Error" {
			t.Errorf("guard without Middleware: %d %q", rec.Code, rec.Body)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "web.Middleware") {
		t.Errorf("logged %d errors, want 1 naming web.Middleware:\n%s", n, logs.String())
	}

	tokens, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/todos", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	rec := httptest.NewRecorder()
	web.RequireBearer(kinde.SkipAudienceCheck())(web.RequirePermission("read:todos")(ok)).ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Errorf("RequireBearer without Middleware: %d %q", rec.Code, rec.Body)
	}
}

func TestAdapterConfig(t *testing.T) {
	type adapterConfig struct{ key string }
	web, _, _ := adapterWeb(t, nil, kinde.WithAdapterConfig(&adapterConfig{key: "k"}))
	if c, ok := web.AdapterConfig().(*adapterConfig); !ok || c.key != "k" {
		t.Errorf("AdapterConfig() = %#v", web.AdapterConfig())
	}
	plain, _, _ := adapterWeb(t, nil)
	if plain.AdapterConfig() != nil {
		t.Errorf("AdapterConfig() without the option = %#v", plain.AdapterConfig())
	}
	if kinde.WebFrom(context.Background()) != nil || kinde.SessionFrom(context.Background()) != nil {
		t.Error("an empty context carries a web layer or a session")
	}
}

// Security review, finding 15: the web layer asked the Exchange for the Host
// header, which net/http keeps in r.Host and never in the header map, so
// same-host return-to URLs behind another host name were ignored.
func TestHTTPExchangeHost(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "http://app.example:8080/api/auth/login", nil)
	for _, name := range []string{"Host", "host", "HOST"} {
		if got := kinde.NewHTTPExchange(httptest.NewRecorder(), req).Header(name); got != "app.example:8080" {
			t.Errorf("Header(%q) = %q, want the request's Host app.example:8080", name, got)
		}
	}
}

// wrappedWriter stands for a middleware's own ResponseWriter (compression,
// logging) put between the session middleware and a guard.
type wrappedWriter struct {
	http.ResponseWriter
	status int
}

func (w *wrappedWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// The session middleware's Exchange is reused by the guards after it, but
// only with the same ResponseWriter: a guard behind a middleware that wraps
// the writer answers through the wrapper.
func TestExchangeReusedOnlyWithTheSameWriter(t *testing.T) {
	web, _, _ := adapterWeb(t, nil)
	var seen *wrappedWriter
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = &wrappedWriter{ResponseWriter: w}
			next.ServeHTTP(seen, r)
		})
	}
	h := web.Middleware(wrap(web.RequireAuth()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))))
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || seen == nil || seen.status != http.StatusUnauthorized {
		t.Fatalf("status %d, through the wrapper %v; want 401 written through the wrapper", rec.Code, seen)
	}
	// A writer of a type that cannot be compared is never compared.
	type valueWriter struct {
		http.ResponseWriter
		_ []string // makes the type not comparable
	}
	h = web.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.RequireAuth()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(valueWriter{ResponseWriter: w}, r)
	}))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/me", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d with a non-comparable writer, want 401", rec.Code)
	}
}
