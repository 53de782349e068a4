package kinde

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestConfigDomainForms(t *testing.T) {
	tests := []struct {
		domain  string
		want    string
		wantErr string
	}{
		{"https://acme.kinde.com", "https://acme.kinde.com", ""},
		{"acme.kinde.com", "https://acme.kinde.com", ""},
		{"https://acme.kinde.com/", "https://acme.kinde.com", ""},
		{"acme.eu.kinde.com", "https://acme.eu.kinde.com", ""},
		{"auth.example.org", "https://auth.example.org", ""},
		{"http://localhost:8787", "http://localhost:8787", ""},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000", ""},
		{"http://[::1]:9000", "http://[::1]:9000", ""},
		{"http://acme.kinde.com", "", "plain http"},
		{"ftp://acme.kinde.com", "", "must use https"},
		{"", "", "is required"},
		{"https://acme.kinde.com?x=1", "", "bare origin"},
		{"https://user@acme.kinde.com", "", "bare origin"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			c, err := New(Config{Domain: tt.domain, ClientID: "id"})
			if tt.wantErr != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *ConfigError", err)
				}
				if ce.Field != "Domain" || ce.Env != envDomain || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "KINDE_DOMAIN") {
					t.Fatalf("err = %q, want field Domain, KINDE_DOMAIN and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Issuer() != tt.want {
				t.Fatalf("issuer = %q, want %q", c.Issuer(), tt.want)
			}
			if got := c.Config().ManagementAudience; got != tt.want+"/api" {
				t.Fatalf("management audience = %q", got)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	base := Config{Domain: "acme.kinde.com", ClientID: "id"}
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string
		env    string
	}{
		{"missing client id", func(c *Config) { c.ClientID = " " }, "ClientID", envClientID},
		{"relative redirect", func(c *Config) { c.RedirectURL = "/callback" }, "RedirectURL", envRedirectURL},
		{"http redirect off loopback", func(c *Config) { c.RedirectURL = "http://example.com/cb" }, "RedirectURL", envRedirectURL},
		{"bad logout url", func(c *Config) { c.PostLogoutRedirectURL = "javascript:alert(1)" }, "PostLogoutRedirectURL", envPostLogoutRedirectURL},
		{"scope with space", func(c *Config) { c.Scopes = []string{"openid email"} }, "Scopes", envScope},
		{"empty audience", func(c *Config) { c.Audience = []string{""} }, "Audience", envAudience},
		{"bad token path", func(c *Config) { c.TokenPath = "http://evil.example/token" }, "TokenPath", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mutate(&cfg)
			_, err := New(cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field || ce.Env != tt.env {
				t.Fatalf("err = %v, want ConfigError{Field:%s, Env:%s}", err, tt.field, tt.env)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := MustNew(Config{Domain: "acme.kinde.com", ClientID: "id"})
	cfg := c.Config()
	if strings.Join(cfg.Scopes, " ") != "openid offline email profile" {
		t.Errorf("scopes = %v", cfg.Scopes)
	}
	if cfg.Leeway != defaultLeeway || cfg.HTTPClient == nil || cfg.Logger == nil || cfg.Now == nil {
		t.Errorf("defaults not filled: %+v", cfg)
	}
	if c.ep.authorize != "https://acme.kinde.com/oauth2/auth" || c.ep.token != "https://acme.kinde.com/oauth2/token" ||
		c.ep.jwks != "https://acme.kinde.com/.well-known/jwks" {
		t.Errorf("endpoints = %+v", c.ep)
	}
	c2 := MustNew(Config{Domain: "acme.kinde.com", ClientID: "id", AuthorizePath: "/custom/auth", TokenPath: "https://other.example/token", Leeway: -1})
	if c2.ep.authorize != "https://acme.kinde.com/custom/auth" || c2.ep.token != "https://other.example/token" || c2.cfg.Leeway != 0 {
		t.Errorf("overrides: %+v leeway %v", c2.ep, c2.cfg.Leeway)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		envDomain: " acme.kinde.com ", envClientID: "cid", envClientSecret: "sec", envRedirectURL: "http://localhost:8080/cb",
		envPostLogoutRedirectURL: "http://localhost:8080", envAudience: "api1, api2", envScope: "openid email",
		envManagementClientID: "mid", envManagementClientSecret: "msec", envSessionSecret: "new-secret, old-secret", envDebug: "true",
	}
	cfg := configFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	want := Config{Domain: "acme.kinde.com", ClientID: "cid", ClientSecret: "sec", RedirectURL: "http://localhost:8080/cb",
		PostLogoutRedirectURL: "http://localhost:8080", ManagementClientID: "mid", ManagementClientSecret: "msec",
		SessionSecret: "new-secret", Debug: true}
	if cfg.Domain != want.Domain || cfg.ClientID != want.ClientID || cfg.ClientSecret != want.ClientSecret ||
		cfg.RedirectURL != want.RedirectURL || cfg.PostLogoutRedirectURL != want.PostLogoutRedirectURL ||
		cfg.ManagementClientID != want.ManagementClientID || cfg.ManagementClientSecret != want.ManagementClientSecret ||
		cfg.SessionSecret != want.SessionSecret || !cfg.Debug {
		t.Fatalf("cfg = %+v", cfg)
	}
	if strings.Join(cfg.Audience, "|") != "api1|api2" || strings.Join(cfg.Scopes, "|") != "openid|email" ||
		strings.Join(cfg.PreviousSessionSecrets, "|") != "old-secret" {
		t.Fatalf("lists: %v %v %v", cfg.Audience, cfg.Scopes, cfg.PreviousSessionSecrets)
	}
	t.Setenv(envDomain, "env.kinde.com")
	if ConfigFromEnv().Domain != "env.kinde.com" {
		t.Fatal("ConfigFromEnv does not read the process environment")
	}
}

func TestLogoutURL(t *testing.T) {
	c := MustNew(Config{Domain: "acme.kinde.com", ClientID: "id", PostLogoutRedirectURL: "http://localhost:8080/bye"})
	if got := c.LogoutURL(); got != "https://acme.kinde.com/logout?redirect=http%3A%2F%2Flocalhost%3A8080%2Fbye" {
		t.Errorf("LogoutURL() = %q", got)
	}
	if got := c.LogoutURL("https://app.example/x?y=1"); got != "https://acme.kinde.com/logout?redirect=https%3A%2F%2Fapp.example%2Fx%3Fy%3D1" {
		t.Errorf("LogoutURL(x) = %q", got)
	}
	c2 := MustNew(Config{Domain: "acme.kinde.com", ClientID: "id"})
	if got := c2.LogoutURL(); got != "https://acme.kinde.com/logout" {
		t.Errorf("LogoutURL without redirect = %q", got)
	}
}

func TestTokensJSONAndExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tok := Tokens{AccessToken: "a", IDToken: "i", RefreshToken: "r", ExpiresAt: now.Add(time.Hour), Scope: "openid", TokenType: "bearer", ExpiresIn: 3600}
	b, err := tok.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"access_token":"a","id_token":"i","refresh_token":"r","expires_at":1700003600,"scope":"openid","token_type":"bearer","expires_in":3600}`
	if string(b) != want {
		t.Fatalf("json = %s\nwant %s", b, want)
	}
	var back Tokens
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if back.AccessToken != "a" || !back.ExpiresAt.Equal(tok.ExpiresAt) || back.RefreshToken != "r" {
		t.Fatalf("round trip = %+v", back)
	}
	for _, tt := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"well before", now, false},
		{"inside leeway", now.Add(time.Hour - 10*time.Second), true},
		{"after", now.Add(2 * time.Hour), true},
	} {
		tok.now, tok.leeway = func() time.Time { return tt.at }, 30*time.Second
		if got := tok.Expired(); got != tt.want {
			t.Errorf("%s: Expired() = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !(&Tokens{}).Expired() {
		t.Error("empty tokens must count as expired")
	}
}

func TestAuthURL(t *testing.T) {
	c := MustNew(Config{Domain: "acme.kinde.com", ClientID: "cid", RedirectURL: "http://localhost:8080/cb", Audience: []string{"api-a"}})
	tests := []struct {
		name  string
		opts  []AuthOption
		check map[string][]string // param → exact values (nil = absent)
	}{
		{"defaults", nil, map[string][]string{"client_id": {"cid"}, "response_type": {"code"}, "redirect_uri": {"http://localhost:8080/cb"},
			"scope": {"openid offline email profile"}, "code_challenge_method": {"S256"}, "audience": {"api-a"}, "prompt": nil}},
		{"org and registration", []AuthOption{WithOrgCode("org_1"), WithRegistration()}, map[string][]string{"org_code": {"org_1"}, "prompt": {"create"}}},
		{"create org", []AuthOption{WithCreateOrg("Acme")}, map[string][]string{"is_create_org": {"true"}, "org_name": {"Acme"}, "prompt": {"create"}}},
		{"audiences", []AuthOption{WithAudience("a1", "a2")}, map[string][]string{"audience": {"a1", "a2"}}},
		{"scopes", []AuthOption{WithScopes("openid", "email")}, map[string][]string{"scope": {"openid email"}}},
		{"redirect", []AuthOption{WithRedirectURL("https://app.example/cb")}, map[string][]string{"redirect_uri": {"https://app.example/cb"}}},
		{"hints", []AuthOption{WithPrompt("login"), WithLoginHint("a@b.c"), WithConnectionID("conn_1"), WithLang("fr")},
			map[string][]string{"prompt": {"login"}, "login_hint": {"a@b.c"}, "connection_id": {"conn_1"}, "lang": {"fr"}}},
		{"invitation", []AuthOption{WithInvitationCode(" inv_1 ")}, map[string][]string{"invitation_code": {"inv_1"}, "is_invitation": {"true"}}},
		{"blank invitation", []AuthOption{WithInvitationCode("  ")}, map[string][]string{"invitation_code": nil, "is_invitation": nil}},
		{"reauth and billing", []AuthOption{withSupportsReauth(), WithPlanInterest("pro"), WithPricingTableKey("pt")},
			map[string][]string{"supports_reauth": {"true"}, "plan_interest": {"pro"}, "pricing_table_key": {"pt"}}},
		{"marketing and extra", []AuthOption{withMarketing(map[string]string{"utm_source": "x", "gclid": "g"}), WithParam("has_success_page", "true")},
			map[string][]string{"utm_source": {"x"}, "gclid": {"g"}, "has_success_page": {"true"}}},
		{"reauth state", []AuthOption{withReauthState("eyJvcmdDb2RlIjoib3JnXzIiLCJsb2dpbkhpbnQiOiJ4QHkueiIsInJlZGlyZWN0X3VyaSI6Imh0dHBzOi8vZXZpbC5leGFtcGxlIn0=")},
			map[string][]string{"org_code": {"org_2"}, "login_hint": {"x@y.z"}, "redirect_uri": {"http://localhost:8080/cb"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := c.AuthURL(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(req.URL)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme+"://"+u.Host+u.Path != "https://acme.kinde.com/oauth2/auth" {
				t.Fatalf("endpoint = %s", u)
			}
			q := u.Query()
			for k, want := range tt.check {
				if got := q[k]; strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if q.Get("state") != req.State || q.Get("nonce") != req.Nonce || q.Get("code_challenge") != pkceChallenge(req.CodeVerifier) {
				t.Errorf("state/nonce/challenge do not match the request: %+v", req)
			}
			if len(req.CodeVerifier) < 43 || len(req.State) < 32 {
				t.Errorf("verifier/state too short: %+v", req)
			}
		})
	}
}

func TestAuthURLFreshValues(t *testing.T) {
	c := MustNew(Config{Domain: "acme.kinde.com", ClientID: "cid", RedirectURL: "http://localhost:8080/cb"})
	seen := map[string]bool{}
	for range 50 {
		req, err := c.AuthURL()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{req.State, req.Nonce, req.CodeVerifier} {
			if seen[v] {
				t.Fatalf("value %q repeated", v)
			}
			seen[v] = true
		}
	}
}

func TestAuthURLRejects(t *testing.T) {
	c := MustNew(Config{Domain: "acme.kinde.com", ClientID: "cid", RedirectURL: "http://localhost:8080/cb"})
	for _, name := range []string{"client_id", "response_type", "code_challenge", "state", "nonce", "redirect_uri", "code_challenge_method", "scope", "audience"} {
		if _, err := c.AuthURL(WithParam(name, "x")); err == nil {
			t.Errorf("WithParam(%q) accepted", name)
		}
	}
	bad := []AuthOption{
		withMarketing(map[string]string{"evil": "1"}),
		WithRedirectURL("//evil.example"),
		WithScopes("a b"),
		withReauthState("%%%"),
		withReauthState("bm90IGpzb24="),
	}
	for i, o := range bad {
		if _, err := c.AuthURL(o); err == nil {
			t.Errorf("bad option %d accepted", i)
		}
	}
	noRedirect := MustNew(Config{Domain: "acme.kinde.com", ClientID: "cid"})
	var ce *ConfigError
	if _, err := noRedirect.AuthURL(); !errors.As(err, &ce) || ce.Env != envRedirectURL {
		t.Errorf("missing redirect: %v", err)
	}
	noPKCE := MustNew(Config{Domain: "acme.kinde.com", ClientID: "cid", RedirectURL: "http://localhost/cb", DisablePKCE: true})
	req, _ := noPKCE.AuthURL()
	if req.CodeVerifier != "" || strings.Contains(req.URL, "code_challenge") {
		t.Errorf("PKCE disabled but sent: %s", req.URL)
	}
}

func TestErrorMessages(t *testing.T) {
	te := &TokenError{Endpoint: "token", Code: "invalid_grant", Description: "bad code", StatusCode: 400}
	if !errors.Is(te, ErrInvalidGrant) || errors.Is(te, ErrInvalidClient) || !strings.Contains(te.Error(), "start a new sign-in") {
		t.Errorf("invalid_grant: %v", te)
	}
	te = &TokenError{Endpoint: "token", Code: "invalid_client", StatusCode: 401}
	if !errors.Is(te, ErrInvalidClient) || !strings.Contains(te.Error(), "KINDE_CLIENT_SECRET") {
		t.Errorf("invalid_client: %v", te)
	}
	if !errors.Is(&TokenError{StatusCode: 429}, ErrRateLimited) {
		t.Error("429 is not ErrRateLimited")
	}
	ve := &VerifyError{Token: "ID token", Err: ErrTokenNonce}
	if !errors.Is(ve, ErrTokenNonce) {
		t.Error("VerifyError does not unwrap")
	}
}
