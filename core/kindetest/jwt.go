package kindetest

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

type signingKey struct {
	kid       string
	priv      *rsa.PrivateKey
	published bool
}

// Header controls the JOSE header and signature of tokens made with Sign.
type Header struct {
	// Alg is "RS256" (default), "none" (no signature) or "HS256" (HMAC-SHA256
	// keyed with Secret, or with the PEM of the current public key when Secret
	// is empty: the classic algorithm-confusion attack).
	Alg string
	// Kid overrides the key id; "-" omits it. Default: the current key's id.
	Kid string
	// Key signs RS256 with another key (for example one the emulator does not publish).
	Key *rsa.PrivateKey
	// Secret is the HMAC key for HS256.
	Secret []byte
	// Typ sets the typ header; default "JWT".
	Typ string
}

// PublicKey is a published verification key.
type PublicKey struct {
	Kid string
	Key *rsa.PublicKey
}

func keyID(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("kindetest: marshal public key: %v", err))
	}
	sum := sha256.Sum256(der)
	parts := make([]string, 16)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02x", sum[i])
	}
	return strings.Join(parts, ":")
}

func newSigningKey(priv *rsa.PrivateKey) (*signingKey, error) {
	if priv == nil {
		var err error
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("kindetest: generate RSA key: %w", err)
		}
	}
	return &signingKey{kid: keyID(&priv.PublicKey), priv: priv, published: true}, nil
}

func (st *state) currentKey() *signingKey { return st.keys[len(st.keys)-1] }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func encodeJWT(claims map[string]any, h Header, current *signingKey) (string, error) {
	alg := h.Alg
	if alg == "" {
		alg = "RS256"
	}
	hdr := map[string]any{"alg": alg}
	typ := h.Typ
	if typ == "" {
		typ = "JWT"
	}
	hdr["typ"] = typ
	key := current.priv
	kid := current.kid
	if h.Key != nil {
		key = h.Key
		kid = keyID(&h.Key.PublicKey)
	}
	switch h.Kid {
	case "-":
		kid = ""
	case "":
	default:
		kid = h.Kid
	}
	if kid != "" {
		hdr["kid"] = kid
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return "", fmt.Errorf("kindetest: encode header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("kindetest: encode claims: %w", err)
	}
	input := b64(hb) + "." + b64(cb)
	var sig []byte
	switch alg {
	case "RS256":
		sum := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		if err != nil {
			return "", fmt.Errorf("kindetest: sign: %w", err)
		}
	case "HS256":
		secret := h.Secret
		if len(secret) == 0 {
			der, err := x509.MarshalPKIXPublicKey(&current.priv.PublicKey)
			if err != nil {
				return "", fmt.Errorf("kindetest: marshal public key: %w", err)
			}
			secret = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	default:
		return "", fmt.Errorf("kindetest: unsupported alg %q", alg)
	}
	return input + "." + b64(sig), nil
}

// sign signs claims with the current key; callers hold s.mu.
func (st *state) sign(claims map[string]any) string {
	tok, err := encodeJWT(claims, Header{}, st.currentKey())
	if err != nil {
		panic(err) // claims built by the emulator always encode
	}
	return tok
}

var errBadToken = errors.New("invalid token")

// verify checks a token the emulator issued: RS256 with a published key,
// issuer and expiry. Callers hold s.mu.
func (st *state) verify(tok, issuer string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errBadToken
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errBadToken
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil || hdr.Alg != "RS256" {
		return nil, errBadToken
	}
	var key *signingKey
	for _, k := range st.keys {
		if k.published && k.kid == hdr.Kid {
			key = k
		}
	}
	if key == nil {
		return nil, errBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.priv.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errBadToken
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errBadToken
	}
	dec := json.NewDecoder(bytes.NewReader(cb))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, errBadToken
	}
	if claims["iss"] != issuer {
		return nil, errBadToken
	}
	exp, err := numClaim(claims, "exp")
	if err != nil || !st.now().Before(time.Unix(exp, 0)) {
		return nil, errBadToken
	}
	return claims, nil
}

func numClaim(c map[string]any, name string) (int64, error) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, fmt.Errorf("claim %s missing", name)
	}
	return n.Int64()
}

func jwk(k *signingKey) map[string]any {
	pub := k.priv.PublicKey
	return map[string]any{
		"kty":     "RSA",
		"alg":     "RS256",
		"use":     "sig",
		"key_ops": []string{"verify"},
		"kid":     k.kid,
		"n":       b64(pub.N.Bytes()),
		"e":       b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// Sign encodes claims as a compact JWS under header h, for attack tests
// (wrong key, alg none, HS256, missing kid, tampered claims).
func (s *Server) Sign(claims map[string]any, h Header) string {
	s.mu.Lock()
	cur := s.st.currentKey()
	s.mu.Unlock()
	tok, err := encodeJWT(claims, h, cur)
	if err != nil {
		panic(err)
	}
	return tok
}

// RotateKey generates a new signing key that signs from now on; older keys
// stay published until RetireOldKeys. It returns the new key's id.
func (s *Server) RotateKey() (string, error) {
	k, err := newSigningKey(nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.keys = append(s.st.keys, k)
	return k.kid, nil
}

// RetireOldKeys unpublishes every key but the current one; tokens they
// signed no longer verify.
func (s *Server) RetireOldKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.st.keys[:len(s.st.keys)-1] {
		k.published = false
	}
}

// PublicKeys returns the published keys, the current signing key last.
func (s *Server) PublicKeys() []PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PublicKey
	for _, k := range s.st.keys {
		if k.published {
			pub := k.priv.PublicKey
			out = append(out, PublicKey{Kid: k.kid, Key: &pub})
		}
	}
	return out
}

// KeyID returns the id of the current signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.currentKey().kid
}
