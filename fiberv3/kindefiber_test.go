package kindefiber_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiberv3"
)

// fixture is a Fiber v3 app whose web layer signs in with an emulator
// seeded with the demo directory.
type fixture struct {
	app   *fiber.App
	kinde *kindetest.Server
	users kindetest.Demo
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{app: newApp(), kinde: kindetest.Start(t)}
	f.users = f.kinde.SeedDemo()
	cfg := conformance.Config(f.kinde, "http://127.0.0.1:8080"+kinde.DefaultPaths().Callback)
	if _, err := kindefiber.Register(f.app, kinde.WithConfig(cfg)); err != nil {
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

// get sends GET target with the headers (name, value pairs).
func (f fixture) get(t *testing.T, target string, headers ...string) answer {
	t.Helper()
	req := httptest.NewRequest(fiber.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.app.Test(req, fiber.TestConfig{Timeout: 0})
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

func (f fixture) token(t *testing.T, u kindetest.User) string {
	t.Helper()
	tokens, err := f.kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tokens.AccessToken
}

func TestErrorHandlerGetsFiberError(t *testing.T) {
	f := newFixture(t)
	var got []error
	cfg := kindefiber.Config{ErrorHandler: func(_ fiber.Ctx, err error) error {
		got = append(got, err)
		return err // to the app's ErrorHandler
	}}
	f.app.Get("/todos", kindefiber.RequireBearerWithConfig(cfg), kindefiber.Guard(kinde.RulePermissions("delete:todos"), cfg),
		func(c fiber.Ctx) error { return c.SendString("deleted") })

	a := f.get(t, "/todos", fiber.HeaderAccept, fiber.MIMEApplicationJSON)
	if len(got) != 1 {
		t.Fatalf("ErrorHandler called %d times, want once", len(got))
	}
	fe, ok := got[0].(*fiber.Error)
	if !ok || fe.Code != fiber.StatusUnauthorized || a.status != fe.Code || a.body != fe.Message {
		t.Errorf("got %d %q for errors %v", a.status, a.body, got)
	}
	if want := `Bearer realm="` + f.kinde.Issuer() + `"`; a.header.Get(fiber.HeaderWWWAuthenticate) != want {
		t.Errorf("WWW-Authenticate %q, want %q", a.header.Get(fiber.HeaderWWWAuthenticate), want)
	}
	a = f.get(t, "/todos", fiber.HeaderAccept, fiber.MIMEApplicationJSON, fiber.HeaderAuthorization, f.token(t, f.users.Bob))
	if a.status != fiber.StatusForbidden || a.body != `this request needs permissions "delete:todos"` {
		t.Errorf("member: %d %q", a.status, a.body)
	}
	a = f.get(t, "/todos", fiber.HeaderAuthorization, f.token(t, f.users.Alice))
	if a.status != fiber.StatusOK || a.body != "deleted" || len(got) != 2 {
		t.Errorf("admin: %d %q after %d refusals", a.status, a.body, len(got))
	}
}

func TestNextSkips(t *testing.T) {
	f := newFixture(t)
	open := kindefiber.Config{Next: func(c fiber.Ctx) bool { return c.Query("open") == "yes" }}
	report := func(c fiber.Ctx) error { return c.SendString("report") }
	f.app.Get("/reports", kindefiber.Guard(kinde.RuleSignedIn(), open), report)
	f.app.Get("/api", kindefiber.RequireBearerWithConfig(open), report)
	for target, want := range map[string]int{
		"/reports?open=yes": fiber.StatusOK, "/reports": fiber.StatusUnauthorized,
		"/api?open=yes": fiber.StatusOK, "/api": fiber.StatusUnauthorized,
	} {
		if a := f.get(t, target, fiber.HeaderAccept, fiber.MIMEApplicationJSON); a.status != want {
			t.Errorf("GET %s: %d, want %d", target, a.status, want)
		}
	}
}

// Fiber reuses its request buffers: sessions kept after their handlers must
// not change when later requests arrive.
func TestSessionOutlivesRequest(t *testing.T) {
	f := newFixture(t)
	var kept []*kinde.Session
	f.app.Get("/me", kindefiber.RequireBearer(), func(c fiber.Ctx) error {
		kept = append(kept, kindefiber.SessionFrom(c))
		return c.SendStatus(fiber.StatusNoContent)
	})
	var want []string
	for _, u := range []kindetest.User{f.users.Alice, f.users.Bob, f.users.Alice, f.users.Bob} {
		want = append(want, u.ID)
		if a := f.get(t, "/me", fiber.HeaderAuthorization, f.token(t, u)); a.status != fiber.StatusNoContent {
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
	f := newFixture(t)
	a := f.get(t, kinde.DefaultPaths().Login, fiber.HeaderAccept, fiber.MIMETextHTML)
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
	if want := (&http.Cookie{Name: c.Name, Value: c.Value, Path: kinde.DefaultPaths().Callback, MaxAge: c.MaxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode}).String(); cookies[0] != want || c.MaxAge <= 0 {
		t.Errorf("Set-Cookie %q, want %q", cookies[0], want)
	}
}
