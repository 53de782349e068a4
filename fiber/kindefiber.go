package kindefiber

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
)

// ContextKey is the key under which the session middleware stores the
// signed-in user's *kinde.Session with c.Locals, so that other middleware
// (logging, rate limits, policy checks) finds it with c.Locals(ContextKey).
// RequireBearer stores the session of a bearer token there too. Nothing is
// stored for an anonymous request. Config.ContextKey changes the key.
const ContextKey = "kinde.session"

// Config configures the session middleware and every guard, once: give it
// to Register (or to kinde.NewWeb) with WithConfig.
type Config struct {
	// Next, when it returns true, serves the request without reading its
	// session, e.g. for static files: the request is anonymous, so the
	// guards on it refuse it as signed out, and RequireBearer still checks
	// its token. Default: nil, which skips nothing.
	Next func(c *fiber.Ctx) bool

	// ErrorHandler receives the refusals of the guards that are errors:
	// 400 or 401 (no session, a missing or bad bearer token) and 403 (a
	// rule not met), as an error that errors.As turns into a *fiber.Error
	// (the status and the reason) and into the *kinde.Denial. The answer's
	// status and headers (WWW-Authenticate) are already set. The guard
	// returns what ErrorHandler returns; when that is nil and nothing was
	// written, the guard writes the web layer's own answer (see
	// WriteDenial): nil never lets a refused request through, nor turns it
	// into a 200.
	//
	// Without ErrorHandler the guard returns that error, for the app's
	// ErrorHandler (fiber.Config.ErrorHandler); as the status is already
	// set, an app ErrorHandler that writes nothing still answers with it.
	// A redirect to sign-in (a page load without a session) is an answer,
	// not an error: the guard writes it itself.
	ErrorHandler fiber.ErrorHandler

	// ContextKey is the c.Locals key of the session. Default: ContextKey.
	ContextKey string

	key any // ContextKey as c.Locals takes it, converted once
}

// WithConfig gives cfg to the session middleware and the guards: pass it
// to Register, or to kinde.NewWeb before Middleware.
func WithConfig(cfg Config) kinde.WebOption {
	cfg = cfg.withDefaults()
	return kinde.WithAdapterConfig(&cfg)
}

// Register creates the web layer from opts (see kinde.NewWeb; without
// options it reads the KINDE_* environment variables, and WithConfig
// configures the adapter), installs its session middleware on app and
// mounts its sign-in routes (GET). Call it before adding routes: Fiber runs
// handlers in the order they were added.
func Register(app *fiber.App, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		return nil, err
	}
	web.CheckReadBufferSize(app.Config().ReadBufferSize)
	app.Use(Middleware(web))
	for _, p := range web.Routes() {
		app.Get(p, route(web, p))
	}
	return web, nil
}

// route is the handler of the sign-in route p.
func route(web *kinde.Web, p string) fiber.Handler {
	h, _ := web.Route(p)
	return func(c *fiber.Ctx) error {
		h(exchange{c})
		return nil
	}
}

// Middleware loads the session of every request (refreshing it when
// needed) and stores it, with web, in c.UserContext(), where SessionFrom
// and the guards find it, and under Config.ContextKey. Register installs
// it; it follows the Config given to kinde.NewWeb with WithConfig.
// At the first request it gives the app's ReadBufferSize to
// web.CheckReadBufferSize, so that no session cookie is written that the
// app could not read back.
func Middleware(web *kinde.Web) fiber.Handler {
	cfg := configOf(web)
	var buffer sync.Once // the app's read buffer, known at its first request
	return func(c *fiber.Ctx) error {
		buffer.Do(func() { web.CheckReadBufferSize(c.App().Config().ReadBufferSize) })
		if cfg.Next != nil && cfg.Next(c) {
			c.SetUserContext(web.SkipContext(c.UserContext()))
			return c.Next()
		}
		ctx, s := web.LoadContext(exchange{c})
		c.SetUserContext(ctx)
		publish(c, cfg, s)
		return c.Next()
	}
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request. It is kinde.SessionFrom(c.UserContext()).
func SessionFrom(c *fiber.Ctx) *kinde.Session {
	return kinde.SessionFrom(c.UserContext())
}

// SignIn starts a sign-in from the app's own handler with any
// kinde.AuthOption on top of the app's defaults (kinde.WithAuthOptions),
// e.g. a step-up before a sensitive page:
//
//	return kindefiber.SignIn(c, "/billing", kinde.WithPrompt("login"))
//
// It redirects the browser to Kinde; the sign-in finishes at the callback
// route like the login route's, and the browser lands on returnTo (a path
// on this site; "" for the after-login path). It writes nothing and
// returns an error when the options or returnTo are not valid, or when the
// session middleware (Register) did not handle the request.
func SignIn(c *fiber.Ctx, returnTo string, opts ...kinde.AuthOption) error {
	web := kinde.WebFrom(c.UserContext())
	if web == nil {
		return errors.New("kindefiber: SignIn needs the session middleware: call kindefiber.Register(app), or app.Use(kindefiber.Middleware(web)), before adding this route: Fiber runs handlers in the order they were added")
	}
	return web.SignIn(exchange{c}, returnTo, opts...)
}

// RequireAuth is a handler for signed-in users only: a page load without a
// session is redirected to sign-in (and comes back afterwards), an API call
// is refused with 401 (see Config.ErrorHandler).
func RequireAuth() fiber.Handler { return guard(kinde.RuleSignedIn()) }

// RequirePermission is a handler that refuses, with 403, users lacking any
// permission in keys, e.g. app.Get("/admin",
// kindefiber.RequirePermission("admin:read"), admin).
func RequirePermission(keys ...string) fiber.Handler { return guard(kinde.RulePermissions(keys...)) }

// RequireScope is a handler that refuses, with 403 insufficient_scope naming
// the scopes, requests whose access token lacks any of scopes: the guard for
// machine-to-machine callers, whose tokens carry scopes (scp, scope), not
// permissions. It follows RequireBearer, e.g. api.Post("/todos",
// kindefiber.RequireScope("write:todos"), createTodo).
func RequireScope(scopes ...string) fiber.Handler { return guard(kinde.RuleScopes(scopes...)) }

// RequirePermissionOrScope is a handler that refuses, with 403, requests for
// which any of keys is neither a permission of the user nor a scope of the
// token: for APIs called by users (permissions) and machines (scopes) alike.
func RequirePermissionOrScope(keys ...string) fiber.Handler {
	return guard(kinde.RulePermissionsOrScopes(keys...))
}

// RequireRole is a handler that refuses users lacking any role in keys.
func RequireRole(keys ...string) fiber.Handler { return guard(kinde.RuleRoles(keys...)) }

// RequireOrg is a handler that refuses users not signed in to the
// organization code.
func RequireOrg(code string) fiber.Handler { return guard(kinde.RuleOrg(code)) }

// RequireFlag is a handler that refuses users for whom the boolean feature
// flag code is off.
func RequireFlag(code string) fiber.Handler { return guard(kinde.RuleFlag(code)) }

// Require is a handler that refuses users for whom f returns false.
func Require(f func(*kinde.Session) bool) fiber.Handler { return guard(kinde.RuleFunc(f)) }

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it. A missing or bad token is
// refused with 401 (400 for a malformed header).
func RequireBearer(opts ...kinde.VerifyOption) fiber.Handler {
	return gate(func(c *fiber.Ctx, x kinde.Exchange) *kinde.Denial {
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
// returns any other error as it is. Call it from the app's ErrorHandler,
// or use it as Config.ErrorHandler:
//
//	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
//		if err = kindefiber.WriteDenial(c, err); err != nil {
//			return fiber.DefaultErrorHandler(c, err)
//		}
//		return nil
//	}})
func WriteDenial(c *fiber.Ctx, err error) error {
	var d *kinde.Denial
	if !errors.As(err, &d) {
		return err
	}
	d.Write(exchange{c})
	return nil
}

// guard is the handler of a guard that checks rule.
func guard(rule kinde.Rule) fiber.Handler {
	return gate(func(_ *fiber.Ctx, x kinde.Exchange) *kinde.Denial { return kinde.Check(x, rule) })
}

// gate returns a handler that passes a request on when check returns nil
// and refuses it otherwise (see refuse).
func gate(check func(c *fiber.Ctx, x kinde.Exchange) *kinde.Denial) fiber.Handler {
	var once sync.Once // a missing session middleware is logged once per guard
	return func(c *fiber.Ctx) error {
		x := exchange{c}
		if d := check(c, x); d != nil {
			return refuse(c, x, d, &once)
		}
		return c.Next()
	}
}

// refuse answers a refused request: a redirect is written, a missing
// session middleware logged and returned as a 500, and any other refusal
// goes to Config.ErrorHandler, or else to the app's ErrorHandler. The
// status is set first, so that no error handler can make it a 200.
func refuse(c *fiber.Ctx, x kinde.Exchange, d *kinde.Denial, once *sync.Once) error {
	switch {
	case d.Location != "":
		d.Write(x)
		return nil
	case d.Status == http.StatusInternalServerError:
		once.Do(func() { logNoMiddleware(c) })
		c.Status(d.Status)
		return fiberError(d)
	}
	d.WriteHeaders(x)
	c.Status(d.Status)
	handle := configFrom(c).ErrorHandler
	if handle == nil {
		return fiberError(d)
	}
	if err := handle(c, fiberError(d)); err != nil || answered(c, d) {
		return err
	}
	d.Write(x)
	return nil
}

// refusal is the error of a refused request: a *fiber.Error for the app's
// ErrorHandler, with the *kinde.Denial inside.
type refusal struct {
	fiberErr *fiber.Error
	denial   *kinde.Denial
}

func (r *refusal) Error() string   { return r.fiberErr.Message }
func (r *refusal) Unwrap() []error { return []error{r.fiberErr, r.denial} }

// fiberError is the error of d: a *fiber.Error, with d inside.
func fiberError(d *kinde.Denial) error {
	return &refusal{fiberErr: fiber.NewError(d.Status, d.Message()), denial: d}
}

// logNoMiddleware says, at Error level, how to fix a guard that runs
// without the session middleware.
func logNoMiddleware(c *fiber.Ctx) {
	slog.Default().ErrorContext(c.UserContext(),
		"kindefiber: a guard runs without the session middleware, so it answers 500: call kindefiber.Register(app) (kindefiber.Register(app, kinde.ResourceServer()) in an API that only checks access tokens), or app.Use(kindefiber.Middleware(web)), before adding this route: Fiber runs handlers in the order they were added",
		"method", c.Route().Method, "route", c.Route().Path)
}

// publish stores the session s, when there is one, under cfg.ContextKey.
func publish(c *fiber.Ctx, cfg Config, s *kinde.Session) {
	if s != nil {
		c.Locals(cfg.key, s)
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
func configFrom(c *fiber.Ctx) Config { return configOf(kinde.WebFrom(c.UserContext())) }

func (cfg Config) withDefaults() Config {
	switch cfg.ContextKey {
	case "", ContextKey:
		cfg.ContextKey, cfg.key = ContextKey, ContextKey // a constant: no allocation
	default:
		cfg.key = cfg.ContextKey
	}
	return cfg
}

// answered reports whether something other than the bare status of d was
// written for c.
func answered(c *fiber.Ctx, d *kinde.Denial) bool {
	return c.Response().StatusCode() != d.Status || len(c.Response().Body()) > 0
}
