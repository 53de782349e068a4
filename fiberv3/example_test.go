package kindefiber_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/gofiber/fiber/v3"

	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiberv3"
)

// Register(app) reads the KINDE_* variables; here an option points it at
// the kindetest emulator instead, which signs Alice in without a login page.
func ExampleRegister() {
	demo := conformance.NewDemo()
	defer demo.Close()
	// Session cookies need more than fasthttp's default 4 KiB of headers.
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		panic(err)
	}
	app.Get("/dashboard", kindefiber.RequireAuth(), func(c fiber.Ctx) error {
		return c.SendString("Hello, " + kindefiber.SessionFrom(c).User().GivenName)
	})
	go func() { _ = app.Listener(demo.Listener, fiber.ListenConfig{DisableStartupMessage: true}) }()
	defer func() { _ = app.Shutdown() }()

	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	// Output: 200 Hello, Alice <nil>
}

func ExampleRequirePermission() {
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	app := fiber.New()
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		panic(err)
	}
	todos := app.Group("/api/todos", kindefiber.RequireBearer())
	todos.Delete("/:id", kindefiber.RequirePermission("delete:todos"), func(c fiber.Ctx) error {
		return c.SendStatus(fiber.StatusNoContent)
	})

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, err := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		if err != nil {
			panic(err)
		}
		req := httptest.NewRequest(fiber.MethodDelete, "/api/todos/7", nil)
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+tokens.AccessToken)
		resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
		if err != nil {
			panic(err)
		}
		_ = resp.Body.Close()
		fmt.Printf("%s: %d\n", u.GivenName, resp.StatusCode)
	}
	// Output:
	// Alice: 204
	// Bob: 403
}
