package kindegin

import (
	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
)

// Register creates the web layer from opts (see kinde.NewWeb; without
// options it reads the KINDE_* environment variables), installs its session
// middleware on r and mounts its sign-in routes (GET). Call it before adding
// routes: Gin applies middleware only to routes added after it.
func Register(r *gin.Engine, opts ...kinde.WebOption) (*kinde.Web, error) {
	web, err := kinde.NewWeb(opts...)
	if err == nil {
		mount(r, web)
	}
	return web, err
}

func mount(r *gin.Engine, web *kinde.Web) {
	r.Use(Middleware(web))
	for _, p := range web.Routes() {
		h, _ := web.Route(p)
		r.GET(p, func(c *gin.Context) { h(exchange(c)) })
	}
}

// Middleware loads the session of every request (refreshing it when
// needed) and stores it, with web, in the request's context, where
// SessionFrom and the guards find it. Register installs it; use it yourself
// with a *kinde.Web from kinde.NewWeb, e.g. to scope sessions to a group.
func Middleware(web *kinde.Web) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, _ := web.LoadContext(exchange(c))
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// SessionFrom returns the signed-in user's session, or nil for an anonymous
// request.
func SessionFrom(c *gin.Context) *kinde.Session {
	return kinde.SessionFrom(c.Request.Context())
}

// RequireAuth returns a handler that calls c.Next only for signed-in
// users; it aborts other requests with a redirect to sign-in (page loads)
// or 401 JSON (API calls).
func RequireAuth() gin.HandlerFunc { return Guard(kinde.RuleSignedIn()) }

// RequirePermission returns a handler that aborts with 403 unless the user
// holds every permission in keys, e.g. r.GET("/admin",
// kindegin.RequirePermission("admin:read"), admin).
func RequirePermission(keys ...string) gin.HandlerFunc {
	return Guard(kinde.RulePermissions(keys...))
}

// RequireRole returns a handler that aborts with 403 unless the user has
// every role in keys.
func RequireRole(keys ...string) gin.HandlerFunc {
	return Guard(kinde.RuleRoles(keys...))
}

// RequireOrg returns a handler that aborts with 403 unless the user signed
// in to the organization code.
func RequireOrg(code string) gin.HandlerFunc { return Guard(kinde.RuleOrg(code)) }

// RequireFlag returns a handler that aborts with 403 unless the boolean
// feature flag code is on for the user.
func RequireFlag(code string) gin.HandlerFunc {
	return Guard(kinde.RuleFlag(code))
}

// Require returns a handler that aborts with 403 unless f returns true for
// the user's session.
func Require(f func(*kinde.Session) bool) gin.HandlerFunc { return Guard(kinde.RuleFunc(f)) }

// RequireBearer protects an API with Kinde access tokens: it verifies the
// "Authorization: Bearer" token (pass kinde.VerifyAudience to require your
// API's audience) and makes the session built from it the request's
// session, so the other guards can follow it.
func RequireBearer(opts ...kinde.VerifyOption) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, d := kinde.CheckBearer(exchange(c), opts...)
		if d != nil {
			deny(c, d)
			return
		}
		if ctx != nil {
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()
	}
}

// Guard returns a handler that lets a request through only when rule holds
// for its session.
func Guard(rule kinde.Rule) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d := kinde.Check(exchange(c), rule); d != nil {
			deny(c, d)
			return
		}
		c.Next()
	}
}

// deny writes the web layer's answer, records it in c.Errors and stops the
// chain.
func deny(c *gin.Context, d *kinde.Denial) {
	d.Write(exchange(c))
	_ = c.Error(d)
	c.Abort()
}

func exchange(c *gin.Context) kinde.Exchange { return kinde.NewHTTPExchange(c.Writer, c.Request) }
