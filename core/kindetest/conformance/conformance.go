// Package conformance is the behaviour every Kinde web front end must show:
// net/http (core), Gin, Echo and Fiber. Run drives an application through a
// real HTTP server and the kindetest emulator, and checks status codes,
// Location headers, cookies and JSON bodies, which must be identical
// whatever the framework.
//
// The application under test mounts the web layer with the options it is
// given, installs the session middleware, and mounts these routes (all GET),
// each answering with the JSON of MeOf(session) (Mount adds them):
//
//	PathMe         no guard
//	PathProtected  RequireAuth()
//	PathAdmin      RequirePermission(Permission)
//	PathRole       RequireRole(Role)
//	PathOrg        RequireOrg(OrgCode)
//	PathFlag       RequireFlag(Flag)
//	PathCustom     Require(Custom)
//	PathAPI        RequireBearer(kinde.VerifyAudience(Audience)), then RequirePermission(APIPermission)
//	PathKey        no guard; the session is read under the front end's context key
//	PathAPIKey     RequireBearer(kinde.VerifyAudience(Audience)); the session is read under the key
//	PathBearer     RequireBearer(): the configured audience
//	PathScope      RequireBearer(), then RequireScope(Scope)
//	PathMixed      RequireBearer(), then RequirePermissionOrScope(APIPermission)
//	PathScopeAlone RequireScope(Scope), with no RequireBearer before it
//	PathStepUp     the app's own handler: the front end's SignIn(c,
//	               StepUpReturn, StepUpOptions()...), a step-up sign-in
//
// The scenarios named "api: …" ask for an API-only program: their Options
// start with kinde.ResourceServer() and configure only the Kinde domain and
// the audience, so Register mounts no sign-in routes, only the middleware.
//
// Refusals the guards hand to the framework's error handling as errors
// (Echo, Fiber) must be rendered as the web layer's own answers (each
// adapter's WriteDenial), unless App.Refusals asks otherwise.
//
// NetHTTP is the reference application, for core's net/http front end.
package conformance

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// Routes the application under test mounts; see the package documentation.
const (
	PathMe        = "/me"
	PathProtected = "/protected"
	PathAdmin     = "/admin"
	PathRole      = "/role"
	PathOrg       = "/org"
	PathFlag      = "/flag"
	PathCustom    = "/custom"
	PathAPI       = "/api/todos"
	PathKey       = "/key"
	PathAPIKey    = "/api/key"

	PathBearer     = "/api/bearer"
	PathScope      = "/api/scope"
	PathMixed      = "/api/mixed"
	PathScopeAlone = "/scope"
	PathStepUp     = "/step-up"
)

// StepUpReturn is where the sign-in PathStepUp starts comes back to.
const StepUpReturn = PathMe + "?stepped_up=1"

// StepUpOptions are the sign-in options PathStepUp passes to the front
// end's SignIn: the user signs in again (prompt=login).
func StepUpOptions() []kinde.AuthOption { return []kinde.AuthOption{kinde.WithPrompt("login")} }

// What the guards of the application under test require.
const (
	// Permission is required on PathAdmin.
	Permission = "admin:read"
	// Role is required on PathRole.
	Role = "admin"
	// OrgCode is required on PathOrg.
	OrgCode = "org_acme00000001"
	// Flag is the boolean feature flag required on PathFlag.
	Flag = "beta"
	// Audience is the audience bearer tokens must carry on PathAPI.
	Audience = "https://todos.example.com/api"
	// APIPermission is required on PathAPI after the bearer token, and on
	// PathMixed as a user permission or a machine scope.
	APIPermission = "read:todos"
	// Scope is the scope of Audience required on PathScope and
	// PathScopeAlone: machine callers are granted it, user tokens never
	// carry it.
	Scope = "write:todos"
)

// Custom is the rule of PathCustom: the user's email is at acme.test.
func Custom(s *kinde.Session) bool {
	return strings.HasSuffix(s.User().Email, "@acme.test")
}

// Me is what every route of the application under test answers, as JSON.
type Me struct {
	SignedIn    bool     `json:"signed_in"`
	UserID      string   `json:"user_id,omitempty"`
	Email       string   `json:"email,omitempty"`
	OrgCode     string   `json:"org_code,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	// ClientID and Scopes describe a machine caller (an access token
	// without a user): its application (azp) and the scopes it was granted.
	ClientID string   `json:"client_id,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
}

// MeOf describes s (nil for an anonymous request), with sorted permissions,
// roles and scopes.
func MeOf(s *kinde.Session) Me {
	if s == nil {
		return Me{}
	}
	u := s.User()
	m := Me{SignedIn: true, UserID: u.ID, Email: u.Email, OrgCode: s.Organization().Code}
	if a := s.AccessClaims(); u.ID == "" && a != nil {
		m.ClientID = a.AuthorizedParty
		m.Scopes = slices.Sorted(slices.Values(s.Scopes()))
	}
	m.Permissions = slices.Sorted(slices.Values(s.Permissions().Keys))
	for _, r := range s.Roles() {
		m.Roles = append(m.Roles, r.Key)
	}
	slices.Sort(m.Roles)
	return m
}

// App is the application a Start must serve.
type App struct {
	// Listener is where the application serves.
	Listener net.Listener
	// Options configure the web layer: pass them to the adapter's Register
	// (or to kinde.NewWeb). When Options is nil the application must be
	// configured from the KINDE_* environment variables, as Register and
	// kinde.NewWeb are without options; an API-only program configured
	// from them gets only kinde.ResourceServer().
	Options []kinde.WebOption
	// Refusals says how the application's error handling treats the
	// refusals (400, 401, 403) the guards hand to it.
	Refusals Refusals
	// WithoutMiddleware asks for the suite's routes and guards without the
	// session middleware (and without the sign-in routes): every guard that
	// needs the session must then answer 500, never panic.
	WithoutMiddleware bool
}

// Refusals is how an application's error handling treats the refusals the
// guards hand to it.
type Refusals int

const (
	// RefusalsAsKinde: the application writes them as the web layer's own
	// answers (with the adapter's WriteDenial where the guards return
	// errors), so that every front end answers the same bytes.
	RefusalsAsKinde Refusals = iota
	// RefusalsIgnored: the application's error handler (the adapter's
	// Config.ErrorHandler, or Fiber's app ErrorHandler) returns nil without
	// writing anything. The refusal must still not become a 200.
	RefusalsIgnored
)

// Start serves app until t ends.
type Start func(t *testing.T, app App)

// ServeHTTP serves h on ln until t ends. Front ends built on net/http use it
// in their Start.
func ServeHTTP(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// Guards are a front end's guard constructors; H is its handler or
// middleware type. Filling one with an adapter's functions also checks, at
// compile time, that the adapter offers the common guard surface.
type Guards[H any] struct {
	RequireAuth       func() H
	RequirePermission func(keys ...string) H
	RequireRole       func(keys ...string) H
	RequireOrg        func(code string) H
	RequireFlag       func(code string) H
	Require           func(f func(*kinde.Session) bool) H
	RequireBearer     func(opts ...kinde.VerifyOption) H

	RequireScope             func(scopes ...string) H
	RequirePermissionOrScope func(keys ...string) H

	// SignIn returns a handler of the application's own that starts a
	// sign-in with the front end's SignIn(c, returnTo, opts...) and answers
	// 500 when SignIn returns an error (Mount puts it on PathStepUp).
	SignIn func(returnTo string, opts ...kinde.AuthOption) H
}

// Mount adds the suite's routes with route, which must add a GET route for
// path that runs guards in order and then answers with the JSON of
// MeOf(session): the session from the adapter's SessionFrom, or, when
// fromKey is true, the one found under the adapter's documented context key
// (gin's c.Get, echo's c.Get, fiber's c.Locals).
func Mount[H any](g Guards[H], route func(path string, fromKey bool, guards ...H)) {
	route(PathMe, false)
	route(PathProtected, false, g.RequireAuth())
	route(PathAdmin, false, g.RequirePermission(Permission))
	route(PathRole, false, g.RequireRole(Role))
	route(PathOrg, false, g.RequireOrg(OrgCode))
	route(PathFlag, false, g.RequireFlag(Flag))
	route(PathCustom, false, g.Require(Custom))
	route(PathAPI, false, g.RequireBearer(kinde.VerifyAudience(Audience)), g.RequirePermission(APIPermission))
	route(PathKey, true)
	route(PathAPIKey, true, g.RequireBearer(kinde.VerifyAudience(Audience)))
	route(PathBearer, false, g.RequireBearer())
	route(PathScope, false, g.RequireBearer(), g.RequireScope(Scope))
	route(PathMixed, false, g.RequireBearer(), g.RequirePermissionOrScope(APIPermission))
	route(PathScopeAlone, false, g.RequireScope(Scope))
	if g.SignIn != nil {
		route(PathStepUp, false, g.SignIn(StepUpReturn, StepUpOptions()...))
	}
}

// NetHTTP is the Start of core's net/http front end: Web.Handler for the
// sign-in routes, Web.Middleware and the Web's guards. Its context key is
// the request's context (kinde.SessionFrom), and it has no error handler to
// configure: it writes every refusal itself.
func NetHTTP(t *testing.T, app App) {
	t.Helper()
	web, err := kinde.NewWeb(app.Options...)
	if err != nil {
		t.Fatalf("kinde.NewWeb: %v", err)
	}
	mux := http.NewServeMux()
	if !app.WithoutMiddleware {
		for _, p := range web.Routes() {
			mux.Handle("GET "+p, web.Handler())
		}
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(MeOf(kinde.SessionFrom(r.Context())))
	})
	g := Guards[func(http.Handler) http.Handler]{RequireAuth: web.RequireAuth, RequirePermission: web.RequirePermission,
		RequireRole: web.RequireRole, RequireOrg: web.RequireOrg, RequireFlag: web.RequireFlag, Require: web.Require,
		RequireBearer: web.RequireBearer, RequireScope: web.RequireScope, RequirePermissionOrScope: web.RequirePermissionOrScope,
		SignIn: func(returnTo string, opts ...kinde.AuthOption) func(http.Handler) http.Handler {
			return func(http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if err := web.SignIn(kinde.NewHTTPExchange(w, r), returnTo, opts...); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
					}
				})
			}
		}}
	Mount(g, func(path string, _ bool, guards ...func(http.Handler) http.Handler) {
		var h http.Handler = me
		for _, guard := range slices.Backward(guards) {
			h = guard(h)
		}
		mux.Handle("GET "+path, h)
	})
	if app.WithoutMiddleware {
		ServeHTTP(t, app.Listener, mux)
		return
	}
	ServeHTTP(t, app.Listener, web.Middleware(mux))
}
