package kindegin

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

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
	// ErrorHandler answers the refusals of the guards that are errors:
	// 400 or 401 (no session, a missing or bad bearer token) and 403 (a
	// rule not met). err is the *kinde.Denial, which is also recorded in
	// c.Errors; the chain is already aborted and the answer's headers
	// (WWW-Authenticate) are set. When ErrorHandler writes nothing, the
	// guard writes the web layer's own answer (see WriteDenial): an error
	// handler never lets a refused request through, nor turns it into a
	// 200.
	//
	// Without ErrorHandler the guard writes the web layer's answer (the
	// JSON error of RFC 6750, or the 403 page of a page load) and records
	// the refusal in c.Errors. A redirect to sign-in (a page load without a
	// session) is an answer, not an error: the guard writes it itself.
	ErrorHandler func(c *gin.Context, err error)

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
// configures the adapter), installs its session middleware on r and mounts
// its sign-in routes (GET). Call it before adding routes: Gin applies
// middleware only to routes added after it.
func Register(r *gin.Engine, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		return nil, err
	}
	r.Use(Middleware(web))
	for _, p := range web.Routes() {
		r.GET(p, route(web, p))
	}
	return web, nil
}

// route is the handler of the sign-in route p.
func route(web *kinde.Web, p string) gin.HandlerFunc {
	h, _ := web.Route(p)
	return func(c *gin.Context) { h(exchange(c)) }
}

// Middleware loads the session of every request (refreshing it when
// needed) and stores it, with web, in the request's context, where
// SessionFrom and the guards find it, and under Config.ContextKey. Register
// installs it; it follows the Config given to kinde.NewWeb with WithConfig.
func Middleware(web *kinde.Web) gin.HandlerFunc {
	cfg := configOf(web)
	return func(c *gin.Context) {
		ctx, s := web.LoadContext(exchange(c))
		c.Request = c.Request.WithContext(ctx)
		publish(c, cfg, s)
		c.Next()
	}
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request.
func SessionFrom(c *gin.Context) *kinde.Session {
	return kinde.SessionFrom(c.Request.Context())
}

// SignIn starts a sign-in from the app's own handler with any
// kinde.AuthOption on top of the app's defaults (kinde.WithAuthOptions),
// e.g. a step-up before a sensitive page:
//
//	kindegin.SignIn(c, "/billing", kinde.WithPrompt("login"))
//
// It redirects the browser to Kinde and aborts the chain; the sign-in
// finishes at the callback route like the login route's, and the browser
// lands on returnTo (a path on this site; "" for the after-login path). It
// writes nothing and returns an error when the options or returnTo are not
// valid, or when the session middleware (Register) did not handle the
// request.
func SignIn(c *gin.Context, returnTo string, opts ...kinde.AuthOption) error {
	web := kinde.WebFrom(c.Request.Context())
	if web == nil {
		return errors.New("kindegin: SignIn needs the session middleware: call kindegin.Register(r), or r.Use(kindegin.Middleware(web)), before adding this route")
	}
	if err := web.SignIn(exchange(c), returnTo, opts...); err != nil {
		return err
	}
	c.Abort()
	return nil
}

// RequireAuth returns a handler that calls c.Next only for signed-in
// users: a page load without a session is redirected to sign-in (and comes
// back afterwards), an API call is refused with 401 (see
// Config.ErrorHandler).
func RequireAuth() gin.HandlerFunc { return guard(kinde.RuleSignedIn()) }

// RequirePermission returns a handler that refuses, with 403, users lacking
// any permission in keys, e.g. r.GET("/admin",
// kindegin.RequirePermission("admin:read"), admin).
func RequirePermission(keys ...string) gin.HandlerFunc {
	return guard(kinde.RulePermissions(keys...))
}

// RequireScope returns a handler that refuses, with 403 insufficient_scope
// naming the scopes, requests whose access token lacks any of scopes: the
// guard for machine-to-machine callers, whose tokens carry scopes (scp,
// scope), not permissions. It follows RequireBearer, e.g. api.POST("/todos",
// kindegin.RequireScope("write:todos"), createTodo).
func RequireScope(scopes ...string) gin.HandlerFunc { return guard(kinde.RuleScopes(scopes...)) }

// RequirePermissionOrScope returns a handler that refuses, with 403,
// requests for which any of keys is neither a permission of the user nor a
// scope of the token: for APIs called by users (permissions) and machines
// (scopes) alike.
func RequirePermissionOrScope(keys ...string) gin.HandlerFunc {
	return guard(kinde.RulePermissionsOrScopes(keys...))
}

// RequireRole returns a handler that refuses users lacking any role in
// keys.
func RequireRole(keys ...string) gin.HandlerFunc { return guard(kinde.RuleRoles(keys...)) }

// RequireOrg returns a handler that refuses users not signed in to the
// organization code.
func RequireOrg(code string) gin.HandlerFunc { return guard(kinde.RuleOrg(code)) }

// RequireFlag returns a handler that refuses users for whom the boolean
// feature flag code is off.
func RequireFlag(code string) gin.HandlerFunc { return guard(kinde.RuleFlag(code)) }

// Require returns a handler that refuses users for whom f returns false.
func Require(f func(*kinde.Session) bool) gin.HandlerFunc { return guard(kinde.RuleFunc(f)) }

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it. A missing or bad token is
// refused with 401 (400 for a malformed header).
func RequireBearer(opts ...kinde.VerifyOption) gin.HandlerFunc {
	return gate(func(c *gin.Context, x kinde.Exchange) *kinde.Denial {
		if d := kinde.CheckBearer(x, opts...); d != nil {
			return d
		}
		publish(c, configFrom(c), SessionFrom(c))
		return nil
	})
}

// WriteDenial writes the web layer's own answer to the refusal err
// carries (the JSON error with WWW-Authenticate, or the HTML page of a
// page load's 403, as core's net/http guards answer), unless an answer was
// already written, and returns nil; it returns any other error as it is.
// Use it in a Config.ErrorHandler that handles only some refusals itself.
func WriteDenial(c *gin.Context, err error) error {
	var d *kinde.Denial
	if !errors.As(err, &d) {
		return err
	}
	if !c.Writer.Written() {
		d.Write(exchange(c))
	}
	return nil
}

// guard is the handler of a guard that checks rule.
func guard(rule kinde.Rule) gin.HandlerFunc {
	return gate(func(_ *gin.Context, x kinde.Exchange) *kinde.Denial { return kinde.Check(x, rule) })
}

// gate returns a handler that calls c.Next when check returns nil and
// refuses the request otherwise (see refuse).
func gate(check func(c *gin.Context, x kinde.Exchange) *kinde.Denial) gin.HandlerFunc {
	var once sync.Once // a missing session middleware is logged once per guard
	return func(c *gin.Context) {
		x := exchange(c)
		if d := check(c, x); d != nil {
			refuse(c, x, d, &once)
			return
		}
		c.Next()
	}
}

// refuse aborts a refused request and answers it: a redirect is written, a
// missing session middleware logged and answered 500, and any other
// refusal recorded in c.Errors and handed to Config.ErrorHandler, if any,
// before the web layer's answer is written where the handler wrote none.
func refuse(c *gin.Context, x kinde.Exchange, d *kinde.Denial, once *sync.Once) {
	c.Abort()
	switch {
	case d.Location != "":
		d.Write(x)
		return
	case d.Status == http.StatusInternalServerError:
		once.Do(func() { logNoMiddleware(c) })
		_ = c.Error(d)
		d.Write(x)
		return
	}
	_ = c.Error(d)
	if handle := configFrom(c).ErrorHandler; handle != nil {
		d.WriteHeaders(x)
		handle(c, d)
	}
	_ = WriteDenial(c, d)
}

// logNoMiddleware says, at Error level, how to fix a guard that runs
// without the session middleware.
func logNoMiddleware(c *gin.Context) {
	slog.Default().ErrorContext(c.Request.Context(),
		"kindegin: a guard runs without the session middleware, so it answers 500: call kindegin.Register(r) (kindegin.Register(r, kinde.ResourceServer()) in an API that only checks access tokens), or r.Use(kindegin.Middleware(web)), before adding this route: Gin applies middleware only to the routes added after it",
		"method", c.Request.Method, "route", c.FullPath())
}

// publish stores the session s, when there is one, under cfg.ContextKey.
func publish(c *gin.Context, cfg Config, s *kinde.Session) {
	switch {
	case s == nil:
	case cfg.ContextKey == ContextKey:
		// A constant key: since Gin 1.11 keys are of type any, and a
		// constant string becomes one without an allocation.
		c.Set(ContextKey, s)
	default:
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
func configFrom(c *gin.Context) Config { return configOf(kinde.WebFrom(c.Request.Context())) }

func (cfg Config) withDefaults() Config {
	if cfg.ContextKey == "" {
		cfg.ContextKey = ContextKey
	}
	return cfg
}

func exchange(c *gin.Context) kinde.Exchange { return kinde.NewHTTPExchange(c.Writer, c.Request) }
