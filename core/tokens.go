package kinde

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Tokens are the tokens Kinde issued for a user (or a machine). They marshal
// to JSON with the token endpoint's keys (access_token, id_token,
// refresh_token, scope, token_type, expires_in) plus expires_at in Unix
// seconds, so they can be kept in any session or cache store.
type Tokens struct {
	AccessToken  string
	IDToken      string
	RefreshToken string
	// ExpiresAt is when the access token expires.
	ExpiresAt time.Time
	Scope     string
	TokenType string
	// ExpiresIn is the lifetime Kinde announced, in seconds, when the
	// tokens were issued.
	ExpiresIn int64

	leeway time.Duration
	now    func() time.Time
}

type tokensJSON struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresAt    int64  `json:"expires_at,omitempty"`
	Scope        string `json:"scope,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
}

// MarshalJSON encodes the tokens as the JSON object described on Tokens.
func (t Tokens) MarshalJSON() ([]byte, error) {
	j := tokensJSON{AccessToken: t.AccessToken, IDToken: t.IDToken, RefreshToken: t.RefreshToken,
		Scope: t.Scope, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn}
	if !t.ExpiresAt.IsZero() {
		j.ExpiresAt = t.ExpiresAt.Unix()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes that JSON object, as MarshalJSON writes it; a
// missing or zero expires_at leaves ExpiresAt zero.
func (t *Tokens) UnmarshalJSON(b []byte) error {
	var j tokensJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Tokens{AccessToken: j.AccessToken, IDToken: j.IDToken, RefreshToken: j.RefreshToken,
		Scope: j.Scope, TokenType: j.TokenType, ExpiresIn: j.ExpiresIn}
	if j.ExpiresAt > 0 {
		t.ExpiresAt = time.Unix(j.ExpiresAt, 0)
	}
	return nil
}

// Expired reports whether the access token has expired or will within the
// leeway (Config.Leeway for tokens from a Client, defaultLeeway otherwise).
// Tokens without an expiry are treated as expired.
func (t *Tokens) Expired() bool {
	if t == nil || t.AccessToken == "" || t.ExpiresAt.IsZero() {
		return true
	}
	now, leeway := time.Now, defaultLeeway
	if t.now != nil {
		now, leeway = t.now, t.leeway
	}
	return !now().Add(leeway).Before(t.ExpiresAt)
}

// expiresWithin reports whether the access token expires within d from now.
func (t *Tokens) expiresWithin(d time.Duration) bool {
	if t == nil || t.ExpiresAt.IsZero() {
		return true
	}
	now := time.Now
	if t.now != nil {
		now = t.now
	}
	return !now().Add(d).Before(t.ExpiresAt)
}

// OAuth2 converts the tokens to an *oauth2.Token (the ID token is kept in
// Extra("id_token")).
func (t *Tokens) OAuth2() *oauth2.Token {
	tok := &oauth2.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", Expiry: t.ExpiresAt}
	if t.IDToken != "" {
		tok = tok.WithExtra(map[string]any{"id_token": t.IDToken})
	}
	return tok
}

// maxExpiresIn is the largest expires_in taken as seconds: ten years.
const maxExpiresIn = 10 * 365 * 24 * 60 * 60

// tokenResponse is the JSON of a successful token endpoint reply.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	IDToken      string          `json:"id_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.Number     `json:"expires_in"`
	Scope        json.RawMessage `json:"scope"`
	TokenType    string          `json:"token_type"`
}

func (c *Client) tokensFrom(r *tokenResponse) (*Tokens, error) {
	if r.AccessToken == "" {
		return nil, &TokenError{Endpoint: "token", Code: "invalid_response", Description: "the reply has no access_token"}
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return nil, &TokenError{Endpoint: "token", Code: "invalid_response", Description: fmt.Sprintf("token_type %q is not bearer", r.TokenType)}
	}
	t := &Tokens{AccessToken: r.AccessToken, IDToken: r.IDToken, RefreshToken: r.RefreshToken,
		TokenType: strings.ToLower(r.TokenType), leeway: c.cfg.Leeway, now: c.cfg.Now}
	if t.TokenType == "" {
		t.TokenType = "bearer"
	}
	if len(r.Scope) > 0 {
		var s string
		if json.Unmarshal(r.Scope, &s) == nil {
			t.Scope = s
		} else {
			var list []string
			if json.Unmarshal(r.Scope, &list) == nil {
				t.Scope = strings.Join(list, " ")
			}
		}
	}
	// An expires_in beyond maxExpiresIn is not seconds (one provider sends
	// nanoseconds) and would overflow time.Duration: the token's exp decides.
	if n, err := r.ExpiresIn.Int64(); err == nil && n > 0 && n <= maxExpiresIn {
		t.ExpiresIn = n
		t.ExpiresAt = c.cfg.Now().Add(time.Duration(n) * time.Second)
	}
	if exp := tokenExpiry(r.AccessToken); !exp.IsZero() && (t.ExpiresAt.IsZero() || exp.Before(t.ExpiresAt)) {
		t.ExpiresAt = exp
	}
	return t, nil
}

// ExchangeCode finishes the sign-in that req started (req is what AuthURL
// returned; keep it on the server side between the redirect and the
// callback). callback holds the query parameters Kinde sent to the redirect
// URL. ExchangeCode checks that the callback belongs to req (its state, and
// its iss when Kinde sends one, RFC 9207) and carries no error, trades the
// code for tokens with req's PKCE verifier and redirect URL
// (client_secret_post, like Kinde's own SDKs), then verifies the ID token
// (signature, issuer, audience = client ID, req's nonce, expiry) and the
// access token.
//
// A callback that does not match req fails with ErrInvalidCallback; an
// error the callback reports (error=access_denied, …) and Kinde's error
// replies come back as *TokenError.
func (c *Client) ExchangeCode(ctx context.Context, req *AuthRequest, callback url.Values) (*Tokens, error) {
	if req == nil {
		return nil, fmt.Errorf("kinde: ExchangeCode needs the *AuthRequest that AuthURL returned for this sign-in")
	}
	if err := c.checkCallback(req, callback); err != nil {
		return nil, err
	}
	redirect := req.RedirectURL
	if redirect == "" {
		redirect = c.cfg.RedirectURL
	}
	if redirect == "" {
		return nil, &ConfigError{Field: "RedirectURL", Env: envRedirectURL, Reason: "is required for the code exchange"}
	}
	if !c.cfg.DisablePKCE && req.CodeVerifier == "" {
		return nil, fmt.Errorf("kinde: ExchangeCode needs the PKCE verifier of the sign-in: pass the *AuthRequest that AuthURL returned")
	}
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {callback.Get("code")},
		"redirect_uri": {redirect},
		"client_id":    {c.cfg.ClientID},
	}
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	if req.CodeVerifier != "" {
		form.Set("code_verifier", req.CodeVerifier)
	}
	var r tokenResponse
	if err := c.postForm(ctx, c.ep.token, "token", form, "", &r); err != nil {
		return nil, err
	}
	t, err := c.tokensFrom(&r)
	if err != nil {
		return nil, err
	}
	if err := c.verifyIssued(ctx, t, req.Nonce, true); err != nil {
		return nil, err
	}
	c.debug(ctx, "code exchanged", "expires_at", t.ExpiresAt, "has_refresh_token", t.RefreshToken != "")
	return t, nil
}

// checkCallback checks that the callback's parameters belong to req.
func (c *Client) checkCallback(req *AuthRequest, q url.Values) error {
	for _, name := range []string{"state", "code", "iss", "error"} {
		if len(q[name]) > 1 {
			return fmt.Errorf("%w: the %s parameter appears more than once", ErrInvalidCallback, name)
		}
	}
	state := q.Get("state")
	if state == "" || req.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(req.State)) != 1 {
		return fmt.Errorf("%w: its state does not match the sign-in request (the callback belongs to another sign-in, or the request was not kept)", ErrInvalidCallback)
	}
	if iss := q.Get("iss"); iss != "" && iss != c.ep.issuer {
		return fmt.Errorf("%w: its iss %q is not the configured domain's issuer %q", ErrInvalidCallback, truncate(iss, 100), c.ep.issuer)
	}
	if code := q.Get("error"); code != "" {
		return &TokenError{Code: code, Description: truncate(q.Get("error_description"), 200), Endpoint: "authorization"}
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return fmt.Errorf("%w: it has no authorization code", ErrInvalidCallback)
	}
	return nil
}

// verifyIssued verifies freshly issued tokens.
func (c *Client) verifyIssued(ctx context.Context, t *Tokens, nonce string, wantID bool) error {
	var id *Claims
	if t.IDToken != "" {
		var err error
		if id, err = c.verifyIDToken(ctx, t.IDToken, nonce, trusted); err != nil {
			return err
		}
	} else if wantID && nonce != "" {
		return &VerifyError{Token: "ID token", Err: ErrTokenClaims, Detail: "the token reply has no id_token; request the openid scope"}
	}
	if !c.cfg.SkipAccessTokenVerification {
		access, err := c.verifyAccessToken(ctx, t.AccessToken, trusted, SkipAudienceCheck())
		if err != nil {
			return err
		}
		if err := sameSubject(id, access); err != nil {
			return err
		}
	}
	return nil
}

// sameSubject rejects an ID token and an access token issued together for
// different users, as Session does for stored tokens.
func sameSubject(id, access *Claims) error {
	if id != nil && access.Subject != "" && id.Subject != access.Subject {
		return &VerifyError{Token: "ID token", Err: ErrTokenClaims, Detail: "sub differs from the access token's sub: the tokens belong to different users"}
	}
	return nil
}

// Refresh uses the refresh token for new tokens. Kinde rotates refresh
// tokens; when a reply carries none, the old one is kept, and likewise the
// old ID token. The given tokens are not modified.
func (c *Client) Refresh(ctx context.Context, t *Tokens) (*Tokens, error) {
	nt, newID, err := c.refreshGrant(ctx, t)
	if err != nil {
		return nil, err
	}
	var id *Claims
	if newID {
		if id, err = c.verifyIDToken(ctx, nt.IDToken, "", trusted); err != nil {
			return nil, err
		}
	}
	if !c.cfg.SkipAccessTokenVerification {
		access, err := c.verifyAccessToken(ctx, nt.AccessToken, trusted, SkipAudienceCheck())
		if err != nil {
			return nil, err
		}
		if err := sameSubject(id, access); err != nil {
			return nil, err
		}
	}
	return nt, nil
}

// refreshGrant runs the refresh_token grant without verifying the tokens it
// returns (the web layer stores rotated tokens before it verifies them, so
// that a verification outage never throws away a refresh token Kinde has
// already rotated). newID reports whether the reply carried an ID token.
func (c *Client) refreshGrant(ctx context.Context, t *Tokens) (nt *Tokens, newID bool, err error) {
	if t == nil || t.RefreshToken == "" {
		return nil, false, ErrNoRefreshToken
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {t.RefreshToken},
		"client_id":     {c.cfg.ClientID},
	}
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	var r tokenResponse
	if err := c.postForm(ctx, c.ep.token, "token", form, "", &r); err != nil {
		return nil, false, err
	}
	nt, err = c.tokensFrom(&r)
	if err != nil {
		return nil, false, err
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.RefreshToken
	}
	newID = nt.IDToken != ""
	if !newID {
		nt.IDToken = t.IDToken
	}
	if nt.Scope == "" {
		nt.Scope = t.Scope
	}
	c.debug(ctx, "tokens refreshed", "expires_at", nt.ExpiresAt, "rotated", nt.RefreshToken != t.RefreshToken)
	return nt, newID, nil
}

// m2mCredentials returns the client used for the client credentials grant:
// the management application when configured, else the main one.
func (c *Client) m2mCredentials() (string, string) {
	if c.cfg.ManagementClientID != "" {
		return c.cfg.ManagementClientID, c.cfg.ManagementClientSecret
	}
	return c.cfg.ClientID, c.cfg.ClientSecret
}

// ClientCredentials gets a machine-to-machine access token for the given
// audiences (default: the Management API, "https://<domain>/api"). It uses
// ManagementClientID/Secret when set, else ClientID/Secret. Each call asks
// Kinde; use ClientCredentialsTokenSource for a cached token.
func (c *Client) ClientCredentials(ctx context.Context, audience ...string) (*Tokens, error) {
	id, secret := c.m2mCredentials()
	if secret == "" {
		return nil, &ConfigError{Field: "ManagementClientSecret", Env: envManagementClientSecret, Reason: "is required for machine-to-machine tokens: set KINDE_MANAGEMENT_CLIENT_SECRET with KINDE_MANAGEMENT_CLIENT_ID (or KINDE_CLIENT_SECRET with KINDE_CLIENT_ID) from your machine-to-machine application in the Kinde dashboard"}
	}
	if len(audience) == 0 {
		audience = []string{c.cfg.ManagementAudience}
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {id},
		"client_secret": {secret},
	}
	for _, a := range audience {
		form.Add("audience", a)
	}
	var r tokenResponse
	if err := c.postForm(ctx, c.ep.token, "token", form, "", &r); err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			te.m2m = true
		}
		return nil, err
	}
	t, err := c.tokensFrom(&r)
	if err != nil {
		return nil, err
	}
	if !c.cfg.SkipAccessTokenVerification {
		if _, err := c.verifyAccessToken(ctx, t.AccessToken, trusted, VerifyAudience(audience...)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ClientCredentialsTokenSource returns a cached, concurrency-safe token
// source for machine-to-machine tokens. It renews the token shortly before
// it expires, with a single request however many goroutines ask at once.
func (c *Client) ClientCredentialsTokenSource(audience ...string) oauth2.TokenSource {
	return &m2mSource{c: c, audience: append([]string(nil), audience...)}
}

type m2mSource struct {
	c        *Client
	audience []string

	mu  sync.Mutex
	tok *Tokens
}

// Token returns the cached token, or fetches a new one when it is missing or
// within a minute (or a tenth of its lifetime) of expiry.
func (s *m2mSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && !s.tok.expiresWithin(s.renewBefore()) {
		return s.tok.OAuth2(), nil
	}
	t, err := s.c.ClientCredentials(context.Background(), s.audience...)
	if err != nil {
		return nil, err
	}
	s.tok = t
	return t.OAuth2(), nil
}

func (s *m2mSource) renewBefore() time.Duration {
	d := time.Minute
	if s.tok != nil && s.tok.ExpiresIn > 0 {
		d = min(d, time.Duration(s.tok.ExpiresIn)*time.Second/10)
	}
	return d
}

// RevokeToken asks Kinde to revoke a refresh or access token (hint is
// "refresh_token", "access_token" or empty). Revoked refresh tokens can no
// longer be used; sign-out calls it for the session's refresh token.
func (c *Client) RevokeToken(ctx context.Context, token, hint string) error {
	if token == "" {
		return fmt.Errorf("kinde: RevokeToken needs a token")
	}
	form := url.Values{"token": {token}, "client_id": {c.cfg.ClientID}}
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return c.postForm(ctx, c.ep.revoke, "revoke", form, "", nil)
}
