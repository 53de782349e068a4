package kindeecho_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echo"
)

// The kindetest emulator plays Kinde in this example; in an application
// Register(e) reads the KINDE_* variables instead of taking an option.
func ExampleRegister() {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/dashboard", func(c echo.Context) error {
		return c.String(http.StatusOK, "Hello, "+kindeecho.SessionFrom(c).User().GivenName)
	}, kindeecho.RequireAuth())

	demo := conformance.NewDemo()
	defer demo.Close()
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		panic(err)
	}
	e.Listener = demo.Listener
	go func() { _ = e.Start("") }()
	defer e.Close()

	demo.Kinde.SignInAs(demo.Users.Alice.ID) // no login page: Alice signs in at once
	status, body, err := conformance.Visit(demo.URL + "/dashboard")
	fmt.Println(status, body, err)
	// Output: 200 Hello, Alice <nil>
}

func ExampleRequirePermission() {
	e := echo.New()
	deleteTodo := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	api := e.Group("/api", kindeecho.RequireBearer())
	api.DELETE("/todos/:id", deleteTodo, kindeecho.RequirePermission("delete:todos"))

	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		panic(err)
	}

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, _ := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodDelete, "/api/todos/1", nil)
		req.Header.Set(echo.HeaderAuthorization, "Bearer "+tokens.AccessToken)
		e.ServeHTTP(rec, req)
		fmt.Println(u.GivenName, rec.Code)
	}
	// Output:
	// Alice 204
	// Bob 403
}
