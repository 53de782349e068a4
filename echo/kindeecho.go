package kindeecho

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	kinde "github.com/gokinde/kinde/core"
)

// ContextKey is the key under which the session middleware stores the
// signed-in user's *kinde.Session with c.Set, so that other middleware
// (logging, rate limits, policy checks) finds it with c.Get(ContextKey).
// RequireBearer stores the session of a bearer token there too. Nothing is
// stored for an anonymous request. Config.ContextKey changes the key.
const ContextKey = "kinde.session"

// Config configures the session middleware and every guard, once: give it
// to Register (or to kinde.NewWeb) with WithConfig.
type Config struct {
	// Skipper, when it returns true, serves the request without reading its
	// session, e.g. for static files: the request is anonymous, so the
	// guards on it refuse it as signed out, and RequireBearer still checks
	// its token. Default: middleware.DefaultSkipper, which skips nothing.
	Skipper middleware.Skipper

	// ErrorHandler receives the refusals of the guards that are errors:
	// 400 or 401 (no session, a missing or bad bearer token) and 403 (a
	// rule not met), as an *echo.HTTPError with that status, the reason as
	// Message and the *kinde.Denial as Internal (errors.As finds it). The
	// answer's headers (WWW-Authenticate) are already set. The guard
	// returns what ErrorHandler returns; when that is nil and nothing was
	// written, the guard writes the web layer's own answer (see
	// WriteDenial): nil never lets a refused request through, nor turns it
	// into a 200.
	//
	// Without ErrorHandler the guard returns the *echo.HTTPError, for the
	// app's HTTPErrorHandler. A redirect to sign-in (a page load without a
	// session) is an answer, not an error: the guard writes it itself.
	ErrorHandler func(c echo.Context, err error) error

	// ContextKey is the c.Set key of the session. Default: ContextKey.
	ContextKey string
}

// WithConfig gives cfg to the session middleware and the guards: pass it
// to Register, or to kinde.NewWeb before Middleware.
func WithConfig(cfg Config) kinde.WebOption {
	cfg = cfg.withDefaults()
	return kinde.WithAdapterConfig(&cfg)
}

// Register creates the web layer from opts (see kinde.NewWeb; without
// options it reads the KINDE_* environment variables, and WithConfig
// configures the adapter), installs its session middleware on e and mounts
// its sign-in routes (GET).
func Register(e *echo.Echo, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		return nil, err
	}
	e.Use(Middleware(web))
	for _, p := range web.Routes() {
		e.GET(p, route(web, p))
	}
	return web, nil
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
// SessionFrom and the guards find it, and under Config.ContextKey. Register
// installs it; it follows the Config given to kinde.NewWeb with WithConfig.
func Middleware(web *kinde.Web) echo.MiddlewareFunc {
	cfg := configOf(web)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				c.SetRequest(c.Request().WithContext(web.SkipContext(c.Request().Context())))
				return next(c)
			}
			ctx, s := web.LoadContext(exchange(c))
			c.SetRequest(c.Request().WithContext(ctx))
			publish(c, cfg, s)
			return next(c)
		}
	}
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request.
func SessionFrom(c echo.Context) *kinde.Session {
	return kinde.SessionFrom(c.Request().Context())
}

// SignIn starts a sign-in from the app's own handler with any
// kinde.AuthOption on top of the app's defaults (kinde.WithAuthOptions),
// e.g. a step-up before a sensitive page:
//
//	return kindeecho.SignIn(c, "/billing", kinde.WithPrompt("login"))
//
// It redirects the browser to Kinde; the sign-in finishes at the callback
// route like the login route's, and the browser lands on returnTo (a path
// on this site; "" for the after-login path). It writes nothing and
// returns an error when the options or returnTo are not valid, or when the
// session middleware (Register) did not handle the request.
func SignIn(c echo.Context, returnTo string, opts ...kinde.AuthOption) error {
	web := kinde.WebFrom(c.Request().Context())
	if web == nil {
		return errors.New("kindeecho: SignIn needs the session middleware: call kindeecho.Register(e), or e.Use(kindeecho.Middleware(web)), on the Echo instance that serves this route")
	}
	return web.SignIn(exchange(c), returnTo, opts...)
}

// RequireAuth is middleware for signed-in users only: a page load without
// a session is redirected to sign-in (and comes back afterwards), an API
// call is refused with 401 (see Config.ErrorHandler).
func RequireAuth() echo.MiddlewareFunc { return guard(kinde.RuleSignedIn()) }

// RequirePermission is middleware that refuses, with 403, users lacking any
// permission in keys, e.g. e.GET("/admin", admin,
// kindeecho.RequirePermission("admin:read")).
func RequirePermission(keys ...string) echo.MiddlewareFunc {
	return guard(kinde.RulePermissions(keys...))
}

// RequireScope is middleware that refuses, with 403 insufficient_scope
// naming the scopes, requests whose access token lacks any of scopes: the
// guard for machine-to-machine callers, whose tokens carry scopes (scp,
// scope), not permissions. It follows RequireBearer, e.g. api.POST("/todos",
// createTodo, kindeecho.RequireScope("write:todos")).
func RequireScope(scopes ...string) echo.MiddlewareFunc { return guard(kinde.RuleScopes(scopes...)) }

// RequirePermissionOrScope is middleware that refuses, with 403, requests
// for which any of keys is neither a permission of the user nor a scope of
// the token: for APIs called by users (permissions) and machines (scopes)
// alike.
func RequirePermissionOrScope(keys ...string) echo.MiddlewareFunc {
	return guard(kinde.RulePermissionsOrScopes(keys...))
}

// RequireRole is middleware that refuses users lacking any role in keys.
func RequireRole(keys ...string) echo.MiddlewareFunc { return guard(kinde.RuleRoles(keys...)) }

// RequireOrg is middleware that refuses users not signed in to the
// organization code.
func RequireOrg(code string) echo.MiddlewareFunc { return guard(kinde.RuleOrg(code)) }

// RequireFlag is middleware that refuses users for whom the boolean feature
// flag code is off.
func RequireFlag(code string) echo.MiddlewareFunc { return guard(kinde.RuleFlag(code)) }

// Require is middleware that refuses users for whom f returns false.
func Require(f func(*kinde.Session) bool) echo.MiddlewareFunc { return guard(kinde.RuleFunc(f)) }

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it. A missing or bad token is
// refused with 401 (400 for a malformed header).
func RequireBearer(opts ...kinde.VerifyOption) echo.MiddlewareFunc {
	return gate(func(c echo.Context, x kinde.Exchange) *kinde.Denial {
		if d := kinde.CheckBearer(x, opts...); d != nil {
			return d
		}
		publish(c, configFrom(c), SessionFrom(c))
		return nil
	})
}

// WriteDenial writes the web layer's own answer to the refusal err
// carries (the JSON error with WWW-Authenticate, or the HTML page of a
// page load's 403, as core's net/http guards answer) and returns nil; it
// returns any other error as it is. Call it from the app's
// HTTPErrorHandler, or use it as Config.ErrorHandler:
//
//	e.HTTPErrorHandler = func(err error, c echo.Context) {
//		if err = kindeecho.WriteDenial(c, err); err != nil {
//			e.DefaultHTTPErrorHandler(err, c)
//		}
//	}
func WriteDenial(c echo.Context, err error) error {
	var d *kinde.Denial
	if !errors.As(err, &d) {
		return err
	}
	if !committed(c) {
		d.Write(exchange(c))
	}
	return nil
}

// guard is the middleware of a guard that checks rule.
func guard(rule kinde.Rule) echo.MiddlewareFunc {
	return gate(func(_ echo.Context, x kinde.Exchange) *kinde.Denial { return kinde.Check(x, rule) })
}

// gate returns middleware that passes a request on when check returns nil
// and refuses it otherwise (see refuse).
func gate(check func(c echo.Context, x kinde.Exchange) *kinde.Denial) echo.MiddlewareFunc {
	var once sync.Once // a missing session middleware is logged once per guard
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			x := exchange(c)
			if d := check(c, x); d != nil {
				return refuse(c, x, d, &once)
			}
			return next(c)
		}
	}
}

// refuse answers a refused request: a redirect is written, a missing
// session middleware logged and returned as a 500, and any other refusal
// goes to Config.ErrorHandler, or else to the app's HTTPErrorHandler.
func refuse(c echo.Context, x kinde.Exchange, d *kinde.Denial, once *sync.Once) error {
	switch {
	case d.Location != "":
		d.Write(x)
		return nil
	case d.Status == http.StatusInternalServerError:
		once.Do(func() { logNoMiddleware(c) })
		return httpError(d)
	}
	d.WriteHeaders(x)
	handle := configFrom(c).ErrorHandler
	if handle == nil {
		return httpError(d)
	}
	if err := handle(c, httpError(d)); err != nil || committed(c) {
		return err
	}
	d.Write(x)
	return nil
}

// httpError is the *echo.HTTPError of d, with d inside.
func httpError(d *kinde.Denial) error {
	return echo.NewHTTPError(d.Status, d.Message()).WithInternal(d)
}

// logNoMiddleware says, at Error level, how to fix a guard that runs
// without the session middleware.
func logNoMiddleware(c echo.Context) {
	slog.Default().ErrorContext(c.Request().Context(),
		"kindeecho: a guard runs without the session middleware, so it answers 500: call kindeecho.Register(e) (kindeecho.Register(e, kinde.ResourceServer()) in an API that only checks access tokens), or e.Use(kindeecho.Middleware(web)), on the Echo instance that serves this route",
		"method", c.Request().Method, "route", c.Path())
}

// publish stores the session s, when there is one, under cfg.ContextKey.
func publish(c echo.Context, cfg Config, s *kinde.Session) {
	if s != nil {
		c.Set(cfg.ContextKey, s)
	}
}

// configOf returns the Config given to web with WithConfig, or the
// defaults.
func configOf(web *kinde.Web) Config {
	if web != nil {
		if cfg, ok := web.AdapterConfig().(*Config); ok {
			return *cfg
		}
	}
	return Config{}.withDefaults()
}

// configFrom returns the Config of the web layer of c's request.
func configFrom(c echo.Context) Config { return configOf(kinde.WebFrom(c.Request().Context())) }

func (cfg Config) withDefaults() Config {
	if cfg.Skipper == nil {
		cfg.Skipper = middleware.DefaultSkipper
	}
	if cfg.ContextKey == "" {
		cfg.ContextKey = ContextKey
	}
	return cfg
}

// committed reports whether c's answer was written.
func committed(c echo.Context) bool { return c.Response().Committed }

func exchange(c echo.Context) kinde.Exchange { return kinde.NewHTTPExchange(c.Response(), c.Request()) }
