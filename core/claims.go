package kinde

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Claims are the verified claims of a token. The registered claims are
// decoded into fields; every claim, registered or not, is available through
// Get (one claim) and Map (all of them). Claims are immutable and safe to
// share.
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

	payload []byte // the JSON claim set, already validated
	idToken bool   // carries at_hash or c_hash: an ID token, never an access token
	refresh bool   // says it is a refresh token (typ, token_use or token_type "refresh")
	scopes  bool   // carries scp or scope, as access tokens do
	typ     string // the JOSE header's typ
	token   string // the verified token itself (a private copy); empty for parseClaims
	once    sync.Once
	raw     map[string]json.RawMessage // built on first use from payload
	lists   claimLists                 // decoded on first use (permissions.go)

	// For the verified-token cache's estimate of what the claims keep
	// alive once every helper ran (see entryCost).
	nClaims   int32 // top-level claims
	listBytes int32 // bytes of the list claims (permissions, roles, scopes)
	listElems int32 // their elements, about
}

// parseClaims decodes a JSON claim set without verifying anything: the
// payload of a signature the caller has already checked.
func parseClaims(payload []byte) (*Claims, error) {
	c := &Claims{}
	if err := c.decode(payload); err != nil {
		return nil, err
	}
	return c, nil
}

// registered claim bits, to reject a token that repeats one.
const (
	seenIss = 1 << iota
	seenSub
	seenJti
	seenAzp
	seenNonce
	seenExp
	seenIat
	seenNbf
	seenAud
)

// decode validates the claim set and reads the registered claims in one pass
// over the bytes; other claims are indexed only when first asked for.
func (c *Claims) decode(payload []byte) error {
	var seen int
	err := scanObject(payload, func(key, value []byte, escaped bool) error {
		c.nClaims++
		if escaped {
			// Registered names never need escapes; an escaped spelling of
			// one ("\u0065xp") would be a second, hidden value.
			k, ok := jsonString(append(append([]byte{'"'}, key...), '"'))
			if ok && registeredBit(k) != 0 {
				return fmt.Errorf("%w: claim name %q is escaped", ErrTokenClaims, k)
			}
			return nil
		}
		bit := registeredBit(string(key))
		if bit == 0 {
			switch string(key) {
			case "at_hash", "c_hash":
				c.idToken = true
			case "scp", "scope":
				c.scopes = true
				c.countList(value)
			case claimPermissions, claimHasuraPermissions, claimRoles, claimHasuraRoles:
				c.countList(value)
			case "typ", "token_use", "token_type":
				if v, ok := jsonString(value); ok && strings.Contains(strings.ToLower(v), "refresh") {
					c.refresh = true
				}
			}
			return nil
		}
		if seen&bit != 0 {
			return fmt.Errorf("%w: claim %q appears twice", ErrTokenClaims, key)
		}
		seen |= bit
		return c.setRegistered(bit, key, value)
	})
	if err != nil {
		if errors.Is(err, errJSON) {
			return fmt.Errorf("%w: claims are not a JSON object", ErrTokenClaims)
		}
		return err
	}
	c.payload = payload
	return nil
}

// countList adds a list claim to the cache's memory estimate: its bytes
// and, as its element count, one more than its separators (an upper bound).
func (c *Claims) countList(value []byte) {
	c.listBytes += int32(len(value))
	c.listElems += int32(bytes.Count(value, []byte{','}) + bytes.Count(value, []byte{' '}) + 1)
}

func registeredBit(name string) int {
	switch name {
	case "iss":
		return seenIss
	case "sub":
		return seenSub
	case "jti":
		return seenJti
	case "azp":
		return seenAzp
	case "nonce":
		return seenNonce
	case "exp":
		return seenExp
	case "iat":
		return seenIat
	case "nbf":
		return seenNbf
	case "aud":
		return seenAud
	}
	return 0
}

func (c *Claims) setRegistered(bit int, key, value []byte) error {
	if string(value) == "null" {
		switch bit {
		case seenExp, seenIat, seenNbf, seenAud:
			// A time or audience that is null is not "absent": a verifier
			// reading it as absent would skip the check it exists for.
			return fmt.Errorf("%w: %s is null", ErrTokenClaims, key)
		}
		return nil
	}
	switch bit {
	case seenIss, seenSub, seenJti, seenAzp, seenNonce:
		v, ok := jsonString(value)
		if !ok {
			return fmt.Errorf("%w: %s must be a string", ErrTokenClaims, key)
		}
		switch bit {
		case seenIss:
			c.Issuer = v
		case seenSub:
			c.Subject = v
		case seenJti:
			c.ID = v
		case seenAzp:
			c.AuthorizedParty = v
		case seenNonce:
			c.Nonce = v
		}
	case seenExp, seenIat, seenNbf:
		t, err := numericDate(value)
		if err != nil {
			return fmt.Errorf("%w: %s must be a number of seconds since 1970", ErrTokenClaims, key)
		}
		switch bit {
		case seenExp:
			c.ExpiresAt = t
		case seenIat:
			c.IssuedAt = t
		case seenNbf:
			c.NotBefore = t
		}
	case seenAud:
		aud, err := audience(value)
		if err != nil {
			return err
		}
		c.Audience = aud
	}
	return nil
}

func numericDate(raw []byte) (time.Time, error) {
	if len(raw) == 0 || (raw[0] != '-' && !isDigit(raw[0])) {
		return time.Time{}, errJSON
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, errJSON
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// audience reads aud: a string or an array of strings.
func audience(raw []byte) ([]string, error) {
	if s, ok := jsonString(raw); ok {
		return []string{s}, nil
	}
	bad := fmt.Errorf("%w: aud must be a string or an array of strings", ErrTokenClaims)
	if raw[0] != '[' {
		return nil, bad
	}
	var out []string
	i := skipWS(raw, 1)
	if i < len(raw) && raw[i] == ']' {
		return []string{}, nil
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return nil, bad
		}
		end, _, err := scanString(raw, i)
		if err != nil {
			return nil, bad
		}
		s, _ := jsonString(raw[i:end])
		out = append(out, s)
		i = skipWS(raw, end)
		if i < len(raw) && raw[i] == ']' {
			return out, nil
		}
		if i >= len(raw) || raw[i] != ',' {
			return nil, bad
		}
		i = skipWS(raw, i+1)
	}
	return nil, bad
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// members returns every claim, indexing the payload on first use.
func (c *Claims) members() map[string]json.RawMessage {
	c.once.Do(func() {
		if c.raw != nil {
			return
		}
		m := make(map[string]json.RawMessage, 16)
		_ = scanObject(c.payload, func(key, value []byte, escaped bool) error {
			k := string(key)
			if escaped {
				if u, ok := jsonString(append(append([]byte{'"'}, key...), '"')); ok {
					k = u
				}
			}
			m[k] = json.RawMessage(value)
			return nil
		})
		c.raw = m
	})
	return c.raw
}

// Get returns the claim name. Its Present field tells an absent claim from
// one whose value is null.
func (c *Claims) Get(name string) ClaimValue {
	raw, ok := c.rawClaim(name)
	if !ok {
		return ClaimValue{Name: name}
	}
	return ClaimValue{Name: name, Value: bytes.Clone(raw), Present: true}
}

// rawClaim returns the raw JSON of the claim name without copying it; ok is
// false when the claim is absent (or c is nil).
func (c *Claims) rawClaim(name string) (json.RawMessage, bool) {
	if c == nil {
		return nil, false
	}
	raw, ok := c.members()[name]
	return raw, ok
}

// Map returns all claims decoded into plain Go values (numbers as float64).
func (c *Claims) Map() map[string]any {
	if c == nil {
		return map[string]any{}
	}
	m := c.members()
	out := make(map[string]any, len(m))
	for k, raw := range m {
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
