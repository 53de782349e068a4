package kindegin_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindegin "github.com/gokinde/kinde/gin"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// guards fills the suite's guard set with the adapter's constructors, which
// also checks at compile time that the adapter has the common guard surface.
var guards = conformance.Guards[gin.HandlerFunc]{
	RequireAuth: kindegin.RequireAuth, RequirePermission: kindegin.RequirePermission,
	RequireRole: kindegin.RequireRole, RequireOrg: kindegin.RequireOrg, RequireFlag: kindegin.RequireFlag,
	Require: kindegin.Require, RequireBearer: kindegin.RequireBearer,
	RequireScope: kindegin.RequireScope, RequirePermissionOrScope: kindegin.RequirePermissionOrScope,
	SignIn: func(to string, opts ...kinde.AuthOption) gin.HandlerFunc {
		return func(c *gin.Context) {
			if err := kindegin.SignIn(c, to, opts...); err != nil {
				_ = c.AbortWithError(http.StatusInternalServerError, err)
			}
		}
	},
}

// TestConformance runs the front-end suite against the Gin adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, app conformance.App) {
		r := gin.New()
		opts := app.Options
		if app.Refusals == conformance.RefusalsIgnored {
			opts = append(opts, kindegin.WithConfig(kindegin.Config{ErrorHandler: func(*gin.Context, error) {}}))
		}
		if !app.WithoutMiddleware {
			if _, err := kindegin.Register(r, opts...); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
		conformance.Mount(guards, func(path string, fromKey bool, chain ...gin.HandlerFunc) {
			r.GET(path, append(chain, me(fromKey))...)
		})
		conformance.ServeHTTP(t, app.Listener, r)
	})
}

// me answers with the JSON of the session, read with SessionFrom or, when
// fromKey is true, under ContextKey.
func me(fromKey bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		s := kindegin.SessionFrom(c)
		if fromKey {
			v, _ := c.Get(kindegin.ContextKey)
			s, _ = v.(*kinde.Session)
		}
		c.JSON(http.StatusOK, conformance.MeOf(s))
	}
}
