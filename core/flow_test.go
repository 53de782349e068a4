package kinde_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
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

const testRedirect = "http://localhost:8080/api/auth/kinde_callback"

// env is an emulator plus a client configured for it, sharing one clock.
type env struct {
	srv    *kindetest.Server
	client *kinde.Client
	user   kindetest.User
}

func newEnv(t *testing.T, mutate ...func(*kinde.Config)) *env {
	t.Helper()
	srv := kindetest.Start(t)
	srv.AllowRedirectURI(srv.ClientID(), testRedirect)
	user := srv.AddUser(kindetest.User{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Admin"})
	srv.SignInAs(user.ID)
	cfg := kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: testRedirect, Now: srv.Now, JWKSRefreshInterval: time.Minute,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := kinde.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, client: c, user: user}
}

// authorize follows a sign-in request at the emulator and returns the
// callback query (code and state).
func (e *env) authorize(t *testing.T, req *kinde.AuthRequest) url.Values {
	t.Helper()
	resp, err := e.srv.Client().Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), req.RedirectURL) {
		t.Fatalf("authorize redirected to %s", loc)
	}
	return loc.Query()
}

func (e *env) login(t *testing.T, opts ...kinde.AuthOption) (*kinde.AuthRequest, *kinde.Tokens) {
	t.Helper()
	req, err := e.client.AuthURL(opts...)
	if err != nil {
		t.Fatal(err)
	}
	q := e.authorize(t, req)
	if q.Get("state") != req.State {
		t.Fatalf("state = %q, want %q", q.Get("state"), req.State)
	}
	tok, err := e.client.ExchangeCode(context.Background(), req, q)
	if err != nil {
		t.Fatal(err)
	}
	return req, tok
}

func TestCodeFlow(t *testing.T) {
	e := newEnv(t)
	_, tok := e.login(t)
	if tok.AccessToken == "" || tok.IDToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" {
		t.Fatalf("tokens = %+v", tok)
	}
	if tok.Expired() || tok.ExpiresAt.Before(e.srv.Now()) {
		t.Fatalf("fresh tokens expired: %v", tok.ExpiresAt)
	}
	claims, err := e.client.VerifyIDToken(context.Background(), tok.IDToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != e.user.ID {
		t.Fatalf("sub = %q", claims.Subject)
	}
	if got := e.srv.LastAuthorizeParams(); got.Get("code_challenge_method") != "S256" || got.Get("supports_reauth") != "" {
		t.Fatalf("authorize params = %v", got)
	}
}

func TestExchangeErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		run     func(t *testing.T, e *env) error
		want    error
		errCode string
	}{
		{"wrong PKCE verifier", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			bad := *req
			bad.CodeVerifier = strings.Repeat("x", 50)
			_, err := e.client.ExchangeCode(ctx, &bad, q)
			return err
		}, kinde.ErrInvalidGrant, "invalid_grant"},
		{"replayed code", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			if _, err := e.client.ExchangeCode(ctx, req, q); err != nil {
				t.Fatal(err)
			}
			_, err := e.client.ExchangeCode(ctx, req, q)
			return err
		}, kinde.ErrInvalidGrant, "invalid_grant"},
		{"redirect mismatch", func(t *testing.T, e *env) error {
			e.srv.AllowRedirectURI(e.srv.ClientID(), "http://localhost:8080/other")
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			other := *req
			other.RedirectURL = "http://localhost:8080/other"
			_, err := e.client.ExchangeCode(ctx, &other, q)
			return err
		}, kinde.ErrInvalidGrant, "invalid_grant"},
		{"nonce mismatch", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			other := *req
			other.Nonce = "another-nonce"
			_, err := e.client.ExchangeCode(ctx, &other, q)
			return err
		}, kinde.ErrTokenNonce, ""},
		{"expired code", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			e.srv.Advance(11 * time.Minute)
			_, err := e.client.ExchangeCode(ctx, req, q)
			return err
		}, kinde.ErrInvalidGrant, "invalid_grant"},
		{"wrong client secret", func(t *testing.T, e *env) error {
			c := kinde.MustNew(kinde.Config{Domain: e.srv.URL(), ClientID: e.srv.ClientID(), ClientSecret: "wrong", RedirectURL: testRedirect})
			req, _ := c.AuthURL()
			q := e.authorize(t, req)
			_, err := c.ExchangeCode(ctx, req, q)
			return err
		}, kinde.ErrInvalidClient, "invalid_client"},
		// The callback must belong to the sign-in request (issue 17 #12:
		// state and RFC 9207 iss are checked by the low-level API too).
		{"callback of another sign-in", func(t *testing.T, e *env) error {
			first, _ := e.client.AuthURL()
			second, _ := e.client.AuthURL()
			q := e.authorize(t, first)
			_, err := e.client.ExchangeCode(ctx, second, q)
			return err
		}, kinde.ErrInvalidCallback, ""},
		{"callback without state", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			q.Del("state")
			_, err := e.client.ExchangeCode(ctx, req, q)
			return err
		}, kinde.ErrInvalidCallback, ""},
		{"callback from another issuer", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			q.Set("iss", "https://evil.example")
			_, err := e.client.ExchangeCode(ctx, req, q)
			return err
		}, kinde.ErrInvalidCallback, ""},
		{"callback with two codes", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := e.authorize(t, req)
			q.Add("code", "second")
			_, err := e.client.ExchangeCode(ctx, req, q)
			return err
		}, kinde.ErrInvalidCallback, ""},
		{"callback reports an error", func(t *testing.T, e *env) error {
			req, _ := e.client.AuthURL()
			q := url.Values{"state": {req.State}, "error": {"access_denied"}, "error_description": {"The user declined"}}
			_, err := e.client.ExchangeCode(ctx, req, q)
			return err
		}, nil, "access_denied"},
		{"nil request", func(t *testing.T, e *env) error {
			_, err := e.client.ExchangeCode(ctx, nil, url.Values{"code": {"x"}})
			return err
		}, nil, ""},
		{"missing verifier", func(t *testing.T, e *env) error {
			_, err := e.client.ExchangeCode(ctx, &kinde.AuthRequest{State: "state-of-this-sign-in"}, url.Values{"code": {"code"}, "state": {"state-of-this-sign-in"}})
			return err
		}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			err := tt.run(t, e)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.errCode != "" {
				var te *kinde.TokenError
				if !errors.As(err, &te) || te.Code != tt.errCode || (te.Endpoint != "authorization" && te.StatusCode < 400) {
					t.Fatalf("err = %#v, want *TokenError %s", err, tt.errCode)
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	e := newEnv(t, func(c *kinde.Config) { c.Audience = []string{"https://api.example"} })
	ctx := context.Background()
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	base := func() map[string]any {
		return e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{Audience: []string{"https://api.example"}})
	}
	now := e.srv.Now()
	tests := []struct {
		name   string
		token  func() string
		want   error
		wantOK bool
	}{
		{"valid", func() string { return e.srv.Sign(base(), kindetest.Header{}) }, nil, true},
		{"expired", func() string {
			c := base()
			c["exp"] = now.Add(-time.Minute).Unix()
			return e.srv.Sign(c, kindetest.Header{})
		}, kinde.ErrTokenExpired, false},
		{"expired within leeway", func() string {
			c := base()
			c["exp"] = now.Add(-10 * time.Second).Unix()
			return e.srv.Sign(c, kindetest.Header{})
		}, nil, true},
		{"not yet valid", func() string {
			c := base()
			c["nbf"] = now.Add(time.Hour).Unix()
			return e.srv.Sign(c, kindetest.Header{})
		}, kinde.ErrTokenNotYetValid, false},
		{"iat far in the future", func() string {
			c := base()
			c["iat"] = now.Add(time.Hour).Unix()
			return e.srv.Sign(c, kindetest.Header{})
		}, kinde.ErrTokenNotYetValid, false},
		// Security review, finding 3: base64 decoding skipped CR and LF, so
		// these spellings of a valid token verified (each one a new cache
		// entry).
		{"trailing LF", func() string { return e.srv.Sign(base(), kindetest.Header{}) + "\n" }, kinde.ErrTokenMalformed, false},
		{"CRLF in the signature", func() string {
			tok := e.srv.Sign(base(), kindetest.Header{})
			i := strings.LastIndexByte(tok, '.') + 8
			return tok[:i] + "\r\n" + tok[i:]
		}, kinde.ErrTokenMalformed, false},
		{"wrong issuer", func() string {
			c := base()
			c["iss"] = "https://other.kinde.com"
			return e.srv.Sign(c, kindetest.Header{})
		}, kinde.ErrTokenIssuer, false},
		{"wrong audience", func() string {
			c := base()
			c["aud"] = []string{"https://other-api.example"}
			return e.srv.Sign(c, kindetest.Header{})
		}, kinde.ErrTokenAudience, false},
		{"missing exp", func() string {
			c := base()
			delete(c, "exp")
			return e.srv.Sign(c, kindetest.Header{})
		}, kinde.ErrTokenClaims, false},
		{"alg none", func() string { return e.srv.Sign(base(), kindetest.Header{Alg: "none"}) }, kinde.ErrTokenAlgorithm, false},
		{"HS256 with the public key", func() string { return e.srv.Sign(base(), kindetest.Header{Alg: "HS256"}) }, kinde.ErrTokenAlgorithm, false},
		{"signed by another key", func() string { return e.srv.Sign(base(), kindetest.Header{Key: otherKey, Kid: e.srv.KeyID()}) }, kinde.ErrTokenSignature, false},
		{"unknown kid", func() string { return e.srv.Sign(base(), kindetest.Header{Key: otherKey, Kid: "aa:bb"}) }, kinde.ErrTokenUnknownKey, false},
		{"tampered payload", func() string {
			tok := e.srv.Sign(base(), kindetest.Header{})
			parts := strings.Split(tok, ".")
			c := base()
			c["permissions"] = []string{"admin:everything"}
			forged := strings.Split(e.srv.Sign(c, kindetest.Header{}), ".")
			return parts[0] + "." + forged[1] + "." + parts[2]
		}, kinde.ErrTokenSignature, false},
		{"truncated", func() string { tok := e.srv.Sign(base(), kindetest.Header{}); return tok[:len(tok)-10] }, kinde.ErrTokenSignature, false},
		{"two parts", func() string { return "abc.def" }, kinde.ErrTokenMalformed, false},
		{"garbage", func() string { return "!!!.###.$$$" }, kinde.ErrTokenMalformed, false},
		{"empty", func() string { return "" }, kinde.ErrTokenMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := e.client.VerifyAccessToken(ctx, tt.token())
			if tt.wantOK {
				if err != nil || claims.Subject != e.user.ID {
					t.Fatalf("claims %v, err %v", claims, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ve *kinde.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("err %T is not *VerifyError", err)
			}
		})
	}
}

func TestVerifyCacheStillChecksTime(t *testing.T) {
	e := newEnv(t)
	tok, err := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.client.VerifyAccessToken(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	e.srv.Advance(time.Duration(tok.ExpiresIn+60) * time.Second)
	if _, err := e.client.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, kinde.ErrTokenExpired) {
		t.Fatalf("cached token after expiry: err = %v", err)
	}
}

func TestUnknownKidSingleRefetch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if _, err := e.client.VerifyAccessToken(ctx, first.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine verifies a different token signed by the new key.
			tok, err := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
			if err != nil {
				errs <- err
				return
			}
			_, err = e.client.VerifyAccessToken(ctx, tok.AccessToken)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.Requests("/.well-known/jwks"); n != 1 {
		t.Fatalf("JWKS fetched %d times for 100 concurrent verifications, want 1", n)
	}
	// A flood of tokens with a kid nobody publishes costs no more fetches
	// within the refresh interval.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for range 50 {
		bad := e.srv.Sign(e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: other, Kid: "unknown"})
		if _, err := e.client.VerifyAccessToken(ctx, bad); !errors.Is(err, kinde.ErrTokenUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := e.srv.Requests("/.well-known/jwks"); n != 1 {
		t.Fatalf("unknown-kid flood caused %d JWKS fetches, want 1", n)
	}
	// After the interval, one more fetch is allowed.
	e.srv.Advance(2 * time.Minute)
	bad := e.srv.Sign(e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: other, Kid: "unknown"})
	_, _ = e.client.VerifyAccessToken(ctx, bad)
	if n := e.srv.Requests("/.well-known/jwks"); n != 2 {
		t.Fatalf("after the interval: %d fetches, want 2", n)
	}
}

func TestKeyRotationAndOutage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if _, err := e.client.VerifyAccessToken(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	// JWKS goes down: the cached key keeps verifying new tokens.
	e.srv.SetFault("/.well-known/jwks", kindetest.Fault{Status: http.StatusServiceUnavailable})
	tok2, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if _, err := e.client.VerifyAccessToken(ctx, tok2.AccessToken); err != nil {
		t.Fatalf("during JWKS outage: %v", err)
	}
	// Rotation during the outage: the new key cannot be learned yet. That is
	// an outage, not a bad token (security review, finding 10): the error
	// matches ErrKeySetUnavailable and ErrUnavailable, not ErrTokenUnknownKey.
	if _, err := e.srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	tok3, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	_, err := e.client.VerifyAccessToken(ctx, tok3.AccessToken)
	if !errors.Is(err, kinde.ErrKeySetUnavailable) || !errors.Is(err, kinde.ErrUnavailable) || errors.Is(err, kinde.ErrTokenUnknownKey) {
		t.Fatalf("new key during outage: %v", err)
	}
	// JWKS back: after the refresh interval the new key is picked up.
	e.srv.ClearFaults()
	e.srv.Advance(2 * time.Minute)
	if _, err := e.client.VerifyAccessToken(ctx, tok3.AccessToken); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// Old key retired: tokens it signed stop verifying once the set is refetched.
	e.srv.RetireOldKeys()
	e.srv.Advance(2 * time.Hour)
	tok4, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if _, err := e.client.VerifyAccessToken(ctx, tok4.AccessToken); err != nil {
		t.Fatal(err)
	}
	// The token signed by the retired key, although verified and cached
	// before, is rejected now that its key left the key set.
	if _, err := e.client.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, kinde.ErrTokenUnknownKey) {
		t.Fatalf("token of a retired key: %v", err)
	}
}

func TestJWKSDownAtStart(t *testing.T) {
	e := newEnv(t)
	e.srv.SetFault("/.well-known/jwks", kindetest.Fault{Status: http.StatusInternalServerError})
	tok, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	ctx := context.Background()
	for range 5 {
		if _, err := e.client.VerifyAccessToken(ctx, tok.AccessToken); !errors.Is(err, kinde.ErrKeySetUnavailable) {
			t.Fatalf("err = %v, want ErrKeySetUnavailable", err)
		}
	}
	if n := e.srv.Requests("/.well-known/jwks"); n != 1 {
		t.Fatalf("%d fetches while down, want 1 (rate limited)", n)
	}
	e.srv.ClearFaults()
	e.srv.Advance(10 * time.Second)
	if _, err := e.client.VerifyAccessToken(ctx, tok.AccessToken); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, tok := e.login(t)
	e.srv.Advance(25 * time.Hour) // access token expired: Kinde issues a new one
	nt, err := e.client.Refresh(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if nt.RefreshToken == tok.RefreshToken || nt.AccessToken == tok.AccessToken || nt.Expired() {
		t.Fatalf("refresh did not rotate: %+v", nt)
	}
	// The old refresh token works during the grace period, then not.
	if _, err := e.client.Refresh(ctx, tok); err != nil {
		t.Fatalf("old refresh token within grace: %v", err)
	}
	e.srv.Advance(time.Minute)
	if _, err := e.client.Refresh(ctx, tok); !errors.Is(err, kinde.ErrInvalidGrant) {
		t.Fatalf("old refresh token after grace: %v", err)
	}
	if _, err := e.client.Refresh(ctx, &kinde.Tokens{AccessToken: "x"}); !errors.Is(err, kinde.ErrNoRefreshToken) {
		t.Fatalf("no refresh token: %v", err)
	}
}

func TestClientCredentialsTokenSource(t *testing.T) {
	e := newEnv(t, func(c *kinde.Config) {})
	m2m := e.srv.AddClient(kindetest.Client{Type: "m2m"})
	if err := e.srv.AuthorizeM2M(m2m.ID, e.srv.ManagementAudience()); err != nil {
		t.Fatal(err)
	}
	c := kinde.MustNew(kinde.Config{Domain: e.srv.URL(), ClientID: e.srv.ClientID(), ManagementClientID: m2m.ID, ManagementClientSecret: m2m.Secret, Now: e.srv.Now})
	ctx := context.Background()
	tok, err := c.ClientCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := c.VerifyAccessToken(ctx, tok.AccessToken, kinde.VerifyAudience(c.Config().ManagementAudience))
	if err != nil || claims.AuthorizedParty != m2m.ID {
		t.Fatalf("m2m token: %v %v", claims, err)
	}
	if _, err := c.ClientCredentials(ctx, "https://not-authorized.example"); !errors.Is(err, kinde.ErrInvalidClient) {
		t.Fatalf("unauthorized audience: %v", err)
	}
	e.srv.ResetRequests()
	ts := c.ClientCredentialsTokenSource()
	var wg sync.WaitGroup
	tokens := make(chan string, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens <- tk.AccessToken
		}()
	}
	wg.Wait()
	close(tokens)
	first := ""
	for tk := range tokens {
		if first == "" {
			first = tk
		} else if tk != first {
			t.Fatal("goroutines got different tokens")
		}
	}
	if n := e.srv.Requests("/oauth2/token"); n != 1 {
		t.Fatalf("%d token requests for 100 goroutines, want 1", n)
	}
	// Close to expiry the source renews, once.
	e.srv.Advance(time.Duration(tok.ExpiresIn)*time.Second - 30*time.Second)
	for range 10 {
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.Requests("/oauth2/token"); n != 2 {
		t.Fatalf("%d token requests after renewal, want 2", n)
	}
}

// Kinde's SDKs refresh stored tokens whose access token has expired when
// they build a per-user client (auto_refresh_tokens, on by default), so
// Client.Session does too, unless auto-refresh is off or there is no
// refresh token to use.
func TestSessionAutoRefresh(t *testing.T) {
	tests := []struct {
		name        string
		disable     bool
		dropRefresh bool
		revoke      bool
		want        error
	}{
		{name: "expired access token is refreshed"},
		{name: "auto-refresh off", disable: true, want: kinde.ErrTokenExpired},
		{name: "no refresh token", dropRefresh: true, want: kinde.ErrTokenExpired},
		{name: "refresh token revoked", revoke: true, want: kinde.ErrInvalidGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *kinde.Config) { c.DisableAutoRefresh = tt.disable })
			_, tok := e.login(t)
			if tt.dropRefresh {
				tok.RefreshToken = ""
			}
			if tt.revoke {
				if err := e.client.RevokeToken(context.Background(), tok.RefreshToken, "refresh_token"); err != nil {
					t.Fatal(err)
				}
			}
			e.srv.Advance(tok.ExpiresAt.Sub(e.srv.Now()) + time.Hour)
			sess, err := e.client.Session(context.Background(), tok)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := sess.Tokens()
			if got.AccessToken == tok.AccessToken || got.RefreshToken == tok.RefreshToken || got.Expired() {
				t.Fatalf("session kept the old tokens: expired %v", got.Expired())
			}
			if sess.UserID() != e.user.ID {
				t.Fatalf("user %q, want %q", sess.UserID(), e.user.ID)
			}
		})
	}
}

// Security review, finding 13: an expires_in that is not seconds (a
// provider sent nanoseconds) overflowed time.Duration, so fresh tokens
// reported Expired() and the web layer refreshed on every request. The
// token's exp decides instead.
func TestExpiresInOutOfRange(t *testing.T) {
	e := newEnv(t)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		body["expires_in"] = int64(86399) * int64(time.Second) // nanoseconds
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	defer proxy.Close()
	c, err := kinde.New(kinde.Config{
		Domain: e.srv.URL(), ClientID: e.srv.ClientID(), ClientSecret: e.srv.ClientSecret(),
		RedirectURL: testRedirect, Now: e.srv.Now, TokenPath: proxy.URL + "/oauth2/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.ExchangeCode(context.Background(), req, e.authorize(t, req))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := c.VerifyAccessToken(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Expired() || !tok.ExpiresAt.Equal(claims.ExpiresAt) {
		t.Fatalf("ExpiresAt %v (expired %v), want the token's exp %v", tok.ExpiresAt, tok.Expired(), claims.ExpiresAt)
	}
}

// Security review, finding 14: an absolute endpoint URL with a query of its
// own (…/authorize?p=policy) got a second "?", which swallowed the client
// ID into the endpoint's parameter.
func TestEndpointURLsWithQuery(t *testing.T) {
	c, err := kinde.New(kinde.Config{
		Domain: "https://acme.kinde.com", ClientID: "cid", RedirectURL: testRedirect,
		AuthorizePath:         "https://login.acme.example/authorize?p=policy&ui=dark",
		LogoutPath:            "https://login.acme.example/logout?p=policy",
		PostLogoutRedirectURL: "http://localhost:8080/",
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, raw string
		want      map[string]string
	}{
		{"authorize", req.URL, map[string]string{"p": "policy", "ui": "dark", "client_id": "cid", "state": req.State}},
		{"logout", c.LogoutURL(), map[string]string{"p": "policy", "redirect": "http://localhost:8080/"}},
	} {
		if strings.Count(tc.raw, "?") != 1 {
			t.Errorf("%s URL %q has %d '?'", tc.name, tc.raw, strings.Count(tc.raw, "?"))
		}
		u, err := url.Parse(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.want {
			if got := u.Query().Get(k); got != v {
				t.Errorf("%s URL %q: %s = %q, want %q", tc.name, tc.raw, k, got, v)
			}
		}
	}
}
