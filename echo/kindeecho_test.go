package kindeecho_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echo"
)

// newEcho returns an Echo app with the web layer registered for an emulator.
func newEcho(t *testing.T) (*echo.Echo, *kindetest.Server) {
	t.Helper()
	srv := kindetest.Start(t)
	e := echo.New()
	if _, err := kindeecho.Register(e, kinde.WithConfig(conformance.Config(srv, "http://localhost:8080/api/auth/kinde_callback"))); err != nil {
		t.Fatal(err)
	}
	return e, srv
}

func serve(e *echo.Echo, accept string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/reports", nil)
	req.Header.Set("Accept", accept)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestErrorHandlerGetsHTTPError(t *testing.T) {
	e, srv := newEcho(t)
	var got error
	cfg := kindeecho.Config{ErrorHandler: func(_ echo.Context, err error) error {
		got = err
		return err // to the app's HTTPErrorHandler
	}}
	e.GET("/reports", func(c echo.Context) error { return c.NoContent(http.StatusOK) },
		kindeecho.GuardWithConfig(cfg, kinde.RuleSignedIn()))

	rec := serve(e, "application/json")
	var he *echo.HTTPError
	var d *kinde.Denial
	if !errors.As(got, &he) || he.Code != http.StatusUnauthorized || !errors.As(he.Internal, &d) {
		t.Fatalf("ErrorHandler got %#v", got)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusUnauthorized ||
		body["message"] != d.Message() {
		t.Errorf("HTTPErrorHandler answered %d %s", rec.Code, rec.Body)
	}
	if want := `Bearer realm="` + srv.Issuer() + `"`; rec.Header().Get("WWW-Authenticate") != want {
		t.Errorf("WWW-Authenticate %q, want %q", rec.Header().Get("WWW-Authenticate"), want)
	}

	// A page load is still redirected to sign-in: the Location is set.
	rec = serve(e, "text/html")
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/api/auth/login?post_login_redirect_url=%2Freports" {
		t.Errorf("navigation: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestSkipperLetsThrough(t *testing.T) {
	e, _ := newEcho(t)
	cfg := kindeecho.Config{Skipper: func(c echo.Context) bool { return c.QueryParam("open") == "1" }}
	e.GET("/reports", func(c echo.Context) error { return c.String(http.StatusOK, "report") },
		kindeecho.RequireBearerWithConfig(cfg))

	req := httptest.NewRequest(http.MethodGet, "/reports?open=1", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "report" {
		t.Errorf("skipped guard: %d %q", rec.Code, rec.Body)
	}
	if rec := serve(e, "application/json"); rec.Code != http.StatusUnauthorized {
		t.Errorf("guard not skipped: %d", rec.Code)
	}
}
