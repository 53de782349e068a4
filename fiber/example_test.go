package kindefiber_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"

	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// With no option Register(app) reads the KINDE_* variables; this example
// points it at the kindetest emulator instead.
func ExampleRegister() {
	// Session cookies can exceed Fiber's default 4 KB request header buffer.
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
	demo := conformance.NewDemo()
	defer demo.Close()
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		panic(err)
	}
	app.Get("/dashboard", kindefiber.RequireAuth(), func(c *fiber.Ctx) error {
		return c.SendString("Hello, " + kindefiber.SessionFrom(c).User().GivenName)
	})
	go func() { _ = app.Listener(demo.Listener) }()
	defer func() { _ = app.Shutdown() }()

	// Visiting the page signs Alice in through the emulator and comes back.
	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	// Output: 200 Hello, Alice <nil>
}

func ExampleRequirePermission() {
	app := fiber.New()
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		panic(err)
	}
	app.Route("/api", func(api fiber.Router) {
		api.Use(kindefiber.RequireBearer())
		api.Delete("/todos/:id", kindefiber.RequirePermission("delete:todos"), func(c *fiber.Ctx) error {
			return c.SendStatus(fiber.StatusNoContent)
		})
	})

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, _ := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		req := httptest.NewRequest(fiber.MethodDelete, "/api/todos/1", nil)
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+tokens.AccessToken)
		if resp, err := app.Test(req); err == nil {
			fmt.Println(u.GivenName, resp.StatusCode)
		}
	}
	// Output:
	// Alice 204
	// Bob 403
}
