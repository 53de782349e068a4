// Command echov5 is the Kinde starter for Echo v5: sign-in pages, a
// dashboard, an admin page and a todo API.
//
//	go run ./examples/echov5
//
// Without KINDE_DOMAIN it signs in against the SDK's built-in emulator; see
// README.md.
package main

import (
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	kinde "github.com/gokinde/kinde/core"
	kindeecho "github.com/gokinde/kinde/echov5"
	"github.com/gokinde/kinde/examples/starter"
)

func main() { starter.Main("Echo v5", newServer) }

func newServer(app *starter.App) (starter.Server, error) {
	e := echo.New()
	e.Use(middleware.Recover())
	// The guards return refusals as errors: write them as the SDK answers
	// them (the 403 page, the API's JSON errors), and the rest as Echo does.
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		if err = kindeecho.WriteDenial(c, err); err != nil {
			echo.DefaultHTTPErrorHandler(false)(c, err)
		}
	}
	if _, err := kindeecho.Register(e, app.WebOptions()...); err != nil {
		return nil, err
	}
	site := app.Site
	e.GET("/", respond(site.Home))
	e.GET("/dashboard", respond(site.Dashboard), kindeecho.RequireAuth())
	e.GET("/admin", respond(site.Admin), kindeecho.RequirePermission(starter.AdminPermission))

	todos := e.Group("/api/todos", kindeecho.RequireBearer())
	todos.GET("", respond(site.ListTodos), kindeecho.RequirePermission(starter.ReadTodos))
	todos.POST("", func(c *echo.Context) error {
		return send(c, site.CreateTodo(kindeecho.SessionFrom(c), c.Request().Body))
	}, kindeecho.RequirePermission(starter.CreateTodos))
	return starter.HTTPServer(e), nil
}

// respond answers with what render makes of the request's session.
func respond(render func(*kinde.Session) starter.Response) echo.HandlerFunc {
	return func(c *echo.Context) error { return send(c, render(kindeecho.SessionFrom(c))) }
}

func send(c *echo.Context, r starter.Response) error { return c.Blob(r.Status, r.ContentType, r.Body) }
