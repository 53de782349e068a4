package kindeecho_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echov5"
)

// guards fills the suite's guard set with the adapter's constructors, which
// also checks at compile time that the adapter has the common guard surface.
var guards = conformance.Guards[echo.MiddlewareFunc]{
	RequireAuth: kindeecho.RequireAuth, RequirePermission: kindeecho.RequirePermission,
	RequireRole: kindeecho.RequireRole, RequireOrg: kindeecho.RequireOrg, RequireFlag: kindeecho.RequireFlag,
	Require: kindeecho.Require, RequireBearer: kindeecho.RequireBearer,
	RequireScope: kindeecho.RequireScope, RequirePermissionOrScope: kindeecho.RequirePermissionOrScope,
	SignIn: func(to string, opts ...kinde.AuthOption) echo.MiddlewareFunc {
		return func(echo.HandlerFunc) echo.HandlerFunc {
			return func(c *echo.Context) error { return kindeecho.SignIn(c, to, opts...) }
		}
	},
}

// TestConformance runs the front-end suite against the Echo adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, app conformance.App) {
		e := newEcho()
		opts := app.Options
		switch app.Refusals {
		case conformance.RefusalsAsKinde:
			e.HTTPErrorHandler = func(c *echo.Context, err error) {
				if err = kindeecho.WriteDenial(c, err); err != nil {
					echo.DefaultHTTPErrorHandler(false)(c, err)
				}
			}
		case conformance.RefusalsIgnored:
			opts = append(opts, kindeecho.WithConfig(kindeecho.Config{ErrorHandler: func(*echo.Context, error) error { return nil }}))
		}
		if !app.WithoutMiddleware {
			if _, err := kindeecho.Register(e, opts...); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
		conformance.Mount(guards, func(path string, fromKey bool, mw ...echo.MiddlewareFunc) {
			e.GET(path, me(fromKey), mw...)
		})
		conformance.ServeHTTP(t, app.Listener, e)
	})
}

// me answers with the JSON of the session, read with SessionFrom or, when
// fromKey is true, under ContextKey.
func me(fromKey bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		s := kindeecho.SessionFrom(c)
		if fromKey {
			s, _ = c.Get(kindeecho.ContextKey).(*kinde.Session)
		}
		return c.JSON(http.StatusOK, conformance.MeOf(s))
	}
}

// newEcho returns an Echo app (Echo v5 prints its banner only when it
// starts its own server).
func newEcho() *echo.Echo { return echo.New() }
