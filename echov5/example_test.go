package kindeecho_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v5"

	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echov5"
)

// Register(e) reads the KINDE_* variables; here an option points it at the
// kindetest emulator instead, which signs Alice in without a login page.
func ExampleRegister() {
	demo := conformance.NewDemo()
	defer demo.Close()
	e := echo.New()
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		panic(err)
	}
	e.GET("/dashboard", func(c *echo.Context) error {
		return c.String(http.StatusOK, "Hello, "+kindeecho.SessionFrom(c).User().GivenName)
	}, kindeecho.RequireAuth())

	ctx, stop := context.WithCancel(context.Background())
	start := echo.StartConfig{Listener: demo.Listener, HideBanner: true, HidePort: true}
	done := make(chan struct{})
	go func() { defer close(done); _ = start.Start(ctx, e) }()

	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	stop() // shut the server down before the demo closes its listener
	<-done
	// Output: 200 Hello, Alice <nil>
}

func ExampleRequirePermission() {
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	e := echo.New()
	if _, err := kindeecho.Register(e, demo.Option()); err != nil {
		panic(err)
	}
	todos := e.Group("/api/todos", kindeecho.RequireBearer())
	todos.DELETE("/:id", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) },
		kindeecho.RequirePermission("delete:todos"))

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, err := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		if err != nil {
			panic(err)
		}
		req := httptest.NewRequest(http.MethodDelete, "/api/todos/7", nil)
		req.Header.Set(echo.HeaderAuthorization, "Bearer "+tokens.AccessToken)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Printf("%s: %d\n", u.GivenName, rec.Code)
	}
	// Output:
	// Alice: 204
	// Bob: 403
}
