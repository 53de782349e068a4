package kindegin_test

import (
	"bytes"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindegin "github.com/gokinde/kinde/gin"
)

// fixture is a Gin app whose web layer signs in with an emulator seeded
// with the demo directory.
type fixture struct {
	r     *gin.Engine
	kinde *kindetest.Server
	users kindetest.Demo
}

// newFixture registers the web layer on a new app with opts besides the
// emulator's configuration.
func newFixture(t *testing.T, opts ...kinde.WebOption) fixture {
	t.Helper()
	f := fixture{r: gin.New(), kinde: kindetest.Start(t)}
	f.users = f.kinde.SeedDemo()
	cfg := conformance.Config(f.kinde, "http://127.0.0.1:8080"+kinde.DefaultPaths().Callback)
	if _, err := kindegin.Register(f.r, append(opts, kinde.WithConfig(cfg))...); err != nil {
		t.Fatal(err)
	}
	return f
}

// get sends GET target accepting accept, with the Authorization header auth
// unless it is "", and returns the recorded answer.
func (f fixture) get(target, accept, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Accept", accept)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	f.r.ServeHTTP(rec, req)
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

func ok(c *gin.Context) { c.String(http.StatusOK, "report") }

// By default a refusal gets the web layer's answer and is recorded in
// c.Errors; a redirect to sign-in is an answer, not an error.
func TestRefusalsAreWrittenAndRecorded(t *testing.T) {
	f := newFixture(t)
	var recorded []*gin.Error
	f.r.Use(func(c *gin.Context) {
		c.Next()
		recorded = append(recorded, c.Errors...)
	})
	reached := false
	f.r.GET("/admin", kindegin.RequireRole("admin"), func(*gin.Context) { reached = true })

	rec := f.get("/admin", "application/json", "")
	var d *kinde.Denial
	if reached || rec.Code != http.StatusUnauthorized || len(recorded) != 1 || !errors.As(recorded[0].Err, &d) ||
		d.Status != http.StatusUnauthorized || rec.Body.String() != string(d.Body) {
		t.Errorf("reached %v, got %d %s, errors %v", reached, rec.Code, rec.Body, recorded)
	}
	if want := `Bearer realm="` + f.kinde.Issuer() + `"`; rec.Header().Get("WWW-Authenticate") != want {
		t.Errorf("WWW-Authenticate %q, want %q", rec.Header().Get("WWW-Authenticate"), want)
	}
	rec = f.get("/admin", "text/html", "")
	if rec.Code != http.StatusFound || len(recorded) != 1 {
		t.Errorf("page load: %d, errors %v", rec.Code, recorded)
	}
}

// A page load that lacks a permission reaches the ErrorHandler with the
// reason of the 403; writing nothing leaves the web layer's page.
func TestPageLoadRefusals(t *testing.T) {
	demo := conformance.NewDemo()
	defer demo.Close()
	var got []error
	r := gin.New()
	handler := kindegin.WithConfig(kindegin.Config{ErrorHandler: func(_ *gin.Context, err error) { got = append(got, err) }})
	if _, err := kindegin.Register(r, demo.Option(), handler); err != nil {
		t.Fatal(err)
	}
	r.GET("/admin", kindegin.RequirePermission("delete:todos"), ok)
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(demo.Listener) }()
	defer srv.Close()

	demo.Kinde.SignInAs(demo.Users.Bob.ID)
	status, body, err := conformance.Visit(demo.URL + "/admin")
	var d *kinde.Denial
	if err != nil || status != http.StatusForbidden || !strings.Contains(body, "<title>Access denied</title>") ||
		len(got) != 1 || !errors.As(got[0], &d) ||
		d.Message() != `Your account does not have access to this page (it needs permissions "delete:todos").` {
		t.Errorf("Bob: %d %v; ErrorHandler got %v", status, err, got)
	}
}

// Config.ErrorHandler takes the refusals; writing nothing neither lets a
// request through nor makes it a 200: the guard writes the web layer's
// answer.
func TestErrorHandler(t *testing.T) {
	const sdk = `{"error":"unauthenticated","error_description":"sign in first: this endpoint needs a Kinde session or a bearer token"}`
	for _, tc := range []struct {
		name    string
		handler func(c *gin.Context, err error)
		status  int
		body    string
	}{
		{"writes its own answer", func(c *gin.Context, _ error) { c.String(http.StatusTeapot, "no") }, http.StatusTeapot, "no"},
		{"writes nothing", func(*gin.Context, error) {}, http.StatusUnauthorized, sdk},
		{"uses WriteDenial", func(c *gin.Context, err error) { _ = kindegin.WriteDenial(c, err) }, http.StatusUnauthorized, sdk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, kindegin.WithConfig(kindegin.Config{ErrorHandler: tc.handler}))
			reached := false
			f.r.GET("/reports", kindegin.RequireAuth(), func(*gin.Context) { reached = true })
			rec := f.get("/reports", "application/json", "")
			if reached || rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Errorf("reached %v, got %d %s, want %d %s", reached, rec.Code, rec.Body, tc.status, tc.body)
			}
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
		})
	}
}

// The session is under Config.ContextKey for other middleware.
func TestContextKey(t *testing.T) {
	f := newFixture(t, kindegin.WithConfig(kindegin.Config{ContextKey: "user"}))
	var found []any
	f.r.GET("/me", kindegin.RequireBearer(), func(c *gin.Context) {
		v, _ := c.Get("user")
		found = append(found, v)
		c.Status(http.StatusNoContent)
	})
	f.get("/me", "application/json", f.token(t, f.users.Bob))
	if s, _ := found[0].(*kinde.Session); len(found) != 1 || s == nil || s.UserID() != f.users.Bob.ID {
		t.Errorf("c.Get(%q) = %v", "user", found)
	}
}

// A guard without the session middleware answers 500, records the reason
// in c.Errors and logs the fix once, at Error level; it never panics. This
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
		guard gin.HandlerFunc
		// registerAfter calls Register(r, kinde.ResourceServer()) after
		// adding the route: Gin does not apply it to that route.
		registerAfter bool
	}{
		{"RequireAuth", kindegin.RequireAuth(), false},
		{"RequireBearer without Register", kindegin.RequireBearer(), false},
		{"RequireBearer on a route added before Register", kindegin.RequireBearer(), true},
		{"RequireScope", kindegin.RequireScope("write:todos"), false},
		{"RequirePermissionOrScope", kindegin.RequirePermissionOrScope("read:todos"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			defer setDefaultLogger(slog.New(slog.NewTextHandler(&logs, nil)))()

			r := gin.New()
			var recorded []*gin.Error
			r.Use(func(c *gin.Context) {
				c.Next()
				recorded = append(recorded, c.Errors...)
			})
			r.GET("/reports", tt.guard, ok)
			if tt.registerAfter {
				if _, err := kindegin.Register(r, kinde.ResourceServer(),
					kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{api}})); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				req := httptest.NewRequest(http.MethodGet, "/reports", nil)
				req.Header.Set("Authorization", "Bearer "+token.AccessToken)
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				if rec.Code != http.StatusInternalServerError {
					t.Errorf("status %d, want 500", rec.Code)
				}
			}
			var d *kinde.Denial
			if len(recorded) != 3 || !errors.As(recorded[0].Err, &d) || d.Unwrap() == nil {
				t.Errorf("c.Errors %v", recorded)
			}
			out := logs.String()
			if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "kindegin.Register(r)") ||
				!strings.Contains(out, "kinde.ResourceServer()") {
				t.Errorf("logged %d errors, want 1 naming kindegin.Register and kinde.ResourceServer():\n%s", n, out)
			}
		})
	}
}

// WriteDenial leaves other errors alone.
func TestWriteDenialPassesOtherErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	other := errors.New("other")
	if err := kindegin.WriteDenial(c, other); err != other || c.Writer.Written() {
		t.Errorf("WriteDenial(other) = %v, written %v", err, c.Writer.Written())
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
