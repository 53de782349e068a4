package kinde

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/gokinde/kinde/core/internal/jose"
	"github.com/gokinde/kinde/core/internal/jsonvalue"
)

// Session is one signed-in user's view of Kinde: their verified tokens and
// helpers that read the claims (permissions, roles, organizations, feature
// flags, user details) without calling Kinde. Package account calls Kinde's
// Account API with a Session's access token.
//
// Create one with Client.Session. A Session is safe for concurrent use;
// Refresh replaces its tokens and claims in place, atomically.
type Session struct {
	c *Client

	// refreshMu serialises refreshes so that concurrent callers share one.
	refreshMu sync.Mutex

	mu     sync.RWMutex
	tokens Tokens
	access *Claims
	id     *Claims // nil when there is no ID token
}

// Session verifies t and returns a Session for it.
//
// The access token is verified as VerifyAccessToken does by default
// (signature, issuer, times and, when Config.Audience is set, audience). The
// ID token, when present, is verified for signature, issuer, audience (the
// client ID), azp and subject; its nonce was checked at sign-in and is not
// checked again, and its expiry is not enforced: an ID token states who signed
// in, and Kinde issues it with a shorter lifetime (one hour) than the access
// token that carries the session. Both tokens must name the same subject.
//
// When the access token has expired and t carries a refresh token, Session
// refreshes the tokens first (as Kinde's SDKs do with auto-refresh on) and
// the session holds the new ones: store s.Tokens() in place of t. Without a
// refresh token, or with Config.DisableAutoRefresh, an expired access token
// is rejected with an error matching ErrTokenExpired. A refresh Kinde refuses
// fails with an error matching ErrInvalidGrant: the user must sign in again.
// With Config.SkipAccessTokenVerification the access token is not read at
// all, and claim helpers see only the ID token.
func (c *Client) Session(ctx context.Context, t *Tokens) (*Session, error) {
	if t == nil || t.AccessToken == "" {
		return nil, errors.New("kinde: Session needs tokens with an access token: pass the tokens from ExchangeCode or Refresh")
	}
	st, err := c.sessionState(ctx, *t)
	if err != nil && errors.Is(err, ErrTokenExpired) && t.RefreshToken != "" && !c.cfg.DisableAutoRefresh {
		var nt *Tokens
		if nt, err = c.Refresh(ctx, t); err == nil {
			st, err = c.sessionState(ctx, *nt)
		}
	}
	if err != nil {
		return nil, err
	}
	return c.newSession(st), nil
}

// storedSession builds a session from tokens without refreshing them: the
// web layer refreshes (and saves) on its own terms.
func (c *Client) storedSession(ctx context.Context, t *Tokens) (*Session, error) {
	st, err := c.sessionState(ctx, *t)
	if err != nil {
		return nil, err
	}
	return c.newSession(st), nil
}

func (c *Client) newSession(st sessionState) *Session {
	s := &Session{c: c}
	s.set(st)
	return s
}

type sessionState struct {
	tokens Tokens
	access *Claims
	id     *Claims
}

// sessionState verifies tokens and prepares the state of a Session.
func (c *Client) sessionState(ctx context.Context, t Tokens) (sessionState, error) {
	st := sessionState{tokens: t}
	if c.cfg.SkipAccessTokenVerification {
		st.access = &Claims{payload: []byte("{}")}
	} else {
		// The tokens were stored by this server (sealed cookie or its
		// session store) or handed to Session by the application, which
		// got them from Kinde: trusted, so a key Kinde just rotated to is
		// fetched even when bearer tokens spent their refetch budget.
		access, err := c.verifyAccessToken(ctx, t.AccessToken, trusted)
		if err != nil {
			return sessionState{}, err
		}
		st.access = access
	}
	if t.IDToken != "" {
		id, err := c.verifySessionIDToken(ctx, t.IDToken)
		if err != nil {
			return sessionState{}, err
		}
		if st.access.Subject != "" && id.Subject != st.access.Subject {
			return sessionState{}, &VerifyError{Token: "ID token", Err: ErrTokenClaims, Detail: "sub differs from the access token's sub: the tokens belong to different users"}
		}
		st.id = id
	}
	if st.tokens.ExpiresAt.IsZero() {
		st.tokens.ExpiresAt = st.access.ExpiresAt
	}
	st.tokens.leeway, st.tokens.now = c.cfg.Leeway, c.cfg.Now
	return st, nil
}

// verifySessionIDToken checks an ID token kept in a session: everything
// VerifyIDToken checks except exp and the nonce.
func (c *Client) verifySessionIDToken(ctx context.Context, raw string) (*Claims, error) {
	now, leeway := c.cfg.Now(), c.cfg.Leeway
	claims, err := c.verifyToken(ctx, raw, trusted, now)
	if err != nil {
		return nil, &VerifyError{Token: "ID token", Err: rootCause(err), Detail: detail(err)}
	}
	if (!claims.NotBefore.IsZero() && now.Add(leeway).Before(claims.NotBefore)) ||
		(!claims.IssuedAt.IsZero() && now.Add(leeway).Before(claims.IssuedAt)) {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenNotYetValid}
	}
	if !claims.HasAudience(c.cfg.ClientID) {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenAudience, Detail: fmt.Sprintf("aud %q does not contain the client ID; check KINDE_CLIENT_ID", claims.Audience)}
	}
	if (len(claims.Audience) > 1 || claims.AuthorizedParty != "") && claims.AuthorizedParty != c.cfg.ClientID {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenAudience, Detail: "azp is not the client ID"}
	}
	if claims.Subject == "" {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenClaims, Detail: "sub is missing"}
	}
	return claims, nil
}

func (s *Session) set(st sessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.access, s.id = st.tokens, st.access, st.id
}

// snapshot returns the current claims; both are immutable.
func (s *Session) snapshot() (access, id *Claims) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.access, s.id
}

// Refresh uses the refresh token for new tokens, verifies them and updates
// the session in place. Concurrent calls share one refresh: a call that
// waited for another to finish returns without asking Kinde again. On error
// the session is left unchanged; an error matching ErrInvalidGrant means the
// user must sign in again.
func (s *Session) Refresh(ctx context.Context) error {
	before := s.Tokens()
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	cur := s.Tokens()
	if cur.AccessToken != before.AccessToken || cur.RefreshToken != before.RefreshToken {
		return nil // another caller refreshed while this one waited
	}
	nt, err := s.c.Refresh(ctx, &cur)
	if err != nil {
		return err
	}
	st, err := s.c.sessionState(ctx, *nt)
	if err != nil {
		return err
	}
	s.set(st)
	return nil
}

// Expired reports whether the access token has expired or will within the
// configured leeway.
func (s *Session) Expired() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tokens.Expired()
}

// AccessToken returns the current access token.
func (s *Session) AccessToken() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tokens.AccessToken
}

// Tokens returns a copy of the current tokens, for storing the session.
func (s *Session) Tokens() Tokens {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tokens
}

// AccessClaims returns the verified claims of the access token. Claims are
// immutable; after Refresh, call again to see the new ones.
func (s *Session) AccessClaims() *Claims {
	a, _ := s.snapshot()
	return a
}

// IDClaims returns the verified claims of the ID token, or nil when the
// session has no ID token.
func (s *Session) IDClaims() *Claims {
	_, id := s.snapshot()
	return id
}

// UserID returns the user's Kinde ID (the sub claim), such as "kp_1234…".
func (s *Session) UserID() string {
	a, id := s.snapshot()
	if a.Subject != "" {
		return a.Subject
	}
	if id != nil {
		return id.Subject
	}
	return ""
}

// ClaimValue is one claim of a token, from Session.Claim, Session.IDClaim or
// Claims.Get. Present tells a missing claim apart from one whose value is
// null (Present true, Value "null"). Value is the claim's JSON, a copy the
// caller may keep.
type ClaimValue struct {
	Name    string
	Value   json.RawMessage
	Present bool
}

// Decode unmarshals the claim into v. It returns an error wrapping
// ErrClaimNotFound when the claim is absent.
func (v ClaimValue) Decode(dst any) error {
	if !v.Present {
		return fmt.Errorf("kinde: claim %q: %w", v.Name, ErrClaimNotFound)
	}
	if err := json.Unmarshal(v.Value, dst); err != nil {
		return fmt.Errorf("kinde: claim %q has an unexpected type: %w", v.Name, err)
	}
	return nil
}

// IsNull reports whether the claim is present with the value null.
func (v ClaimValue) IsNull() bool { return v.Present && isNull(v.Value) }

// String returns a string claim's value, the JSON text of any other claim,
// and "" when the claim is absent or null.
func (v ClaimValue) String() string {
	if !v.Present || isNull(v.Value) {
		return ""
	}
	var s string
	if json.Unmarshal(v.Value, &s) == nil {
		return s
	}
	return string(v.Value)
}

// Claim returns the claim name of the access token.
func (s *Session) Claim(name string) ClaimValue { return s.AccessClaims().Get(name) }

// --- claim reading helpers shared by the Session helpers ---

// lookup returns the first of names present with a non-null value in c.
func lookup(c *Claims, names ...string) (json.RawMessage, bool) {
	for _, n := range names {
		if raw, ok := c.rawClaim(n); ok && !isNull(raw) {
			return raw, true
		}
	}
	return nil, false
}

// stringClaimOf returns a string claim, or "" when absent or not a string.
func stringClaimOf(c *Claims, names ...string) string {
	raw, ok := lookup(c, names...)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// stringList decodes a JSON array and keeps its non-empty string elements.
// Anything that is not an array gives nil.
func stringList(raw json.RawMessage) []string {
	out := make([]string, 0, min(bytes.Count(raw, []byte{','})+1, 256)) // commas inside strings overcount
	err := jose.ScanArray(raw, func(elem []byte) error {
		if s, ok := jsonString(elem); ok && s != "" {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil
	}
	return out
}

// toInt64 converts Go integers, and floats holding whole numbers, to int64.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return uintToInt64(uint64(x))
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return uintToInt64(x)
	case float32:
		return floatToInt64(float64(x))
	case float64:
		return floatToInt64(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		if f, err := x.Float64(); err == nil {
			return floatToInt64(f)
		}
	}
	return 0, false
}

func uintToInt64(u uint64) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func floatToInt64(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// properties decodes a Kinde properties claim, {"key":{"v":value}}, into
// key → value. An entry without "v" maps to nil; a bare value is kept as is.
// ok is false when the claim is not an object.
func properties(raw json.RawMessage) (props map[string]any, ok bool) {
	out := map[string]any{}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return out, false
	}
	for k, item := range m {
		var wrapped map[string]json.RawMessage
		if json.Unmarshal(item, &wrapped) == nil {
			if v, ok := wrapped["v"]; ok {
				out[k], _ = jsonvalue.Decode(v)
			} else {
				out[k] = nil
			}
			continue
		}
		out[k], _ = jsonvalue.Decode(item)
	}
	return out, true
}
