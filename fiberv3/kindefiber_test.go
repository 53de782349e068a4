package kindefiber_test

import (
	"bytes"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiberv3"
)

// fixture is a Fiber app whose web layer signs in with an emulator seeded
// with the demo directory.
type fixture struct {
	app   *fiber.App
	kinde *kindetest.Server
	users kindetest.Demo
}

// newFixture registers the web layer, with opts besides the emulator's
// configuration, on a new app whose ErrorHandler is errs (nil for Fiber's
// default).
func newFixture(t *testing.T, errs fiber.ErrorHandler, opts ...kinde.WebOption) fixture {
	t.Helper()
	f := fixture{app: newApp(errs), kinde: kindetest.Start(t)}
	f.users = f.kinde.SeedDemo()
	cfg := conformance.Config(f.kinde, "http://127.0.0.1:8080"+kinde.DefaultPaths().Callback)
	if _, err := kindefiber.Register(f.app, append(opts, kinde.WithConfig(cfg))...); err != nil {
		t.Fatal(err)
	}
	return f
}

// answer is what a request got back.
type answer struct {
	status int
	body   string
	header http.Header
}

// get sends GET target accepting accept, with the Authorization header auth
// unless it is "".
func (f fixture) get(t *testing.T, target, accept, auth string) answer {
	t.Helper()
	req := httptest.NewRequest(fiber.MethodGet, target, nil)
	req.Header.Set(fiber.HeaderAccept, accept)
	if auth != "" {
		req.Header.Set(fiber.HeaderAuthorization, auth)
	}
	return do(t, f.app, req)
}

// do sends req to app.
func do(t *testing.T, app *fiber.App, req *http.Request) answer {
	t.Helper()
	resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, string(b), resp.Header}
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

func ok(c fiber.Ctx) error { return c.SendString("report") }

// By default a refusal is an error for the app's ErrorHandler: a
// *fiber.Error with the Denial inside; its status and headers are already
// set. A redirect to sign-in is written directly.
func TestRefusalsGoToErrorHandler(t *testing.T) {
	var got []error
	f := newFixture(t, func(c fiber.Ctx, err error) error {
		got = append(got, err)
		return fiber.DefaultErrorHandler(c, err)
	})
	f.app.Get("/reports", kindefiber.RequireBearer(), kindefiber.RequirePermission("delete:todos"), ok)

	a := f.get(t, "/reports", fiber.MIMEApplicationJSON, "")
	var fe *fiber.Error
	var d *kinde.Denial
	if len(got) != 1 || !errors.As(got[0], &fe) || !errors.As(got[0], &d) || fe.Code != fiber.StatusUnauthorized {
		t.Fatalf("ErrorHandler got %v", got)
	}
	if a.status != d.Status || a.body != d.Message() || fe.Message != d.Message() {
		t.Errorf("ErrorHandler answered %d %q, want %d %q", a.status, a.body, d.Status, d.Message())
	}
	if want := `Bearer realm="` + f.kinde.Issuer() + `"`; a.header.Get(fiber.HeaderWWWAuthenticate) != want {
		t.Errorf("WWW-Authenticate %q, want %q", a.header.Get(fiber.HeaderWWWAuthenticate), want)
	}

	a = f.get(t, "/reports", fiber.MIMEApplicationJSON, f.token(t, f.users.Bob))
	if len(got) != 2 || a.status != fiber.StatusForbidden || a.body != `this request needs permissions "delete:todos"` {
		t.Errorf("member: %d %q after %v", a.status, a.body, got)
	}
	if a = f.get(t, "/reports", fiber.MIMEApplicationJSON, f.token(t, f.users.Alice)); a.status != fiber.StatusOK {
		t.Errorf("admin: %d %q", a.status, a.body)
	}
}

// A page load without a session is redirected; one that lacks a permission
// reaches the ErrorHandler with the reason of the 403.
func TestPageLoadRefusals(t *testing.T) {
	demo := conformance.NewDemo()
	defer demo.Close()
	var got []error
	app := newApp(func(c fiber.Ctx, err error) error {
		got = append(got, err)
		return fiber.DefaultErrorHandler(c, err)
	})
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		t.Fatal(err)
	}
	app.Get("/admin", kindefiber.RequirePermission("delete:todos"), ok)
	go func() { _ = app.Listener(demo.Listener, fiber.ListenConfig{DisableStartupMessage: true}) }()
	defer func() { _ = app.Shutdown() }()

	demo.Kinde.SignInAs(demo.Users.Bob.ID)
	status, body, err := conformance.Visit(demo.URL + "/admin")
	const reason = `Your account does not have access to this page (it needs permissions "delete:todos").`
	if err != nil || status != http.StatusForbidden || body != reason || len(got) != 1 {
		t.Errorf("Bob: %d %s %v; ErrorHandler got %v", status, body, err, got)
	}
}

// Config.ErrorHandler takes the refusals; its nil neither lets a request
// through nor makes it a 200: the guard writes the web layer's answer.
func TestErrorHandler(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler fiber.ErrorHandler
		status  int
		body    string
	}{
		{"returns the error", func(_ fiber.Ctx, err error) error { return err }, http.StatusUnauthorized,
			"sign in first: this endpoint needs a Kinde session or a bearer token"},
		{"writes its own answer", func(c fiber.Ctx, _ error) error { return c.Status(http.StatusTeapot).SendString("no") },
			http.StatusTeapot, "no"},
		{"returns nil", func(fiber.Ctx, error) error { return nil }, http.StatusUnauthorized,
			`{"error":"unauthenticated","error_description":"sign in first: this endpoint needs a Kinde session or a bearer token"}`},
		{"is WriteDenial", kindefiber.WriteDenial, http.StatusUnauthorized,
			`{"error":"unauthenticated","error_description":"sign in first: this endpoint needs a Kinde session or a bearer token"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil, kindefiber.WithConfig(kindefiber.Config{ErrorHandler: tc.handler}))
			reached := false
			f.app.Get("/reports", kindefiber.RequireAuth(), func(fiber.Ctx) error { reached = true; return nil })
			a := f.get(t, "/reports", fiber.MIMEApplicationJSON, "")
			if reached || a.status != tc.status || strings.TrimSpace(a.body) != tc.body {
				t.Errorf("reached %v, got %d %s, want %d %s", reached, a.status, a.body, tc.status, tc.body)
			}
			if a.header.Get(fiber.HeaderWWWAuthenticate) == "" {
				t.Error("no WWW-Authenticate")
			}
		})
	}
}

// An app ErrorHandler that writes nothing still answers the refusal's
// status, never 200.
func TestAppErrorHandlerReturningNil(t *testing.T) {
	f := newFixture(t, func(fiber.Ctx, error) error { return nil })
	f.app.Get("/reports", kindefiber.RequireAuth(), ok)
	if a := f.get(t, "/reports", fiber.MIMEApplicationJSON, ""); a.status != http.StatusUnauthorized || a.body != "" ||
		a.header.Get(fiber.HeaderWWWAuthenticate) == "" {
		t.Errorf("got %d %q %v", a.status, a.body, a.header)
	}
}

// Skipped requests are anonymous: guards refuse them, RequireBearer still
// checks their token.
func TestNext(t *testing.T) {
	f := newFixture(t, nil, kindefiber.WithConfig(kindefiber.Config{
		Next: func(c fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") },
	}))
	f.app.Get("/api/reports", kindefiber.RequireAuth(), ok)
	f.app.Get("/api/todos", kindefiber.RequireBearer(), ok)
	for _, tc := range []struct {
		target, auth string
		want         int
	}{
		{"/api/reports", "", http.StatusUnauthorized},
		{"/api/todos", "", http.StatusUnauthorized},
		{"/api/todos", f.token(t, f.users.Bob), http.StatusOK},
	} {
		if a := f.get(t, tc.target, fiber.MIMEApplicationJSON, tc.auth); a.status != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.target, a.status, tc.want)
		}
	}
}

// The session is under Config.ContextKey for other middleware.
func TestContextKey(t *testing.T) {
	f := newFixture(t, nil, kindefiber.WithConfig(kindefiber.Config{ContextKey: "user"}))
	var found []any
	f.app.Get("/me", kindefiber.RequireBearer(), func(c fiber.Ctx) error {
		found = append(found, c.Locals("user"))
		return c.SendStatus(fiber.StatusNoContent)
	})
	f.get(t, "/me", fiber.MIMEApplicationJSON, f.token(t, f.users.Bob))
	if s, _ := found[0].(*kinde.Session); len(found) != 1 || s == nil || s.UserID() != f.users.Bob.ID {
		t.Errorf("c.Locals(%q) = %v", "user", found)
	}
}

// A guard without the session middleware answers 500 through the app's
// ErrorHandler and logs the fix once, at Error level; it never panics. This
// holds for RequireBearer in an API that only checks tokens too: the
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
		guard fiber.Handler
		// registerAfter calls Register(app, kinde.ResourceServer()) after
		// adding the route: Fiber runs handlers in the order they were added.
		registerAfter bool
	}{
		{"RequireAuth", kindefiber.RequireAuth(), false},
		{"RequireBearer without Register", kindefiber.RequireBearer(), false},
		{"RequireBearer on a route added before Register", kindefiber.RequireBearer(), true},
		{"RequireScope", kindefiber.RequireScope("write:todos"), false},
		{"RequirePermissionOrScope", kindefiber.RequirePermissionOrScope("read:todos"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			defer setDefaultLogger(slog.New(slog.NewTextHandler(&logs, nil)))()

			var got []error
			app := newApp(func(c fiber.Ctx, err error) error {
				got = append(got, err)
				return fiber.DefaultErrorHandler(c, err)
			})
			app.Get("/reports", tt.guard, ok)
			if tt.registerAfter {
				if _, err := kindefiber.Register(app, kinde.ResourceServer(),
					kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{api}})); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				req := httptest.NewRequest(fiber.MethodGet, "/reports", nil)
				req.Header.Set(fiber.HeaderAuthorization, "Bearer "+token.AccessToken)
				if a := do(t, app, req); a.status != http.StatusInternalServerError {
					t.Errorf("status %d, want 500", a.status)
				}
			}
			var d *kinde.Denial
			if len(got) != 3 || !errors.As(got[0], &d) || d.Unwrap() == nil {
				t.Errorf("ErrorHandler got %v", got)
			}
			out := logs.String()
			if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "kindefiber.Register(app)") ||
				!strings.Contains(out, "kinde.ResourceServer()") {
				t.Errorf("logged %d errors, want 1 naming kindefiber.Register and kinde.ResourceServer():\n%s", n, out)
			}
		})
	}
}

// WriteDenial leaves other errors alone.
func TestWriteDenialPassesOtherErrors(t *testing.T) {
	app := newApp(nil)
	other := fiber.NewError(http.StatusNotFound)
	var got error
	app.Get("/", func(c fiber.Ctx) error {
		got = kindefiber.WriteDenial(c, other)
		return c.SendStatus(http.StatusNoContent)
	})
	if a := do(t, app, httptest.NewRequest(fiber.MethodGet, "/", nil)); got != other || a.status != http.StatusNoContent {
		t.Errorf("WriteDenial(404) = %v; answered %d", got, a.status)
	}
}

// Fiber reuses its request buffers: sessions kept after their handlers must
// not change when later requests arrive.
func TestSessionOutlivesRequest(t *testing.T) {
	f := newFixture(t, nil)
	var kept []*kinde.Session
	f.app.Get("/me", kindefiber.RequireBearer(), func(c fiber.Ctx) error {
		kept = append(kept, kindefiber.SessionFrom(c))
		return c.SendStatus(fiber.StatusNoContent)
	})
	var want []string
	for _, u := range []kindetest.User{f.users.Alice, f.users.Bob, f.users.Alice, f.users.Bob} {
		want = append(want, u.ID)
		if a := f.get(t, "/me", fiber.MIMEApplicationJSON, f.token(t, u)); a.status != fiber.StatusNoContent {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	}
	for i, s := range kept {
		if s.UserID() != want[i] {
			t.Errorf("session %d is user %s after later requests, want %s", i, s.UserID(), want[i])
		}
	}
}

// The flow cookie of a sign-in is written as net/http writes it.
func TestCookiesAsNetHTTP(t *testing.T) {
	f := newFixture(t, nil)
	a := f.get(t, kinde.DefaultPaths().Login, fiber.MIMETextHTML, "")
	if a.status != fiber.StatusFound || a.header.Get(fiber.HeaderCacheControl) != "no-store" {
		t.Fatalf("login: %d, Cache-Control %q", a.status, a.header.Get(fiber.HeaderCacheControl))
	}
	cookies := a.header.Values(fiber.HeaderSetCookie)
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %q, want one flow cookie", cookies)
	}
	c, err := http.ParseSetCookie(cookies[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := (&http.Cookie{Name: c.Name, Value: c.Value, Path: "/api/auth/", MaxAge: c.MaxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode}).String(); cookies[0] != want || c.MaxAge <= 0 {
		t.Errorf("Set-Cookie %q, want %q", cookies[0], want)
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
