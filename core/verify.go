package kinde

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gokinde/kinde/core/internal/jose"
)

// maxTokenBytes bounds the size of a token the verifier looks at.
const maxTokenBytes = 64 << 10

// VerifyOption changes how an access token is checked.
type VerifyOption func(*verifyParams)

type verifyParams struct {
	audiences []string
	anyAud    bool
}

// VerifyAudience requires the token's aud to contain at least one of
// audiences, replacing Config.Audience for this check.
func VerifyAudience(audiences ...string) VerifyOption {
	return func(p *verifyParams) { p.audiences = append([]string(nil), audiences...); p.anyAud = false }
}

// SkipAudienceCheck accepts any aud. Use it only when another check binds
// the token to your API.
func SkipAudienceCheck() VerifyOption {
	return func(p *verifyParams) { p.audiences = nil; p.anyAud = true }
}

// VerifyAccessToken verifies a Kinde access token: RS256 signature by a key
// from Kinde's JWKS, iss equal to the configured domain, exp, nbf and iat
// within the leeway, and aud containing one of Config.Audience (when set).
// Tokens already verified are served from a cache until they expire; the time
// and audience checks run on every call.
//
// The token is treated as coming from anyone (a bearer token): a key id that
// is not in the cached key set refetches the key set at most once per
// Config.JWKSRefreshInterval. Tokens this SDK receives from Kinde's token
// endpoint or reads from a session it stored have their own, shorter refetch
// budget, which such tokens cannot spend.
func (c *Client) VerifyAccessToken(ctx context.Context, raw string, opts ...VerifyOption) (*Claims, error) {
	return c.verifyAccessToken(ctx, raw, untrusted, opts...)
}

// verifyAccessToken is VerifyAccessToken for a token of the given trust.
func (c *Client) verifyAccessToken(ctx context.Context, raw string, tr trust, opts ...VerifyOption) (*Claims, error) {
	p := verifyParams{audiences: c.cfg.Audience}
	if len(opts) > 0 {
		p = applyVerifyOptions(p, opts)
	}
	now := c.cfg.Now()
	claims, err := c.verifyToken(ctx, raw, tr, now)
	if err != nil {
		return nil, &VerifyError{Token: "access token", Err: rootCause(err), Detail: detail(err)}
	}
	if err := c.checkTimes(claims, now); err != nil {
		return nil, &VerifyError{Token: "access token", Err: rootCause(err), Detail: detail(err)}
	}
	if why := c.notAccessToken(claims); why != "" {
		return nil, &VerifyError{Token: "access token", Err: ErrTokenClaims, Detail: why}
	}
	if !p.anyAud && len(p.audiences) > 0 {
		ok := false
		for _, a := range p.audiences {
			if claims.HasAudience(a) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, &VerifyError{Token: "access token", Err: ErrTokenAudience, Detail: fmt.Sprintf("want one of %q, token has %q", p.audiences, claims.Audience)}
		}
	}
	return claims, nil
}

// notAccessToken says why claims belong to a token of another kind, or
// returns "". A header typ of at+jwt (RFC 9068) marks an access token. A
// refresh token is recognised by a typ, token_use or token_type saying so
// (Kinde's are opaque and fail earlier as malformed). An ID token is
// recognised by at_hash, c_hash or nonce, which OpenID Connect puts only in
// ID tokens, or, without those optional claims, by an audience that is only
// the client ID and no scp or scope claim, which Kinde's access tokens carry.
func (c *Client) notAccessToken(cl *Claims) string {
	switch typ := cl.typ; {
	case cl.refresh || containsFold(typ, "refresh"):
		return "this is a refresh token; send the access token"
	case strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt"):
		return ""
	case cl.idToken || cl.Nonce != "":
		return "this is an ID token; send the access token"
	case !cl.scopes && c.cfg.ClientID != "" && len(cl.Audience) == 1 && cl.Audience[0] == c.cfg.ClientID:
		return "this is an ID token (its only audience is the client ID); send the access token"
	}
	return ""
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// applyVerifyOptions is separate so that the options' pointer does not make
// the parameters escape on the common path without options.
func applyVerifyOptions(p verifyParams, opts []VerifyOption) verifyParams {
	for _, o := range opts {
		if o != nil {
			o(&p)
		}
	}
	return p
}

// VerifyIDToken verifies a Kinde ID token: signature, issuer, times, aud
// containing the client ID (and azp equal to it when there are several
// audiences), the presence of sub and iat, and, when nonce is not empty, the
// nonce sent at sign-in.
func (c *Client) VerifyIDToken(ctx context.Context, raw, nonce string) (*Claims, error) {
	return c.verifyIDToken(ctx, raw, nonce, untrusted)
}

// verifyIDToken is VerifyIDToken for a token of the given trust.
func (c *Client) verifyIDToken(ctx context.Context, raw, nonce string, tr trust) (*Claims, error) {
	now := c.cfg.Now()
	claims, err := c.verifyToken(ctx, raw, tr, now)
	if err != nil {
		return nil, &VerifyError{Token: "ID token", Err: rootCause(err), Detail: detail(err)}
	}
	if err := c.checkTimes(claims, now); err != nil {
		return nil, &VerifyError{Token: "ID token", Err: rootCause(err), Detail: detail(err)}
	}
	if !claims.HasAudience(c.cfg.ClientID) {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenAudience, Detail: fmt.Sprintf("aud %q does not contain the client ID; check KINDE_CLIENT_ID", claims.Audience)}
	}
	if (len(claims.Audience) > 1 || claims.AuthorizedParty != "") && claims.AuthorizedParty != c.cfg.ClientID {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenAudience, Detail: "azp is not the client ID"}
	}
	if nonce != "" && claims.Nonce != nonce {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenNonce}
	}
	if claims.Subject == "" {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenClaims, Detail: "sub is missing"}
	}
	if claims.IssuedAt.IsZero() {
		return nil, &VerifyError{Token: "ID token", Err: ErrTokenClaims, Detail: "iat is missing"}
	}
	return claims, nil
}

// detailedError carries a sentinel plus a human detail through verifyToken.
type detailedError struct {
	err    error
	detail string
}

func (e *detailedError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailedError) Unwrap() error { return e.err }

func rootCause(err error) error {
	var d *detailedError
	if errors.As(err, &d) {
		return d.err
	}
	for _, s := range []error{ErrKeySetUnavailable, ErrTokenUnknownKey, ErrTokenClaims, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func detail(err error) string {
	var d *detailedError
	if errors.As(err, &d) {
		return d.detail
	}
	if rc := rootCause(err); rc != err {
		return strings.TrimPrefix(err.Error(), rc.Error()+": ")
	}
	return ""
}

func fail(sentinel error, format string, args ...any) error {
	return &detailedError{err: sentinel, detail: fmt.Sprintf(format, args...)}
}

// verifyToken checks structure, algorithm, signature and issuer, using and
// filling the verified-token cache. Time and audience checks are left to
// the caller because they must run on every use; now is the caller's clock
// reading, for the cache's expiry.
func (c *Client) verifyToken(ctx context.Context, raw string, tr trust, now time.Time) (*Claims, error) {
	if c.verified != nil {
		if e := c.verified.get(raw, now); e != nil {
			if c.keys.publishes(e.kid, e.key) {
				return e.claims, nil
			}
			c.verified.remove(raw)
		}
	}
	payload, hdr, key, err := c.verifyJWSKey(ctx, raw, maxTokenBytes, tr)
	if err != nil {
		return nil, err
	}
	kid := hdr.Kid
	claims := &Claims{typ: hdr.Typ}
	if err := claims.decode(payload); err != nil {
		return nil, err
	}
	if claims.Issuer != c.ep.issuer {
		return nil, fail(ErrTokenIssuer, "iss is %q, want %q (check KINDE_DOMAIN)", truncate(claims.Issuer, 128), c.ep.issuer)
	}
	if claims.ExpiresAt.IsZero() {
		return nil, fail(ErrTokenClaims, "exp is missing")
	}
	// raw may point into a framework's reused buffer (fasthttp): keep a
	// private copy, as the cache key and for sessions built from the token.
	claims.token = strings.Clone(raw)
	if c.verified != nil {
		// An entry is served until the token expires (the time checks
		// refuse it from then on anyway); a token already expired, such as
		// a session's ID token, for expiredTokenTTL.
		exp := claims.ExpiresAt.Add(c.cfg.Leeway)
		if !now.Before(exp) {
			exp = now.Add(expiredTokenTTL)
		}
		c.verified.put(claims.token, &cachedToken{claims: claims, kid: kid, key: key, exp: exp, cost: entryCost(claims.token, claims, kid)}, now)
	}
	return claims, nil
}

// verifyJWS checks a compact RS256 JWS against the key set and returns its
// payload and key id. It is shared by the token verifier and webhooks; a
// webhook body can come from anyone, so its kid is untrusted.
func (c *Client) verifyJWS(ctx context.Context, raw string, maxLen int) ([]byte, string, error) {
	payload, hdr, _, err := c.verifyJWSKey(ctx, raw, maxLen, untrusted)
	return payload, hdr.Kid, err
}

// verifyJWSKey is verifyJWS that also returns the key that verified.
func (c *Client) verifyJWSKey(ctx context.Context, raw string, maxLen int, tr trust) ([]byte, jose.Header, *rsa.PublicKey, error) {
	jws, err := jose.Parse(raw, maxLen)
	if err != nil {
		return nil, jose.Header{}, nil, fail(ErrTokenMalformed, "%s", strings.TrimPrefix(err.Error(), jose.ErrMalformed.Error()+": "))
	}
	h := jws.Header
	if h.Alg != "RS256" {
		return nil, jose.Header{}, nil, fail(ErrTokenAlgorithm, "alg is %q", truncate(h.Alg, 16))
	}
	key, err := c.keys.key(ctx, h.Kid, tr)
	if err != nil {
		return nil, jose.Header{}, nil, err
	}
	if err := jws.VerifyRS256(key); err != nil {
		if errors.Is(err, jose.ErrSignature) {
			return nil, jose.Header{}, nil, fail(ErrTokenSignature, "key %q", truncate(h.Kid, 64))
		}
		return nil, jose.Header{}, nil, fail(ErrTokenMalformed, "%s", strings.TrimPrefix(err.Error(), jose.ErrMalformed.Error()+": "))
	}
	payload, err := jws.Payload()
	if err != nil {
		return nil, jose.Header{}, nil, fail(ErrTokenMalformed, "payload is not base64url")
	}
	return payload, h, key, nil
}

// checkTimes applies exp, nbf and iat with the configured leeway at now.
func (c *Client) checkTimes(claims *Claims, now time.Time) error {
	leeway := c.cfg.Leeway
	if !claims.ExpiresAt.IsZero() && !now.Before(claims.ExpiresAt.Add(leeway)) {
		return fail(ErrTokenExpired, "exp was %s ago (leeway %s); if the token was just issued, this server's clock is ahead: sync it (NTP) or raise Config.Leeway",
			now.Sub(claims.ExpiresAt).Round(time.Second), leeway)
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"nbf", claims.NotBefore}, {"iat", claims.IssuedAt}} {
		if !t.at.IsZero() && now.Add(leeway).Before(t.at) {
			return fail(ErrTokenNotYetValid, "%s is %s in the future, beyond the %s leeway: this server's clock is behind; sync it (NTP) or raise Config.Leeway",
				t.name, t.at.Sub(now).Round(time.Second), leeway)
		}
	}
	return nil
}

// tokenExpiry reads exp from a token without verifying it; used only to
// schedule refreshes of tokens that were verified when received.
func tokenExpiry(raw string) time.Time {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := jose.DecodeSegment(nil, parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(c.Exp), 0)
}
