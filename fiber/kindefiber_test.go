package kindefiber_test

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// newApp returns a Fiber app with the web layer registered for an emulator
// seeded with the demo directory.
func newApp(t *testing.T) (*fiber.App, *kindetest.Server, kindetest.Demo) {
	t.Helper()
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	app := fiber.New()
	if _, err := kindefiber.Register(app, kinde.WithConfig(conformance.Config(srv, "http://localhost:8080/api/auth/kinde_callback"))); err != nil {
		t.Fatal(err)
	}
	return app, srv, demo
}

func call(t *testing.T, app *fiber.App, target, auth string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(fiber.MethodGet, target, nil)
	req.Header.Set(fiber.HeaderAccept, fiber.MIMEApplicationJSON)
	if auth != "" {
		req.Header.Set(fiber.HeaderAuthorization, auth)
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get(fiber.HeaderWWWAuthenticate)
}

func TestErrorHandlerGetsFiberError(t *testing.T) {
	app, srv, demo := newApp(t)
	var got error
	cfg := kindefiber.Config{ErrorHandler: func(_ *fiber.Ctx, err error) error {
		got = err
		return err // to the app's ErrorHandler
	}}
	app.Get("/todos", kindefiber.RequireBearerWithConfig(cfg), kindefiber.Guard(kinde.RulePermissions("delete:todos"), cfg),
		func(c *fiber.Ctx) error { return c.SendString("deleted") })

	status, body, challenge := call(t, app, "/todos", "")
	fe, ok := got.(*fiber.Error)
	if !ok || fe.Code != fiber.StatusUnauthorized || status != fiber.StatusUnauthorized || body != fe.Message {
		t.Errorf("got %d %q for error %#v", status, body, got)
	}
	if want := `Bearer realm="` + srv.Issuer() + `"`; challenge != want {
		t.Errorf("WWW-Authenticate %q, want %q", challenge, want)
	}

	tokens, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := call(t, app, "/todos", "Bearer "+tokens.AccessToken); status != fiber.StatusForbidden ||
		body != `this request needs permissions "delete:todos"` {
		t.Errorf("member: %d %q", status, body)
	}
}

func TestNextSkips(t *testing.T) {
	app, _, _ := newApp(t)
	open := kindefiber.Config{Next: func(c *fiber.Ctx) bool { return c.Query("open") == "1" }}
	app.Get("/reports", kindefiber.Guard(kinde.RuleSignedIn(), open), func(c *fiber.Ctx) error { return c.SendString("report") })
	if status, body, _ := call(t, app, "/reports?open=1", ""); status != fiber.StatusOK || body != "report" {
		t.Errorf("skipped guard: %d %q", status, body)
	}
	if status, _, _ := call(t, app, "/reports", ""); status != fiber.StatusUnauthorized {
		t.Errorf("guard not skipped: %d", status)
	}
}

// Fiber reuses request buffers; sessions kept after the handler must not
// change when later requests arrive.
func TestSessionOutlivesRequest(t *testing.T) {
	app, srv, demo := newApp(t)
	var kept []*kinde.Session
	app.Get("/me", kindefiber.RequireBearer(), func(c *fiber.Ctx) error {
		kept = append(kept, kindefiber.SessionFrom(c))
		return c.SendStatus(fiber.StatusNoContent)
	})
	want := map[string]string{}
	for _, u := range []kindetest.User{demo.Alice, demo.Bob, demo.Alice, demo.Bob} {
		tokens, err := srv.IssueTokens(u.ID, kindetest.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[tokens.AccessToken] = u.ID
		if status, body, _ := call(t, app, "/me", "Bearer "+tokens.AccessToken); status != fiber.StatusNoContent {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	for i, s := range kept {
		if id, ok := want[s.AccessToken()]; !ok || id != s.UserID() {
			t.Errorf("session %d changed after its request: user %s, token known %v", i, s.UserID(), ok)
		}
	}
}
