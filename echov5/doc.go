// Package kindeecho adds Kinde sign-in to Echo v5 applications. It is the
// Echo v4 adapter (module github.com/gokinde/kinde/echo) for Echo v5's
// handler signature, func(c *echo.Context) error, with the same names and
// behaviour: besides what Echo v5 itself changes, moving an app from Echo
// v4 to v5 changes only the adapter's import path.
//
// Register mounts the sign-in routes (/api/auth/login, /register,
// /create_org, /kinde_callback, /logout and /switch_org by default; change
// them with kinde.WithPaths) and installs the session middleware:
//
//	e := echo.New()
//	if _, err := kindeecho.Register(e); err != nil { // reads KINDE_* variables
//		log.Fatal(err)
//	}
//	e.GET("/dashboard", dashboard, kindeecho.RequireAuth())
//	e.GET("/admin", admin, kindeecho.RequirePermission("admin:read"))
//
//	api := e.Group("/api", kindeecho.RequireBearer(kinde.VerifyAudience("https://myapp/api")))
//	api.GET("/todos", listTodos, kindeecho.RequirePermission("read:todos"))
//
// Handlers read the user with SessionFrom(c). The guards are
// echo.MiddlewareFunc values that find the web layer through the request,
// so they work on routes and groups alike.
//
// By default a request a guard refuses is answered as core's net/http
// guards answer it: a page load without a session is redirected to sign-in
// and comes back afterwards; an API call gets 401 JSON with
// WWW-Authenticate; a signed-in user lacking the rule gets 403 (an HTML
// page or JSON). To render refusals yourself, give the guards a Config with
// an ErrorHandler (GuardWithConfig, RequireBearerWithConfig): it receives
// an *echo.HTTPError wrapping the *kinde.Denial, which it can return to the
// app's HTTPErrorHandler.
package kindeecho
