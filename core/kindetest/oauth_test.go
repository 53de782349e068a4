package kindetest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	f := newFixture(t)
	status, disc := f.bearerGet(t, "/.well-known/openid-configuration", "")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	iss := f.srv.URL()
	want := map[string]string{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/oauth2/auth",
		"token_endpoint":         iss + "/oauth2/token",
		"jwks_uri":               iss + "/.well-known/jwks",
		"userinfo_endpoint":      iss + "/oauth2/v2/user_profile",
		"end_session_endpoint":   iss + "/logout",
		"revocation_endpoint":    iss + "/oauth2/revoke",
		"introspection_endpoint": iss + "/oauth2/introspect",
	}
	for k, v := range want {
		if disc[k] != v {
			t.Errorf("%s = %v, want %s", k, disc[k], v)
		}
	}
	if strings.HasSuffix(iss, "/") {
		t.Errorf("issuer %q has a trailing slash", iss)
	}
	for k, v := range map[string][]string{
		"response_types_supported":              {"code"},
		"code_challenge_methods_supported":      {"S256"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"token_endpoint_auth_methods_supported": {"client_secret_post"},
	} {
		if got := strs(disc[k]); !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}

	tok := f.login(t, f.alice.ID, nil)["access_token"].(string)
	kidRe := regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){15}$`)
	for _, path := range []string{"/.well-known/jwks", "/.well-known/jwks.json"} {
		status, body := f.bearerGet(t, path, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d", path, status)
		}
		keys := body["keys"].([]any)
		if len(keys) != 1 {
			t.Fatalf("%s: %d keys", path, len(keys))
		}
		k := keys[0].(map[string]any)
		if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || !slices.Equal(strs(k["key_ops"]), []string{"verify"}) {
			t.Errorf("%s: key fields %v", path, k)
		}
		if !kidRe.MatchString(k["kid"].(string)) {
			t.Errorf("kid %q is not colon-hex", k["kid"])
		}
		if headerOf(t, tok)["kid"] != k["kid"] {
			t.Errorf("token kid %v, JWKS kid %v", headerOf(t, tok)["kid"], k["kid"])
		}
		verifyWithJWK(t, tok, k)
	}
}

func verifyWithJWK(t *testing.T, tok string, k map[string]any) {
	t.Helper()
	nb, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
	eb, _ := base64.RawURLEncoding.DecodeString(k["e"].(string))
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("token does not verify with the published key: %v", err)
	}
}

func TestCodeFlowClaims(t *testing.T) {
	f := newFixture(t)
	body := f.login(t, f.alice.ID, url.Values{"audience": {"api.one api.two", "api.three"}})
	if body["token_type"] != "bearer" || body["expires_in"].(float64) != 86400 || body["scope"] != "openid profile email offline" {
		t.Errorf("token response %v", body)
	}
	if body["refresh_token"] == nil || body["id_token"] == nil {
		t.Fatalf("missing refresh or id token: %v", body)
	}
	at := claimsOf(t, body["access_token"].(string))
	if got := strs(at["aud"]); !slices.Equal(got, []string{"api.one", "api.two", "api.three"}) {
		t.Errorf("aud %v", got)
	}
	if at["azp"] != DefaultClientID || at["iss"] != f.srv.URL() || at["sub"] != f.alice.ID || at["org_code"] != f.demo.Acme.Code || at["org_name"] != "Acme" {
		t.Errorf("access claims %v", at)
	}
	if got := strs(at["permissions"]); !slices.Equal(got, []string{"create:todos", "delete:todos", "read:todos", "update:todos"}) {
		t.Errorf("permissions %v", got)
	}
	roles := at["roles"].([]any)
	if len(roles) != 1 || roles[0].(map[string]any)["key"] != "admin" || roles[0].(map[string]any)["id"] != f.demo.AdminRole.ID {
		t.Errorf("roles %v", roles)
	}
	flags := at["feature_flags"].(map[string]any)
	if fl := flags["max_todos"].(map[string]any); fl["t"] != "i" || fl["v"].(float64) != 10 {
		t.Errorf("max_todos flag %v", fl)
	}
	if fl := flags["dark_mode"].(map[string]any); fl["t"] != "b" || fl["v"] != false {
		t.Errorf("dark_mode flag %v", fl)
	}
	// The demo turns on roles and org_name, not properties (token_test.go
	// covers each claim of the token customization).
	if _, ok := at["user_properties"]; ok {
		t.Errorf("user_properties sent without the token customization: %v", at["user_properties"])
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(at["jti"].(string)) {
		t.Errorf("jti %v is not a UUID", at["jti"])
	}

	idt := claimsOf(t, body["id_token"].(string))
	sum := sha256.Sum256([]byte(body["access_token"].(string)))
	if idt["at_hash"] != base64.RawURLEncoding.EncodeToString(sum[:16]) {
		t.Errorf("at_hash %v", idt["at_hash"])
	}
	if idt["nonce"] != "n-456" || !slices.Equal(strs(idt["aud"]), []string{DefaultClientID}) || idt["email"] != "alice@example.com" || idt["name"] != "Alice Admin" {
		t.Errorf("id claims %v", idt)
	}
	if got := strs(idt["org_codes"]); !slices.Equal(got, []string{f.demo.Acme.Code, f.demo.Globex.Code}) {
		t.Errorf("org_codes %v", got)
	}

	// Sign in to Globex: member role there, and Globex's flag overrides.
	g := claimsOf(t, f.login(t, f.alice.ID, url.Values{"org_code": {f.demo.Globex.Code}})["access_token"].(string))
	if g["org_code"] != f.demo.Globex.Code || !slices.Equal(strs(g["permissions"]), []string{"create:todos", "read:todos"}) {
		t.Errorf("globex claims %v", g)
	}
	if fl := g["feature_flags"].(map[string]any)["theme"].(map[string]any); fl["v"] != "dark" {
		t.Errorf("org override not applied: %v", fl)
	}
	if got := f.srv.LastAuthorizeParams().Get("org_code"); got != f.demo.Globex.Code {
		t.Errorf("LastAuthorizeParams org_code = %q", got)
	}

	// User override wins over the org override.
	if err := f.srv.SetUserFlag(f.alice.ID, "theme", "pink"); err != nil {
		t.Fatal(err)
	}
	g = claimsOf(t, f.login(t, f.alice.ID, url.Values{"org_code": {f.demo.Globex.Code}})["access_token"].(string))
	if fl := g["feature_flags"].(map[string]any)["theme"].(map[string]any); fl["v"] != "pink" {
		t.Errorf("user override not applied: %v", fl)
	}

	// Without offline and openid there is neither refresh nor ID token.
	b := f.login(t, f.alice.ID, url.Values{"scope": {"profile offline_access"}})
	if b["refresh_token"] != nil || b["id_token"] != nil || b["scope"] != "profile" {
		t.Errorf("scope handling: %v", b)
	}
}

func TestIssuerResponseParam(t *testing.T) {
	f := newFixture(t, WithIssuerResponseParam(true))
	f.srv.SignInAs(f.alice.ID)
	red := f.authorize(t, authParams(""))
	if red.Get("iss") != f.srv.URL() || red.Get("state") != "st-123" {
		t.Errorf("redirect %v", red)
	}
}

func TestAuthorizeErrorPages(t *testing.T) {
	f := newFixture(t)
	f.srv.SignInAs(f.alice.ID)
	tests := []struct {
		name string
		edit func(url.Values)
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }},
		{"missing client", func(q url.Values) { q.Del("client_id") }},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "http://evil.example/cb") }},
		{"redirect with extra slash", func(q url.Values) { q.Set("redirect_uri", callback+"/") }},
		{"m2m client", func(q url.Values) { q.Set("client_id", DefaultM2MClientID) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams("")
			tt.edit(q)
			resp := f.get(t, "/oauth2/auth", q)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d location %q, want 400 page", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	f := newFixture(t)
	spa := f.srv.AddClient(Client{Type: "spa", RedirectURIs: []string{callback}})
	outsider := f.srv.AddUser(User{Email: "eve@example.com"})
	tests := []struct {
		name string
		as   string
		edit func(url.Values)
		want string
	}{
		{"implicit", f.alice.ID, func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"missing response_type", f.alice.ID, func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		{"plain PKCE", f.alice.ID, func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"short challenge", f.alice.ID, func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		{"spa without PKCE", f.alice.ID, func(q url.Values) {
			q.Set("client_id", spa.ID)
			q.Del("code_challenge")
			q.Del("code_challenge_method")
		}, "invalid_request"},
		{"bad prompt", f.alice.ID, func(q url.Values) { q.Set("prompt", "consent") }, "invalid_request"},
		{"repeated state", f.alice.ID, func(q url.Values) { q.Add("state", "x") }, "invalid_request"},
		{"unknown org", f.alice.ID, func(q url.Values) { q.Set("org_code", "org_000000000000") }, "invalid_request"},
		{"not a member", outsider.ID, func(q url.Values) { q.Set("org_code", f.demo.Acme.Code) }, "access_denied"},
		{"prompt none without session", "", func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.SignInAs(tt.as)
			_, ch := pkce()
			q := authParams(ch)
			tt.edit(q)
			red := f.authorize(t, q)
			if red.Get("error") != tt.want || red.Get("code") != "" {
				t.Fatalf("redirect %v, want error %s", red, tt.want)
			}
			if q.Get("state") != "" && red.Get("state") != q.Get("state") && tt.name != "repeated state" {
				t.Errorf("state %q not echoed", red.Get("state"))
			}
		})
	}
}

func TestFaultHooksOnAuthorize(t *testing.T) {
	f := newFixture(t)
	f.srv.SignInAs(f.alice.ID)
	f.srv.ExpireNextLoginLink()
	q := authParams("")
	q.Set("org_code", f.demo.Acme.Code)
	q.Set("login_hint", "alice@example.com")
	red := f.authorize(t, q)
	if red.Get("error") != "login_link_expired" {
		t.Fatalf("redirect %v", red)
	}
	raw, err := base64.StdEncoding.DecodeString(red.Get("reauth_state"))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st["orgCode"] != f.demo.Acme.Code || st["loginHint"] != "alice@example.com" {
		t.Errorf("reauth_state %v", st)
	}
	f.srv.CancelNextLogin()
	if red := f.authorize(t, q); red.Get("error") != "access_denied" {
		t.Errorf("cancel: %v", red)
	}
	if red := f.authorize(t, q); red.Get("code") == "" {
		t.Errorf("hooks are one-shot, got %v", red)
	}
}

func TestSignInPageSSOAndLogout(t *testing.T) {
	f := newFixture(t)
	_, ch := pkce()
	resp := f.get(t, "/oauth2/auth", authParams(ch))
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page status %d", resp.StatusCode)
	}
	if !strings.Contains(string(page), `id="signin-alice@example.com"`) || !strings.Contains(string(page), `data-user="`+f.alice.ID+`"`) {
		t.Fatalf("page lacks the sign-in button:\n%s", page)
	}
	m := regexp.MustCompile(`name="request" value="([0-9a-f]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no pending request id")
	}
	form := url.Values{"request": {string(m[1])}, "user": {f.alice.ID}}
	r2, err := f.c.PostForm(f.srv.URL()+"/oauth2/auth/approve", form)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	loc, _ := url.Parse(r2.Header.Get("Location"))
	if r2.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("approve: %d %s", r2.StatusCode, loc)
	}
	// The pending request is single-use.
	r3, err := f.c.PostForm(f.srv.URL()+"/oauth2/auth/approve", form)
	if err != nil {
		t.Fatal(err)
	}
	r3.Body.Close()
	if r3.StatusCode != http.StatusBadRequest {
		t.Errorf("second approve: %d", r3.StatusCode)
	}

	// SSO: prompt=none now succeeds for this browser.
	q := authParams(ch)
	q.Set("prompt", "none")
	if red := f.authorize(t, q); red.Get("code") == "" {
		t.Fatalf("prompt=none after sign-in: %v", red)
	}
	// Logout to an unregistered URL shows a page; to a registered one redirects.
	if resp := f.get(t, "/logout", url.Values{"redirect": {"http://evil.example"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered logout redirect: %d", resp.StatusCode)
	}
	resp = f.get(t, "/logout", url.Values{"redirect": {"http://localhost:8080"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://localhost:8080" {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if red := f.authorize(t, q); red.Get("error") != "login_required" {
		t.Errorf("prompt=none after logout: %v", red)
	}
}

func TestCreateOrgAndRegister(t *testing.T) {
	f := newFixture(t)
	body := f.login(t, f.demo.Bob.ID, url.Values{"prompt": {"create"}, "is_create_org": {"true"}, "org_name": {"Bob Co"}})
	at := claimsOf(t, body["access_token"].(string))
	code, _ := at["org_code"].(string)
	o, ok := f.srv.Organization(code)
	if !ok || o.Name != "Bob Co" || code == f.demo.Acme.Code {
		t.Fatalf("org %q %+v", code, o)
	}
	if !slices.Contains(strs(at["permissions"]), "delete:todos") {
		t.Errorf("creator is not admin: %v", at["permissions"])
	}
	// prompt=create with org_code joins the org with default roles.
	body = f.login(t, f.demo.Bob.ID, url.Values{"prompt": {"create"}, "org_code": {f.demo.Globex.Code}})
	at = claimsOf(t, body["access_token"].(string))
	if at["org_code"] != f.demo.Globex.Code || !slices.Contains(strs(at["permissions"]), "read:todos") {
		t.Errorf("registration into org: %v", at)
	}
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		edit       func(form url.Values, hdr http.Header)
		wantStatus int
		wantErr    string
	}{
		{"basic auth", func(form url.Values, hdr http.Header) {
			form.Del("client_secret")
			hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(DefaultClientID+":"+DefaultClientSecret)))
		}, 401, "invalid_client"},
		{"wrong secret", func(form url.Values, _ http.Header) { form.Set("client_secret", "x") }, 401, "invalid_client"},
		{"missing secret", func(form url.Values, _ http.Header) { form.Del("client_secret") }, 401, "invalid_client"},
		{"unknown client", func(form url.Values, _ http.Header) { form.Set("client_id", "nope") }, 401, "invalid_client"},
		{"missing grant", func(form url.Values, _ http.Header) { form.Del("grant_type") }, 400, "invalid_request"},
		{"password grant", func(form url.Values, _ http.Header) { form.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
		{"missing code", func(form url.Values, _ http.Header) { form.Del("code") }, 400, "invalid_request"},
		{"missing redirect", func(form url.Values, _ http.Header) { form.Del("redirect_uri") }, 400, "invalid_request"},
		{"wrong redirect", func(form url.Values, _ http.Header) { form.Set("redirect_uri", "http://localhost:8080/other") }, 400, "invalid_grant"},
		{"wrong verifier", func(form url.Values, _ http.Header) { form.Set("code_verifier", strings.Repeat("a", 43)) }, 400, "invalid_grant"},
		{"missing verifier", func(form url.Values, _ http.Header) { form.Del("code_verifier") }, 400, "invalid_grant"},
		{"bad code", func(form url.Values, _ http.Header) { form.Set("code", "nope") }, 400, "invalid_grant"},
		{"json body", func(_ url.Values, hdr http.Header) { hdr.Set("Content-Type", "application/json") }, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.SignInAs(f.alice.ID)
			verifier, ch := pkce()
			code := f.authorize(t, authParams(ch)).Get("code")
			form, hdr := codeForm(code, verifier), http.Header{}
			tt.edit(form, hdr)
			status, body := f.post(t, "/oauth2/token", form, hdr)
			if status != tt.wantStatus || errCode(body) != tt.wantErr || body["error_description"] == "" {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.wantStatus, tt.wantErr)
			}
		})
	}
	t.Run("expired code", func(t *testing.T) {
		f.srv.SignInAs(f.alice.ID)
		verifier, ch := pkce()
		code := f.authorize(t, authParams(ch)).Get("code")
		f.srv.Advance(DefaultCodeLifetime + time.Second)
		if status, body := f.post(t, "/oauth2/token", codeForm(code, verifier), nil); status != 400 || errCode(body) != "invalid_grant" {
			t.Fatalf("got %d %v", status, body)
		}
	})
	t.Run("verifier without challenge", func(t *testing.T) {
		f.srv.SignInAs(f.alice.ID)
		code := f.authorize(t, authParams("")).Get("code")
		if status, body := f.post(t, "/oauth2/token", codeForm(code, strings.Repeat("a", 43)), nil); status != 400 || errCode(body) != "invalid_grant" {
			t.Fatalf("got %d %v", status, body)
		}
	})
	t.Run("no PKCE for backend app", func(t *testing.T) {
		f.srv.SignInAs(f.alice.ID)
		code := f.authorize(t, authParams("")).Get("code")
		if status, body := f.post(t, "/oauth2/token", codeForm(code, ""), nil); status != 200 {
			t.Fatalf("got %d %v", status, body)
		}
	})
	t.Run("GET", func(t *testing.T) {
		if resp := f.get(t, "/oauth2/token", nil); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	f := newFixture(t)
	f.srv.SignInAs(f.alice.ID)
	verifier, ch := pkce()
	code := f.authorize(t, authParams(ch)).Get("code")
	status, body := f.post(t, "/oauth2/token", codeForm(code, verifier), nil)
	if status != 200 {
		t.Fatalf("first exchange %d %v", status, body)
	}
	status, replay := f.post(t, "/oauth2/token", codeForm(code, verifier), nil)
	if status != 400 || errCode(replay) != "invalid_grant" {
		t.Fatalf("replay: %d %v", status, replay)
	}
	if status, b := f.post(t, "/oauth2/token", refreshForm(body["refresh_token"].(string)), nil); status != 400 || errCode(b) != "invalid_grant" {
		t.Errorf("refresh after replay: %d %v", status, b)
	}
	if status, _ := f.bearerGet(t, "/oauth2/v2/user_profile", body["access_token"].(string)); status != 401 {
		t.Errorf("user_profile after replay: %d", status)
	}
}

func TestRefreshRotation(t *testing.T) {
	tests := []struct {
		name  string
		fresh bool
	}{{"kinde default reuses access token", false}, {"fresh access token", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, WithNow(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), WithFreshAccessTokenOnRefresh(tt.fresh))
			first := f.login(t, f.alice.ID, nil)
			rt1 := first["refresh_token"].(string)
			f.srv.Advance(time.Minute)
			status, second := f.post(t, "/oauth2/token", refreshForm(rt1), nil)
			if status != 200 {
				t.Fatalf("refresh: %d %v", status, second)
			}
			rt2 := second["refresh_token"].(string)
			if rt2 == rt1 {
				t.Fatal("refresh token not rotated")
			}
			same := second["access_token"] == first["access_token"]
			if same == tt.fresh {
				t.Errorf("access token reused = %v, want %v", same, !tt.fresh)
			}
			if !tt.fresh && second["expires_in"].(float64) != 86400-60 {
				t.Errorf("expires_in of reused token = %v", second["expires_in"])
			}
			// Grace period: the old token still works for 30 s.
			f.srv.Advance(RefreshGracePeriod - time.Second)
			if status, b := f.post(t, "/oauth2/token", refreshForm(rt1), nil); status != 200 {
				t.Fatalf("old token within grace: %d %v", status, b)
			}
			f.srv.Advance(time.Second)
			if status, b := f.post(t, "/oauth2/token", refreshForm(rt1), nil); status != 400 || errCode(b) != "invalid_grant" {
				t.Fatalf("old token after grace: %d %v", status, b)
			}
			// Wrong client.
			other := refreshForm(rt2)
			other.Set("client_id", DefaultM2MClientID)
			other.Set("client_secret", DefaultM2MClientSecret)
			if status, b := f.post(t, "/oauth2/token", other, nil); status != 400 || errCode(b) != "invalid_grant" {
				t.Errorf("other client: %d %v", status, b)
			}
			// The access token expires, so refresh yields a new one.
			f.srv.Advance(DefaultAccessTokenLifetime)
			status, third := f.post(t, "/oauth2/token", refreshForm(rt2), nil)
			if status != 200 || third["access_token"] == second["access_token"] {
				t.Fatalf("refresh after access expiry: %d same=%v", status, third["access_token"] == second["access_token"])
			}
			// The refresh token itself expires.
			f.srv.Advance(DefaultRefreshTokenLifetime)
			if status, b := f.post(t, "/oauth2/token", refreshForm(third["refresh_token"].(string)), nil); status != 400 || errCode(b) != "invalid_grant" {
				t.Errorf("expired refresh token: %d %v", status, b)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t)
	f.srv.AddAPI("https://api.example.com", "read:things", "write:things")
	limited := f.srv.AddClient(Client{Type: "m2m"})
	if err := f.srv.AuthorizeM2M(limited.ID, "https://api.example.com", "read:things"); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.AuthorizeM2M(limited.ID, "unknown-api"); err == nil {
		t.Error("AuthorizeM2M accepted an unregistered API")
	}
	cc := func(id, secret string, auds []string, scope string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "audience": auds}
		if scope != "" {
			v.Set("scope", scope)
		}
		return v
	}
	mgmt := f.srv.ManagementAudience()
	tests := []struct {
		name      string
		form      url.Values
		wantErr   string
		wantScope []string
	}{
		{"management audience", cc(DefaultM2MClientID, DefaultM2MClientSecret, []string{mgmt}, ""), "", managementScopes()},
		{"narrowed scope", cc(DefaultM2MClientID, DefaultM2MClientSecret, []string{mgmt}, "read:users"), "", []string{"read:users"}},
		{"custom API", cc(limited.ID, limited.Secret, []string{"https://api.example.com"}, ""), "", []string{"read:things"}},
		{"scope not granted", cc(limited.ID, limited.Secret, []string{"https://api.example.com"}, "write:things"), "invalid_scope", nil},
		{"audience not authorised", cc(limited.ID, limited.Secret, []string{mgmt}, ""), "unauthorized_client", nil},
		{"unknown audience", cc(DefaultM2MClientID, DefaultM2MClientSecret, []string{"nope"}, ""), "unauthorized_client", nil},
		{"backend app", cc(DefaultClientID, DefaultClientSecret, []string{mgmt}, ""), "unauthorized_client", nil},
		{"wrong secret", cc(DefaultM2MClientID, "x", []string{mgmt}, ""), "invalid_client", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.post(t, "/oauth2/token", tt.form, nil)
			if errCode(body) != tt.wantErr {
				t.Fatalf("got %d %v, want error %q", status, body, tt.wantErr)
			}
			if tt.wantErr != "" {
				return
			}
			c := claimsOf(t, body["access_token"].(string))
			if !slices.Equal(strs(c["scp"]), tt.wantScope) || c["scope"] != strings.Join(tt.wantScope, " ") {
				t.Errorf("scp %v scope %v, want %v", c["scp"], c["scope"], tt.wantScope)
			}
			if !slices.Equal(strs(c["gty"]), []string{"client_credentials"}) || c["v"] != "2" || !slices.Equal(strs(c["aud"]), tt.form["audience"]) {
				t.Errorf("m2m claims %v", c)
			}
			if body["id_token"] != nil || body["refresh_token"] != nil {
				t.Errorf("m2m response has user tokens: %v", body)
			}
		})
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	f := newFixture(t)
	m2m, err := f.srv.IssueM2MToken(DefaultM2MClientID, f.srv.ManagementAudience())
	if err != nil {
		t.Fatal(err)
	}
	introspect := func(tok string) map[string]any {
		t.Helper()
		status, body := f.post(t, "/oauth2/introspect", url.Values{"token": {tok}}, http.Header{"Authorization": {"Bearer " + m2m.AccessToken}})
		if status != 200 {
			t.Fatalf("introspect: %d %v", status, body)
		}
		return body
	}
	body := f.login(t, f.alice.ID, nil)
	at, rt := body["access_token"].(string), body["refresh_token"].(string)
	if in := introspect(at); in["active"] != true || in["sub"] != f.alice.ID || in["client_id"] != DefaultClientID {
		t.Errorf("active token: %v", in)
	}
	if in := introspect(rt); in["active"] != true || in["token_type"] != "refresh_token" {
		t.Errorf("active refresh token: %v", in)
	}
	if in := introspect("garbage"); in["active"] != false {
		t.Errorf("garbage: %v", in)
	}
	if status, b := f.post(t, "/oauth2/introspect", url.Values{"token": {at}}, nil); status != 401 || errCode(b) != "invalid_token" {
		t.Errorf("introspect without bearer: %d %v", status, b)
	}
	if status, b := f.post(t, "/oauth2/introspect", url.Values{}, http.Header{"Authorization": {"Bearer " + m2m.AccessToken}}); status != 400 {
		t.Errorf("introspect without token: %d %v", status, b)
	}

	revoke := func(form url.Values) int {
		t.Helper()
		status, _ := f.post(t, "/oauth2/revoke", form, nil)
		return status
	}
	if st := revoke(url.Values{"token": {at}, "client_id": {DefaultClientID}}); st != 401 {
		t.Errorf("revoke without secret: %d", st)
	}
	if st := revoke(url.Values{"token": {at}}); st != 400 {
		t.Errorf("revoke without client_id: %d", st)
	}
	if st := revoke(url.Values{"token": {at}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "token_type_hint": {"access_token"}}); st != 200 {
		t.Fatalf("revoke access: %d", st)
	}
	if in := introspect(at); in["active"] != false {
		t.Errorf("revoked access token still active: %v", in)
	}
	if status, b := f.bearerGet(t, "/oauth2/v2/user_profile", at); status != 401 || errCode(b) != "invalid_token" {
		t.Errorf("user_profile with revoked token: %d %v", status, b)
	}
	// Refresh still works and yields a new access token, since the old one was revoked.
	status, nb := f.post(t, "/oauth2/token", refreshForm(rt), nil)
	if status != 200 || nb["access_token"] == at {
		t.Fatalf("refresh after access revocation: %d", status)
	}
	if st := revoke(url.Values{"token": {nb["refresh_token"].(string)}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}); st != 200 {
		t.Fatalf("revoke refresh: %d", st)
	}
	if status, b := f.post(t, "/oauth2/token", refreshForm(nb["refresh_token"].(string)), nil); status != 400 || errCode(b) != "invalid_grant" {
		t.Errorf("revoked refresh token: %d %v", status, b)
	}
}

func TestUserProfile(t *testing.T) {
	f := newFixture(t)
	tok := f.login(t, f.alice.ID, nil)["access_token"].(string)
	status, p := f.bearerGet(t, "/oauth2/v2/user_profile", tok)
	if status != 200 || p["sub"] != f.alice.ID || p["id"] != f.alice.ID || p["email"] != "alice@example.com" ||
		p["given_name"] != "Alice" || p["preferred_username"] != "alice" || p["provided_id"] != nil || p["email_verified"] != true {
		t.Fatalf("profile %d %v", status, p)
	}
	m2m, err := f.srv.IssueM2MToken(DefaultM2MClientID, f.srv.ManagementAudience())
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"none": "", "garbage": "x.y.z", "m2m": m2m.AccessToken} {
		if status, b := f.bearerGet(t, "/oauth2/v2/user_profile", tok); status != 401 || errCode(b) != "invalid_token" {
			t.Errorf("%s: %d %v", name, status, b)
		}
	}
}

func TestForgedTokensRejected(t *testing.T) {
	f := newFixture(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	base := f.srv.AccessTokenClaims(f.alice.ID, IssueOptions{})
	if base["sub"] != f.alice.ID || base["org_code"] != f.demo.Acme.Code {
		t.Fatalf("baseline claims %v", base)
	}
	if status, _ := f.bearerGet(t, "/oauth2/v2/user_profile", f.srv.Sign(base, Header{})); status != 200 {
		t.Fatalf("baseline signed token rejected: %d", status)
	}
	expired := f.srv.AccessTokenClaims(f.alice.ID, IssueOptions{})
	expired["exp"] = f.srv.Now().Add(-time.Minute).Unix()
	wrongIss := f.srv.AccessTokenClaims(f.alice.ID, IssueOptions{})
	wrongIss["iss"] = "https://evil.example"
	tests := map[string]string{
		"alg none":      f.srv.Sign(base, Header{Alg: "none"}),
		"HS256 pubkey":  f.srv.Sign(base, Header{Alg: "HS256"}),
		"HS256 secret":  f.srv.Sign(base, Header{Alg: "HS256", Secret: []byte("s3cret")}),
		"other key":     f.srv.Sign(base, Header{Key: other}),
		"other key kid": f.srv.Sign(base, Header{Key: other, Kid: f.srv.KeyID()}),
		"no kid":        f.srv.Sign(base, Header{Kid: "-"}),
		"expired":       f.srv.Sign(expired, Header{}),
		"wrong issuer":  f.srv.Sign(wrongIss, Header{}),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if status, _ := f.bearerGet(t, "/oauth2/v2/user_profile", tok); status != 401 {
				t.Fatalf("status %d, want 401", status)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	old := f.login(t, f.alice.ID, nil)["access_token"].(string)
	oldKid := f.srv.KeyID()
	newKid, err := f.srv.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid || len(f.srv.PublicKeys()) != 2 {
		t.Fatalf("rotate: kid %s -> %s, %d keys", oldKid, newKid, len(f.srv.PublicKeys()))
	}
	_, jwks := f.bearerGet(t, "/.well-known/jwks", "")
	if n := len(jwks["keys"].([]any)); n != 2 {
		t.Errorf("JWKS has %d keys after rotation", n)
	}
	fresh := f.login(t, f.alice.ID, nil)["access_token"].(string)
	if headerOf(t, fresh)["kid"] != newKid {
		t.Errorf("new token kid %v, want %s", headerOf(t, fresh)["kid"], newKid)
	}
	if status, _ := f.bearerGet(t, "/oauth2/v2/user_profile", old); status != 200 {
		t.Errorf("old-key token rejected before retirement: %d", status)
	}
	f.srv.RetireOldKeys()
	if status, _ := f.bearerGet(t, "/oauth2/v2/user_profile", old); status != 401 {
		t.Errorf("old-key token accepted after retirement: %d", status)
	}
	if status, _ := f.bearerGet(t, "/oauth2/v2/user_profile", fresh); status != 200 {
		t.Errorf("new-key token rejected: %d", status)
	}
	if n := len(f.srv.PublicKeys()); n != 1 {
		t.Errorf("%d keys after retirement", n)
	}
}

func TestHasuraClaims(t *testing.T) {
	f := newFixture(t, WithHasuraClaims(true))
	body := f.login(t, f.alice.ID, nil)
	at := claimsOf(t, body["access_token"].(string))
	for _, k := range []string{"x-hasura-permissions", "x-hasura-org-code", "x-hasura-org-codes", "x-hasura-roles", "x-hasura-feature-flags"} {
		if _, ok := at[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	for _, k := range []string{"permissions", "org_code", "roles", "feature_flags"} {
		if _, ok := at[k]; ok {
			t.Errorf("plain claim %s present", k)
		}
	}
	// The Account API still finds the org through the Hasura claim.
	status, perms := f.bearerGet(t, "/account_api/v1/permissions", body["access_token"].(string))
	if status != 200 || perms["data"].(map[string]any)["org_code"] != f.demo.Acme.Code {
		t.Errorf("account API with hasura token: %d %v", status, perms)
	}
}

func TestIssueTokens(t *testing.T) {
	f := newFixture(t)
	tr, err := f.srv.IssueTokens(f.alice.ID, IssueOptions{OrgCode: f.demo.Globex.Code, Audience: []string{"a"}, Nonce: "nn"})
	if err != nil {
		t.Fatal(err)
	}
	at := claimsOf(t, tr.AccessToken)
	if at["org_code"] != f.demo.Globex.Code || !slices.Equal(strs(at["aud"]), []string{"a"}) || claimsOf(t, tr.IDToken)["nonce"] != "nn" {
		t.Errorf("claims %v", at)
	}
	if status, b := f.post(t, "/oauth2/token", refreshForm(tr.RefreshToken), nil); status != 200 {
		t.Errorf("refresh of issued token: %d %v", status, b)
	}
	if _, err := f.srv.IssueTokens(f.demo.Bob.ID, IssueOptions{OrgCode: f.demo.Globex.Code}); err == nil {
		t.Error("IssueTokens allowed a non-member org")
	}
	if _, err := f.srv.IssueTokens("kp_nope", IssueOptions{}); err == nil {
		t.Error("IssueTokens allowed an unknown user")
	}
}

func TestDeviceFlow(t *testing.T) {
	f := newFixture(t, WithNow(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	dev := f.srv.AddClient(Client{Type: "device"})
	start := func() map[string]any {
		t.Helper()
		status, b := f.post(t, "/oauth2/device/auth", url.Values{"client_id": {dev.ID}, "scope": {"openid offline"}}, nil)
		if status != 200 || b["device_code"] == nil || b["interval"].(float64) != 5 {
			t.Fatalf("device auth: %d %v", status, b)
		}
		return b
	}
	poll := func(code string) (int, map[string]any) {
		return f.post(t, "/oauth2/token", url.Values{"grant_type": {deviceGrant}, "client_id": {dev.ID}, "device_code": {code}}, nil)
	}
	d := start()
	code := d["device_code"].(string)
	if _, b := poll(code); errCode(b) != "authorization_pending" {
		t.Fatalf("first poll: %v", b)
	}
	if _, b := poll(code); errCode(b) != "slow_down" {
		t.Fatalf("fast poll: %v", b)
	}
	resp := f.get(t, "/device", url.Values{"user_code": {d["user_code"].(string)}})
	if page, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || !strings.Contains(string(page), "signin-alice@example.com") {
		t.Fatalf("device page %d", resp.StatusCode)
	}
	r, err := f.c.PostForm(f.srv.URL()+"/device", url.Values{"user_code": {d["user_code"].(string)}, "user": {f.alice.ID}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	f.srv.Advance(10 * time.Second)
	status, b := poll(code)
	if status != 200 || claimsOf(t, b["access_token"].(string))["sub"] != f.alice.ID {
		t.Fatalf("approved poll: %d %v", status, b)
	}
	if _, b := poll(code); errCode(b) != "invalid_grant" {
		t.Errorf("device code reused: %v", b)
	}

	d = start()
	if err := f.srv.DenyDevice(d["user_code"].(string)); err != nil {
		t.Fatal(err)
	}
	if _, b := poll(d["device_code"].(string)); errCode(b) != "access_denied" {
		t.Errorf("denied: %v", b)
	}
	d = start()
	f.srv.Advance(deviceCodeLifetime)
	if _, b := poll(d["device_code"].(string)); errCode(b) != "expired_token" {
		t.Errorf("expired: %v", b)
	}
	if status, b := f.post(t, "/oauth2/device/auth", url.Values{"client_id": {DefaultClientID}}, nil); status != 400 || errCode(b) != "unauthorized_client" {
		t.Errorf("non-device client: %d %v", status, b)
	}
}
