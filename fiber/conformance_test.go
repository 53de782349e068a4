package kindefiber_test

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// TestConformance runs the front-end suite against the Fiber adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, ln net.Listener, opts []kinde.WebOption) {
		app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: kinde.RecommendedReadBufferSize})
		if _, err := kindefiber.Register(app, opts...); err != nil {
			t.Fatalf("Register: %v", err)
		}
		me := func(c *fiber.Ctx) error { return c.JSON(conformance.MeOf(kindefiber.SessionFrom(c))) }
		conformance.Mount(conformance.Guards[fiber.Handler]{
			RequireAuth: kindefiber.RequireAuth, RequirePermission: kindefiber.RequirePermission,
			RequireRole: kindefiber.RequireRole, RequireOrg: kindefiber.RequireOrg, RequireFlag: kindefiber.RequireFlag,
			Require: kindefiber.Require, RequireBearer: kindefiber.RequireBearer,
		}, func(path string, handlers ...fiber.Handler) { app.Get(path, append(handlers, me)...) })
		serve(t, app, ln)
	})
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
