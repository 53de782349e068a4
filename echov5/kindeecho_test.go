package kindeecho_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echov5"
)

// app is an Echo v5 app whose web layer signs in with an emulator.
type app struct {
	*echo.Echo
	kinde *kindetest.Server
}

func newApp(t *testing.T) app {
	t.Helper()
	a := app{Echo: echo.New(), kinde: kindetest.Start(t)}
	cfg := conformance.Config(a.kinde, "http://127.0.0.1:8080"+kinde.DefaultPaths().Callback)
	if _, err := kindeecho.Register(a.Echo, kinde.WithConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	return a
}

// call sends GET target accepting accept and returns the recorded answer.
func (a app) call(target, accept string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set(echo.HeaderAccept, accept)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	return rec
}

func ok(c *echo.Context) error { return c.String(http.StatusOK, "report") }

// An ErrorHandler gets an *echo.HTTPError that wraps the Denial, after the
// answer's headers are set, and can leave the body to HTTPErrorHandler.
func TestErrorHandlerGetsWrappedDenial(t *testing.T) {
	a := newApp(t)
	var got []error
	cfg := kindeecho.Config{ErrorHandler: func(_ *echo.Context, err error) error {
		got = append(got, err)
		return err
	}}
	a.GET("/reports", ok, kindeecho.GuardWithConfig(cfg, kinde.RuleSignedIn()))

	rec := a.call("/reports", echo.MIMEApplicationJSON)
	var he *echo.HTTPError
	var d *kinde.Denial
	if len(got) != 1 || !errors.As(got[0], &he) || !errors.As(got[0], &d) || he.Code != http.StatusUnauthorized {
		t.Fatalf("ErrorHandler got %v", got)
	}
	var body struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != d.Status || body.Message != d.Message() {
		t.Errorf("HTTPErrorHandler answered %d %s, want %d %q", rec.Code, rec.Body, d.Status, d.Message())
	}
	if want := `Bearer realm="` + a.kinde.Issuer() + `"`; rec.Header().Get(echo.HeaderWWWAuthenticate) != want {
		t.Errorf("WWW-Authenticate %q, want %q", rec.Header().Get(echo.HeaderWWWAuthenticate), want)
	}

	rec = a.call("/reports", echo.MIMETextHTML)
	if want := kinde.DefaultPaths().Login + "?post_login_redirect_url=%2Freports"; rec.Code != http.StatusFound ||
		rec.Header().Get(echo.HeaderLocation) != want {
		t.Errorf("page load: %d to %q, want 302 to %q", rec.Code, rec.Header().Get(echo.HeaderLocation), want)
	}
}

// Skipper lets requests through a guard, and past the bearer check.
func TestSkipper(t *testing.T) {
	a := newApp(t)
	open := kindeecho.Config{Skipper: func(c *echo.Context) bool { return c.QueryParam("open") == "yes" }}
	a.GET("/reports", ok, kindeecho.RequireBearerWithConfig(open))
	a.GET("/signed-in", ok, kindeecho.GuardWithConfig(open, kinde.RuleSignedIn()))
	for target, want := range map[string]int{
		"/reports?open=yes": http.StatusOK, "/reports": http.StatusUnauthorized,
		"/signed-in?open=yes": http.StatusOK, "/signed-in": http.StatusUnauthorized,
	} {
		if rec := a.call(target, echo.MIMEApplicationJSON); rec.Code != want {
			t.Errorf("GET %s: %d, want %d", target, rec.Code, want)
		}
	}
}

// A request the session middleware skipped is anonymous.
func TestMiddlewareSkipper(t *testing.T) {
	srv := kindetest.Start(t)
	web, err := kinde.NewWeb(kinde.WithConfig(conformance.Config(srv, "http://127.0.0.1:8080"+kinde.DefaultPaths().Callback)))
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.Use(kindeecho.MiddlewareWithConfig(web, kindeecho.Config{Skipper: func(*echo.Context) bool { return true }}))
	e.GET("/", func(c *echo.Context) error {
		if kindeecho.SessionFrom(c) != nil || kinde.WebFrom(c.Request().Context()) != nil {
			t.Error("a skipped request has a session or a web layer")
		}
		return c.NoContent(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusNoContent {
		t.Errorf("status %d", rec.Code)
	}
}
