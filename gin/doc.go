// Package kindegin adds Kinde sign-in to Gin applications.
//
// Register mounts the sign-in routes (/api/auth/login, /register,
// /create_org, /kinde_callback, /logout and /switch_org by default; change
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
// Handlers read the user with SessionFrom(c). The guards are plain
// gin.HandlerFunc values that find the web layer through the request, so
// they work on routes and groups alike. A request a guard refuses is
// answered as core's net/http guards answer it: a page load without a
// session is redirected to sign-in and comes back afterwards; an API call
// gets 401 JSON with WWW-Authenticate; a signed-in user lacking the rule
// gets 403 (an HTML page or JSON). The refusal is also recorded in c.Errors
// as a *kinde.Denial.
//
// The session and the web layer travel in the request's context
// (c.Request.Context()), not in c.Keys, so the package works with Gin 1.10
// and later whatever the type of Gin's keys.
package kindegin
