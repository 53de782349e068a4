package jose

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Errors of compact JWS parsing and verification. Parse and Verify wrap
// them with a detail; compare with errors.Is.
var (
	// ErrMalformed means the token is not a well-formed compact JWS.
	ErrMalformed = errors.New("malformed JWS")
	// ErrSignature means the signature does not verify with the key.
	ErrSignature = errors.New("invalid signature")
)

// Header holds the JOSE header members the verifier uses.
type Header struct {
	Alg string
	Kid string
	Typ string // the media type of the token, such as "JWT" or "at+jwt" (RFC 9068)
}

// JWS is a compact JWS split into its parts. The strings point into the
// token it was parsed from.
type JWS struct {
	Header Header
	raw    string
	dot1   int
	dot2   int
}

// Parse splits a compact JWS (header.payload.signature, base64url without
// padding) and parses its header. It rejects tokens longer than maxLen,
// segments that are not strict base64url (CR and LF included) and headers
// that are not JSON objects, repeat or escape alg or kid, or carry "crit".
func Parse(raw string, maxLen int) (JWS, error) {
	if len(raw) > maxLen {
		return JWS{}, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxLen)
	}
	dot1 := strings.IndexByte(raw, '.')
	dot2 := -1
	if dot1 >= 0 {
		if i := strings.IndexByte(raw[dot1+1:], '.'); i >= 0 {
			dot2 = dot1 + 1 + i
		}
	}
	if dot1 <= 0 || dot2 <= dot1+1 || strings.IndexByte(raw[dot2+1:], '.') >= 0 {
		return JWS{}, fmt.Errorf("%w: a JWT has three dot-separated parts", ErrMalformed)
	}
	var hdrBuf [512]byte
	hdrJSON, err := DecodeSegment(hdrBuf[:0], raw[:dot1])
	if err != nil {
		return JWS{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	h, err := ParseHeader(hdrJSON)
	if err != nil {
		return JWS{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return JWS{Header: h, raw: raw, dot1: dot1, dot2: dot2}, nil
}

// VerifyRS256 checks the signature with key (RSASSA-PKCS1-v1_5 with SHA-256).
// It does not look at Header.Alg: the caller decides which algorithm it
// accepts.
func (j JWS) VerifyRS256(key *rsa.PublicKey) error {
	var sigBuf [512]byte
	sig, err := DecodeSegment(sigBuf[:0], j.raw[j.dot2+1:])
	if err != nil {
		return fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	digest := sha256.Sum256([]byte(j.raw[:j.dot2]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return ErrSignature
	}
	return nil
}

// Payload decodes the payload segment. Call it after VerifyRS256.
func (j JWS) Payload() ([]byte, error) {
	p, err := DecodeSegment(nil, j.raw[j.dot1+1:j.dot2])
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	return p, nil
}

// DecodeSegment decodes strict, unpadded base64url into dst (grown when it is
// too small) and returns the decoded bytes. Unlike the encoding/base64
// decoders, it rejects CR and LF instead of skipping them, so every token has
// exactly one spelling.
func DecodeSegment(dst []byte, seg string) ([]byte, error) {
	if strings.IndexByte(seg, '\n') >= 0 || strings.IndexByte(seg, '\r') >= 0 {
		return nil, errors.New("base64url segment contains a line break")
	}
	n := base64.RawURLEncoding.DecodedLen(len(seg))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	m, err := base64.RawURLEncoding.Strict().Decode(dst, []byte(seg))
	return dst[:m], err
}

// ParseHeader reads alg and kid from a JOSE header. Repeated members, escaped
// spellings of them, "crit" (extensions this verifier does not understand)
// and "b64" (RFC 7797's unencoded payload, which changes what the signature
// covers and which Kinde does not use) are rejected, so that a token has one
// reading only.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	var seenAlg, seenKid bool
	err := ScanObject(b, func(key, value []byte, escaped bool) error {
		if escaped {
			return errors.New("header member names must not be escaped")
		}
		switch string(key) {
		case "alg":
			v, ok := String(value)
			if !ok || seenAlg {
				return errors.New("header alg is repeated or not a string")
			}
			h.Alg, seenAlg = v, true
		case "kid":
			v, ok := String(value)
			if !ok || seenKid {
				return errors.New("header kid is repeated or not a string")
			}
			h.Kid, seenKid = v, true
		case "typ":
			if v, ok := String(value); ok {
				h.Typ = v
			}
		case "crit":
			return errors.New("critical header extensions are not supported")
		case "b64":
			return errors.New("the b64 header parameter (RFC 7797) is not supported")
		}
		return nil
	})
	if errors.Is(err, ErrJSON) {
		return h, errors.New("header is not a JSON object")
	}
	return h, err
}
