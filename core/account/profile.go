package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Kinde's endpoints used with the user's token when Config leaves them empty.
const (
	defaultUserProfilePath = "/oauth2/v2/user_profile"
	defaultIntrospectPath  = "/oauth2/introspect"
)

// UserProfile is the user's profile from Kinde's user profile endpoint
// (GET /oauth2/v2/user_profile, in the Account API spec).
type UserProfile struct {
	ID            string
	ProvidedID    string
	Name          string
	GivenName     string
	FamilyName    string
	Email         string
	EmailVerified bool
	Picture       string
	Username      string // preferred_username
	UpdatedAt     time.Time
}

// Profile fetches the user's profile from Kinde with the access token (the
// endpoint of Config.UserProfilePath). As OpenID Connect requires of a
// relying party, a profile whose sub differs from the ID token's sub (or,
// without an ID token, the access token's) is rejected with an error
// wrapping ErrProfileSubject. For most pages kinde.Session.User, read from
// the ID token, is enough and makes no request.
func (c *Client) Profile(ctx context.Context) (*UserProfile, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	var r struct {
		Sub           string          `json:"sub"`
		ID            string          `json:"id"`
		ProvidedID    *string         `json:"provided_id"`
		Name          string          `json:"name"`
		GivenName     string          `json:"given_name"`
		FamilyName    string          `json:"family_name"`
		Email         string          `json:"email"`
		EmailVerified bool            `json:"email_verified"`
		Picture       *string         `json:"picture"`
		Username      *string         `json:"preferred_username"`
		UpdatedAt     json.RawMessage `json:"updated_at"`
	}
	endpoint := c.domainEndpoint(c.cfg.UserProfilePath, defaultUserProfilePath)
	if err := c.callJSON(ctx, http.MethodGet, endpoint, nil, &r); err != nil {
		return nil, err
	}
	sub := r.Sub
	if sub == "" {
		sub = r.ID
	}
	want := c.s.Claim("sub").String()
	if id := c.s.IDClaims(); id != nil {
		want = id.Subject
	}
	if sub == "" || sub != want {
		return nil, fmt.Errorf("account: user profile is for %q, the session is for %q: %w", clip(sub, 64), want, ErrProfileSubject)
	}
	p := &UserProfile{ID: sub, Name: r.Name, GivenName: r.GivenName, FamilyName: r.FamilyName,
		Email: r.Email, EmailVerified: r.EmailVerified, UpdatedAt: unixOrRFC3339(r.UpdatedAt)}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&p.ProvidedID, r.ProvidedID}, {&p.Picture, r.Picture}, {&p.Username, r.Username}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return p, nil
}

// unixOrRFC3339 reads a time given as Unix seconds (number or numeric
// string) or as an RFC 3339 string; anything else gives the zero time.
func unixOrRFC3339(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return time.Time{}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n > 0 && n < 1e11 {
			return time.Unix(int64(n), 0).UTC()
		}
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	return time.Time{}
}

// Introspection is Kinde's answer to a token introspection request.
type Introspection struct {
	// Active is false for tokens that are expired, revoked or unknown; the
	// other fields are then empty.
	Active    bool
	Audience  []string
	ClientID  string
	Subject   string
	Scope     string
	TokenType string // "access_token" or "refresh_token", when Kinde says
	ExpiresAt time.Time
	IssuedAt  time.Time
}

// Introspect asks Kinde whether token (an access or refresh token; ""
// means the session's access token) is active (POST /oauth2/introspect, the
// endpoint of Config.IntrospectPath). It authenticates with the session's
// access token, as the Account API spec prescribes a user token for this
// endpoint, so no machine-to-machine application is needed.
func (c *Client) Introspect(ctx context.Context, token string) (*Introspection, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	if token == "" {
		t, err := c.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		token = t
	}
	var r struct {
		Active    bool            `json:"active"`
		Aud       json.RawMessage `json:"aud"`
		ClientID  string          `json:"client_id"`
		Sub       string          `json:"sub"`
		Scope     string          `json:"scope"`
		TokenType string          `json:"token_type"`
		Exp       json.RawMessage `json:"exp"`
		Iat       json.RawMessage `json:"iat"`
	}
	endpoint := c.domainEndpoint(c.cfg.IntrospectPath, defaultIntrospectPath)
	if err := c.callJSON(ctx, http.MethodPost, endpoint, url.Values{"token": {token}}, &r); err != nil {
		return nil, err
	}
	in := &Introspection{Active: r.Active, ClientID: r.ClientID, Subject: r.Sub, Scope: r.Scope,
		TokenType: r.TokenType, ExpiresAt: unixOrRFC3339(r.Exp), IssuedAt: unixOrRFC3339(r.Iat)}
	if aud := bytes.TrimSpace(r.Aud); len(aud) > 0 && !bytes.Equal(aud, []byte("null")) {
		var one string
		var many []string
		switch {
		case json.Unmarshal(aud, &one) == nil:
			in.Audience = []string{one}
		case json.Unmarshal(aud, &many) == nil:
			in.Audience = many
		}
	}
	return in, nil
}
