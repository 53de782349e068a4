package kindegin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindegin "github.com/gokinde/kinde/gin"
)

func TestRefusalIsRecordedInErrors(t *testing.T) {
	srv := kindetest.Start(t)
	r := gin.New()
	if _, err := kindegin.Register(r, kinde.WithConfig(conformance.Config(srv, "http://localhost:8080/api/auth/kinde_callback"))); err != nil {
		t.Fatal(err)
	}
	var recorded []*gin.Error
	r.Use(func(c *gin.Context) {
		c.Next()
		recorded = c.Errors
	})
	reached := false
	r.GET("/admin", kindegin.RequireRole("admin"), func(c *gin.Context) { reached = true })

	req := httptest.NewRequest(http.MethodGet, "/admin", nil)
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	var d *kinde.Denial
	if reached || w.Code != http.StatusUnauthorized || len(recorded) != 1 || !errors.As(recorded[0].Err, &d) ||
		d.Status != http.StatusUnauthorized {
		t.Errorf("reached %v, status %d, errors %v", reached, w.Code, recorded)
	}
}

func TestGuardWithoutMiddlewareExplains(t *testing.T) {
	r := gin.New()
	var msg string
	r.Use(gin.CustomRecovery(func(c *gin.Context, err any) {
		msg = err.(error).Error()
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	r.GET("/admin", kindegin.RequireAuth(), func(*gin.Context) {})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin", nil))
	if w.Code != http.StatusInternalServerError || !strings.Contains(msg, "Middleware") {
		t.Errorf("status %d, panic %q", w.Code, msg)
	}
}
