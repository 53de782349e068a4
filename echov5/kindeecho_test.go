package kindeecho_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echov5"
)

// fixture is an Echo app whose web layer signs in with an emulator seeded
// with the demo directory.
type fixture struct {
	e     *echo.Echo
	kinde *kindetest.Server
	users kindetest.Demo
}

// newFixture registers the web layer on a new app with opts besides the
// emulator's configuration.
func newFixture(t *testing.T, opts ...kinde.WebOption) fixture {
	t.Helper()
	f := fixture{e: newEcho(), kinde: kindetest.Start(t)}
	f.users = f.kinde.SeedDemo()
	cfg := conformance.Config(f.kinde, "http://127.0.0.1:8080"+kinde.DefaultPaths().Callback)
	if _, err := kindeecho.Register(f.e, append(opts, kinde.WithConfig(cfg))...); err != nil {
		t.Fatal(err)
	}
	return f
}

// get sends GET target accepting accept, with the Authorization header auth
// unless it is "", and returns the recorded answer.
func (f fixture) get(target, accept, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set(echo.HeaderAccept, accept)
	if auth != "" {
		req.Header.Set(echo.HeaderAuthorization, auth)
	}
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	return rec
}

// token returns an Authorization header with an access token of u.
func (f fixture) token(t *testing.T, u kindetest.User) string {
	t.Helper()
	tokens, err := f.kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tokens.AccessToken
}

func ok(c *echo.Context) error { return c.String(http.StatusOK, "report") }

// By default a refusal is an *echo.HTTPError, with the Denial inside, for
// the app's HTTPErrorHandler; its headers are already set. A redirect to
// sign-in is written directly.
func TestRefusalsGoToHTTPErrorHandler(t *testing.T) {
	f := newFixture(t)
	var got []error
	f.e.HTTPErrorHandler = func(c *echo.Context, err error) {
		got = append(got, err)
		echo.DefaultHTTPErrorHandler(false)(c, err)
	}
	f.e.GET("/reports", ok, kindeecho.RequireBearer(), kindeecho.RequirePermission("delete:todos"))

	rec := f.get("/reports", echo.MIMEApplicationJSON, "")
	var he *echo.HTTPError
	var d *kinde.Denial
	if len(got) != 1 || !errors.As(got[0], &he) || !errors.As(got[0], &d) || he.Code != http.StatusUnauthorized ||
		he.Unwrap() != d {
		t.Fatalf("HTTPErrorHandler got %v", got)
	}
	var body struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != d.Status || body.Message != d.Message() {
		t.Errorf("HTTPErrorHandler answered %d %s, want %d %q", rec.Code, rec.Body, d.Status, d.Message())
	}
	if want := `Bearer realm="` + f.kinde.Issuer() + `"`; rec.Header().Get(echo.HeaderWWWAuthenticate) != want {
		t.Errorf("WWW-Authenticate %q, want %q", rec.Header().Get(echo.HeaderWWWAuthenticate), want)
	}

	rec = f.get("/reports", echo.MIMEApplicationJSON, f.token(t, f.users.Bob))
	if len(got) != 2 || !errors.As(got[1], &d) || rec.Code != http.StatusForbidden ||
		!strings.Contains(rec.Body.String(), `needs permissions \"delete:todos\"`) {
		t.Errorf("member: %d %s after %v", rec.Code, rec.Body, got)
	}
	if rec = f.get("/reports", echo.MIMEApplicationJSON, f.token(t, f.users.Alice)); rec.Code != http.StatusOK {
		t.Errorf("admin: %d %s", rec.Code, rec.Body)
	}
}

// A page load without a session is redirected; one that lacks a permission
// reaches the HTTPErrorHandler with the reason of the 403.
func TestPageLoadRefusals(t *testing.T) {
	demo := conformance.NewDemo()
	defer demo.Close()
	e := newEcho()
	var got []error
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		got = append(got, err)
		echo.DefaultHTTPErrorHandler(false)(c, err)
	}
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		t.Fatal(err)
	}
	e.GET("/admin", ok, kindeecho.RequirePermission("delete:todos"))
	srv := &http.Server{Handler: e}
	go func() { _ = srv.Serve(demo.Listener) }()
	defer srv.Close()

	demo.Kinde.SignInAs(demo.Users.Bob.ID)
	status, body, err := conformance.Visit(demo.URL + "/admin")
	const reason = `Your account does not have access to this page (it needs permissions \"delete:todos\").`
	if err != nil || status != http.StatusForbidden || !strings.Contains(body, reason) || len(got) != 1 {
		t.Errorf("Bob: %d %s %v; HTTPErrorHandler got %v", status, body, err, got)
	}
}

// Config.ErrorHandler takes the refusals; its nil neither lets a request
// through nor makes it a 200: the guard writes the web layer's answer.
func TestErrorHandler(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(c *echo.Context, err error) error
		status  int
		body    string
	}{
		{"returns the error", func(_ *echo.Context, err error) error { return err }, http.StatusUnauthorized,
			`{"message":"sign in first: this endpoint needs a Kinde session or a bearer token"}`},
		{"writes its own answer", func(c *echo.Context, _ error) error { return c.String(http.StatusTeapot, "no") },
			http.StatusTeapot, "no"},
		{"returns nil", func(*echo.Context, error) error { return nil }, http.StatusUnauthorized,
			`{"error":"unauthenticated","error_description":"sign in first: this endpoint needs a Kinde session or a bearer token"}`},
		{"is WriteDenial", kindeecho.WriteDenial, http.StatusUnauthorized,
			`{"error":"unauthenticated","error_description":"sign in first: this endpoint needs a Kinde session or a bearer token"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, kindeecho.WithConfig(kindeecho.Config{ErrorHandler: tc.handler}))
			reached := false
			f.e.GET("/reports", func(*echo.Context) error { reached = true; return nil }, kindeecho.RequireAuth())
			rec := f.get("/reports", echo.MIMEApplicationJSON, "")
			if reached || rec.Code != tc.status || strings.TrimSpace(rec.Body.String()) != tc.body {
				t.Errorf("reached %v, got %d %s, want %d %s", reached, rec.Code, rec.Body, tc.status, tc.body)
			}
			if rec.Header().Get(echo.HeaderWWWAuthenticate) == "" {
				t.Error("no WWW-Authenticate")
			}
		})
	}
}

// Skipped requests are anonymous: guards refuse them, RequireBearer still
// checks their token.
func TestSkipper(t *testing.T) {
	f := newFixture(t, kindeecho.WithConfig(kindeecho.Config{
		Skipper: func(c *echo.Context) bool { return strings.HasPrefix(c.Path(), "/api/") },
	}))
	f.e.GET("/api/reports", ok, kindeecho.RequireAuth())
	f.e.GET("/api/todos", ok, kindeecho.RequireBearer())
	for _, tc := range []struct {
		target, auth string
		want         int
	}{
		{"/api/reports", "", http.StatusUnauthorized},
		{"/api/todos", "", http.StatusUnauthorized},
		{"/api/todos", f.token(t, f.users.Bob), http.StatusOK},
	} {
		if rec := f.get(tc.target, echo.MIMEApplicationJSON, tc.auth); rec.Code != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.target, rec.Code, tc.want)
		}
	}
}

// The session is under Config.ContextKey for other middleware.
func TestContextKey(t *testing.T) {
	f := newFixture(t, kindeecho.WithConfig(kindeecho.Config{ContextKey: "user"}))
	var found []any
	f.e.GET("/me", func(c *echo.Context) error {
		found = append(found, c.Get("user"))
		return c.NoContent(http.StatusNoContent)
	}, kindeecho.RequireBearer())
	f.get("/me", echo.MIMEApplicationJSON, f.token(t, f.users.Bob))
	if s, _ := found[0].(*kinde.Session); len(found) != 1 || s == nil || s.UserID() != f.users.Bob.ID {
		t.Errorf("c.Get(%q) = %v", "user", found)
	}
}

// A guard without the session middleware answers 500 through the
// HTTPErrorHandler and logs the fix once, at Error level; it never panics.
// This holds for RequireBearer in an API that only checks tokens too: the
// package-level guards cannot know at startup that the middleware is
// missing (DECISIONS.md, "Guards and error handling").
func TestGuardWithoutMiddleware(t *testing.T) {
	srv := kindetest.Start(t)
	const api = "https://api.example.com"
	srv.AddAPI(api, "read:todos", "write:todos")
	m2m := srv.AddClient(kindetest.Client{Type: "m2m"})
	if err := srv.AuthorizeM2M(m2m.ID, api, "read:todos", "write:todos"); err != nil {
		t.Fatal(err)
	}
	token, err := srv.IssueM2MToken(m2m.ID, api)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		guard echo.MiddlewareFunc
	}{
		{"RequireAuth", kindeecho.RequireAuth()},
		{"RequireBearer without Register", kindeecho.RequireBearer()},
		{"RequireScope", kindeecho.RequireScope("write:todos")},
		{"RequirePermissionOrScope", kindeecho.RequirePermissionOrScope("read:todos")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			defer setDefaultLogger(slog.New(slog.NewTextHandler(&logs, nil)))()

			e := newEcho()
			var got []error
			e.HTTPErrorHandler = func(c *echo.Context, err error) {
				got = append(got, err)
				echo.DefaultHTTPErrorHandler(false)(c, err)
			}
			e.GET("/reports", ok, tt.guard)
			for range 3 {
				req := httptest.NewRequest(http.MethodGet, "/reports", nil)
				req.Header.Set(echo.HeaderAuthorization, "Bearer "+token.AccessToken)
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusInternalServerError {
					t.Errorf("status %d, want 500", rec.Code)
				}
			}
			var d *kinde.Denial
			if len(got) != 3 || !errors.As(got[0], &d) || d.Unwrap() == nil {
				t.Errorf("HTTPErrorHandler got %v", got)
			}
			out := logs.String()
			if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "kindeecho.Register(e)") ||
				!strings.Contains(out, "kinde.ResourceServer()") {
				t.Errorf("logged %d errors, want 1 naming kindeecho.Register and kinde.ResourceServer():\n%s", n, out)
			}
		})
	}
}

// WriteDenial leaves other errors alone.
func TestWriteDenialPassesOtherErrors(t *testing.T) {
	e := newEcho()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	other := echo.NewHTTPError(http.StatusNotFound, "")
	if r, _ := echo.UnwrapResponse(c.Response()); kindeecho.WriteDenial(c, other) != other || r.Committed {
		t.Errorf("WriteDenial(404) did not return the error as it is, or wrote an answer")
	}
}

// setDefaultLogger makes l slog's default logger and returns the function
// that restores the previous one, and the log package's output, which
// slog.SetDefault redirects.
func setDefaultLogger(l *slog.Logger) (restore func()) {
	prev, out, flags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(l)
	return func() {
		slog.SetDefault(prev)
		log.SetOutput(out)
		log.SetFlags(flags)
	}
}
