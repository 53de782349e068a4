// Package kindegin adds Kinde sign-in to Gin applications.
//
// Register mounts the sign-in routes (/api/auth/login, /register,
// /create_org, /kinde_callback, /logout, /switch_org and /portal by default; change
// them with kinde.WithPaths) and installs the session middleware:
//
//	r := gin.Default()
//	if _, err := kindegin.Register(r); err != nil { // reads KINDE_* variables
//		log.Fatal(err)
//	}
//	r.GET("/dashboard", kindegin.RequireAuth(), dashboard)
//	r.GET("/admin", kindegin.RequirePermission("admin:read"), admin)
//
//	api := r.Group("/api", kindegin.RequireBearer(kinde.VerifyAudience("https://myapp/api")))
//	api.GET("/todos", kindegin.RequirePermission("read:todos"), listTodos)
//
// Handlers read the user with SessionFrom(c); other middleware finds the
// session with c.Get(kindegin.ContextKey). The guards are plain
// gin.HandlerFunc values that find the web layer through the request, so
// they work on routes and groups alike.
//
// A request a guard refuses is aborted and answered as core's net/http
// guards answer it: a page load without a session is redirected to sign-in
// and comes back afterwards; an API call gets 401 JSON with
// WWW-Authenticate; a signed-in user lacking the rule gets 403 (an HTML
// page or JSON). Refusals other than the redirect are also recorded in
// c.Errors as a *kinde.Denial, and a Config.ErrorHandler, given once to
// Register with WithConfig, may answer them itself; if it writes nothing,
// the web layer's answer is written, so a refusal never becomes a 200.
//
// A guard on a route without the session middleware answers 500 and logs,
// once, how to fix it.
//
// The session and the web layer travel in the request's context
// (c.Request.Context()), and the session under ContextKey in c.Keys, so
// the package works with Gin 1.10 and later whatever the type of Gin's
// keys.
package kindegin
