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
)

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
	// APIPermission is required on PathAPI after the bearer token.
	APIPermission = "read:todos"
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
}

// MeOf describes s (nil for an anonymous request), with sorted permissions
// and roles.
func MeOf(s *kinde.Session) Me {
	if s == nil {
		return Me{}
	}
	u := s.User()
	m := Me{SignedIn: true, UserID: u.ID, Email: u.Email, OrgCode: s.Organization().Code}
	m.Permissions = slices.Sorted(slices.Values(s.Permissions().Keys))
	for _, r := range s.Roles() {
		m.Roles = append(m.Roles, r.Key)
	}
	slices.Sort(m.Roles)
	return m
}

// Start serves the application under test on ln until t ends. opts
// configure the web layer: pass them to the adapter's Register (or to
// kinde.NewWeb). When opts is nil the application must be configured from
// the KINDE_* environment variables, as Register and kinde.NewWeb are
// without options.
type Start func(t *testing.T, ln net.Listener, opts []kinde.WebOption)

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
}

// Mount adds the suite's routes with route, which must add a GET route for
// path that runs guards in order and then answers with the JSON of
// MeOf(session).
func Mount[H any](g Guards[H], route func(path string, guards ...H)) {
	route(PathMe)
	route(PathProtected, g.RequireAuth())
	route(PathAdmin, g.RequirePermission(Permission))
	route(PathRole, g.RequireRole(Role))
	route(PathOrg, g.RequireOrg(OrgCode))
	route(PathFlag, g.RequireFlag(Flag))
	route(PathCustom, g.Require(Custom))
	route(PathAPI, g.RequireBearer(kinde.VerifyAudience(Audience)), g.RequirePermission(APIPermission))
}

// NetHTTP is the Start of core's net/http front end: Web.Handler for the
// sign-in routes, Web.Middleware and the Web's guards.
func NetHTTP(t *testing.T, ln net.Listener, opts []kinde.WebOption) {
	t.Helper()
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		t.Fatalf("kinde.NewWeb: %v", err)
	}
	mux := http.NewServeMux()
	for _, p := range web.Routes() {
		mux.Handle("GET "+p, web.Handler())
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(MeOf(kinde.SessionFrom(r.Context())))
	})
	g := Guards[func(http.Handler) http.Handler]{RequireAuth: web.RequireAuth, RequirePermission: web.RequirePermission,
		RequireRole: web.RequireRole, RequireOrg: web.RequireOrg, RequireFlag: web.RequireFlag, Require: web.Require,
		RequireBearer: web.RequireBearer}
	Mount(g, func(path string, guards ...func(http.Handler) http.Handler) {
		var h http.Handler = me
		for _, guard := range slices.Backward(guards) {
			h = guard(h)
		}
		mux.Handle("GET "+path, h)
	})
	ServeHTTP(t, ln, web.Middleware(mux))
}
