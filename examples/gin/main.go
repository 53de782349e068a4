// Command gin is the Kinde starter for Gin: sign-in pages, a dashboard, an
// admin page and a todo API.
//
//	go run ./examples/gin
//
// Without KINDE_DOMAIN it signs in against the SDK's built-in emulator; see
// README.md.
package main

import (
	"os"

	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/examples/starter"
	kindegin "github.com/gokinde/kinde/gin"
)

func main() {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	starter.Main("Gin", newServer)
}

func newServer(app *starter.App) (starter.Server, error) {
	r := gin.New()
	r.Use(gin.Recovery())
	// Register first: it installs the session middleware, which Gin applies
	// only to the routes added after it.
	if _, err := kindegin.Register(r, app.WebOptions()...); err != nil {
		return nil, err
	}
	site := app.Site
	r.GET("/", respond(site.Home))
	r.GET("/dashboard", kindegin.RequireAuth(), respond(site.Dashboard))
	r.GET("/admin", kindegin.RequirePermission(starter.AdminPermission), respond(site.Admin))

	todos := r.Group("/api/todos", kindegin.RequireBearer())
	todos.GET("", kindegin.RequirePermission(starter.ReadTodos), respond(site.ListTodos))
	todos.POST("", kindegin.RequirePermission(starter.CreateTodos), func(c *gin.Context) {
		send(c, site.CreateTodo(kindegin.SessionFrom(c), c.Request.Body))
	})
	return starter.HTTPServer(r), nil
}

// respond answers with what render makes of the request's session.
func respond(render func(*kinde.Session) starter.Response) gin.HandlerFunc {
	return func(c *gin.Context) { send(c, render(kindegin.SessionFrom(c))) }
}

func send(c *gin.Context, r starter.Response) { c.Data(r.Status, r.ContentType, r.Body) }
