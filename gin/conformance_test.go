package kindegin_test

import (
	"net"
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

var guards = conformance.Guards[gin.HandlerFunc]{RequireAuth: kindegin.RequireAuth,
	RequirePermission: kindegin.RequirePermission, RequireRole: kindegin.RequireRole, RequireOrg: kindegin.RequireOrg,
	RequireFlag: kindegin.RequireFlag, Require: kindegin.Require, RequireBearer: kindegin.RequireBearer}

// TestConformance runs the front-end suite against the Gin adapter.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, ln net.Listener, opts []kinde.WebOption) {
		r := gin.New()
		if _, err := kindegin.Register(r, opts...); err != nil {
			t.Fatalf("Register: %v", err)
		}
		me := func(c *gin.Context) { c.JSON(http.StatusOK, conformance.MeOf(kindegin.SessionFrom(c))) }
		conformance.Mount(guards, func(path string, chain ...gin.HandlerFunc) { r.GET(path, append(chain, me)...) })
		conformance.ServeHTTP(t, ln, r)
	})
}
