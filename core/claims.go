package kinde

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Claims are the verified claims of a token. The registered claims are
// decoded into fields; every claim, registered or not, is available raw
// through Get and Decode. Claims are immutable and safe to share.
type Claims struct {
	Issuer          string
	Subject         string
	Audience        []string
	ExpiresAt       time.Time // zero when absent
	IssuedAt        time.Time // zero when absent
	NotBefore       time.Time // zero when absent
	ID              string    // jti
	AuthorizedParty string    // azp
	Nonce           string    // ID tokens only

	raw map[string]json.RawMessage
}

// ParseClaims decodes a JSON claim set without verifying anything. It is
// meant for tests and tools; use Client.VerifyAccessToken for tokens from
// users.
func ParseClaims(payload []byte) (*Claims, error) {
	c := &Claims{}
	if err := c.decode(payload); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Claims) decode(payload []byte) error {
	if err := json.Unmarshal(payload, &c.raw); err != nil {
		return fmt.Errorf("%w: claims are not a JSON object: %v", ErrTokenClaims, err)
	}
	if c.raw == nil {
		return fmt.Errorf("%w: claims are null", ErrTokenClaims)
	}
	var err error
	if c.Issuer, err = c.stringClaim("iss"); err != nil {
		return err
	}
	if c.Subject, err = c.stringClaim("sub"); err != nil {
		return err
	}
	if c.ID, err = c.stringClaim("jti"); err != nil {
		return err
	}
	if c.AuthorizedParty, err = c.stringClaim("azp"); err != nil {
		return err
	}
	if c.Nonce, err = c.stringClaim("nonce"); err != nil {
		return err
	}
	if c.ExpiresAt, err = c.timeClaim("exp"); err != nil {
		return err
	}
	if c.IssuedAt, err = c.timeClaim("iat"); err != nil {
		return err
	}
	if c.NotBefore, err = c.timeClaim("nbf"); err != nil {
		return err
	}
	if raw, ok := c.raw["aud"]; ok && !isNull(raw) {
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("%w: aud: %v", ErrTokenClaims, err)
			}
			c.Audience = []string{s}
		default:
			if err := json.Unmarshal(raw, &c.Audience); err != nil {
				return fmt.Errorf("%w: aud must be a string or an array of strings", ErrTokenClaims)
			}
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func (c *Claims) stringClaim(name string) (string, error) {
	raw, ok := c.raw[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %s must be a string", ErrTokenClaims, name)
	}
	return s, nil
}

func (c *Claims) timeClaim(name string) (time.Time, error) {
	raw, ok := c.raw[name]
	if !ok || isNull(raw) {
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%w: %s must be a number of seconds since 1970", ErrTokenClaims, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// Get returns the raw JSON of the claim name. ok is false when the claim is
// absent; a claim present with the value null returns ok true and "null".
func (c *Claims) Get(name string) (raw json.RawMessage, ok bool) {
	if c == nil {
		return nil, false
	}
	raw, ok = c.raw[name]
	return raw, ok
}

// Has reports whether the claim name is present (even if null).
func (c *Claims) Has(name string) bool {
	_, ok := c.Get(name)
	return ok
}

// Decode unmarshals the claim name into v. It returns an error wrapping
// ErrClaimNotFound when the claim is absent.
func (c *Claims) Decode(name string, v any) error {
	raw, ok := c.Get(name)
	if !ok {
		return fmt.Errorf("kinde: claim %q: %w", name, ErrClaimNotFound)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("kinde: claim %q has an unexpected type: %w", name, err)
	}
	return nil
}

// Names returns the names of all claims, in no particular order.
func (c *Claims) Names() []string {
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.raw))
	for k := range c.raw {
		out = append(out, k)
	}
	return out
}

// Map returns all claims decoded into plain Go values (numbers as float64).
func (c *Claims) Map() map[string]any {
	if c == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(c.raw))
	for k, raw := range c.raw {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			out[k] = v
		}
	}
	return out
}

// HasAudience reports whether aud contains audience.
func (c *Claims) HasAudience(audience string) bool {
	for _, a := range c.Audience {
		if a == audience {
			return true
		}
	}
	return false
}
