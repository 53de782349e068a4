package kindefiber_test

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v3"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiberv3"
)

// guards fills the suite's guard set with the adapter's constructors, which
// also checks at compile time that Fiber v3 gets the common guard surface.
var guards = conformance.Guards[fiber.Handler]{
	RequireAuth: kindefiber.RequireAuth, RequirePermission: kindefiber.RequirePermission,
	RequireRole: kindefiber.RequireRole, RequireOrg: kindefiber.RequireOrg, RequireFlag: kindefiber.RequireFlag,
	Require: kindefiber.Require, RequireBearer: kindefiber.RequireBearer,
}

// newApp returns a Fiber app configured as the README advises: session
// cookies and a sign-in's flow cookie together pass fasthttp's default
// 4 KiB for request headers.
func newApp() *fiber.App { return fiber.New(fiber.Config{ReadBufferSize: 16 << 10}) }

// TestConformance runs the front-end suite against the Fiber v3 adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, ln net.Listener, opts []kinde.WebOption) {
		app := newApp()
		if _, err := kindefiber.Register(app, opts...); err != nil {
			t.Fatalf("Register: %v", err)
		}
		me := func(c fiber.Ctx) error { return c.JSON(conformance.MeOf(kindefiber.SessionFrom(c))) }
		conformance.Mount(guards, func(path string, guards ...fiber.Handler) {
			var chain []any // Fiber v3 routes take their handlers as any
			for _, g := range guards {
				chain = append(chain, g)
			}
			chain = append(chain, me)
			app.Get(path, chain[0], chain[1:]...)
		})
		done := make(chan error, 1)
		go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
		t.Cleanup(func() {
			if err := app.Shutdown(); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := <-done; err != nil {
				t.Errorf("Listener: %v", err)
			}
		})
	})
}
