package kinde

import (
	"net/http"
	"sync"
)

// Handler serves the web layer's routes (sign-in, sign-up, create
// organization, callback, sign-out, switch organization, portal) for net/http and
// routers built on it (chi, gorilla/mux, http.ServeMux):
//
//	mux.Handle("/api/auth/", web.Handler())
//
// Any other path answers 404.
func (w *Web) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h, ok := w.Route(r.URL.Path)
		if !ok {
			http.NotFound(rw, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			rw.Header().Set("Allow", "GET, HEAD")
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		x := NewHTTPExchange(rw, r)
		if hx, ok := x.(*httpExchange); ok && hx.st != nil && hx.st.web == nil {
			hx.st.web = w // its cookies are read once (web_cookies.go)
		}
		h(x)
	})
}

// Middleware loads the session of every request (refreshing it when
// needed) and makes it available to handlers through SessionFrom, and to
// the guards that follow.
func (w *Web) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ctx, _ := w.LoadContext(NewHTTPExchange(rw, r))
		next.ServeHTTP(rw, r.WithContext(ctx))
	})
}

// guard returns middleware that lets a request through only when rule
// holds for its session (loaded by Middleware). A request that did not pass
// through Middleware gets 500, and the first one logs how to fix it.
func (w *Web) guard(rule Rule) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var once sync.Once // the missing Middleware is logged once per guard
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			x := NewHTTPExchange(rw, r)
			st := stateFrom(r.Context())
			if st == nil {
				once.Do(func() {
					w.log.ErrorContext(r.Context(), "kinde: a guard of this *kinde.Web runs without its session middleware, so it answers 500; wrap the handler or the mux in web.Middleware, e.g. http.ListenAndServe(addr, web.Middleware(mux))",
						"method", r.Method, "path", r.URL.Path)
				})
				noMiddleware().Write(x)
				return
			}
			if d := w.deny(x, st.session, rule); d != nil {
				d.Write(x)
				return
			}
			next.ServeHTTP(rw, r)
		})
	}
}

// RequireAuth lets only signed-in users through: a page load without a
// session is redirected to sign-in (and comes back afterwards), an API call
// gets 401 JSON with WWW-Authenticate.
func (w *Web) RequireAuth() func(http.Handler) http.Handler { return w.guard(RuleSignedIn()) }

// RequirePermission lets through users who have every permission in keys;
// others get 403 (an HTML page or JSON).
func (w *Web) RequirePermission(keys ...string) func(http.Handler) http.Handler {
	return w.guard(RulePermissions(keys...))
}

// RequireScope lets through requests whose access token grants every one of
// scopes (machine-to-machine callers); others get 403 insufficient_scope
// naming the scopes.
func (w *Web) RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return w.guard(RuleScopes(scopes...))
}

// RequirePermissionOrScope lets through requests for which each of keys is
// a permission of the user or a scope of the token, for APIs called by users
// and machines alike.
func (w *Web) RequirePermissionOrScope(keys ...string) func(http.Handler) http.Handler {
	return w.guard(RulePermissionsOrScopes(keys...))
}

// RequireRole lets through users who have every role in keys.
func (w *Web) RequireRole(keys ...string) func(http.Handler) http.Handler {
	return w.guard(RuleRoles(keys...))
}

// RequireOrg lets through users signed in to the organization code.
func (w *Web) RequireOrg(code string) func(http.Handler) http.Handler { return w.guard(RuleOrg(code)) }

// RequireFlag lets through users whose boolean feature flag code is on.
func (w *Web) RequireFlag(code string) func(http.Handler) http.Handler {
	return w.guard(RuleFlag(code))
}

// Require lets through users for whom f returns true.
func (w *Web) Require(f func(*Session) bool) func(http.Handler) http.Handler {
	return w.guard(RuleFunc(f))
}

// RequireBearer protects an API with access tokens: it verifies the
// "Authorization: Bearer" token (see VerifyAccessToken; pass VerifyAudience
// to require your API's audience) and makes a session built from it
// available through SessionFrom, so the other guards can follow it. It
// works with or without Middleware.
func (w *Web) RequireBearer(opts ...VerifyOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			var x Exchange
			st := stateFrom(r.Context())
			if st == nil || st.web != w {
				st = &requestState{web: w}
				r = r.WithContext(st.attach(r.Context()))
				st.http = httpExchange{w: rw, r: r}
				x = &st.http
			} else {
				x = NewHTTPExchange(rw, r)
			}
			if d := w.bearer(x, &st.own, opts); d != nil {
				d.Write(x)
				return
			}
			st.session = &st.own
			next.ServeHTTP(rw, r)
		})
	}
}
