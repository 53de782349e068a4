package jose

import (
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ErrNoKeys means a key set has no RSA key usable for RS256 signatures.
var ErrNoKeys = errors.New("the key set has no RS256 signing keys")

// ParseJWKS extracts the RS256-capable RSA public keys of a JWKS document.
func ParseJWKS(body []byte) (map[string]*rsa.PublicKey, error) {
	// One key the parser refuses (a short RSA key, an unknown curve) must
	// not make the whole set unusable: skip it like the checks below do.
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, fmt.Errorf("invalid JWKS: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.KeyType() != jwa.RSA() {
			continue
		}
		if use, ok := k.KeyUsage(); ok && use != "sig" {
			continue
		}
		if alg, ok := k.Algorithm(); ok && alg.String() != "RS256" {
			continue
		}
		var pub rsa.PublicKey
		if err := jwk.Export(k, &pub); err != nil {
			continue
		}
		if pub.N == nil || pub.N.BitLen() < 2048 {
			continue
		}
		kid, _ := k.KeyID()
		keys[kid] = &pub
	}
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return keys, nil
}
