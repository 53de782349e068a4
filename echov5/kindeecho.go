package kindeecho

import (
	"context"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

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
	// *echo.HTTPError carrying the status (302, 400, 401 or 403) and
	// wrapping the *kinde.Denial with the whole answer (errors.As finds
	// it). The answer's headers (WWW-Authenticate, Location) are already
	// set. Return the error to have the app's HTTPErrorHandler render it.
	//
	// When ErrorHandler is nil the guard writes the web layer's own answer,
	// the same status, headers and body as core's net/http guards (a
	// redirect to sign-in, JSON with WWW-Authenticate or an HTML page), and
	// returns nil, so the HTTPErrorHandler is not involved.
	ErrorHandler func(c *echo.Context, err error) error
}

// DefaultConfig is the configuration of Middleware and of the Require
// functions.
var DefaultConfig = Config{Skipper: middleware.DefaultSkipper}

// Register creates the web layer from opts (see kinde.NewWeb; without
// options it reads the KINDE_* environment variables), installs its session
// middleware on e and mounts its sign-in routes (GET).
func Register(e *echo.Echo, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		return nil, err
	}
	e.Use(Middleware(web))
	routes := echo.WrapHandler(web.Handler())
	for _, p := range web.Routes() {
		e.GET(p, routes)
	}
	return web, nil
}

// Middleware loads the session of every request (refreshing it when
// needed) and stores it, with web, in the request's context, where
// SessionFrom and the guards find it. Register installs it.
func Middleware(web *kinde.Web) echo.MiddlewareFunc {
	return MiddlewareWithConfig(web, DefaultConfig)
}

// MiddlewareWithConfig is Middleware with a Config (only Skipper applies).
func MiddlewareWithConfig(web *kinde.Web, cfg Config) echo.MiddlewareFunc {
	return cfg.gate(func(x kinde.Exchange) (context.Context, *kinde.Denial) {
		ctx, _ := web.LoadContext(x)
		return ctx, nil
	})
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request.
func SessionFrom(c *echo.Context) *kinde.Session { return kinde.SessionFrom(c.Request().Context()) }

// Guard returns middleware that lets a request through only when rule
// holds for its session.
func Guard(rule kinde.Rule) echo.MiddlewareFunc { return GuardWithConfig(DefaultConfig, rule) }

// GuardWithConfig returns middleware that lets a request through only when
// rule holds for its session; see Config for how refusals are answered.
func GuardWithConfig(cfg Config, rule kinde.Rule) echo.MiddlewareFunc {
	return cfg.gate(func(x kinde.Exchange) (context.Context, *kinde.Denial) { return nil, kinde.Check(x, rule) })
}

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
func RequireOrg(code string) echo.MiddlewareFunc { return Guard(kinde.RuleOrg(code)) }

// RequireFlag is middleware that refuses users for whom the boolean feature
// flag code is off.
func RequireFlag(code string) echo.MiddlewareFunc { return Guard(kinde.RuleFlag(code)) }

// Require is middleware that refuses users for whom f returns false.
func Require(f func(*kinde.Session) bool) echo.MiddlewareFunc { return Guard(kinde.RuleFunc(f)) }

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it.
func RequireBearer(opts ...kinde.VerifyOption) echo.MiddlewareFunc {
	return RequireBearerWithConfig(DefaultConfig, opts...)
}

// RequireBearerWithConfig is RequireBearer with a Config.
func RequireBearerWithConfig(cfg Config, opts ...kinde.VerifyOption) echo.MiddlewareFunc {
	return cfg.gate(func(x kinde.Exchange) (context.Context, *kinde.Denial) { return kinde.CheckBearer(x, opts...) })
}

// gate returns middleware that, unless cfg.Skipper skips the request, asks
// check about it: a Denial refuses it (see refuse); otherwise the request
// goes on, with the context check returned when it is not nil.
func (cfg Config) gate(check func(kinde.Exchange) (context.Context, *kinde.Denial)) echo.MiddlewareFunc {
	skip := cfg.Skipper
	if skip == nil {
		skip = DefaultConfig.Skipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if skip(c) {
				return next(c)
			}
			x := kinde.NewHTTPExchange(c.Response(), c.Request())
			ctx, d := check(x)
			if d != nil {
				return cfg.refuse(c, x, d)
			}
			if ctx != nil {
				c.SetRequest(c.Request().WithContext(ctx))
			}
			return next(c)
		}
	}
}

// refuse answers a refused request: through ErrorHandler when there is one,
// else with the web layer's own answer.
func (cfg Config) refuse(c *echo.Context, x kinde.Exchange, d *kinde.Denial) error {
	if cfg.ErrorHandler == nil {
		d.Write(x)
		return nil
	}
	d.WriteHeaders(x)
	return cfg.ErrorHandler(c, echo.NewHTTPError(d.Status, d.Message()).Wrap(d))
}
