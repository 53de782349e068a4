package kinde_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// Relying-party conformance: every check of the OpenID Foundation's Basic
// RP and Config RP test plans that applies to a code-flow client, run
// through the real code flow against an emulator whose token replies can be
// tampered with (kindetest.Tamperer), once at the client level
// (ExchangeCode) and once through the web layer's callback.

// rpKeys are RSA keys shared by the tests of this file: generating one per
// emulator would dominate the run time.
var rpKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var out [2]*rsa.PrivateKey
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

// rpEnv is a tampering emulator with a client and a web layer for it.
type rpEnv struct {
	srv    *kindetest.Tamperer
	cfg    kinde.Config
	client *kinde.Client
	web    http.Handler // the sign-in routes
	app    http.Handler // the sign-in routes, and "user=<sub>" or "anonymous" elsewhere
	user   kindetest.User
}

func newRPEnv(t *testing.T, mutate func(*kinde.Config), opts ...kindetest.Option) *rpEnv {
	t.Helper()
	srv := kindetest.StartTampering(t, append([]kindetest.Option{kindetest.WithSigningKey(rpKeys()[0])}, opts...)...)
	srv.AllowRedirectURI(srv.ClientID(), testRedirect)
	user := srv.AddUser(kindetest.User{Email: "rp@example.com", GivenName: "Relying", FamilyName: "Party"})
	srv.SignInAs(user.ID)
	cfg := kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: testRedirect, SessionSecret: webTestSecret, Now: srv.Now,
		Logger: slog.New(slog.DiscardHandler),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	e := &rpEnv{srv: srv, cfg: cfg, user: user}
	e.restart(t)
	return e
}

// restart replaces the application by a new instance with cold caches (the
// same configuration, so sessions carry over), as a deployment does.
func (e *rpEnv) restart(t *testing.T, opts ...kinde.WebOption) {
	t.Helper()
	client, err := kinde.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	web, err := kinde.NewWeb(append([]kinde.WebOption{kinde.WithClient(client)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", web.Handler())
	mux.Handle("/", web.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := kinde.SessionFrom(r.Context()); s != nil {
			fmt.Fprintf(w, "user=%s", s.UserID())
			return
		}
		fmt.Fprint(w, "anonymous")
	})))
	e.client, e.web, e.app = client, web.Handler(), mux
}

// authorize sends the browser to Kinde's authorization URL and returns the
// callback query Kinde redirects back with.
func (e *rpEnv) authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := e.srv.Client()
	defer c.CloseIdleConnections()
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), testRedirect+"?") {
		t.Fatalf("authorize answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// exchange runs a sign-in at the client level and returns ExchangeCode's result.
func (e *rpEnv) exchange(t *testing.T) (*kinde.Tokens, error) {
	t.Helper()
	req, err := e.client.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	q := e.authorize(t, req.URL)
	if q.Get("state") != req.State {
		t.Fatalf("state %q, want %q", q.Get("state"), req.State)
	}
	return e.client.ExchangeCode(context.Background(), req, q)
}

// callback runs a sign-in through the web layer: the login route, Kinde,
// then the callback route with the query edited by edit (when not nil).
func (e *rpEnv) callback(t *testing.T, edit func(url.Values)) *httptest.ResponseRecorder {
	t.Helper()
	return e.callbackCtx(context.Background(), t, edit)
}

// callbackCtx is callback with the callback request under ctx.
func (e *rpEnv) callbackCtx(ctx context.Context, t *testing.T, edit func(url.Values)) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	e.web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:8080"+kinde.DefaultPaths().Login, nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("login answered %d", rec.Code)
	}
	flow := rec.Result().Cookies()
	q := e.authorize(t, rec.Header().Get("Location"))
	if edit != nil {
		edit(q)
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, testRedirect+"?"+q.Encode(), nil)
	req.Header.Set("Accept", "text/html")
	for _, c := range flow {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	e.web.ServeHTTP(rec, req)
	return rec
}

// sessionSet reports whether a reply set a session cookie.
func sessionSet(rec *httptest.ResponseRecorder) bool {
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, "kinde_session") && c.MaxAge >= 0 && c.Value != "" {
			return true
		}
	}
	return false
}

// wantCallback checks the web layer's answer: 302 with a session when ok,
// else the given status without one.
func wantCallback(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("callback answered %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if got, want := sessionSet(rec), status == http.StatusFound; got != want {
		t.Fatalf("callback answered %d and set a session: %v, want %v", rec.Code, got, want)
	}
}

func TestRPIDTokenChecks(t *testing.T) {
	other := rpKeys()[1]
	rotate := func(t *testing.T, e *rpEnv) {
		if _, err := e.srv.RotateKey(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *rpEnv)
		id     kindetest.TokenEdit
		access kindetest.TokenEdit
		want   error // nil: accepted
	}{
		{name: "rp-id_token-sig-rs256: honest token", id: func(map[string]any, *kindetest.Header) {}},
		{name: "rp-id_token-sig-none", id: func(_ map[string]any, h *kindetest.Header) { h.Alg = "none" }, want: kinde.ErrTokenAlgorithm},
		{name: "HS256 keyed with the public key", id: func(_ map[string]any, h *kindetest.Header) { h.Alg = "HS256" }, want: kinde.ErrTokenAlgorithm},
		{name: "HS256 keyed with the client secret", id: func(_ map[string]any, h *kindetest.Header) {
			h.Alg, h.Secret = "HS256", []byte(kindetest.DefaultClientSecret)
		}, want: kinde.ErrTokenAlgorithm},
		{name: "rp-id_token-bad-sig-rs256: wrong key, right kid", id: func(_ map[string]any, h *kindetest.Header) {
			h.Key, h.Kid = other, keyIDOf(t, rpKeys()[0])
		}, want: kinde.ErrTokenSignature},
		{name: "rp-id_token-kid-absent-single-jwks", id: func(_ map[string]any, h *kindetest.Header) { h.Kid = "-" }},
		{name: "rp-id_token-kid-absent-multiple-jwks", setup: rotate,
			id: func(_ map[string]any, h *kindetest.Header) { h.Kid = "-" }, want: kinde.ErrTokenUnknownKey},
		{name: "kid of a key nobody publishes", id: func(_ map[string]any, h *kindetest.Header) { h.Key, h.Kid = other, "attacker" }, want: kinde.ErrTokenUnknownKey},
		{name: "rp-id_token-issuer-mismatch", id: func(c map[string]any, _ *kindetest.Header) { c["iss"] = "https://evil.kinde.com" }, want: kinde.ErrTokenIssuer},
		{name: "rp-id_token-aud: aud without the client", id: func(c map[string]any, _ *kindetest.Header) { c["aud"] = []string{"another-client"} }, want: kinde.ErrTokenAudience},
		{name: "several audiences, azp another client", id: func(c map[string]any, _ *kindetest.Header) {
			c["aud"], c["azp"] = []string{kindetest.DefaultClientID, "another-client"}, "another-client"
		}, want: kinde.ErrTokenAudience},
		// Security review, finding 15: azp, when present, must be the
		// client even with a single audience.
		{name: "one audience, azp another client", id: func(c map[string]any, _ *kindetest.Header) {
			c["aud"], c["azp"] = []string{kindetest.DefaultClientID}, "another-client"
		}, want: kinde.ErrTokenAudience},
		{name: "rp-nonce-invalid: nonce missing", id: func(c map[string]any, _ *kindetest.Header) { delete(c, "nonce") }, want: kinde.ErrTokenNonce},
		{name: "rp-nonce-invalid: wrong nonce", id: func(c map[string]any, _ *kindetest.Header) { c["nonce"] = "another-sign-in" }, want: kinde.ErrTokenNonce},
		{name: "rp-id_token-iat: iat far in the future", id: func(c map[string]any, _ *kindetest.Header) {
			c["iat"] = time.Now().Add(time.Hour).Unix()
		}, want: kinde.ErrTokenNotYetValid},
		{name: "rp-id_token-iat: iat missing", id: func(c map[string]any, _ *kindetest.Header) { delete(c, "iat") }, want: kinde.ErrTokenClaims},
		{name: "expired", id: func(c map[string]any, _ *kindetest.Header) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, want: kinde.ErrTokenExpired},
		{name: "exp missing", id: func(c map[string]any, _ *kindetest.Header) { delete(c, "exp") }, want: kinde.ErrTokenClaims},
		{name: "rp-id_token-sub: sub missing", id: func(c map[string]any, _ *kindetest.Header) { delete(c, "sub") }, want: kinde.ErrTokenClaims},
		{name: "sub of another user than the access token's", id: func(c map[string]any, _ *kindetest.Header) { c["sub"] = "kp_someone_else" }, want: kinde.ErrTokenClaims},
		{name: "access token signed with alg none", access: func(_ map[string]any, h *kindetest.Header) { h.Alg = "none" }, want: kinde.ErrTokenAlgorithm},
		{name: "access token of another issuer", access: func(c map[string]any, _ *kindetest.Header) { c["iss"] = "https://evil.kinde.com" }, want: kinde.ErrTokenIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, level := range []string{"ExchangeCode", "callback"} {
				t.Run(level, func(t *testing.T) {
					e := newRPEnv(t, nil)
					if tt.setup != nil {
						tt.setup(t, e)
					}
					if tt.id != nil {
						e.srv.EditNextIDToken(tt.id)
					}
					if tt.access != nil {
						e.srv.EditNextAccessToken(tt.access)
					}
					if level == "callback" {
						status := http.StatusFound
						if tt.want != nil {
							status = http.StatusBadRequest
						}
						wantCallback(t, e.callback(t, nil), status)
					} else {
						tok, err := e.exchange(t)
						if tt.want == nil {
							if err != nil || tok.IDToken == "" {
								t.Fatalf("honest tokens rejected: %v", err)
							}
						} else {
							var ve *kinde.VerifyError
							if !errors.Is(err, tt.want) || !errors.As(err, &ve) {
								t.Fatalf("err = %v, want a *VerifyError matching %v", err, tt.want)
							}
						}
					}
					if n := e.srv.Pending(); n != 0 {
						t.Fatalf("%d token edits were never applied: the case did not run", n)
					}
				})
			}
		})
	}
}

func keyIDOf(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	srv := kindetest.New(kindetest.WithIssuer("http://127.0.0.1"), kindetest.WithSigningKey(k))
	defer srv.Close()
	return srv.KeyID()
}

// rp-key-rotation-op-sign-key: after Kinde rotates its signing key, the
// first token with the new kid makes the client fetch the key set once,
// then verifies.
func TestRPKeyRotation(t *testing.T) {
	for _, level := range []string{"ExchangeCode", "callback"} {
		t.Run(level, func(t *testing.T) {
			e := newRPEnv(t, nil)
			signIn := func() {
				t.Helper()
				if level == "callback" {
					wantCallback(t, e.callback(t, nil), http.StatusFound)
				} else if _, err := e.exchange(t); err != nil {
					t.Fatal(err)
				}
			}
			signIn()
			if n := e.srv.Requests("/.well-known/jwks"); n != 1 {
				t.Fatalf("%d key set fetches for the first sign-in, want 1", n)
			}
			signIn()
			if n := e.srv.Requests("/.well-known/jwks"); n != 1 {
				t.Fatalf("%d key set fetches after a second sign-in with the same key, want 1", n)
			}
			kid, err := e.srv.RotateKey()
			if err != nil {
				t.Fatal(err)
			}
			signIn()
			if n := e.srv.Requests("/.well-known/jwks"); n != 2 {
				t.Fatalf("%d key set fetches after the rotation to %s, want 2 (one refetch)", n, kid)
			}
			signIn()
			if n := e.srv.Requests("/.well-known/jwks"); n != 2 {
				t.Fatalf("%d key set fetches after another sign-in with the new key, want still 2", n)
			}
		})
	}
}

// The state, RFC 9207 iss and code checks of the callback. A rejected
// callback never reaches Kinde's token endpoint.
func TestRPCallbackChecks(t *testing.T) {
	tests := []struct {
		name     string
		issParam bool
		edit     func(q url.Values)
		status   int
		exchange bool // the code reaches the token endpoint
	}{
		{"state and code as sent", false, nil, http.StatusFound, true},
		{"state missing", false, func(q url.Values) { q.Del("state") }, http.StatusBadRequest, false},
		{"state wrong", false, func(q url.Values) { q.Set("state", strings.Repeat("Q", 43)) }, http.StatusBadRequest, false},
		{"state malformed", false, func(q url.Values) { q.Set("state", "../../x") }, http.StatusBadRequest, false},
		{"code missing", false, func(q url.Values) { q.Del("code") }, http.StatusBadRequest, false},
		{"code of nobody", false, func(q url.Values) { q.Set("code", "forged-code") }, http.StatusBadRequest, true},
		{"RFC 9207: iss present and matching", true, nil, http.StatusFound, true},
		{"RFC 9207: iss present and wrong", true, func(q url.Values) { q.Set("iss", "https://evil.kinde.com") }, http.StatusBadRequest, false},
		{"RFC 9207: iss with a trailing slash", true, func(q url.Values) { q.Set("iss", q.Get("iss")+"/") }, http.StatusBadRequest, false},
		{"RFC 9207: iss repeated", true, func(q url.Values) { q.Add("iss", "https://evil.kinde.com") }, http.StatusBadRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRPEnv(t, nil, kindetest.WithIssuerResponseParam(tt.issParam))
			before := e.srv.Requests("/oauth2/token")
			rec := e.callback(t, func(q url.Values) {
				if got := q.Get("iss"); tt.issParam != (got == e.srv.URL()) {
					t.Fatalf("the emulator sent iss=%q; WithIssuerResponseParam(%v)", got, tt.issParam)
				}
				if tt.edit != nil {
					tt.edit(q)
				}
			})
			wantCallback(t, rec, tt.status)
			if got := e.srv.Requests("/oauth2/token") > before; got != tt.exchange {
				t.Fatalf("token endpoint called: %v, want %v", got, tt.exchange)
			}
		})
	}
}

// Code replay: a code works once; its second use fails and, as RFC 9700
// asks of the authorization server, revokes what the first use obtained.
func TestRPCodeReplay(t *testing.T) {
	e := newRPEnv(t, nil)
	ctx := context.Background()
	req, err := e.client.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	q := e.authorize(t, req.URL)
	first, err := e.client.ExchangeCode(ctx, req, q)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ExchangeCode(ctx, req, q)
	var te *kinde.TokenError
	if !errors.Is(err, kinde.ErrInvalidGrant) || !errors.As(err, &te) || te.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed code: %v, want invalid_grant", err)
	}
	if _, err := e.client.Refresh(ctx, first); !errors.Is(err, kinde.ErrInvalidGrant) {
		t.Fatalf("refresh token of a replayed code: %v, want invalid_grant", err)
	}
}
