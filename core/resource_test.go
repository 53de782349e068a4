package kinde_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

const testAPI = "https://api.example.com"

// An API that only checks tokens is configured with the domain and the
// audience, nothing else (issue "Protect APIs", part 1).
func TestResourceServerConfiguration(t *testing.T) {
	srv := kindetest.Start(t)
	tests := []struct {
		name    string
		cfg     kinde.Config
		opts    []kinde.WebOption
		wantErr string
	}{
		{"domain and audience", kinde.Config{Domain: srv.URL(), Audience: []string{testAPI}}, nil, ""},
		{"no audience", kinde.Config{Domain: srv.URL()}, nil, "KINDE_AUDIENCE"},
		{"no audience, any audience on purpose", kinde.Config{Domain: srv.URL()}, []kinde.WebOption{kinde.AnyAudience()}, ""},
		{"no domain", kinde.Config{Audience: []string{testAPI}}, nil, "KINDE_DOMAIN"},
		{"with a store", kinde.Config{Domain: srv.URL(), Audience: []string{testAPI}}, []kinde.WebOption{kinde.WithStore(kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 10}))}, "WithStore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]kinde.WebOption{kinde.ResourceServer(), kinde.WithConfig(tt.cfg)}, tt.opts...)
			web, err := kinde.NewWeb(opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := web.Routes(); len(r) != 0 {
				t.Fatalf("a resource server mounts routes %v", r)
			}
		})
	}
	// From the environment: KINDE_DOMAIN and KINDE_AUDIENCE are enough.
	t.Setenv("KINDE_DOMAIN", srv.URL())
	t.Setenv("KINDE_AUDIENCE", testAPI)
	for _, name := range []string{"KINDE_CLIENT_ID", "KINDE_CLIENT_SECRET", "KINDE_REDIRECT_URL", "KINDE_SESSION_SECRET"} {
		t.Setenv(name, "")
	}
	if _, err := kinde.NewWeb(kinde.ResourceServer()); err != nil {
		t.Fatalf("from KINDE_DOMAIN and KINDE_AUDIENCE: %v", err)
	}
}

// apiFixture is an API protected by a ResourceServer and the emulator that
// issues its tokens.
type apiFixture struct {
	srv     *kindetest.Server
	handler http.Handler
	user    kindetest.User
	m2m     kindetest.Client
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	srv := kindetest.Start(t)
	srv.AddAPI(testAPI, "read:todos", "write:todos")
	f := &apiFixture{srv: srv, user: srv.AddUser(kindetest.User{Email: "alice@example.com"})}
	f.m2m = srv.AddClient(kindetest.Client{Type: "m2m", Audiences: []string{testAPI}})
	if err := srv.AuthorizeM2M(f.m2m.ID, testAPI, "read:todos"); err != nil {
		t.Fatal(err)
	}
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{testAPI}, Now: srv.Now}))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("/me", web.RequireBearer()(web.RequireAuth()(ok)))
	mux.Handle("/read", web.RequireBearer()(web.RequireScope("read:todos")(ok)))
	mux.Handle("/write", web.RequireBearer()(web.RequireScope("write:todos")(ok)))
	mux.Handle("/either", web.RequireBearer()(web.RequirePermissionOrScope("read:todos")(ok)))
	f.handler = web.Middleware(mux)
	return f
}

func (f *apiFixture) do(t *testing.T, path, authorization string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://api.local"+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// Every kind of token an API may be sent, and what it answers (issue
// "Protect APIs", parts 1 to 3).
func TestResourceServerTokens(t *testing.T) {
	f := newAPIFixture(t)
	user, err := f.srv.IssueTokens(f.user.ID, kindetest.IssueOptions{Audience: []string{testAPI}})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := f.srv.IssueTokens(f.user.ID, kindetest.IssueOptions{Audience: []string{"https://other-api.example"}})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := f.srv.IssueM2MToken(f.m2m.ID, testAPI)
	if err != nil {
		t.Fatal(err)
	}
	// An ID token without the optional at_hash and nonce: recognised by its
	// audience (the client ID) and the absence of scp/scope.
	bareID := f.srv.Sign(map[string]any{"iss": f.srv.URL(), "sub": f.user.ID, "aud": []string{f.srv.ClientID()},
		"azp": f.srv.ClientID(), "iat": f.srv.Now().Unix(), "exp": f.srv.Now().Add(time.Hour).Unix(), "email": "alice@example.com"}, kindetest.Header{})
	// A refresh token that happens to be a JWT (other providers issue them).
	jwtRefresh := f.srv.Sign(map[string]any{"iss": f.srv.URL(), "sub": f.user.ID, "aud": []string{testAPI},
		"iat": f.srv.Now().Unix(), "exp": f.srv.Now().Add(time.Hour).Unix(), "typ": "Refresh", "scope": "offline"}, kindetest.Header{})
	expiredClaims := f.srv.AccessTokenClaims(f.user.ID, kindetest.IssueOptions{Audience: []string{testAPI}})
	expiredClaims["exp"] = f.srv.Now().Add(-time.Hour).Unix()
	expired := f.srv.Sign(expiredClaims, kindetest.Header{})
	atJWT := f.srv.Sign(f.srv.AccessTokenClaims(f.user.ID, kindetest.IssueOptions{Audience: []string{testAPI}}), kindetest.Header{Typ: "at+jwt"})

	tests := []struct {
		name, path, auth string
		want             int
		challenge        string
	}{
		{"user token", "/me", "Bearer " + user.AccessToken, http.StatusNoContent, ""},
		{"RFC 9068 at+jwt", "/me", "Bearer " + atJWT, http.StatusNoContent, ""},
		{"machine token", "/me", "Bearer " + machine.AccessToken, http.StatusNoContent, ""},
		{"no token", "/me", "", http.StatusUnauthorized, `Bearer realm="` + f.srv.URL() + `"`},
		{"no token, page load", "/me", "", http.StatusUnauthorized, ""},
		{"expired", "/me", "Bearer " + expired, http.StatusUnauthorized, `error="invalid_token"`},
		{"another API's token", "/me", "Bearer " + foreign.AccessToken, http.StatusUnauthorized, `error="invalid_token"`},
		{"ID token", "/me", "Bearer " + user.IDToken, http.StatusUnauthorized, `error="invalid_token"`},
		{"ID token without at_hash or nonce", "/me", "Bearer " + bareID, http.StatusUnauthorized, `error="invalid_token"`},
		{"Kinde refresh token (opaque)", "/me", "Bearer " + user.RefreshToken, http.StatusUnauthorized, `error="invalid_token"`},
		{"refresh token as a JWT", "/me", "Bearer " + jwtRefresh, http.StatusUnauthorized, `error="invalid_token"`},
		{"machine token with the scope", "/read", "Bearer " + machine.AccessToken, http.StatusNoContent, ""},
		{"machine token without the scope", "/write", "Bearer " + machine.AccessToken, http.StatusForbidden, `error="insufficient_scope", scope="write:todos"`},
		{"permission or scope: machine", "/either", "Bearer " + machine.AccessToken, http.StatusNoContent, ""},
		{"permission or scope: user without either", "/either", "Bearer " + user.AccessToken, http.StatusForbidden, `scope="read:todos"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if strings.Contains(tt.name, "page load") {
				rec = f.do(t, tt.path, tt.auth, "Accept", "text/html", "Sec-Fetch-Mode", "navigate")
			} else {
				rec = f.do(t, tt.path, tt.auth)
			}
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", got, tt.challenge)
			}
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("Location") != "" {
				t.Fatalf("an API redirected to %s", rec.Header().Get("Location"))
			}
		})
	}
}

// A program with only machine-to-machine credentials builds a client and
// gets tokens (issue "Protect APIs", part 6).
func TestMachineToMachineOnlyConfig(t *testing.T) {
	srv := kindetest.Start(t)
	m2m := srv.AddClient(kindetest.Client{Type: "m2m"})
	if err := srv.AuthorizeM2M(m2m.ID, srv.ManagementAudience()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KINDE_DOMAIN", srv.URL())
	t.Setenv("KINDE_CLIENT_ID", "")
	t.Setenv("KINDE_CLIENT_SECRET", "")
	t.Setenv("KINDE_MANAGEMENT_CLIENT_ID", m2m.ID)
	t.Setenv("KINDE_MANAGEMENT_CLIENT_SECRET", m2m.Secret)
	c, err := kinde.New(kinde.ConfigFromEnv())
	if err != nil {
		t.Fatalf("New with only the management credentials: %v", err)
	}
	tok, err := c.ClientCredentials(context.Background())
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("ClientCredentials: %v", err)
	}
	// Without the secret, the error names both variables that can hold one.
	t.Setenv("KINDE_MANAGEMENT_CLIENT_SECRET", "")
	c, err = kinde.New(kinde.ConfigFromEnv())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentials(context.Background())
	var ce *kinde.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "KINDE_MANAGEMENT_CLIENT_SECRET") || !strings.Contains(err.Error(), "KINDE_CLIENT_SECRET") {
		t.Fatalf("err = %v, want a ConfigError naming KINDE_MANAGEMENT_CLIENT_SECRET and KINDE_CLIENT_SECRET", err)
	}
}

// Tokens of the wrong kind are refused whatever the audience check says:
// with AnyAudience nothing else stands between them and the API (issue
// "Protect APIs", part 3: at_hash is optional in OpenID Connect).
func TestBearerRefusesOtherTokenKinds(t *testing.T) {
	srv := kindetest.Start(t)
	user := srv.AddUser(kindetest.User{Email: "alice@example.com"})
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.AnyAudience(),
		kinde.WithConfig(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now}))
	if err != nil {
		t.Fatal(err)
	}
	h := web.RequireBearer()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	issued, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{Nonce: "n-1"})
	if err != nil {
		t.Fatal(err)
	}
	base := func() map[string]any {
		return map[string]any{"iss": srv.URL(), "sub": user.ID, "iat": srv.Now().Unix(), "exp": srv.Now().Add(time.Hour).Unix()}
	}
	with := func(kv ...any) string {
		c := base()
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return srv.Sign(c, kindetest.Header{})
	}
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"access token", issued.AccessToken, http.StatusNoContent},
		{"ID token (at_hash)", issued.IDToken, http.StatusUnauthorized},
		{"ID token with only a nonce", with("aud", []string{"x"}, "nonce", "n-1"), http.StatusUnauthorized},
		{"ID token with only the client ID as audience", with("aud", []string{srv.ClientID()}, "azp", srv.ClientID()), http.StatusUnauthorized},
		{"token with the client ID as audience and scopes", with("aud", []string{srv.ClientID()}, "scp", []string{"openid"}), http.StatusNoContent},
		{"refresh token JWT (typ claim)", with("aud", []string{"x"}, "typ", "Refresh"), http.StatusUnauthorized},
		{"refresh token JWT (token_use claim)", with("aud", []string{"x"}, "token_use", "refresh"), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

// A guard placed before RequireBearer on an API sees no session even for a
// valid token; its 401 says what to fix instead of "sign in first".
func TestResourceServerGuardBeforeBearer(t *testing.T) {
	f := newAPIFixture(t)
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: f.srv.URL(), Audience: []string{testAPI}, Now: f.srv.Now}))
	if err != nil {
		t.Fatal(err)
	}
	h := web.Middleware(web.RequireScope("read:todos")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	machine, err := f.srv.IssueM2MToken(f.m2m.ID, testAPI)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/read", nil)
	req.Header.Set("Authorization", "Bearer "+machine.AccessToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "RequireBearer before this guard") {
		t.Fatalf("status %d, body %s; want 401 naming RequireBearer", rec.Code, rec.Body)
	}
}
