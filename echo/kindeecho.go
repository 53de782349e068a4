package kindeecho

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	kinde "github.com/gokinde/kinde/core"
)

// Config configures the session middleware and the guards.
type Config struct {
	// Skipper, when it returns true, skips the middleware or the guard for
	// the request. A skipped guard lets the request through; a request the
	// middleware skipped has no session, and guards on it panic.
	// Default: middleware.DefaultSkipper.
	Skipper middleware.Skipper
	// ErrorHandler receives the requests a guard refuses, with an
	// *echo.HTTPError carrying the status (302, 400, 401 or 403) and, as
	// Internal, the *kinde.Denial with the whole answer. The answer's headers
	// (WWW-Authenticate, Location) are already set. Return the error to have
	// the app's HTTPErrorHandler render it.
	//
	// When ErrorHandler is nil the guard writes the web layer's own answer,
	// the same status, headers and body as core's net/http guards (a
	// redirect to sign-in, JSON with WWW-Authenticate or an HTML page), and
	// returns nil, so the HTTPErrorHandler is not involved.
	ErrorHandler func(c echo.Context, err error) error
}

// DefaultConfig is the configuration of Middleware and of the Require
// functions.
var DefaultConfig = Config{Skipper: middleware.DefaultSkipper}

// Register creates the web layer from opts (see kinde.NewWeb; without
// options it reads the KINDE_* environment variables), installs its session
// middleware on e and mounts its sign-in routes (GET).
func Register(e *echo.Echo, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err == nil {
		e.Use(Middleware(web))
		for _, p := range web.Routes() {
			e.GET(p, route(web, p))
		}
	}
	return web, err
}

// route is the handler of the sign-in route p.
func route(web *kinde.Web, p string) echo.HandlerFunc {
	h, _ := web.Route(p)
	return func(c echo.Context) error {
		h(exchange(c))
		return nil
	}
}

// Middleware loads the session of every request (refreshing it when
// needed) and stores it, with web, in the request's context, where
// SessionFrom and the guards find it. Register installs it.
func Middleware(web *kinde.Web) echo.MiddlewareFunc {
	return MiddlewareWithConfig(web, DefaultConfig)
}

// MiddlewareWithConfig is Middleware with a Config (only Skipper applies).
func MiddlewareWithConfig(web *kinde.Web, cfg Config) echo.MiddlewareFunc {
	cfg = cfg.withDefaults()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !cfg.Skipper(c) {
				ctx, _ := web.LoadContext(exchange(c))
				c.SetRequest(c.Request().WithContext(ctx))
			}
			return next(c)
		}
	}
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request.
func SessionFrom(c echo.Context) *kinde.Session {
	return kinde.SessionFrom(c.Request().Context())
}

// GuardWithConfig returns middleware that lets a request through only when
// rule holds for its session; see Config for how refusals are answered.
func GuardWithConfig(cfg Config, rule kinde.Rule) echo.MiddlewareFunc {
	cfg = cfg.withDefaults()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				return next(c)
			}
			if d := kinde.Check(exchange(c), rule); d != nil {
				return cfg.deny(c, d)
			}
			return next(c)
		}
	}
}

// RequireBearerWithConfig is RequireBearer with a Config.
func RequireBearerWithConfig(cfg Config, opts ...kinde.VerifyOption) echo.MiddlewareFunc {
	cfg = cfg.withDefaults()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				return next(c)
			}
			ctx, d := kinde.CheckBearer(exchange(c), opts...)
			if d != nil {
				return cfg.deny(c, d)
			}
			if ctx != nil {
				c.SetRequest(c.Request().WithContext(ctx))
			}
			return next(c)
		}
	}
}

// Guard returns middleware that lets a request through only when rule
// holds for its session.
func Guard(rule kinde.Rule) echo.MiddlewareFunc { return GuardWithConfig(DefaultConfig, rule) }

// RequireAuth is middleware for signed-in users only: others get a
// redirect to sign-in (page loads) or 401 JSON (API calls).
func RequireAuth() echo.MiddlewareFunc { return Guard(kinde.RuleSignedIn()) }

// RequirePermission is middleware that refuses, with 403, users lacking any
// permission in keys, e.g. e.GET("/admin", admin,
// kindeecho.RequirePermission("admin:read")).
func RequirePermission(keys ...string) echo.MiddlewareFunc {
	return Guard(kinde.RulePermissions(keys...))
}

// RequireRole is middleware that refuses users lacking any role in keys.
func RequireRole(keys ...string) echo.MiddlewareFunc { return Guard(kinde.RuleRoles(keys...)) }

// RequireOrg is middleware that refuses users not signed in to the
// organization code.
func RequireOrg(code string) echo.MiddlewareFunc {
	return Guard(kinde.RuleOrg(code))
}

// RequireFlag is middleware that refuses users for whom the boolean feature
// flag code is off.
func RequireFlag(code string) echo.MiddlewareFunc { return Guard(kinde.RuleFlag(code)) }

// Require is middleware that refuses users for whom f returns false.
func Require(f func(*kinde.Session) bool) echo.MiddlewareFunc {
	return Guard(kinde.RuleFunc(f))
}

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it.
func RequireBearer(opts ...kinde.VerifyOption) echo.MiddlewareFunc {
	return RequireBearerWithConfig(DefaultConfig, opts...)
}

func (cfg Config) withDefaults() Config {
	if cfg.Skipper == nil {
		cfg.Skipper = DefaultConfig.Skipper
	}
	return cfg
}

// deny answers a refused request: through ErrorHandler when there is one,
// else with the web layer's own answer.
func (cfg Config) deny(c echo.Context, d *kinde.Denial) error {
	x := exchange(c)
	if cfg.ErrorHandler == nil {
		d.Write(x)
		return nil
	}
	d.WriteHeaders(x)
	return cfg.ErrorHandler(c, echo.NewHTTPError(d.Status, d.Message()).WithInternal(d))
}

func exchange(c echo.Context) kinde.Exchange { return kinde.NewHTTPExchange(c.Response(), c.Request()) }
