package kindegrpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	kindegrpc "github.com/gokinde/kinde/grpc"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Setup mistakes fail when the interceptor is built, with an error naming
// the fix, never on a call (issue "Protect APIs", part 1).
func TestNewInterceptorConfiguration(t *testing.T) {
	srv := kindetest.Start(t)
	resource, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{testAPI}}))
	if err != nil {
		t.Fatal(err)
	}
	anyAudience, err := kinde.NewWeb(kinde.ResourceServer(), kinde.AnyAudience(), kinde.WithConfig(kinde.Config{Domain: srv.URL()}))
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(audience ...string) *kinde.Web {
		w, err := kinde.NewWeb(kinde.WithConfig(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
			RedirectURL: "http://localhost:8080/api/auth/kinde_callback", SessionSecret: strings.Repeat("s", 32), Audience: audience}))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	tests := []struct {
		name    string
		web     *kinde.Web
		opts    []kindegrpc.Option
		wantErr string
	}{
		{"resource server", resource, nil, ""},
		{"resource server accepting any audience on purpose", anyAudience, nil, ""},
		{"sign-in web with an audience", signIn(testAPI), nil, ""},
		{"all options", resource, []kindegrpc.Option{
			kindegrpc.WithRule("/todo.v1.Todos/Delete", kinde.RulePermissions("delete:todos")),
			kindegrpc.WithRule("/todo.v1.Todos/", kinde.RuleScopes("read:todos"), kinde.RuleSignedIn()),
			kindegrpc.WithDefaultRule(kinde.RuleRoles("admin")),
			kindegrpc.WithPublicMethods("/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
			nil,
		}, ""},
		{"nil web", nil, nil, "kinde.NewWeb"},
		{"web not built by NewWeb", &kinde.Web{}, nil, "kinde.NewWeb"},
		{"sign-in web without an audience", signIn(), nil, "KINDE_AUDIENCE"},
		{"method without a leading slash", resource, []kindegrpc.Option{kindegrpc.WithRule("todo.v1.Todos/Delete", kinde.RuleSignedIn())}, "/package.Service/Method"},
		{"method without a service", resource, []kindegrpc.Option{kindegrpc.WithRule("/Delete", kinde.RuleSignedIn())}, "/package.Service/Method"},
		{"empty service", resource, []kindegrpc.Option{kindegrpc.WithRule("//Delete", kinde.RuleSignedIn())}, "/package.Service/Method"},
		{"too many slashes", resource, []kindegrpc.Option{kindegrpc.WithPublicMethods("/a/b/c")}, "/package.Service/Method"},
		{"empty method name", resource, []kindegrpc.Option{kindegrpc.WithPublicMethods("")}, "/package.Service/Method"},
		{"rule without rules", resource, []kindegrpc.Option{kindegrpc.WithRule("/todo.v1.Todos/Delete")}, "has no rule"},
		{"zero rule", resource, []kindegrpc.Option{kindegrpc.WithRule("/todo.v1.Todos/Delete", kinde.Rule{})}, "zero kinde.Rule"},
		{"zero default rule", resource, []kindegrpc.Option{kindegrpc.WithDefaultRule(kinde.RuleSignedIn(), kinde.Rule{})}, "rule 1 is a zero"},
		{"public, then ruled", resource, []kindegrpc.Option{kindegrpc.WithPublicMethods("/todo.v1.Todos/List"),
			kindegrpc.WithRule("/todo.v1.Todos/List", kinde.RuleSignedIn())}, "either public or ruled"},
		{"ruled, then public", resource, []kindegrpc.Option{kindegrpc.WithRule("/todo.v1.Todos/", kinde.RuleSignedIn()),
			kindegrpc.WithPublicMethods("/todo.v1.Todos/")}, "either public or ruled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := kindegrpc.NewInterceptor(tt.web, tt.opts...)
			if tt.wantErr == "" {
				if err != nil || i == nil {
					t.Fatalf("NewInterceptor: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// An API-only program configured by KINDE_DOMAIN and KINDE_AUDIENCE alone
// passes a valid access token and refuses every other kind of token with
// codes.Unauthenticated (issue "Protect APIs": "What it must show").
func TestUnaryTokens(t *testing.T) {
	f := newFixture(t)
	now := f.srv.Now()
	foreign := f.userToken(t, f.alice.ID, "https://other-api.example")
	issued, err := f.srv.IssueTokens(f.alice.ID, kindetest.IssueOptions{Audience: []string{testAPI}})
	if err != nil {
		t.Fatal(err)
	}
	expiredClaims := f.srv.AccessTokenClaims(f.alice.ID, kindetest.IssueOptions{Audience: []string{testAPI}})
	expiredClaims["exp"] = now.Add(-time.Hour).Unix()
	expired := f.srv.Sign(expiredClaims, kindetest.Header{})
	// RFC 9068 marks access tokens with typ at+jwt; they are accepted.
	atJWT := f.srv.Sign(f.srv.AccessTokenClaims(f.alice.ID, kindetest.IssueOptions{Audience: []string{testAPI}}), kindetest.Header{Typ: "at+jwt"})
	// OpenID Connect Core §3.1.3.6 makes at_hash optional: an ID token
	// without it (and without a nonce) is refused, here by its audience (the
	// client ID), which is not the API's.
	bareID := f.srv.Sign(map[string]any{"iss": f.srv.URL(), "sub": f.alice.ID, "aud": []string{f.srv.ClientID()}, "azp": f.srv.ClientID(),
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}, kindetest.Header{})
	// Kinde's refresh tokens are opaque; a JWT one (other providers) is
	// refused by its typ.
	jwtRefresh := f.srv.Sign(map[string]any{"iss": f.srv.URL(), "sub": f.alice.ID, "aud": []string{testAPI},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "typ": "Refresh"}, kindetest.Header{})
	other := kindetest.Start(t)
	forged := other.Sign(f.srv.AccessTokenClaims(f.alice.ID, kindetest.IssueOptions{Audience: []string{testAPI}}), kindetest.Header{Kid: f.srv.KeyID()})
	otherIssuer := other.Sign(other.AccessTokenClaims(f.alice.ID, kindetest.IssueOptions{Audience: []string{testAPI}}), kindetest.Header{})

	tests := []struct {
		name string
		auth []string
		code codes.Code
		want string // in the message, or the subject on success
	}{
		{"user token", []string{"Bearer " + f.aliceToken}, codes.OK, f.alice.ID},
		{"lower-case scheme", []string{"bearer " + f.aliceToken}, codes.OK, f.alice.ID},
		{"RFC 9068 at+jwt", []string{"Bearer " + atJWT}, codes.OK, f.alice.ID},
		{"machine token", []string{"Bearer " + f.machineToken}, codes.OK, f.m2m.ID},
		{"no token", nil, codes.Unauthenticated, `send the metadata "authorization: Bearer <access token>"`},
		{"two authorization values", []string{"Bearer " + f.aliceToken, "Bearer " + f.bobToken}, codes.Unauthenticated, "not several"},
		{"another scheme", []string{"Basic YWxpY2U6c2VjcmV0"}, codes.Unauthenticated, `malformed authorization metadata: send "Bearer <access token>"`},
		{"scheme without a token", []string{"Bearer "}, codes.Unauthenticated, "malformed authorization metadata"},
		{"two tokens", []string{"Bearer " + f.aliceToken + " " + f.bobToken}, codes.Unauthenticated, "malformed authorization metadata"},
		{"not a JWT", []string{"Bearer not-a-token"}, codes.Unauthenticated, "invalid access token: token is malformed"},
		{"expired", []string{"Bearer " + expired}, codes.Unauthenticated, "invalid access token: token is expired"},
		{"another API's token", []string{"Bearer " + foreign}, codes.Unauthenticated, "invalid access token: token audience does not match"},
		{"ID token", []string{"Bearer " + issued.IDToken}, codes.Unauthenticated, "this is an ID token; send the access token"},
		{"ID token without at_hash or nonce", []string{"Bearer " + bareID}, codes.Unauthenticated, "invalid access token: token audience does not match"},
		{"Kinde refresh token (opaque)", []string{"Bearer " + issued.RefreshToken}, codes.Unauthenticated, "invalid access token: token is malformed"},
		{"refresh token as a JWT", []string{"Bearer " + jwtRefresh}, codes.Unauthenticated, "this is a refresh token; send the access token"},
		{"signed by another key", []string{"Bearer " + forged}, codes.Unauthenticated, "invalid access token: token signature is invalid"},
		{"another Kinde domain", []string{"Bearer " + otherIssuer}, codes.Unauthenticated, "invalid access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(t.Context(), f.conn, "List", tt.auth...)
			if tt.code == codes.OK {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var toks []string
			for _, a := range tt.auth {
				toks = append(toks, strings.TrimPrefix(a, "Bearer "))
			}
			wantStatus(t, err, tt.code, tt.want, toks...)
		})
	}
}

// Per-method rules: the rules of the full method name, else of its service,
// else the default; every guard of core works as a rule, and a refusal
// names what is needed.
func TestUnaryRules(t *testing.T) {
	var f *fixture
	f = newFixture(t,
		kindegrpc.WithRule("/todo.v1.Todos/", kinde.RulePermissionsOrScopes("read:todos")),
		kindegrpc.WithRule("/todo.v1.Todos/Delete", kinde.RulePermissions("delete:todos")),
		kindegrpc.WithRule("/todo.v1.Todos/Write", kinde.RuleScopes("write:todos")),
		kindegrpc.WithRule("/todo.v1.Todos/Admin", kinde.RuleRoles("admin")),
		kindegrpc.WithRule("/todo.v1.Todos/Acme", kinde.RuleOrg("org_elsewhere")),
		kindegrpc.WithRule("/todo.v1.Todos/Beta", kinde.RuleFlag("beta")),
		kindegrpc.WithRule("/todo.v1.Todos/Custom", kinde.RuleFunc(func(s *kinde.Session) bool { return s.UserID() == f.alice.ID })),
		kindegrpc.WithRule("/todo.v1.Todos/Custom", kinde.RulePermissions("read:todos")), // adds to the rule above
		kindegrpc.WithPublicMethods("/grpc.health.v1.Health/"),
		kindegrpc.WithDefaultRule(kinde.RuleScopes("never")),
	)
	if err := f.srv.SetFlag("beta", false); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SetUserFlag(f.alice.ID, "beta", true); err != nil {
		t.Fatal(err)
	}
	alice, bob := "Bearer "+f.userToken(t, f.alice.ID, testAPI), "Bearer "+f.userToken(t, f.bob.ID, testAPI)
	machine := "Bearer " + f.machineToken
	tests := []struct {
		name, method, auth string
		code               codes.Code
		want               string
	}{
		{"service rule: user permission", "List", bob, codes.OK, ""},
		{"service rule: machine scope", "List", machine, codes.OK, ""},
		{"method rule: permission held", "Delete", alice, codes.OK, ""},
		{"method rule replaces the service's: permission missing", "Delete", bob, codes.PermissionDenied, `this request needs permissions "delete:todos"`},
		{"method rule: machines hold scopes, not permissions", "Delete", machine, codes.PermissionDenied, `permissions "delete:todos"`},
		{"scope missing", "Write", machine, codes.PermissionDenied, `this request needs scopes "write:todos"`},
		{"role held", "Admin", alice, codes.OK, ""},
		{"role missing", "Admin", bob, codes.PermissionDenied, `roles "admin"`},
		{"organization", "Acme", alice, codes.PermissionDenied, `organization "org_elsewhere"`},
		{"flag on", "Beta", alice, codes.OK, ""},
		{"flag off", "Beta", bob, codes.PermissionDenied, `feature flag "beta"`},
		{"custom rule and permission", "Custom", alice, codes.OK, ""},
		{"custom rule refused", "Custom", bob, codes.PermissionDenied, "custom rule"},
		{"custom rule met, added rule refused", "Custom", machine, codes.PermissionDenied, "custom rule"},
		{"rules apply after the token check", "List", "", codes.Unauthenticated, "missing access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth []string
			if tt.auth != "" {
				auth = []string{tt.auth}
			}
			_, err := call(t.Context(), f.conn, tt.method, auth...)
			if tt.code == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantStatus(t, err, tt.code, tt.want, strings.TrimPrefix(tt.auth, "Bearer "))
		})
	}

	// A public service needs no token; other services get the default rule.
	health := healthpb.NewHealthClient(f.conn)
	if _, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("public health check: %v", err)
	}
	f2 := newFixture(t, kindegrpc.WithDefaultRule(kinde.RuleScopes("never")))
	_, err := healthpb.NewHealthClient(f2.conn).Check(withAuth(t.Context(), "Bearer "+f2.machineToken), &healthpb.HealthCheckRequest{})
	wantStatus(t, err, codes.PermissionDenied, `scopes "never"`)
	_, err = healthpb.NewHealthClient(f2.conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	wantStatus(t, err, codes.Unauthenticated, "missing access token")
}

// The stream interceptor checks the token and rules once, at the start of
// the stream, and the handler's stream.Context() carries the session.
func TestStream(t *testing.T) {
	f := newFixture(t, kindegrpc.WithRule("/todo.v1.Todos/Watch", kinde.RulePermissionsOrScopes("read:todos")))
	carol := f.srv.AddUser(kindetest.User{Email: "carol@example.com"}) // no organization, no permission
	expiredClaims := f.srv.AccessTokenClaims(f.bob.ID, kindetest.IssueOptions{Audience: []string{testAPI}})
	expiredClaims["exp"] = f.srv.Now().Add(-time.Minute).Unix()
	tests := []struct {
		name, auth string
		code       codes.Code
		want       string
	}{
		{"user with the permission", "Bearer " + f.bobToken, codes.OK, f.bob.ID},
		{"machine with the scope", "Bearer " + f.machineToken, codes.OK, f.m2m.ID},
		{"no token", "", codes.Unauthenticated, "missing access token"},
		{"expired token", "Bearer " + f.srv.Sign(expiredClaims, kindetest.Header{}), codes.Unauthenticated, "token is expired"},
		{"ID token", "Bearer " + mustIDToken(t, f.srv, carol.ID), codes.Unauthenticated, "this is an ID token"},
		{"rule not met", "Bearer " + mustAccessToken(t, f.srv, carol.ID), codes.PermissionDenied, `permissions or scopes "read:todos"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := watch(t.Context(), f.conn, tt.auth)
			if tt.code == codes.OK {
				if err != nil || len(got) != 3 || got[0] != tt.want || got[2] != tt.want {
					t.Fatalf("got %q, %v; want %q three times", got, err, tt.want)
				}
				return
			}
			if len(got) != 0 {
				t.Fatalf("a refused stream sent %q", got)
			}
			wantStatus(t, err, tt.code, tt.want, strings.TrimPrefix(tt.auth, "Bearer "))
		})
	}
}

// Kinde's signing keys out of reach: the caller is told to retry
// (codes.Unavailable), not that its token is bad.
func TestKeySetUnavailable(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/.well-known/jwks", "/.well-known/jwks.json"} {
		f.srv.SetFault(p, kindetest.Fault{Status: 503})
	}
	_, err := call(t.Context(), f.conn, "List", "Bearer "+f.aliceToken)
	wantStatus(t, err, codes.Unavailable, "retry later", f.aliceToken)
	f.srv.ClearFaults()
}

// Outside a call the interceptor authorized there is no session.
func TestSessionFromWithoutInterceptor(t *testing.T) {
	if s := kindegrpc.SessionFrom(context.Background()); s != nil {
		t.Fatalf("SessionFrom(Background) = %v, want nil", s)
	}
}

// mustIDToken and mustAccessToken issue tokens to a user of no
// organization.
func mustIDToken(t *testing.T, srv *kindetest.Server, userID string) string {
	t.Helper()
	tok, err := srv.IssueTokens(userID, kindetest.IssueOptions{Audience: []string{testAPI}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.IDToken
}

func mustAccessToken(t *testing.T, srv *kindetest.Server, userID string) string {
	t.Helper()
	tok, err := srv.IssueTokens(userID, kindetest.IssueOptions{Audience: []string{testAPI}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}
