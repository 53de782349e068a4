package kinde

import (
	"context"
	"net/http"
)

// Handler serves the web layer's routes (sign-in, sign-up, create
// organization, callback, sign-out, switch organization) for net/http and
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
		h(NewHTTPExchange(rw, r))
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

// Guard returns middleware that lets a request through only when rule holds
// for its session (loaded by Middleware).
func (w *Web) Guard(rule Rule) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if w.Authorize(NewHTTPExchange(rw, r), SessionFrom(r.Context()), rule) {
				next.ServeHTTP(rw, r)
			}
		})
	}
}

// RequireAuth lets only signed-in users through.
func (w *Web) RequireAuth() func(http.Handler) http.Handler { return w.Guard(RuleSignedIn()) }

// RequirePermission lets through users who have every permission in keys.
func (w *Web) RequirePermission(keys ...string) func(http.Handler) http.Handler {
	return w.Guard(RulePermissions(keys...))
}

// RequireRole lets through users who have every role in keys.
func (w *Web) RequireRole(keys ...string) func(http.Handler) http.Handler {
	return w.Guard(RuleRoles(keys...))
}

// RequireOrg lets through users signed in to the organization code.
func (w *Web) RequireOrg(code string) func(http.Handler) http.Handler { return w.Guard(RuleOrg(code)) }

// RequireFlag lets through users whose boolean feature flag code is on.
func (w *Web) RequireFlag(code string) func(http.Handler) http.Handler {
	return w.Guard(RuleFlag(code))
}

// Require lets through users for whom f returns true.
func (w *Web) Require(f func(*Session) bool) func(http.Handler) http.Handler {
	return w.Guard(RuleFunc(f))
}

// RequireBearer protects an API with access tokens: it verifies the
// "Authorization: Bearer" token (see VerifyAccessToken; pass VerifyAudience
// to require your API's audience) and makes a session built from it
// available through SessionFrom, so the other guards can follow it.
func (w *Web) RequireBearer(opts ...VerifyOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			st := &requestState{web: w}
			if w.bearer(NewHTTPExchange(rw, r), &st.own, opts) {
				st.session = &st.own
				next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
			}
		})
	}
}
