// Package kindefiber adds Kinde sign-in to Fiber v2 applications.
//
// Register mounts the sign-in routes (/api/auth/login, /register,
// /create_org, /kinde_callback, /logout, /switch_org and /portal by default; change
// them with kinde.WithPaths) and installs the session middleware:
//
//	app := fiber.New()
//	if _, err := kindefiber.Register(app); err != nil { // reads KINDE_* variables
//		log.Fatal(err)
//	}
//	app.Get("/dashboard", kindefiber.RequireAuth(), dashboard)
//	app.Get("/admin", kindefiber.RequirePermission("admin:read"), admin)
//
//	api := app.Group("/api", kindefiber.RequireBearer(kinde.VerifyAudience("https://myapp/api")))
//	api.Get("/todos", kindefiber.RequirePermission("read:todos"), listTodos)
//
// Handlers read the user with SessionFrom(c); the session is in
// c.UserContext(), with the web layer the guards find there, and other
// middleware finds it with c.Locals(kindefiber.ContextKey).
//
// A page load without a session is redirected to sign-in and comes back
// afterwards: the guard writes that answer itself. Other refusals are
// errors, as Fiber expects: a *fiber.Error (400 or 401 for a missing
// session or a bad bearer token, 403 for a rule not met) with the reason
// as Message, wrapped with the *kinde.Denial (errors.As finds both),
// returned to the app's ErrorHandler with the status and WWW-Authenticate
// already set. WriteDenial renders it as core's net/http guards do (the
// JSON error of RFC 6750, or the 403 page of a page load):
//
//	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
//		if err = kindefiber.WriteDenial(c, err); err != nil {
//			return fiber.DefaultErrorHandler(c, err)
//		}
//		return nil
//	}})
//
// The adapter is configured once, with a Config given to Register through
// WithConfig: Next, an ErrorHandler every guard uses, the context key. An
// ErrorHandler that returns nil never lets a refused request through.
//
// A guard on a route without the session middleware answers 500 and logs,
// once, how to fix it.
//
// Sessions live in encrypted cookies by default. The adapter gives the web
// layer the app's ReadBufferSize (fasthttp's default is 4 KB), and no session
// cookie is written that the server could not read back: a larger session
// ends the sign-in on an error page naming the fixes (a larger
// ReadBufferSize, or server-side sessions with kinde.WithStore), never a 431
// on later requests.
//
// Fiber reuses its request buffers once a handler returns. The adapter
// copies every value it reads from a request, so the session and anything
// taken from it may be kept after the handler returns.
package kindefiber
