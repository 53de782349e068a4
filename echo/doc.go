// Package kindeecho adds Kinde sign-in to Echo v4 applications.
//
// Register mounts the sign-in routes (/api/auth/login, /register,
// /create_org, /kinde_callback, /logout, /switch_org and /portal by default; change
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
// Handlers read the user with SessionFrom(c); other middleware finds the
// session with c.Get(kindeecho.ContextKey). The guards are
// echo.MiddlewareFunc values that find the web layer through the request,
// so they work on routes and groups alike.
//
// A page load without a session is redirected to sign-in and comes back
// afterwards: the guard writes that answer itself. Other refusals are
// errors, as Echo expects: an *echo.HTTPError (400 or 401 for a missing
// session or a bad bearer token, 403 for a rule not met) with the reason
// as Message and the *kinde.Denial as Internal, returned to the app's
// HTTPErrorHandler with WWW-Authenticate already set. WriteDenial renders
// it as core's net/http guards do (the JSON error of RFC 6750, or the 403
// page of a page load):
//
//	e.HTTPErrorHandler = func(err error, c echo.Context) {
//		if err = kindeecho.WriteDenial(c, err); err != nil {
//			e.DefaultHTTPErrorHandler(err, c)
//		}
//	}
//
// The adapter is configured once, with a Config given to Register through
// WithConfig: a Skipper, an ErrorHandler every guard uses, the context key.
// An ErrorHandler that returns nil never lets a refused request through.
//
// A guard on a route without the session middleware answers 500 and logs,
// once, how to fix it.
package kindeecho
