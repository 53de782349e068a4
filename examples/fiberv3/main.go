// Command fiberv3 is the Kinde starter for Fiber v3: sign-in pages, a
// dashboard, an admin page and a todo API.
//
//	go run ./examples/fiberv3
//
// Without KINDE_DOMAIN it signs in against the SDK's built-in emulator; see
// README.md.
package main

import (
	"bytes"
	"context"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/examples/starter"
	kindefiber "github.com/gokinde/kinde/fiberv3"
)

func main() { starter.Main("Fiber v3", newServer) }

func newServer(app *starter.App) (starter.Server, error) {
	// The guards return refusals as errors: the ErrorHandler writes them
	// as the SDK answers them (the 403 page, the API's JSON errors).
	f := fiber.New(fiber.Config{
		ErrorHandler: writeErrors,
		// fasthttp has no header timeout of its own: ReadTimeout bounds a
		// request whose headers never finish, IdleTimeout a keep-alive
		// connection left open.
		ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute,
	})
	f.Use(recover.New())
	headers := starter.SecurityHeaders()
	f.Use(func(c fiber.Ctx) error {
		for k, v := range headers {
			c.Set(k, v)
		}
		return c.Next()
	})
	// Register first: Fiber runs handlers in the order they were added, and
	// Register adds the session middleware.
	if _, err := kindefiber.Register(f, app.WebOptions()...); err != nil {
		return nil, err
	}
	site := app.Site
	f.Get("/", respond(site.Home))
	f.Get("/dashboard", kindefiber.RequireAuth(), respond(site.Dashboard))
	f.Get("/admin", kindefiber.RequirePermission(starter.AdminPermission), respond(site.Admin))

	todos := f.Group("/api/todos", kindefiber.RequireBearer())
	todos.Get("", kindefiber.RequirePermission(starter.ReadTodos), respond(site.ListTodos))
	todos.Post("", kindefiber.RequirePermission(starter.CreateTodos), func(c fiber.Ctx) error {
		// c.Body is valid until the handler returns; CreateTodo reads it before.
		return send(c, site.CreateTodo(kindefiber.SessionFrom(c), bytes.NewReader(c.Body())))
	})
	return server{f}, nil
}

// respond answers with what render makes of the request's session.
func respond(render func(*kinde.Session) starter.Response) fiber.Handler {
	return func(c fiber.Ctx) error { return send(c, render(kindefiber.SessionFrom(c))) }
}

func send(c fiber.Ctx, r starter.Response) error {
	c.Set(fiber.HeaderContentType, r.ContentType)
	return c.Status(r.Status).Send(r.Body)
}

// server serves the Fiber app, which has its own server, as a starter.Server.
type server struct{ app *fiber.App }

func (s server) Serve(ln net.Listener) error {
	return s.app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
}

func (s server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// writeErrors writes the guards' refusals as the SDK answers them, and
// other errors as Fiber does.
func writeErrors(c fiber.Ctx, err error) error {
	if err = kindefiber.WriteDenial(c, err); err != nil {
		return fiber.DefaultErrorHandler(c, err)
	}
	return nil
}
