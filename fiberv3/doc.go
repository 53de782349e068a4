// Package kindefiber adds Kinde sign-in to Fiber v3 applications. It is the
// Fiber v2 adapter (module github.com/gokinde/kinde/fiber) for Fiber v3's
// handler signature, func(c fiber.Ctx) error, with the same names and
// behaviour: besides what Fiber v3 itself changes, moving an app from
// Fiber v2 to v3 changes only the adapter's import path.
//
// Register mounts the sign-in routes (/api/auth/login, /register,
// /create_org, /kinde_callback, /logout and /switch_org by default; change
// them with kinde.WithPaths) and installs the session middleware:
//
//	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10}) // room for session cookies
//	if _, err := kindefiber.Register(app); err != nil {     // reads KINDE_* variables
//		log.Fatal(err)
//	}
//	app.Get("/dashboard", kindefiber.RequireAuth(), dashboard)
//	app.Get("/admin", kindefiber.RequirePermission("admin:read"), admin)
//
//	api := app.Group("/api", kindefiber.RequireBearer(kinde.VerifyAudience("https://myapp/api")))
//	api.Get("/todos", kindefiber.RequirePermission("read:todos"), listTodos)
//
// Handlers read the user with SessionFrom(c); the session is in
// c.Context(), with the web layer the guards find there.
//
// By default a request a guard refuses is answered as core's net/http
// guards answer it: a page load without a session is redirected to sign-in
// and comes back afterwards; an API call gets 401 JSON with
// WWW-Authenticate; a signed-in user lacking the rule gets 403 (an HTML
// page or JSON). To render refusals yourself, give the guards a Config with
// an ErrorHandler (Guard, RequireBearerWithConfig): it receives a
// *fiber.Error, which it can return to the app's ErrorHandler.
//
// Sessions live in encrypted cookies by default, and the Cookie header can
// pass Fiber's default 4 KB ReadBufferSize (the request then fails with
// 431), above all on the sign-in callback of an organization switch, which
// carries the session and the sign-in's flow cookie: raise it as above, or
// keep sessions server-side with kinde.WithStore.
//
// Fiber reuses its request buffers once a handler returns. The adapter
// copies every value it reads from a request, so the session and anything
// taken from it may be kept after the handler returns.
package kindefiber
