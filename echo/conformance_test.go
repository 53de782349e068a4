package kindeecho_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echo"
)

// TestConformance runs the front-end suite against the Echo adapter.
func TestConformance(t *testing.T) {
	g := conformance.Guards[echo.MiddlewareFunc]{RequireAuth: kindeecho.RequireAuth,
		RequirePermission: kindeecho.RequirePermission, RequireRole: kindeecho.RequireRole,
		RequireOrg: kindeecho.RequireOrg, RequireFlag: kindeecho.RequireFlag, Require: kindeecho.Require,
		RequireBearer: kindeecho.RequireBearer}
	conformance.Run(t, func(t *testing.T, ln net.Listener, opts []kinde.WebOption) {
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		if _, err := kindeecho.Register(e, opts...); err != nil {
			t.Fatalf("Register: %v", err)
		}
		me := func(c echo.Context) error {
			return c.JSON(http.StatusOK, conformance.MeOf(kindeecho.SessionFrom(c)))
		}
		conformance.Mount(g, func(path string, mw ...echo.MiddlewareFunc) { e.GET(path, me, mw...) })
		conformance.ServeHTTP(t, ln, e)
	})
}
