// Command nethttp is the Kinde starter for the standard library's net/http:
// sign-in pages, a dashboard, an admin page and a todo API.
//
//	go run ./examples/nethttp
//
// Without KINDE_DOMAIN it signs in against the SDK's built-in emulator; see
// README.md.
package main

import (
	"net/http"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/examples/starter"
)

func main() { starter.Main("net/http", newServer) }

func newServer(app *starter.App) (starter.Server, error) {
	web, err := kinde.NewWeb(app.WebOptions()...)
	if err != nil {
		return nil, err
	}
	site := app.Site
	api := web.RequireBearer()

	mux := http.NewServeMux()
	mux.Handle("/api/auth/", web.Handler())
	mux.Handle("GET /{$}", page(site.Home))
	mux.Handle("GET /dashboard", web.RequireAuth()(page(site.Dashboard)))
	mux.Handle("GET /admin", web.RequirePermission(starter.AdminPermission)(page(site.Admin)))
	mux.Handle("GET /api/todos", api(web.RequirePermission(starter.ReadTodos)(page(site.ListTodos))))
	mux.Handle("POST /api/todos", api(web.RequirePermission(starter.CreateTodos)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			site.CreateTodo(kinde.SessionFrom(r.Context()), r.Body).Send(w)
		}))))
	return starter.HTTPServer(web.Middleware(mux)), nil
}

// page serves what render makes of the request's session.
func page(render func(*kinde.Session) starter.Response) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		render(kinde.SessionFrom(r.Context())).Send(w)
	})
}
