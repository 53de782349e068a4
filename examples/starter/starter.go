// Package starter is the part the Kinde starter apps share: the HTML pages,
// the view model built from a *kinde.Session, the in-memory /api/todos store,
// the choice between real Kinde and the built-in emulator (DevKinde), and the
// process around the app (listen, print, shut down on Ctrl-C).
//
// A starter's main.go holds only its framework's routing:
//
//	func main() { starter.Main("net/http", newServer) }
//
//	func newServer(app *starter.App) (starter.Server, error) {
//		web, err := kinde.NewWeb(app.WebOptions()...)
//		…
//	}
package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// The permissions the starters' routes require. They exist in the emulator's
// demo data; with real Kinde, create them in your business (Settings →
// Permissions) and give them to roles.
const (
	// AdminPermission opens the admin page. In the demo only the admin role has it.
	AdminPermission = "delete:todos"
	// ReadTodos is needed for GET /api/todos.
	ReadTodos = "read:todos"
	// CreateTodos is needed for POST /api/todos.
	CreateTodos = "create:todos"
)

// DefaultPort is the port used when PORT is not set.
const DefaultPort = "8080"

// shutdownTimeout bounds how long open requests may take after Ctrl-C.
const shutdownTimeout = 5 * time.Second

// Server serves an app on a listener until Shutdown. An *http.Server is one
// (see HTTPServer); frameworks with their own server wrap it.
type Server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// SecurityHeaders are the response headers every page of the starters
// carries: a content security policy that allows the pages' own inline
// stylesheet and images but no script, no framing by other sites, no
// referrer beyond the origin, and no MIME sniffing.
func SecurityHeaders() map[string]string {
	return map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; " +
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"Referrer-Policy":        "strict-origin-when-cross-origin",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	}
}

// withSecurityHeaders sets SecurityHeaders on every response of h.
func withSecurityHeaders(h http.Handler) http.Handler {
	headers := SecurityHeaders()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPServer returns a Server for an http.Handler (net/http, Gin, Echo),
// with SecurityHeaders on every response.
func HTTPServer(h http.Handler) Server {
	return &http.Server{
		Handler:           withSecurityHeaders(h),
		ReadHeaderTimeout: 10 * time.Second, // a client that never finishes its headers
		ReadTimeout:       30 * time.Second, // or its body
		IdleTimeout:       2 * time.Minute,  // keep-alive connections left open
	}
}

// App is what a starter builds its routes from.
type App struct {
	// Name of the framework, shown in the pages ("Gin", "net/http", …).
	Name string
	// URL is where the app listens, e.g. http://127.0.0.1:8080.
	URL string
	// Site renders the pages and answers the todo API.
	Site *Site
	// Kinde is the Kinde the app signs in with.
	Kinde *Kinde
}

// WebOptions configure the SDK's web layer (kinde.NewWeb, kindegin.Register,
// …): the Kinde configuration, the routes the pages link to, the dashboard as
// landing page after sign-in, and the site's own error page.
func (a *App) WebOptions() []kinde.WebOption {
	return []kinde.WebOption{
		kinde.WithConfig(a.Kinde.Config),
		kinde.WithPaths(a.Site.paths),
		kinde.WithAfterLoginPath("/dashboard"),
		kinde.WithErrorPage(a.Site.ErrorPage),
	}
}

// Run listens on addr, sets up Kinde (see DevKinde), builds the app and
// serves it until ctx ends, then shuts it down gracefully. It writes how to
// sign in and the line "<name> starter listening on <URL>" to out once the
// app accepts requests. Port 0 picks a free port.
func Run(ctx context.Context, name, addr string, out io.Writer, build func(*App) (Server, error)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w (set PORT to use another port)", err)
	}
	defer ln.Close()
	appURL := "http://" + ln.Addr().String()
	k, err := DevKinde(appURL)
	if err != nil {
		return err
	}
	defer k.Close()
	site := NewSite(name, appURL, k.DemoUsers())
	site.kinde = k
	app := &App{Name: name, URL: appURL, Kinde: k, Site: site}
	srv, err := build(app)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- serve(srv, ln) }()
	k.PrintHelp(out, appURL)
	fmt.Fprintf(out, "%s starter listening on %s\n", name, appURL)
	select {
	case err := <-served:
		if err == nil {
			err = errors.New("it returned before shutdown")
		}
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-served
}

// serve runs srv on ln until it fails or is shut down; a shutdown is no error.
func serve(srv Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
