package kindeecho_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echo"
)

// In an application Register(e) reads the KINDE_* variables; here an
// option points it at the kindetest emulator, which signs Alice in without
// a login page.
func ExampleRegister() {
	demo := conformance.NewDemo()
	defer demo.Close()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		log.Fatal(err)
	}
	e.GET("/dashboard", func(c echo.Context) error {
		return c.String(http.StatusOK, "Hello, "+kindeecho.SessionFrom(c).User().GivenName)
	}, kindeecho.RequireAuth())
	srv := &http.Server{Handler: e}
	go func() { _ = srv.Serve(demo.Listener) }()
	defer srv.Close()

	// A browser opening the page is sent to sign in and comes back.
	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	// Output: 200 Hello, Alice <nil>
}

// An API takes access tokens; the guards after RequireBearer check the
// token's permissions. Refusals go to Echo's HTTPErrorHandler.
func ExampleRequireBearer() {
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	e := echo.New()
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		log.Fatal(err)
	}
	todos := e.Group("/api/todos", kindeecho.RequireBearer())
	todos.DELETE("/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		kindeecho.RequirePermission("delete:todos"))

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, err := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.GivenName, call(e, http.MethodDelete, "/api/todos/7", "Bearer "+tokens.AccessToken))
	}
	fmt.Println("nobody", call(e, http.MethodDelete, "/api/todos/7", ""))
	// Output:
	// Alice 204
	// Bob 403 {"message":"this request needs permissions \"delete:todos\""}
	// nobody 401 {"message":"send an access token in the Authorization header: Bearer \u003ctoken\u003e"}
}

// An API that only checks access tokens is configured with the Kinde
// domain and its audience alone (KINDE_DOMAIN and KINDE_AUDIENCE in an
// application). RequireScope authorises machine-to-machine callers by the
// scopes Kinde granted them; RequirePermissionOrScope lets users with the
// permission and machines with the scope in alike.
func ExampleRequireScope() {
	srv := kindetest.NewServer()
	defer srv.Close()
	const api = "https://api.example.com"
	srv.AddAPI(api, "read:todos", "write:todos")
	worker := srv.AddClient(kindetest.Client{Type: "m2m", Name: "Nightly report"})
	if err := srv.AuthorizeM2M(worker.ID, api, "read:todos"); err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	if _, err := kindeecho.Register(e, kinde.ResourceServer(),
		kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{api}})); err != nil {
		log.Fatal(err)
	}
	todos := e.Group("/api/todos", kindeecho.RequireBearer())
	todos.GET("", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		kindeecho.RequirePermissionOrScope("read:todos"))
	todos.POST("", func(c echo.Context) error { return c.NoContent(http.StatusCreated) },
		kindeecho.RequireScope("write:todos"))

	token, err := srv.IssueM2MToken(worker.ID, api)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(call(e, http.MethodGet, "/api/todos", "Bearer "+token.AccessToken))
	fmt.Println(call(e, http.MethodPost, "/api/todos", "Bearer "+token.AccessToken))
	// Output:
	// 204
	// 403 {"message":"this request needs scopes \"write:todos\""}
}

// The Config given with WithConfig applies to every guard: here an
// ErrorHandler answers refusals in the API's own error format.
func ExampleWithConfig() {
	demo := conformance.NewDemo()
	defer demo.Close()
	e := echo.New()
	problem := kindeecho.Config{ErrorHandler: func(c echo.Context, err error) error {
		var d *kinde.Denial
		if !errors.As(err, &d) {
			return err
		}
		return c.JSON(d.Status, map[string]any{"status": d.Status, "detail": d.Message()})
	}}
	if _, err := kindeecho.Register(e, demo.Option(), kindeecho.WithConfig(problem)); err != nil {
		log.Fatal(err)
	}
	e.GET("/api/todos", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		kindeecho.RequireBearer())

	fmt.Println(call(e, http.MethodGet, "/api/todos", "Basic YWxpY2U6c2VjcmV0"))
	// Output: 400 {"detail":"the Authorization header must be: Bearer \u003ctoken\u003e","status":400}
}

// An HTTPErrorHandler that writes refusals as core's net/http guards do:
// the JSON error of RFC 6750 for API calls, the 403 page for page loads.
func ExampleWriteDenial() {
	demo := conformance.NewDemo()
	defer demo.Close()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if err = kindeecho.WriteDenial(c, err); err != nil {
			e.DefaultHTTPErrorHandler(err, c)
		}
	}
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		log.Fatal(err)
	}
	e.GET("/api/todos", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		kindeecho.RequireBearer())

	fmt.Println(call(e, http.MethodGet, "/api/todos", ""))
	fmt.Println(call(e, http.MethodGet, "/api/nothing", ""))
	// Output:
	// 401 {"error":"unauthenticated","error_description":"send an access token in the Authorization header: Bearer \u003ctoken\u003e"}
	// 404 {"message":"Not Found"}
}

// call sends an API request to h and returns the status and the body.
func call(h http.Handler, method, target, auth string) string {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Body.String()))
}
