package conformance

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// API-only programs: a service that never signs a browser in, configured
// with the Kinde domain and its audience alone (kinde.ResourceServer), that
// takes user tokens and machine-to-machine tokens, refuses every other
// token, and authorises machines by scope. Every front end must give the
// same answers.
func init() {
	scenarios = append(scenarios,
		scenario{"api: user token", testAPIUserToken},
		scenario{"api: machine token", testAPIMachineToken},
		scenario{"api: missing token", testAPIMissingToken},
		scenario{"api: expired token", testAPIExpiredToken},
		scenario{"api: another API's tokens", testAPIForeignAudience},
		scenario{"api: ID tokens", testAPIIDToken},
		scenario{"api: refresh tokens", testAPIRefreshToken},
		scenario{"api: RequireScope allows a machine with the scope", testAPIScopeAllows},
		scenario{"api: RequireScope denies a machine without the scope", testAPIScopeDeniesMachine},
		scenario{"api: RequireScope denies a user token", testAPIScopeDeniesUser},
		scenario{"api: RequirePermissionOrScope allows a user permission", testAPIMixedAllowsUser},
		scenario{"api: RequirePermissionOrScope allows a machine scope", testAPIMixedAllowsMachine},
		scenario{"api: RequirePermissionOrScope denies", testAPIMixedDenies},
		scenario{"api: RequirePermission refuses a machine token", testAPIPermissionRefusesMachine},
		scenario{"api: configuration from KINDE_DOMAIN and KINDE_AUDIENCE only", testAPIFromEnv},
		scenario{"api: guards without the middleware answer 500", testAPIWithoutMiddleware},
	)
}

// otherAudience is an API of the same Kinde business that is not the
// application under test.
const otherAudience = "https://billing.example.com/api"

// setupAPI starts the emulator and an API-only application: its Options
// are kinde.ResourceServer() and a Config holding the domain and the
// audience (plus the emulator's clock and a logger the scenario reads), or,
// with fromEnv, kinde.ResourceServer() alone with KINDE_DOMAIN and
// KINDE_AUDIENCE set and every other KINDE_* variable empty.
func setupAPI(t *testing.T, start Start, fromEnv bool, mods ...func(*App)) *fixture {
	t.Helper()
	claims := kindetest.TokenCustomization{Roles: true, Email: true}
	f := &fixture{t: t, srv: kindetest.Start(t, kindetest.WithSigningKey(signingKey()), kindetest.WithTokenCustomization(claims)),
		logs: &logBuffer{}}
	f.seed()
	f.srv.AddAPI(Audience, APIPermission, Scope)
	f.srv.AddAPI(otherAudience, "read:invoices")
	f.reader = f.machine(Audience, APIPermission)
	f.writer = f.machine(Audience, APIPermission, Scope)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f.base = "http://" + ln.Addr().String()
	f.cfg = kinde.Config{Domain: f.srv.URL(), Audience: []string{Audience}, Now: f.srv.Now,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	if fromEnv {
		for _, k := range []string{"KINDE_CLIENT_ID", "KINDE_CLIENT_SECRET", "KINDE_REDIRECT_URL", "KINDE_POST_LOGOUT_REDIRECT_URL",
			"KINDE_SESSION_SECRET", "KINDE_SCOPE", "KINDE_MANAGEMENT_CLIENT_ID", "KINDE_MANAGEMENT_CLIENT_SECRET"} {
			t.Setenv(k, "")
		}
		t.Setenv("KINDE_DOMAIN", f.cfg.Domain)
		t.Setenv("KINDE_AUDIENCE", Audience)
		start(t, f.app(ln, []kinde.WebOption{kinde.ResourceServer()}, mods))
		return f
	}
	start(t, f.app(ln, []kinde.WebOption{kinde.ResourceServer(), kinde.WithConfig(f.cfg)}, mods))
	return f
}

// machine registers a machine-to-machine application authorized for
// audience with scopes.
func (f *fixture) machine(audience string, scopes ...string) kindetest.Client {
	f.t.Helper()
	c := f.srv.AddClient(kindetest.Client{Type: "m2m", Name: "worker"})
	if err := f.srv.AuthorizeM2M(c.ID, audience, scopes...); err != nil {
		f.t.Fatalf("AuthorizeM2M: %v", err)
	}
	return c
}

// machineToken is a client_credentials access token of c for audience.
func (f *fixture) machineToken(c kindetest.Client, audience string) string {
	f.t.Helper()
	tr, err := f.srv.IssueM2MToken(c.ID, audience)
	if err != nil {
		f.t.Fatalf("IssueM2MToken: %v", err)
	}
	return tr.AccessToken
}

// machineMe is what a route answers for a machine caller: Kinde's
// machine-to-machine tokens have no sub, their application in azp and the
// granted scopes in scp and scope (Kinde docs,
// machine-to-machine-applications/about-m2m/token-structure-and-claims-for-m2m-applications.mdx).
func machineMe(c kindetest.Client, scopes ...string) Me {
	return Me{SignedIn: true, ClientID: c.ID, Scopes: scopes}
}

// call sends an API request (Accept: application/json) with the bearer
// token, or without an Authorization header when token is "".
func (f *fixture) call(path, token string) *response {
	f.t.Helper()
	if token == "" {
		return f.browser().get(path, api)
	}
	return f.browser().get(path, api, "Authorization", "Bearer "+token)
}

// wantInvalidToken checks the 401 of a refused token.
func (f *fixture) wantInvalidToken(r *response, reason error) {
	f.t.Helper()
	f.wantError(r, http.StatusUnauthorized, f.realm()+`, error="invalid_token"`, "invalid_token", reason.Error())
}

func testAPIUserToken(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	tok := f.bearer(f.bob, Audience)
	for _, path := range []string{PathBearer, PathAPI, PathMixed} {
		f.wantMe(f.call(path, tok), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
	}
	// The guards that need a signed-in user follow the bearer token too.
	f.wantMe(f.call(PathAPIKey, tok), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
}

func testAPIMachineToken(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantMe(f.call(PathBearer, f.machineToken(f.reader, Audience)), machineMe(f.reader, APIPermission))
	f.wantMe(f.call(PathBearer, f.machineToken(f.writer, Audience)), machineMe(f.writer, APIPermission, Scope))
}

// testAPIMissingToken: an API answers 401 JSON, never a redirect to a
// sign-in it does not have, even to a page load.
func testAPIMissingToken(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	for _, k := range []kind{api, navigation} {
		for _, path := range []string{PathBearer, PathScope, PathMixed} {
			f.wantError(f.browser().get(path, k), http.StatusUnauthorized, f.realm(), "unauthenticated",
				"send an access token in the Authorization header: Bearer <token>")
		}
		f.wantError(f.browser().get(PathProtected, k), http.StatusUnauthorized, f.realm(), "unauthenticated",
			"sign in first: this endpoint needs a Kinde session or a bearer token")
	}
	f.wantError(f.browser().get(PathBearer, api, "Authorization", "Basic YWxpY2U6c2VjcmV0"), http.StatusBadRequest,
		f.realm()+`, error="invalid_request"`, "invalid_request", "the Authorization header must be: Bearer <token>")
	// Nothing is mounted besides the application's own routes.
	if r := f.browser().get(kinde.DefaultPaths().Login, navigation); r.status != http.StatusNotFound {
		t.Errorf("GET %s on an API: %d, want 404", kinde.DefaultPaths().Login, r.status)
	}
}

func testAPIExpiredToken(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	user, machine := f.bearer(f.bob, Audience), f.machineToken(f.writer, Audience)
	f.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Hour)
	f.wantInvalidToken(f.call(PathBearer, user), kinde.ErrTokenExpired)
	f.wantInvalidToken(f.call(PathScope, machine), kinde.ErrTokenExpired)
}

// testAPIForeignAudience: tokens Kinde issued for another API of the same
// business are valid tokens of the domain, but not for this API.
func testAPIForeignAudience(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	billing := f.machine(otherAudience, "read:invoices")
	f.wantInvalidToken(f.call(PathBearer, f.bearer(f.bob, otherAudience)), kinde.ErrTokenAudience)
	f.wantInvalidToken(f.call(PathBearer, f.machineToken(billing, otherAudience)), kinde.ErrTokenAudience)
	f.wantInvalidToken(f.call(PathScope, f.machineToken(billing, otherAudience)), kinde.ErrTokenAudience)
}

// testAPIIDToken: an ID token is never a bearer token. Kinde's carry
// at_hash and the client ID as audience (Kinde docs,
// build/tokens/about-id-tokens.mdx); at_hash is optional in OpenID Connect
// Core §3.1.3.6, so one without it is refused too.
func testAPIIDToken(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	tr, err := f.srv.IssueTokens(f.bob.ID, kindetest.IssueOptions{Audience: []string{Audience}})
	if err != nil {
		t.Fatal(err)
	}
	f.wantInvalidToken(f.call(PathBearer, tr.IDToken), kinde.ErrTokenClaims)
	now := f.srv.Now()
	bare := f.srv.Sign(map[string]any{"iss": f.srv.Issuer(), "sub": f.bob.ID, "aud": []string{f.srv.ClientID()},
		"azp": f.srv.ClientID(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": f.bob.Email}, kindetest.Header{})
	f.wantInvalidToken(f.call(PathBearer, bare), kinde.ErrTokenAudience)
	// Even naming the API as its audience, a nonce marks an ID token.
	withNonce := f.srv.Sign(map[string]any{"iss": f.srv.Issuer(), "sub": f.bob.ID, "aud": []string{Audience},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": "n-0123456789"}, kindetest.Header{})
	f.wantInvalidToken(f.call(PathBearer, withNonce), kinde.ErrTokenClaims)
}

// testAPIRefreshToken: Kinde's refresh tokens are opaque and fail as
// malformed; a refresh token that is a JWT (other providers issue them) is
// refused by its typ even when its audience is the API (DECISIONS.md,
// "Refresh tokens as bearer tokens").
func testAPIRefreshToken(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	tr, err := f.srv.IssueTokens(f.bob.ID, kindetest.IssueOptions{Audience: []string{Audience}})
	if err != nil {
		t.Fatal(err)
	}
	f.wantInvalidToken(f.call(PathBearer, tr.RefreshToken), kinde.ErrTokenMalformed)
	now := f.srv.Now()
	jwt := f.srv.Sign(map[string]any{"iss": f.srv.Issuer(), "sub": f.bob.ID, "aud": []string{Audience},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "typ": "Refresh", "scope": "offline"}, kindetest.Header{})
	f.wantInvalidToken(f.call(PathBearer, jwt), kinde.ErrTokenClaims)
}

func testAPIScopeAllows(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantMe(f.call(PathScope, f.machineToken(f.writer, Audience)), machineMe(f.writer, APIPermission, Scope))
}

// wantInsufficientScope checks the 403 of RFC 6750 §3.1 that names the
// scopes the request needs (the scope attribute of §3).
func (f *fixture) wantInsufficientScope(r *response, rule, scope string) {
	f.t.Helper()
	f.wantError(r, http.StatusForbidden, f.realm()+`, error="insufficient_scope", scope="`+scope+`"`, "forbidden",
		"this request needs "+rule)
}

func testAPIScopeDeniesMachine(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantInsufficientScope(f.call(PathScope, f.machineToken(f.reader, Audience)), fmt.Sprintf("scopes %q", Scope), Scope)
}

// testAPIScopeDeniesUser: a user's access token carries the scopes of the
// sign-in (openid, profile, …), not the API's.
func testAPIScopeDeniesUser(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantInsufficientScope(f.call(PathScope, f.bearer(f.alice, Audience)), fmt.Sprintf("scopes %q", Scope), Scope)
}

func testAPIMixedAllowsUser(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantMe(f.call(PathMixed, f.bearer(f.alice, Audience)), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
}

func testAPIMixedAllowsMachine(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantMe(f.call(PathMixed, f.machineToken(f.reader, Audience)), machineMe(f.reader, APIPermission))
}

func testAPIMixedDenies(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	// Carol has no permission, and a user token no API scope.
	f.wantInsufficientScope(f.call(PathMixed, f.bearer(f.carol, Audience)),
		fmt.Sprintf("permissions or scopes %q", APIPermission), APIPermission)
}

// testAPIPermissionRefusesMachine: machine tokens carry scopes, not
// permissions, so a permission guard refuses them (use RequireScope or
// RequirePermissionOrScope); the refusal names no scope.
func testAPIPermissionRefusesMachine(t *testing.T, start Start) {
	f := setupAPI(t, start, false)
	f.wantError(f.call(PathAPI, f.machineToken(f.reader, Audience)), http.StatusForbidden, f.realm()+`, error="insufficient_scope"`,
		"forbidden", fmt.Sprintf("this request needs permissions %q", APIPermission))
}

// testAPIFromEnv: KINDE_DOMAIN and KINDE_AUDIENCE are the whole
// configuration of an API: no client ID, redirect URL or session secret.
func testAPIFromEnv(t *testing.T, start Start) {
	defer setDefaultLogger(slog.New(slog.DiscardHandler))()
	f := setupAPI(t, start, true)
	f.wantMe(f.call(PathBearer, f.bearer(f.bob, Audience)), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
	f.wantMe(f.call(PathScope, f.machineToken(f.writer, Audience)), machineMe(f.writer, APIPermission, Scope))
	f.wantInvalidToken(f.call(PathBearer, f.bearer(f.bob, otherAudience)), kinde.ErrTokenAudience)
	f.wantError(f.browser().get(PathProtected, navigation), http.StatusUnauthorized, f.realm(), "unauthenticated",
		"sign in first: this endpoint needs a Kinde session or a bearer token")
}

// testAPIWithoutMiddleware: in an API-only program whose routes the
// middleware does not cover, a guard that needs it answers 500 on every
// request, whatever the token, logs the fix once at Error level, and never
// panics (DECISIONS.md, "Guards and error handling").
func testAPIWithoutMiddleware(t *testing.T, start Start) {
	f := setupAPI(t, start, false, func(a *App) { a.WithoutMiddleware = true })
	// net/http's guards log with the Web's logger, which writes to f.logs;
	// the adapters' with slog's default logger: send it there too. Run is
	// never parallel.
	defer setDefaultLogger(slog.New(slog.NewTextHandler(f.logs, nil)))()
	machine := f.machineToken(f.writer, Audience)
	for range 3 {
		for _, k := range []kind{api, navigation} {
			for _, path := range []string{PathScopeAlone, PathProtected} {
				r := f.browser().get(path, k, "Authorization", "Bearer "+machine)
				if r.status != http.StatusInternalServerError {
					t.Errorf("GET %s without the middleware: %d, want 500; body %s", path, r.status, r.body)
				}
			}
		}
	}
	f.wantMe(f.browser().get(PathMe, api), Me{})
	out := f.logs.String()
	if n := strings.Count(out, "level=ERROR"); n != 2 {
		t.Errorf("%d errors logged for two guards, want one each:\n%s", n, out)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "Middleware") {
			t.Errorf("the log does not name the fix (the session middleware): %s", line)
		}
	}
}

// logBuffer collects log output written from the application's
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
