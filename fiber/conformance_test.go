package kindefiber_test

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// guards fills the suite's guard set with the adapter's constructors, which
// also checks at compile time that the adapter has the common guard surface.
var guards = conformance.Guards[fiber.Handler]{
	RequireAuth: kindefiber.RequireAuth, RequirePermission: kindefiber.RequirePermission,
	RequireRole: kindefiber.RequireRole, RequireOrg: kindefiber.RequireOrg, RequireFlag: kindefiber.RequireFlag,
	Require: kindefiber.Require, RequireBearer: kindefiber.RequireBearer,
	RequireScope: kindefiber.RequireScope, RequirePermissionOrScope: kindefiber.RequirePermissionOrScope,
	SignIn: func(to string, opts ...kinde.AuthOption) fiber.Handler {
		return func(c *fiber.Ctx) error { return kindefiber.SignIn(c, to, opts...) }
	},
}

// TestConformance runs the front-end suite against the Fiber adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, app conformance.App) {
		errs := asKinde
		if app.Refusals == conformance.RefusalsIgnored {
			errs = func(*fiber.Ctx, error) error { return nil }
		}
		f := newApp(errs)
		if !app.WithoutMiddleware {
			if _, err := kindefiber.Register(f, app.Options...); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
		conformance.Mount(guards, func(path string, fromKey bool, guards ...fiber.Handler) {
			f.Get(path, append(guards, me(fromKey))...)
		})
		serve(t, f, app.Listener)
	})
}

// asKinde is an app ErrorHandler that writes refusals as the web layer
// does, and other errors as Fiber does.
func asKinde(c *fiber.Ctx, err error) error {
	if err = kindefiber.WriteDenial(c, err); err != nil {
		return fiber.DefaultErrorHandler(c, err)
	}
	return nil
}

// me answers with the JSON of the session, read with SessionFrom or, when
// fromKey is true, under ContextKey.
func me(fromKey bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s := kindefiber.SessionFrom(c)
		if fromKey {
			s, _ = c.Locals(kindefiber.ContextKey).(*kinde.Session)
		}
		return c.JSON(conformance.MeOf(s))
	}
}

// newApp returns a Fiber app configured as the README advises (session
// cookies and a sign-in's flow cookie together pass fasthttp's default
// 4 KiB for request headers), with errs as its ErrorHandler (nil for
// Fiber's default).
func newApp(errs fiber.ErrorHandler) *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10,
		ErrorHandler: errs})
}

// serve runs app on ln until t ends.
func serve(t *testing.T, app *fiber.App, ln net.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Listener: %v", err)
		}
	})
}
