// Package interop checks the SDK against an OpenID provider that this
// project did not write: zitadel/oidc's example server, a tool of the root
// go.mod. TestMain builds it with `go build` and starts it on a free port
// (see provider_test.go); INTEROP_OIDC_* environment variables point the
// tests at another provider instead. The tests use only the public API of
// package kinde.
package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// discovery is the part of the provider's OpenID configuration the tests use.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
}

func discover(t *testing.T, ctx context.Context, issuer string) discovery {
	t.Helper()
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("fetch %s (is the OpenID provider still running?): %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch %s: HTTP %d", u, resp.StatusCode)
	}
	var d discovery
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("decode %s: %v", u, err)
	}
	if d.Issuer != issuer {
		t.Fatalf("discovery issuer is %q, the provider's issuer is %q", d.Issuer, issuer)
	}
	if !slices.Contains(d.IDTokenAlgs, "RS256") {
		t.Fatalf("provider signs ID tokens with %q; the SDK accepts only RS256", d.IDTokenAlgs)
	}
	return d
}

// config maps the provider's endpoints onto the SDK's configuration. The
// Domain is the issuer's origin; every endpoint is given as an absolute URL
// taken from discovery, and the issuer is passed as the provider spells it.
func config(t *testing.T, d discovery, clientID, clientSecret, redirectURL string, scopes []string) kinde.Config {
	t.Helper()
	iss, err := url.Parse(d.Issuer)
	if err != nil {
		t.Fatalf("parse issuer %q: %v", d.Issuer, err)
	}
	return kinde.Config{
		Domain:          iss.Scheme + "://" + iss.Host,
		Issuer:          d.Issuer,
		ClientID:        clientID,
		ClientSecret:    clientSecret,
		RedirectURL:     redirectURL,
		Scopes:          scopes,
		AuthorizePath:   d.AuthorizationEndpoint,
		TokenPath:       d.TokenEndpoint,
		JWKSPath:        d.JWKSURI,
		UserProfilePath: d.UserinfoEndpoint,
		RevokePath:      d.RevocationEndpoint,
		IntrospectPath:  d.IntrospectionEndpoint,
		LogoutPath:      d.EndSessionEndpoint,
		// The provider's access tokens are opaque (encrypted), not JWS.
		SkipAccessTokenVerification: true,
	}
}

func newClient(t *testing.T, cfg kinde.Config) *kinde.Client {
	t.Helper()
	c, err := kinde.New(cfg)
	if err != nil {
		t.Fatalf("kinde.New: %v", err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestAuthorizationCodeFlow(t *testing.T) {
	p := testProvider(t)
	ctx := testContext(t)
	d := discover(t, ctx, p.issuer)
	c := newClient(t, config(t, d, p.clientID, p.clientSecret, p.redirectURL, p.scopes))

	req, err := c.AuthURL()
	if err != nil {
		t.Fatalf("AuthURL: %v", err)
	}
	if req.CodeVerifier == "" || req.State == "" || req.Nonce == "" {
		t.Fatalf("AuthURL returned an incomplete request: %+v", req)
	}
	code := signIn(t, ctx, req.URL, p)

	callback := url.Values{"code": {code}, "state": {req.State}}
	toks, err := c.ExchangeCode(ctx, req, callback)
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if toks.AccessToken == "" || toks.IDToken == "" || toks.RefreshToken == "" {
		t.Fatalf("ExchangeCode: missing tokens (access %t, id %t, refresh %t)",
			toks.AccessToken != "", toks.IDToken != "", toks.RefreshToken != "")
	}
	if !toks.ExpiresAt.After(time.Now()) || toks.Expired() {
		t.Fatalf("ExchangeCode: access token already expired at %v", toks.ExpiresAt)
	}
	if alg := jwtAlg(t, toks.IDToken); alg != "RS256" {
		t.Fatalf("ID token alg is %q, want RS256", alg)
	}

	claims, err := c.VerifyIDToken(ctx, toks.IDToken, req.Nonce)
	if err != nil {
		t.Fatalf("VerifyIDToken: %v", err)
	}
	if claims.Subject != p.subject {
		t.Errorf("ID token sub = %q, want %q", claims.Subject, p.subject)
	}
	if claims.Nonce != req.Nonce {
		t.Errorf("ID token nonce = %q, want %q", claims.Nonce, req.Nonce)
	}
	if claims.Issuer != p.issuer {
		t.Errorf("ID token iss = %q, want %q", claims.Issuer, p.issuer)
	}
	if !claims.HasAudience(p.clientID) {
		t.Errorf("ID token aud = %q, want it to contain %q", claims.Audience, p.clientID)
	}

	// The verification is real: a wrong nonce and a tampered signature fail.
	if _, err := c.VerifyIDToken(ctx, toks.IDToken, req.Nonce+"x"); !errors.Is(err, kinde.ErrTokenNonce) {
		t.Errorf("VerifyIDToken with a wrong nonce: err = %v, want ErrTokenNonce", err)
	}
	if _, err := c.VerifyIDToken(ctx, tamper(toks.IDToken), req.Nonce); !errors.Is(err, kinde.ErrTokenSignature) {
		t.Errorf("VerifyIDToken of a tampered token: err = %v, want ErrTokenSignature", err)
	}

	// A code is good for one exchange only.
	if _, err := c.ExchangeCode(ctx, req, callback); err == nil {
		t.Error("a second ExchangeCode with the same code succeeded")
	}

	refreshed, err := c.Refresh(ctx, toks)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if refreshed.AccessToken == toks.AccessToken {
		t.Error("Refresh returned the same access token")
	}
	if refreshed.RefreshToken == toks.RefreshToken {
		t.Error("Refresh returned the same refresh token; the provider rotates them")
	}
	if refreshed.IDToken == toks.IDToken {
		t.Error("Refresh returned the same ID token")
	}
	rclaims, err := c.VerifyIDToken(ctx, refreshed.IDToken, "")
	if err != nil {
		t.Fatalf("VerifyIDToken of the refreshed ID token: %v", err)
	}
	if rclaims.Subject != claims.Subject {
		t.Errorf("refreshed ID token sub = %q, want %q", rclaims.Subject, claims.Subject)
	}

	// The provider revoked the old refresh token when it rotated it.
	if _, err := c.Refresh(ctx, toks); err == nil {
		t.Error("Refresh with the rotated-out refresh token succeeded")
	} else {
		var te *kinde.TokenError
		if !errors.As(err, &te) {
			t.Errorf("Refresh with the rotated-out refresh token: err = %v (%T), want *kinde.TokenError", err, err)
		}
	}
}

func TestClientCredentials(t *testing.T) {
	p := testProvider(t)
	ctx := testContext(t)
	d := discover(t, ctx, p.issuer)
	c := newClient(t, config(t, d, p.m2mClientID, p.m2mClientSecret, "", nil))

	cc, err := c.ClientCredentials(ctx, "interop-api")
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	if cc.AccessToken == "" {
		t.Fatal("ClientCredentials returned no access token")
	}
	if !cc.ExpiresAt.After(time.Now()) {
		t.Errorf("ClientCredentials token expires at %v, want a time in the future", cc.ExpiresAt)
	}
	if cc.RefreshToken != "" || cc.IDToken != "" {
		t.Error("ClientCredentials returned a refresh or ID token")
	}

	again, err := c.ClientCredentials(ctx, "interop-api")
	if err != nil {
		t.Fatalf("second ClientCredentials: %v", err)
	}
	if again.AccessToken == cc.AccessToken {
		t.Error("two ClientCredentials calls returned the same token")
	}

	bad := newClient(t, config(t, d, p.m2mClientID, p.m2mClientSecret+"-wrong", "", nil))
	_, err = bad.ClientCredentials(ctx, "interop-api")
	var te *kinde.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("ClientCredentials with a wrong secret: err = %v (%T), want *kinde.TokenError", err, err)
	}
}

var (
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe   = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*"([^"]*)"`)
	maxForms = 3
)

// signIn plays the browser: it follows authURL with a cookie jar, submits the
// provider's sign-in (and, if shown, consent) forms, and stops at the
// redirect to our redirect URL, whose code it returns after checking the state.
func signIn(t *testing.T, ctx context.Context, authURL string, p provider) string {
	t.Helper()
	redirect, err := url.Parse(p.redirectURL)
	if err != nil {
		t.Fatalf("parse the redirect URL %q: %v", p.redirectURL, err)
	}
	wantState := mustQuery(t, authURL).Get("state")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var landed *url.URL
	hc := &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Scheme == redirect.Scheme && r.URL.Host == redirect.Host && r.URL.Path == redirect.Path {
				landed = r.URL
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}

	page, pageURL := fetch(t, hc, mustRequest(t, ctx, http.MethodGet, authURL, nil))
	for i := 0; landed == nil; i++ {
		if i == maxForms {
			t.Fatalf("no redirect to %s after %d forms; last page %s:\n%s", p.redirectURL, maxForms, pageURL, page)
		}
		action, values := parseForm(t, page, pageURL)
		for name := range values {
			switch {
			case strings.Contains(strings.ToLower(name), "password"):
				values.Set(name, p.password)
			case strings.Contains(strings.ToLower(name), "user"), strings.Contains(strings.ToLower(name), "email"):
				values.Set(name, p.username)
			}
		}
		req := mustRequest(t, ctx, http.MethodPost, action, strings.NewReader(values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		page, pageURL = fetch(t, hc, req)
	}

	q := landed.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("provider redirected with error %q: %s", e, q.Get("error_description"))
	}
	if got := q.Get("state"); got != wantState {
		t.Fatalf("callback state = %q, want %q", got, wantState)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("callback %s has no code", landed)
	}
	return code
}

// fetch sends req and returns the body and final URL of an HTML page; a
// redirect to our redirect URL yields an empty page.
func fetch(t *testing.T, hc *http.Client, req *http.Request) (string, *url.URL) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("read %s: %v", resp.Request.URL, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return "", resp.Request.URL
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d:\n%s", req.Method, resp.Request.URL, resp.StatusCode, body)
	}
	return string(body), resp.Request.URL
}

// parseForm returns the absolute action URL and the fields of the first form
// of page.
func parseForm(t *testing.T, page string, base *url.URL) (string, url.Values) {
	t.Helper()
	m := formRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page %s has no form:\n%s", base, page)
	}
	attrs := attributes(m[1])
	action, err := base.Parse(attrs["action"])
	if err != nil {
		t.Fatalf("form action %q: %v", attrs["action"], err)
	}
	values := url.Values{}
	for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
		a := attributes(in[1])
		if a["name"] == "" {
			continue
		}
		switch strings.ToLower(a["type"]) {
		case "submit", "button", "reset":
			continue
		}
		values.Set(a["name"], a["value"])
	}
	return action.String(), values
}

func attributes(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func mustRequest(t *testing.T, ctx context.Context, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Query()
}

// jwtAlg returns the alg of a compact JWS header, without verifying anything.
func jwtAlg(t *testing.T, raw string) string {
	t.Helper()
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		t.Fatalf("%q is not a compact JWT", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("decode JWT header: %v", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("parse JWT header: %v", err)
	}
	return h.Alg
}

// tamper flips one bit in the middle of the signature of a compact JWS.
func tamper(raw string) string {
	i := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil || len(sig) == 0 {
		return raw + "x"
	}
	sig[len(sig)/2] ^= 0x01
	return fmt.Sprintf("%s.%s", raw[:i], base64.RawURLEncoding.EncodeToString(sig))
}
