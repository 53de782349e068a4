package kindeecho_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echov5"
)

// guards fills the suite's guard set with the adapter's constructors, which
// also checks at compile time that Echo v5 gets the common guard surface.
var guards = conformance.Guards[echo.MiddlewareFunc]{
	RequireAuth: kindeecho.RequireAuth, RequirePermission: kindeecho.RequirePermission,
	RequireRole: kindeecho.RequireRole, RequireOrg: kindeecho.RequireOrg, RequireFlag: kindeecho.RequireFlag,
	Require: kindeecho.Require, RequireBearer: kindeecho.RequireBearer,
}

// TestConformance runs the front-end suite against the Echo v5 adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, ln net.Listener, opts []kinde.WebOption) {
		e := echo.New()
		if _, err := kindeecho.Register(e, opts...); err != nil {
			t.Fatalf("Register: %v", err)
		}
		conformance.Mount(guards, func(path string, mw ...echo.MiddlewareFunc) {
			e.GET(path, func(c *echo.Context) error {
				return c.JSON(http.StatusOK, conformance.MeOf(kindeecho.SessionFrom(c)))
			}, mw...)
		})
		conformance.ServeHTTP(t, ln, e)
	})
}
