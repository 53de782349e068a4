package kindefiber_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// In an application Register(app) reads the KINDE_* variables; here an
// option points it at the kindetest emulator, which signs Alice in without
// a login page.
func ExampleRegister() {
	demo := conformance.NewDemo()
	defer demo.Close()
	// Session cookies need more than fasthttp's default 4 KiB of headers.
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		log.Fatal(err)
	}
	app.Get("/dashboard", kindefiber.RequireAuth(), func(c *fiber.Ctx) error {
		return c.SendString("Hello, " + kindefiber.SessionFrom(c).User().GivenName)
	})
	go func() { _ = app.Listener(demo.Listener) }()
	defer func() { _ = app.Shutdown() }()

	// A browser opening the page is sent to sign in and comes back.
	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	// Output: 200 Hello, Alice <nil>
}

// An API takes access tokens; the guards after RequireBearer check the
// token's permissions. Refusals go to the app's ErrorHandler.
func ExampleRequireBearer() {
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	app := fiber.New()
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		log.Fatal(err)
	}
	todos := app.Group("/api/todos", kindefiber.RequireBearer())
	todos.Delete("/:id", kindefiber.RequirePermission("delete:todos"), func(c *fiber.Ctx) error {
		return c.SendStatus(fiber.StatusNoContent)
	})

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, err := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.GivenName, call(app, fiber.MethodDelete, "/api/todos/7", "Bearer "+tokens.AccessToken))
	}
	fmt.Println("nobody", call(app, fiber.MethodDelete, "/api/todos/7", ""))
	// Output:
	// Alice 204
	// Bob 403 this request needs permissions "delete:todos"
	// nobody 401 send an access token in the Authorization header: Bearer <token>
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

	app := fiber.New()
	if _, err := kindefiber.Register(app, kinde.ResourceServer(),
		kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{api}})); err != nil {
		log.Fatal(err)
	}
	todos := app.Group("/api/todos", kindefiber.RequireBearer())
	todos.Get("", kindefiber.RequirePermissionOrScope("read:todos"), func(c *fiber.Ctx) error {
		return c.SendStatus(fiber.StatusNoContent)
	})
	todos.Post("", kindefiber.RequireScope("write:todos"), func(c *fiber.Ctx) error {
		return c.SendStatus(fiber.StatusCreated)
	})

	token, err := srv.IssueM2MToken(worker.ID, api)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(call(app, fiber.MethodGet, "/api/todos", "Bearer "+token.AccessToken))
	fmt.Println(call(app, fiber.MethodPost, "/api/todos", "Bearer "+token.AccessToken))
	// Output:
	// 204
	// 403 this request needs scopes "write:todos"
}

// The Config given with WithConfig applies to every guard: here an
// ErrorHandler answers refusals in the API's own error format.
func ExampleWithConfig() {
	demo := conformance.NewDemo()
	defer demo.Close()
	app := fiber.New()
	problem := kindefiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		var d *kinde.Denial
		if !errors.As(err, &d) {
			return err
		}
		return c.Status(d.Status).JSON(fiber.Map{"status": d.Status, "detail": d.Message()})
	}}
	if _, err := kindefiber.Register(app, demo.Option(), kindefiber.WithConfig(problem)); err != nil {
		log.Fatal(err)
	}
	app.Get("/api/todos", kindefiber.RequireBearer(), func(c *fiber.Ctx) error {
		return c.SendStatus(fiber.StatusNoContent)
	})

	fmt.Println(call(app, fiber.MethodGet, "/api/todos", "Basic YWxpY2U6c2VjcmV0"))
	// Output: 400 {"detail":"the Authorization header must be: Bearer \u003ctoken\u003e","status":400}
}

// An app ErrorHandler that writes refusals as core's net/http guards do:
// the JSON error of RFC 6750 for API calls, the 403 page for page loads.
func ExampleWriteDenial() {
	demo := conformance.NewDemo()
	defer demo.Close()
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		if err = kindefiber.WriteDenial(c, err); err != nil {
			return fiber.DefaultErrorHandler(c, err)
		}
		return nil
	}})
	if _, err := kindefiber.Register(app, demo.Option()); err != nil {
		log.Fatal(err)
	}
	app.Get("/api/todos", kindefiber.RequireBearer(), func(c *fiber.Ctx) error {
		return c.SendStatus(fiber.StatusNoContent)
	})

	fmt.Println(call(app, fiber.MethodGet, "/api/todos", ""))
	fmt.Println(call(app, fiber.MethodGet, "/api/nothing", ""))
	// Output:
	// 401 {"error":"unauthenticated","error_description":"send an access token in the Authorization header: Bearer \u003ctoken\u003e"}
	// 404 Cannot GET /api/nothing
}

// call sends an API request to app and returns the status and the body.
func call(app *fiber.App, method, target, auth string) string {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set(fiber.HeaderAccept, fiber.MIMEApplicationJSON)
	if auth != "" {
		req.Header.Set(fiber.HeaderAuthorization, auth)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", string(b)))
}
