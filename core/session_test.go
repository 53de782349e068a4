package kinde_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// sessionTestKey is generated once: making an RSA key per emulator would
// dominate the run time.
var sessionTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// sessionFixture is an emulator with one user, member of two organizations
// (signed in to the first), with roles, permissions, flags and properties.
type sessionFixture struct {
	srv    *kindetest.Server
	client *kinde.Client
	user   kindetest.User
	org    kindetest.Organization
	org2   kindetest.Organization
}

func newSessionFixture(t *testing.T, opts ...kindetest.Option) *sessionFixture {
	t.Helper()
	srv := kindetest.Start(t, append([]kindetest.Option{kindetest.WithSigningKey(sessionTestKey())}, opts...)...)
	f := &sessionFixture{srv: srv}
	f.user = srv.AddUser(kindetest.User{
		Email: "jane@example.com", GivenName: "Jane", FamilyName: "Smith", Username: "jane",
		Picture: "https://example.com/jane.png", ProvidedID: "ext-42",
		Properties: map[string]any{"city": "Berlin", "seats": 3},
	})
	f.org = srv.AddOrganization(kindetest.Organization{Name: "Acme", Properties: map[string]any{"tier": "gold"}})
	f.org2 = srv.AddOrganization(kindetest.Organization{Name: "Globex"})
	srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: []string{"create:todos", "delete:todos"}})
	srv.AddRole(kindetest.Role{Key: "viewer", Name: "Viewer", Permissions: []string{"read:todos"}})
	must(t, srv.AddMember(f.org.Code, f.user.ID, "admin", "viewer"))
	must(t, srv.AddMember(f.org2.Code, f.user.ID, "viewer"))
	must(t, srv.SetFlag("dark_mode", true))
	must(t, srv.SetFlag("max_items", 25))
	must(t, srv.SetFlag("theme", "pink"))
	srv.SetProperty("region", "eu")
	c, err := kinde.New(kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: "http://localhost:8080/api/auth/kinde_callback",
	})
	must(t, err)
	f.client = c
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func toTokens(r kindetest.TokenResponse) *kinde.Tokens {
	return &kinde.Tokens{AccessToken: r.AccessToken, IDToken: r.IDToken, RefreshToken: r.RefreshToken,
		Scope: r.Scope, TokenType: r.TokenType, ExpiresIn: r.ExpiresIn}
}

// tokens issues tokens for the fixture's user as the token endpoint would.
func (f *sessionFixture) tokens(t *testing.T, o kindetest.IssueOptions) *kinde.Tokens {
	t.Helper()
	r, err := f.srv.IssueTokens(f.user.ID, o)
	must(t, err)
	return toTokens(r)
}

// session returns a verified session for the fixture's user.
func (f *sessionFixture) session(t *testing.T) *kinde.Session {
	t.Helper()
	s, err := f.client.Session(context.Background(), f.tokens(t, kindetest.IssueOptions{}))
	must(t, err)
	return s
}

// claimsSession signs a hand-made access token: the emulator's claims for
// the user with edit applied.
func (f *sessionFixture) claimsSession(t *testing.T, edit func(map[string]any)) *kinde.Session {
	t.Helper()
	claims := f.srv.AccessTokenClaims(f.user.ID, kindetest.IssueOptions{})
	edit(claims)
	s, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: f.srv.Sign(claims, kindetest.Header{})})
	must(t, err)
	return s
}

func TestSessionVerifies(t *testing.T) {
	f := newSessionFixture(t)
	other := newSessionFixture(t) // same key, different issuer
	good := f.tokens(t, kindetest.IssueOptions{})
	otherUser := f.srv.AddUser(kindetest.User{Email: "other@example.com"})
	otherTokens, err := f.srv.IssueTokens(otherUser.ID, kindetest.IssueOptions{})
	must(t, err)
	expiredClaims := f.srv.AccessTokenClaims(f.user.ID, kindetest.IssueOptions{})
	expiredClaims["exp"] = time.Now().Add(-time.Hour).Unix()
	expiredClaims["iat"] = time.Now().Add(-2 * time.Hour).Unix()

	tests := []struct {
		name   string
		tokens *kinde.Tokens
		want   error
	}{
		{"nil tokens", nil, nil},
		{"no access token", &kinde.Tokens{IDToken: good.IDToken}, nil},
		{"garbage access token", &kinde.Tokens{AccessToken: "not-a-jwt"}, kinde.ErrTokenMalformed},
		{"other issuer", other.tokens(t, kindetest.IssueOptions{}), kinde.ErrTokenIssuer},
		{"expired access token", &kinde.Tokens{AccessToken: f.srv.Sign(expiredClaims, kindetest.Header{})}, kinde.ErrTokenExpired},
		{"ID token of another user", &kinde.Tokens{AccessToken: good.AccessToken, IDToken: otherTokens.IDToken}, kinde.ErrTokenClaims},
		{"tampered ID token", &kinde.Tokens{AccessToken: good.AccessToken, IDToken: good.IDToken[:len(good.IDToken)-4] + "AAAA"}, kinde.ErrTokenSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := f.client.Session(context.Background(), tt.tokens)
			if err == nil || s != nil {
				t.Fatalf("Session = %v, %v; want an error", s, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestSessionAcceptsExpiredIDToken(t *testing.T) {
	f := newSessionFixture(t)
	f.srv.SetTokenLifetimes(0, time.Second, 0)
	tok := f.tokens(t, kindetest.IssueOptions{})
	c, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.srv.ClientID(),
		Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	must(t, err)
	s, err := c.Session(context.Background(), tok)
	if err != nil {
		t.Fatalf("Session with an ID token past its exp: %v", err)
	}
	if got := s.User().Email; got != "jane@example.com" {
		t.Fatalf("User().Email = %q", got)
	}
}

func TestSessionAudience(t *testing.T) {
	f := newSessionFixture(t)
	f.srv.AddAPI("https://api.example.com")
	tests := []struct {
		name    string
		aud     []string
		wantErr bool
	}{
		{"token for the configured audience", []string{"https://api.example.com"}, false},
		{"token without the configured audience", nil, true},
	}
	c, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.srv.ClientID(), Audience: []string{"https://api.example.com"}})
	must(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Session(context.Background(), f.tokens(t, kindetest.IssueOptions{Audience: tt.aud}))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, kinde.ErrTokenAudience) {
				t.Fatalf("err = %v; want ErrTokenAudience", err)
			}
		})
	}
}

func TestSessionClaims(t *testing.T) {
	f := newSessionFixture(t)
	s := f.claimsSession(t, func(c map[string]any) {
		c["nothing"] = nil
		c["count"] = 7
		c["nested"] = map[string]any{"a": []int{1, 2}}
	})
	full := f.session(t)
	tests := []struct {
		name        string
		got         kinde.ClaimValue
		wantPresent bool
		wantNull    bool
		wantString  string
	}{
		{"string claim", s.Claim("org_code"), true, false, f.org.Code},
		{"number claim", s.Claim("count"), true, false, "7"},
		{"object claim", s.Claim("nested"), true, false, `{"a":[1,2]}`},
		{"null claim", s.Claim("nothing"), true, true, ""},
		{"absent claim", s.Claim("missing"), false, false, ""},
		{"ID claim without ID token", s.IDClaims().Get("email"), false, false, ""},
		{"ID claim", full.IDClaims().Get("email"), true, false, "jane@example.com"},
		{"ID-only claim is not in the access token", full.Claim("given_name"), false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.Present != tt.wantPresent || tt.got.IsNull() != tt.wantNull || tt.got.String() != tt.wantString {
				t.Fatalf("got %+v (null %v, string %q); want present %v null %v string %q",
					tt.got, tt.got.IsNull(), tt.got.String(), tt.wantPresent, tt.wantNull, tt.wantString)
			}
		})
	}

	var n int
	if err := s.Claim("count").Decode(&n); err != nil || n != 7 {
		t.Fatalf("Decode(count) = %d, %v", n, err)
	}
	if err := s.Claim("missing").Decode(&n); !errors.Is(err, kinde.ErrClaimNotFound) {
		t.Fatalf("Decode(missing) err = %v; want ErrClaimNotFound", err)
	}
	var str string
	if err := s.Claim("count").Decode(&str); err == nil || errors.Is(err, kinde.ErrClaimNotFound) {
		t.Fatalf("Decode(count) into string err = %v; want a type error", err)
	}
	v := s.Claim("org_code")
	v.Value[1] = 'X' // the caller's copy; the session must not change
	if got := s.Claim("org_code").String(); got != f.org.Code {
		t.Fatalf("claim changed through a returned value: %q", got)
	}
}

func TestSessionAccessors(t *testing.T) {
	f := newSessionFixture(t)
	tok := f.tokens(t, kindetest.IssueOptions{})
	s, err := f.client.Session(context.Background(), tok)
	must(t, err)
	if s.AccessToken() != tok.AccessToken || s.Tokens().IDToken != tok.IDToken {
		t.Fatal("AccessToken/IDToken differ from the tokens given")
	}
	if s.UserID() != f.user.ID {
		t.Fatalf("UserID = %q; want %q", s.UserID(), f.user.ID)
	}
	if s.AccessClaims().Subject != f.user.ID || s.IDClaims().Subject != f.user.ID {
		t.Fatal("claims carry the wrong subject")
	}
	got := s.Tokens()
	if got.ExpiresAt.IsZero() {
		t.Fatal("Tokens().ExpiresAt not filled from the access token's exp")
	}
	if !got.ExpiresAt.Equal(s.AccessClaims().ExpiresAt) {
		t.Fatalf("ExpiresAt = %v; want %v", got.ExpiresAt, s.AccessClaims().ExpiresAt)
	}
	if s.Expired() {
		t.Fatal("fresh session reports Expired")
	}
	got.AccessToken = "changed"
	if s.AccessToken() == "changed" {
		t.Fatal("Tokens() did not return a copy")
	}
	noID, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: tok.AccessToken})
	must(t, err)
	if noID.IDClaims() != nil || noID.Tokens().IDToken != "" || noID.UserID() != f.user.ID {
		t.Fatal("session without an ID token has ID claims or lost the user ID")
	}
}

func TestSessionExpired(t *testing.T) {
	f := newSessionFixture(t)
	tok := f.tokens(t, kindetest.IssueOptions{})
	now := time.Now()
	clock := struct {
		sync.Mutex
		t time.Time
	}{t: now}
	c, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.srv.ClientID(), ClientSecret: f.srv.ClientSecret(),
		Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.t }})
	must(t, err)
	s, err := c.Session(context.Background(), tok)
	must(t, err)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"now", now, false},
		{"an hour before exp", s.AccessClaims().ExpiresAt.Add(-time.Hour), false},
		{"within the leeway of exp", s.AccessClaims().ExpiresAt.Add(-10 * time.Second), true},
		{"after exp", s.AccessClaims().ExpiresAt.Add(time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Lock()
			clock.t = tt.at
			clock.Unlock()
			if got := s.Expired(); got != tt.want {
				t.Fatalf("Expired() = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestSessionRefresh(t *testing.T) {
	tests := []struct {
		name      string
		refresh   bool // whether the tokens carry a refresh token
		wantErr   error
		wantFresh bool
	}{
		{"refreshes in place", true, nil, true},
		{"no refresh token", false, kinde.ErrNoRefreshToken, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSessionFixture(t, kindetest.WithFreshAccessTokenOnRefresh(true))
			tok := f.tokens(t, kindetest.IssueOptions{})
			if !tt.refresh {
				tok.RefreshToken = ""
			}
			s, err := f.client.Session(context.Background(), tok)
			must(t, err)
			if s.Permission("manage:billing").Granted {
				t.Fatal("permission granted before it was given")
			}
			f.srv.AddRole(kindetest.Role{Key: "billing", Permissions: []string{"manage:billing"}})
			must(t, f.srv.AddMember(f.org.Code, f.user.ID, "billing"))
			err = s.Refresh(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Refresh err = %v; want %v", err, tt.wantErr)
			}
			if got := s.Permission("manage:billing").Granted; got != tt.wantFresh {
				t.Fatalf("after Refresh, PermissionGranted = %v; want %v", got, tt.wantFresh)
			}
			if changed := s.AccessToken() != tok.AccessToken; changed != tt.wantFresh {
				t.Fatalf("access token changed = %v; want %v", changed, tt.wantFresh)
			}
		})
	}
}

func TestSessionRefreshInvalidGrant(t *testing.T) {
	f := newSessionFixture(t)
	tok := f.tokens(t, kindetest.IssueOptions{})
	tok.RefreshToken = "revoked-or-unknown"
	s, err := f.client.Session(context.Background(), tok)
	must(t, err)
	if err := s.Refresh(context.Background()); !errors.Is(err, kinde.ErrInvalidGrant) {
		t.Fatalf("Refresh err = %v; want ErrInvalidGrant", err)
	}
	if s.AccessToken() != tok.AccessToken {
		t.Fatal("a failed Refresh changed the session")
	}
}

func TestSessionConcurrentRefresh(t *testing.T) {
	f := newSessionFixture(t, kindetest.WithFreshAccessTokenOnRefresh(true))
	s := f.session(t)
	before := s.AccessToken()
	f.srv.ResetRequests()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- s.Refresh(context.Background())
		}()
		go func() { // readers race with the refreshes
			defer wg.Done()
			_ = s.Permissions()
			_, _ = s.BoolFlag("dark_mode", false)
			_ = s.User()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
	}
	if s.AccessToken() == before {
		t.Fatal("access token unchanged after refreshes")
	}
	if n := f.srv.Requests("/oauth2/token"); n < 1 || n > 8 {
		t.Fatalf("token endpoint called %d times; want 1..8", n)
	}
	if _, err := f.client.VerifyAccessToken(context.Background(), s.AccessToken()); err != nil {
		t.Fatalf("refreshed access token does not verify: %v", err)
	}
}

func TestClaimValueJSON(t *testing.T) {
	f := newSessionFixture(t)
	s := f.session(t)
	v := s.Claim("scp")
	var scopes []string
	must(t, v.Decode(&scopes))
	b, err := json.Marshal(scopes)
	must(t, err)
	if string(b) != `["openid","profile","email","offline"]` {
		t.Fatalf("scp = %s", b)
	}
}

func TestSessionSkipAccessTokenVerification(t *testing.T) {
	f := newSessionFixture(t)
	tok := f.tokens(t, kindetest.IssueOptions{})
	c, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.srv.ClientID(), SkipAccessTokenVerification: true})
	must(t, err)
	tests := []struct {
		name      string
		tokens    *kinde.Tokens
		wantErr   bool
		wantUser  string
		wantEmail string
	}{
		{"opaque access token with ID token", &kinde.Tokens{AccessToken: "opaque", IDToken: tok.IDToken}, false, f.user.ID, "jane@example.com"},
		{"opaque access token alone", &kinde.Tokens{AccessToken: "opaque"}, false, "", ""},
		{"ID token still verified", &kinde.Tokens{AccessToken: "opaque", IDToken: "bad.token.here"}, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.Session(context.Background(), tt.tokens)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Session err = %v; wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if s.UserID() != tt.wantUser || s.User().Email != tt.wantEmail {
				t.Fatalf("UserID %q, email %q", s.UserID(), s.User().Email)
			}
			if p := s.Permissions(); len(p.Keys) != 0 || s.Claim("sub").Present {
				t.Fatalf("access claims read from an unverified token: %+v", p)
			}
		})
	}
}
