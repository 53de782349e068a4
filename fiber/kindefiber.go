package kindefiber

import (
	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
)

// Config configures the session middleware and the guards.
type Config struct {
	// Next, when it returns true, skips the middleware or the guard for the
	// request. A skipped guard lets the request through; a request the
	// middleware skipped has no session, and guards on it panic.
	Next func(c *fiber.Ctx) bool
	// ErrorHandler receives the requests a guard refuses, with a
	// *fiber.Error carrying the status (302, 400, 401 or 403) and a message.
	// The answer's headers (WWW-Authenticate, Location) are already set.
	// Return the error to have the app's ErrorHandler render it.
	//
	// When ErrorHandler is nil the guard writes the web layer's own answer,
	// the same status, headers and body as core's net/http guards (a
	// redirect to sign-in, JSON with WWW-Authenticate or an HTML page), and
	// returns nil, so the app's ErrorHandler is not involved.
	ErrorHandler fiber.ErrorHandler
}

// localsKey is the c.Locals key of the session.
type localsKey struct{}

// Register creates the web layer from opts (see kinde.NewWeb; without
// options it reads the KINDE_* environment variables), installs its session
// middleware on app and mounts its sign-in routes (GET). Call it before
// adding routes: Fiber runs handlers in the order they were added.
func Register(app *fiber.App, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		return nil, err
	}
	web.CheckReadBufferSize(app.Config().ReadBufferSize)
	app.Use(Middleware(web))
	for _, p := range web.Routes() {
		h, _ := web.Route(p)
		app.Get(p, func(c *fiber.Ctx) error { h(exchange{c}); return nil })
	}
	return web, nil
}

// Middleware loads the session of every request (refreshing it when
// needed) and stores it in c.Locals and, with web, in c.UserContext(),
// where SessionFrom and the guards find it. Register installs it. Only
// Config.Next applies.
func Middleware(web *kinde.Web, config ...Config) fiber.Handler {
	cfg := configDefault(config)
	return func(c *fiber.Ctx) error {
		if cfg.Next == nil || !cfg.Next(c) {
			ctx, s := web.LoadContext(exchange{c})
			c.SetUserContext(ctx)
			c.Locals(localsKey{}, s)
		}
		return c.Next()
	}
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request.
func SessionFrom(c *fiber.Ctx) *kinde.Session {
	s, _ := c.Locals(localsKey{}).(*kinde.Session)
	return s
}

// Guard returns a handler that lets a request through only when rule holds
// for its session; see Config for how refusals are answered.
func Guard(rule kinde.Rule, config ...Config) fiber.Handler {
	cfg := configDefault(config)
	return func(c *fiber.Ctx) error {
		if cfg.Next != nil && cfg.Next(c) {
			return c.Next()
		}
		if d := kinde.Check(exchange{c}, rule); d != nil {
			return cfg.deny(c, d)
		}
		return c.Next()
	}
}

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it.
func RequireBearer(opts ...kinde.VerifyOption) fiber.Handler {
	return RequireBearerWithConfig(Config{}, opts...)
}

// RequireBearerWithConfig is RequireBearer with a Config.
func RequireBearerWithConfig(cfg Config, opts ...kinde.VerifyOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if cfg.Next != nil && cfg.Next(c) {
			return c.Next()
		}
		ctx, d := kinde.CheckBearer(exchange{c}, opts...)
		if d != nil {
			return cfg.deny(c, d)
		}
		if ctx != nil {
			c.SetUserContext(ctx)
		}
		c.Locals(localsKey{}, kinde.SessionFrom(c.UserContext()))
		return c.Next()
	}
}

// RequireAuth is a handler that passes signed-in users to c.Next and
// answers others with a redirect to sign-in (page loads) or 401 JSON (API
// calls).
func RequireAuth() fiber.Handler { return Guard(kinde.RuleSignedIn()) }

// RequirePermission is a handler that answers 403 to users lacking any
// permission in keys, e.g. app.Get("/admin",
// kindefiber.RequirePermission("admin:read"), admin).
func RequirePermission(keys ...string) fiber.Handler { return Guard(kinde.RulePermissions(keys...)) }

// RequireRole is a handler that answers 403 to users lacking any role in keys.
func RequireRole(keys ...string) fiber.Handler { return Guard(kinde.RuleRoles(keys...)) }

// RequireOrg is a handler that answers 403 to users not signed in to the
// organization code.
func RequireOrg(code string) fiber.Handler { return Guard(kinde.RuleOrg(code)) }

// RequireFlag is a handler that answers 403 to users whose boolean feature
// flag code is off.
func RequireFlag(code string) fiber.Handler { return Guard(kinde.RuleFlag(code)) }

// Require is a handler that answers 403 to users for whom f returns false.
func Require(f func(*kinde.Session) bool) fiber.Handler { return Guard(kinde.RuleFunc(f)) }

func configDefault(config []Config) Config {
	if len(config) == 0 {
		return Config{}
	}
	return config[0]
}

// deny answers a refused request: through ErrorHandler when there is one,
// else with the web layer's own answer.
func (cfg Config) deny(c *fiber.Ctx, d *kinde.Denial) error {
	if cfg.ErrorHandler == nil {
		d.Write(exchange{c})
		return nil
	}
	d.WriteHeaders(exchange{c})
	return cfg.ErrorHandler(c, fiber.NewError(d.Status, d.Message()))
}
