package kinde_test

// The differential check of the token verifier (issue 17, "Differential
// check in CI"). The hand-written verifier of package kinde is compared with
// jwx v3, configured with the same key set, issuer, audience, clock and
// leeway, on a catalogue of generated tokens (TestVerifyDifferential) and on
// fuzzed ones (FuzzVerifyDifferential). Every difference between the two
// verdicts must be one of knownDifferences, each with its justification; any
// other difference fails.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// The fixed setting of the comparison. Kinde's access tokens carry an
// audience array and azp (kinde-protocol.md §3.1); the leeway is the SDK's
// default (Config.Leeway, 30 s).
const (
	diffAudience = "https://api.example"
	diffClientID = "cid"
	diffLeeway   = 30 * time.Second
)

var diffNow = time.Unix(1_900_000_000, 0)

// A knownDifference is a case where the two verifiers are allowed to
// disagree, in the direction it says.
type knownDifference struct {
	dir direction
	why string
}

// direction says which verifier accepts in a known difference.
type direction int

const (
	kindeStricter direction = iota // kinde rejects what jwx accepts
	kindeLaxer                     // kinde accepts what jwx rejects: the direction that matters for security
	eitherWay                      // cases of both kinds
)

func (d direction) allows(kindeAccepted bool) bool {
	return d == eitherWay || (d == kindeLaxer) == kindeAccepted
}

// knownDifferences lists every accepted difference with its justification.
// A catalogue case names the entry that explains its difference; a
// difference without an entry, or an entry whose case does not differ,
// fails TestVerifyDifferential.
var knownDifferences = map[string]knownDifference{
	"rs256-only": {kindeStricter, "Kinde signs with RS256 only (kinde-protocol.md §1.1 and §3: \"The signing alg is RS256 only\"); " +
		"kinde refuses every other alg even when the JWKS key carries no alg, where jwx infers RS384/RS512/PS256 from the key type"},
	"alg-required": {kindeStricter, "RFC 7515 §4.1.1 makes alg REQUIRED; kinde refuses a header without it, jwx verifies with the key's own alg"},
	"crit": {kindeStricter, "RFC 7515 §4.1.11: a recipient that does not understand a crit extension MUST reject the JWS; " +
		"kinde understands none and refuses crit, jwx v3 ignores crit unless jws.WithCritValidation(true)"},
	"header-duplicate-or-escaped": {kindeStricter, "a repeated or escaped alg or kid is a second, hidden value (RFC 7515 §4: names MUST be unique; " +
		"RFC 8259 §4); kinde refuses the header, jwx keeps the last value"},
	"claim-duplicate-or-escaped": {kindeStricter, "a repeated or escaped registered claim (iss, sub, aud, exp, nbf, iat, jti, azp, nonce) " +
		"is a second, hidden value (RFC 7519 §4: names MUST be unique); kinde refuses it, jwx keeps the last value"},
	"time-type":  {kindeStricter, "RFC 7519 §2: a NumericDate is a JSON number; kinde refuses a string, jwx parses numeric and RFC 3339 strings"},
	"time-range": {kindeStricter, "kinde refuses a negative NumericDate or one beyond 1e11 s (year 5138) as malformed; jwx accepts any representable time"},
	"fraction": {eitherWay, "RFC 7519 §2: a NumericDate may have fractional seconds; kinde keeps them, jwx truncates them at parse " +
		"(jwt.WithNumericDateParsePrecision defaults to 0). An exp less than one second past now-leeway is valid for kinde and " +
		"expired for jwx; an nbf or iat less than one second beyond now+leeway is refused by kinde and valid for jwx. " +
		"The difference is under one second, at the edge of the 30 s leeway"},
	"b64-refused": {kindeStricter, "RFC 7797's b64 header parameter changes what the signature covers; kinde refuses any b64 " +
		"member (one token, one reading), jwx accepts b64=true (the default spelled out). Kinde signs ordinary JWTs (kinde-protocol.md §3)"},
	"claim-type": {kindeStricter, "OpenID Connect Core §2 defines azp and nonce as strings; kinde refuses another type, jwx treats them as private claims"},
	"token-kind": {kindeStricter, "RFC 9068 / OpenID Connect Core §2: nonce, at_hash and c_hash belong to ID tokens, a refresh typ to refresh " +
		"tokens; VerifyAccessToken refuses them as bearer tokens, jwx has no notion of token kinds"},
	"size": {kindeStricter, "kinde bounds tokens to 64 KiB and JSON nesting to 64 levels (untrusted input); jwx has no such bounds"},
	"base64-strict": {kindeStricter, "security review finding 3: one token, one spelling. kinde decodes strict unpadded base64url (RFC 7515 §2, " +
		"Appendix C) and refuses padding, the standard alphabet, non-zero trailing bits, white space and CR/LF; jwx's decoder accepts them"},
	"duplicate-kid-in-set": {eitherWay, "a key set with two keys under one kid: kinde uses the last, jwx the first. Both keys are published " +
		"by Kinde (the set is trusted), RFC 7517 §4.5 asks for distinct kids, and Kinde's set has them; no key outside the set is accepted"},
	"empty-kid-single-key": {kindeLaxer, "with a single key in the set, kinde reads \"kid\": \"\" as no kid and uses that key (Kinde's own key); " +
		"jwx looks up the empty string among the kids and finds none"},
}

// diffKit holds the keys of the comparison. k1 and k2 are Kinde's keys,
// attacker is published nowhere, e3 is a 2048-bit key with public exponent 3
// and short a 1024-bit key; both of those are published too.
type diffKit struct {
	k1, k2, attacker, e3, short *rsa.PrivateKey
}

var diffKeys = sync.OnceValue(func() *diffKit {
	gen := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	return &diffKit{k1: rpKeys()[0], k2: rpKeys()[1], attacker: gen(2048), e3: genE3Key(), short: gen(1024)}
})

// genE3Key builds a 2048-bit RSA key with e = 3, which crypto/rsa does not
// generate.
func genE3Key() *rsa.PrivateKey {
	three := big.NewInt(3)
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		q, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		p1, q1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(p1, q1)
		d := new(big.Int).ModInverse(three, phi)
		n := new(big.Int).Mul(p, q)
		if d == nil || p.Cmp(q) == 0 || n.BitLen() != 2048 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 3}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		return k
	}
}

// jwkOf is the JWK of a public key as Kinde publishes it (kinde-protocol.md
// §3: kty, alg, use, kid, n, e).
func jwkOf(kid string, k *rsa.PublicKey, fields map[string]any) map[string]any {
	m := map[string]any{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	for name, v := range fields {
		if v == nil {
			delete(m, name)
		} else {
			m[name] = v
		}
	}
	return m
}

// diffEnv is one Kinde domain: an httptest server that serves a key set, a
// kinde.Client for it and the same key set as jwx reads it.
type diffEnv struct {
	name   string
	iss    string
	client *kinde.Client
	set    jwk.Set
}

// The environments of the comparison: "kinde" publishes k1, k2, e3 and an
// encryption key, as JWKs with alg RS256; "single" publishes k1 alone (so a
// token may omit kid); "short" publishes k1 and the 1024-bit key; "noalg" publishes k1 and k2 without alg (alg is
// optional, RFC 7517 §4.4); "dupkid-k1-last" and "dupkid-k1-first" publish
// k1 and k2 under the same kid.
func newDiffEnvs(tb testing.TB) map[string]*diffEnv {
	tb.Helper()
	k := diffKeys()
	sets := map[string][]map[string]any{
		"kinde": {
			jwkOf("k1", &k.k1.PublicKey, nil),
			jwkOf("k2", &k.k2.PublicKey, nil),
			jwkOf("e3", &k.e3.PublicKey, nil),
			jwkOf("enc", &k.attacker.PublicKey, map[string]any{"use": "enc", "alg": nil}),
		},
		"single":          {jwkOf("k1", &k.k1.PublicKey, nil)},
		"short":           {jwkOf("k1", &k.k1.PublicKey, nil), jwkOf("short", &k.short.PublicKey, nil)},
		"noalg":           {jwkOf("k1", &k.k1.PublicKey, map[string]any{"alg": nil}), jwkOf("k2", &k.k2.PublicKey, map[string]any{"alg": nil})},
		"dupkid-k1-last":  {jwkOf("k", &k.k2.PublicKey, nil), jwkOf("k", &k.k1.PublicKey, nil)},
		"dupkid-k1-first": {jwkOf("k", &k.k1.PublicKey, nil), jwkOf("k", &k.k2.PublicKey, nil)},
	}
	envs := make(map[string]*diffEnv, len(sets))
	for name, keys := range sets {
		doc, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			tb.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/jwks" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		}))
		tb.Cleanup(srv.Close)
		client, err := kinde.New(kinde.Config{Domain: srv.URL, ClientID: diffClientID, Audience: []string{diffAudience},
			Now: func() time.Time { return diffNow }, Leeway: diffLeeway, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			tb.Fatal(err)
		}
		set, err := jwk.Parse(doc)
		if err != nil {
			// A key jwx refuses (the 1024-bit one): the reference skips
			// it and keeps the others.
			set, err = jwk.Parse(doc, jwk.WithIgnoreParseError(true))
		}
		if err != nil {
			tb.Fatal(err)
		}
		envs[name] = &diffEnv{name: name, iss: srv.URL, client: client, set: set}
	}
	return envs
}

// kinde is package kinde's verdict, through the public API.
func (e *diffEnv) kinde(raw string) (*kinde.Claims, error) {
	return e.client.VerifyAccessToken(context.Background(), raw)
}

// jwx is the reference verdict: jws.Verify of a compact JWS with the key set
// (a kid names the key; without a kid, the key of a one-key set; the header
// alg must match the key's alg, or one inferred from its type when the JWK
// has none), then jwx's claim decoding and jwt.Validate with the issuer, the
// audience, a required exp, the clock and the leeway.
func (e *diffEnv) jwx(raw string) error {
	payload, err := jws.Verify([]byte(raw), jws.WithCompact(),
		jws.WithKeySet(e.set, jws.WithUseDefault(true), jws.WithInferAlgorithmFromKey(true)),
		jws.WithAlgorithmMatch(true))
	if err != nil {
		return err
	}
	tok := jwt.New()
	if err := json.Unmarshal(payload, tok); err != nil {
		return err
	}
	return jwt.Validate(tok, jwt.WithIssuer(e.iss), jwt.WithAudience(diffAudience), jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(diffLeeway), jwt.WithClock(jwt.ClockFunc(func() time.Time { return diffNow })))
}

// Token building. seg is unpadded base64url; signRaw signs the exact
// segments it is given, so a token with non-canonical segments still
// carries a valid signature over them.

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func signRaw(alg string, key *rsa.PrivateKey, secret []byte, h64, p64 string) string {
	input := h64 + "." + p64
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		sum := sha256.Sum256([]byte(input))
		if key.E == 3 {
			sig = signPKCS1E3(key, sum[:])
		} else {
			sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		}
	case "RS384":
		sum := sha512.Sum384([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA384, sum[:])
	case "RS512":
		sum := sha512.Sum512([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA512, sum[:])
	case "PS256":
		sum := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "HS256":
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	default:
		panic("signRaw: " + alg)
	}
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// signPKCS1E3 computes an RSASSA-PKCS1-v1_5 SHA-256 signature with the raw
// private exponent, for the e = 3 key (crypto/rsa may refuse to sign with it).
func signPKCS1E3(key *rsa.PrivateKey, digest []byte) []byte {
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	k := key.Size()
	em := make([]byte, k)
	em[1] = 1
	t := append(prefix, digest...)
	for i := 2; i < k-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-len(t):], t)
	s := new(big.Int).Exp(new(big.Int).SetBytes(em), key.D, key.N)
	return s.FillBytes(make([]byte, k))
}

// tok signs header and payload JSON with RS256 and k1.
func tokRS(key *rsa.PrivateKey, header, payload string) string {
	return signRaw("RS256", key, nil, seg(header), seg(payload))
}

// claimsJSON is a Kinde access token's claim set (kinde-protocol.md §3.1)
// for env, valid at diffNow, with edits: a nil value removes a claim, a
// json.RawMessage is written as is.
func claimsJSON(iss string, edits map[string]any) string {
	now := diffNow.Unix()
	m := map[string]any{"iss": iss, "sub": "kp_1", "aud": []string{diffAudience}, "azp": diffClientID,
		"exp": now + 3600, "iat": now - 10, "jti": "jti-1", "scp": []string{"openid"}, "org_code": "org_1",
		"permissions": []string{"read"}}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const hdrK1 = `{"alg":"RS256","kid":"k1","typ":"JWT"}`

// diffCase is one token of the catalogue. kinde is package kinde's expected
// verdict (true: accepted); diff names the knownDifferences entry when jwx's
// verdict differs, "" when the two must agree.
type diffCase struct {
	cat, name string
	env       string // "" for "kinde"
	token     func(iss string) string
	kinde     bool
	diff      string
}

func diffCatalogue() []diffCase {
	k := diffKeys()
	now := diffNow.Unix()
	valid := func(iss string) string { return tokRS(k.k1, hdrK1, claimsJSON(iss, nil)) }
	withClaims := func(edits map[string]any) func(string) string {
		return func(iss string) string { return tokRS(k.k1, hdrK1, claimsJSON(iss, edits)) }
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	// rawClaims signs a claim set given as text; $ISS and $EXP are replaced.
	rawClaims := func(tmpl string) func(string) string {
		return func(iss string) string {
			p := strings.NewReplacer("$ISS", iss, "$EXP", strconv.FormatInt(now+3600, 10), "$AUD", diffAudience).Replace(tmpl)
			return tokRS(k.k1, hdrK1, p)
		}
	}
	withHeader := func(key *rsa.PrivateKey, header string) func(string) string {
		return func(iss string) string { return tokRS(key, header, claimsJSON(iss, nil)) }
	}
	signed := func(alg string, key *rsa.PrivateKey, secret []byte, header string) func(string) string {
		return func(iss string) string { return signRaw(alg, key, secret, seg(header), seg(claimsJSON(iss, nil))) }
	}
	// edit applies f to a valid token.
	edit := func(f func(tok string) string) func(string) string {
		return func(iss string) string { return f(valid(iss)) }
	}
	// segs signs segments transformed by f (the signature covers them).
	segs := func(f func(h64, p64 string) (string, string)) func(string) string {
		return func(iss string) string {
			h, p := f(seg(hdrK1), seg(claimsJSON(iss, nil)))
			return signRaw("RS256", k.k1, nil, h, p)
		}
	}
	pubPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(&k.k1.PublicKey)
		if err != nil {
			panic(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	attackerJWK, _ := json.Marshal(jwkOf("attacker", &k.attacker.PublicKey, nil))
	// sigWith returns a valid token whose signature segment contains c,
	// varying jti until it does.
	sigWith := func(iss string, c byte) string {
		for i := 0; ; i++ {
			t := tokRS(k.k1, hdrK1, claimsJSON(iss, map[string]any{"jti": fmt.Sprint("jti-", i)}))
			if strings.IndexByte(t[strings.LastIndexByte(t, '.'):], c) >= 0 {
				return t
			}
		}
	}
	huge := strings.Repeat("x", 70<<10)
	nested := strings.Repeat("[", 100) + strings.Repeat("]", 100)

	return []diffCase{
		// The genuine article.
		{"valid", "RS256 by k1", "", valid, true, ""},
		{"valid", "RS256 by k2", "", withHeader(k.k2, `{"alg":"RS256","kid":"k2"}`), true, ""},
		{"valid", "no typ", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1"}`), true, ""},
		{"valid", "typ at+jwt", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","typ":"at+jwt"}`), true, ""},
		{"valid", "minimal claims", "", withClaims(map[string]any{"sub": nil, "azp": nil, "iat": nil, "jti": nil, "org_code": nil, "permissions": nil}), true, ""},
		{"valid", "white space around the claim set", "", rawClaims(` {"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[]} `), true, ""},
		{"valid", "invalid UTF-8 in a private claim", "", rawClaims("{\"iss\":\"$ISS\",\"aud\":\"$AUD\",\"exp\":$EXP,\"scp\":[],\"x\":\"\xff\"}"), true, ""},
		{"valid", "escaped private claim name", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[],"\u0070ermissions":["a"]}`), true, ""},
		{"valid", "repeated private claim", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[],"org_code":"a","org_code":"b"}`), true, ""},
		{"valid", "long header member", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","x":"`+strings.Repeat("h", 2000)+`"}`), true, ""},

		// alg.
		{"alg", "none, no signature", "", signed("none", nil, nil, `{"alg":"none","kid":"k1"}`), false, ""},
		{"alg", "None", "", signed("none", nil, nil, `{"alg":"None","kid":"k1"}`), false, ""},
		{"alg", "none with k1's RS256 signature", "", signed("RS256", k.k1, nil, `{"alg":"none","kid":"k1"}`), false, ""},
		{"alg", "HS256 keyed with the public key PEM", "", signed("HS256", nil, pubPEM, `{"alg":"HS256","kid":"k1"}`), false, ""},
		{"alg", "HS256 keyed with the modulus", "", signed("HS256", nil, k.k1.N.Bytes(), `{"alg":"HS256","kid":"k1"}`), false, ""},
		{"alg", "HS256 keyed with the client id", "", signed("HS256", nil, []byte(diffClientID), `{"alg":"HS256","kid":"k1"}`), false, ""},
		{"alg", "RS384 by k1", "", signed("RS384", k.k1, nil, `{"alg":"RS384","kid":"k1"}`), false, ""},
		{"alg", "RS512 by k1", "", signed("RS512", k.k1, nil, `{"alg":"RS512","kid":"k1"}`), false, ""},
		{"alg", "PS256 by k1", "", signed("PS256", k.k1, nil, `{"alg":"PS256","kid":"k1"}`), false, ""},
		{"alg", "RS384 by k1, key without alg", "noalg", signed("RS384", k.k1, nil, `{"alg":"RS384","kid":"k1"}`), false, "rs256-only"},
		{"alg", "RS512 by k1, key without alg", "noalg", signed("RS512", k.k1, nil, `{"alg":"RS512","kid":"k1"}`), false, "rs256-only"},
		{"alg", "PS256 by k1, key without alg", "noalg", signed("PS256", k.k1, nil, `{"alg":"PS256","kid":"k1"}`), false, "rs256-only"},
		{"alg", "RS256 by k1, key without alg", "noalg", valid, true, ""},
		{"alg", "HS256, key without alg", "noalg", signed("HS256", nil, pubPEM, `{"alg":"HS256","kid":"k1"}`), false, ""},
		{"alg", "lower-case rs256", "", signed("RS256", k.k1, nil, `{"alg":"rs256","kid":"k1"}`), false, ""},
		{"alg", "missing", "", withHeader(k.k1, `{"kid":"k1"}`), false, "alg-required"},
		{"alg", "null", "", withHeader(k.k1, `{"alg":null,"kid":"k1"}`), false, ""},
		{"alg", "number", "", withHeader(k.k1, `{"alg":256,"kid":"k1"}`), false, ""},
		{"alg", "repeated, RS256 last", "", withHeader(k.k1, `{"alg":"none","alg":"RS256","kid":"k1"}`), false, "header-duplicate-or-escaped"},
		{"alg", "repeated, none last", "", withHeader(k.k1, `{"alg":"RS256","alg":"none","kid":"k1"}`), false, ""},
		{"alg", "escaped name", "", withHeader(k.k1, `{"\u0061lg":"RS256","kid":"k1"}`), false, "header-duplicate-or-escaped"},

		// kid and keys.
		{"kid", "missing, several keys", "", withHeader(k.k1, `{"alg":"RS256"}`), false, ""},
		{"kid", "missing, one key", "single", withHeader(k.k1, `{"alg":"RS256"}`), true, ""},
		{"kid", "empty, one key", "single", withHeader(k.k1, `{"alg":"RS256","kid":""}`), true, "empty-kid-single-key"},
		{"kid", "empty, several keys", "", withHeader(k.k1, `{"alg":"RS256","kid":""}`), false, ""},
		{"kid", "unknown", "", withHeader(k.attacker, `{"alg":"RS256","kid":"nobody"}`), false, ""},
		{"kid", "unknown, signed by k1", "", withHeader(k.k1, `{"alg":"RS256","kid":"nobody"}`), false, ""},
		{"kid", "k1's kid, k2's signature", "", withHeader(k.k2, hdrK1), false, ""},
		{"kid", "k1's kid, attacker's signature", "", withHeader(k.attacker, hdrK1), false, ""},
		{"kid", "number", "", withHeader(k.k1, `{"alg":"RS256","kid":1}`), false, ""},
		{"kid", "repeated, k1 last", "", withHeader(k.k1, `{"alg":"RS256","kid":"nobody","kid":"k1"}`), false, "header-duplicate-or-escaped"},
		{"kid", "repeated, k2 last", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","kid":"k2"}`), false, ""},
		{"kid", "escaped name", "", withHeader(k.k1, `{"alg":"RS256","\u006bid":"k1"}`), false, "header-duplicate-or-escaped"},
		{"kid", "4000 characters", "", withHeader(k.k1, `{"alg":"RS256","kid":"`+strings.Repeat("k", 4000)+`"}`), false, ""},
		{"kid", "key marked use=enc", "", withHeader(k.attacker, `{"alg":"RS256","kid":"enc"}`), false, ""},
		{"kid", "key with e=3", "", withHeader(k.e3, `{"alg":"RS256","kid":"e3"}`), true, ""},
		{"kid", "1024-bit key", "short", withHeader(k.short, `{"alg":"RS256","kid":"short"}`), false, ""},
		{"kid", "k1 in a set that also holds a 1024-bit key", "short", valid, true, ""},
		{"kid", "two keys under one kid, k1 last", "dupkid-k1-last", withHeader(k.k1, `{"alg":"RS256","kid":"k"}`), true, "duplicate-kid-in-set"},
		{"kid", "two keys under one kid, k1 first", "dupkid-k1-first", withHeader(k.k1, `{"alg":"RS256","kid":"k"}`), false, "duplicate-kid-in-set"},
		{"kid", "two keys under one kid, attacker", "dupkid-k1-first", withHeader(k.attacker, `{"alg":"RS256","kid":"k"}`), false, ""},

		// Other header members: ignored or refused, never followed.
		{"header", "crit with an unknown name", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","crit":["x-unknown"],"x-unknown":1}`), false, "crit"},
		{"header", "crit exp", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","crit":["exp"],"exp":1}`), false, "crit"},
		{"header", "b64 false with crit", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","b64":false,"crit":["b64"]}`), false, ""},
		{"header", "b64 false without crit", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","b64":false}`), false, ""},
		{"header", "b64 true without crit", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","b64":true}`), false, "b64-refused"},
		{"header", "jku of the attacker, signed by k1", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","jku":"https://evil.example/jwks"}`), true, ""},
		{"header", "jku of the attacker, attacker's key", "", withHeader(k.attacker, `{"alg":"RS256","kid":"attacker","jku":"https://evil.example/jwks"}`), false, ""},
		{"header", "x5u of the attacker", "", withHeader(k.attacker, `{"alg":"RS256","kid":"attacker","x5u":"https://evil.example/cert"}`), false, ""},
		{"header", "embedded jwk of the attacker", "", withHeader(k.attacker, `{"alg":"RS256","kid":"attacker","jwk":`+string(attackerJWK)+`}`), false, ""},
		{"header", "embedded jwk of the attacker, k1's kid", "", withHeader(k.attacker, `{"alg":"RS256","kid":"k1","jwk":`+string(attackerJWK)+`}`), false, ""},
		{"header", "typ refresh", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","typ":"refresh+jwt"}`), false, "token-kind"},
		{"header", "cty JWT (nested)", "", withHeader(k.k1, `{"alg":"RS256","kid":"k1","cty":"JWT"}`), true, ""},
		{"header", "array", "", withHeader(k.k1, `["alg","RS256"]`), false, ""},
		{"header", "not JSON", "", withHeader(k.k1, `alg=RS256`), false, ""},
		{"header", "trailing data", "", withHeader(k.k1, hdrK1+`x`), false, ""},
		{"header", "two objects", "", withHeader(k.k1, hdrK1+`{}`), false, ""},

		// Registered claims: issuer and audience.
		{"iss", "other issuer", "", withClaims(map[string]any{"iss": "https://evil.kinde.com"}), false, ""},
		{"iss", "trailing slash", "", func(iss string) string { return tokRS(k.k1, hdrK1, claimsJSON(iss+"/", nil)) }, false, ""},
		{"iss", "missing", "", withClaims(map[string]any{"iss": nil}), false, ""},
		{"iss", "null", "", withClaims(map[string]any{"iss": raw("null")}), false, ""},
		{"iss", "number", "", withClaims(map[string]any{"iss": 1}), false, ""},
		{"iss", "array", "", func(iss string) string {
			return tokRS(k.k1, hdrK1, claimsJSON(iss, map[string]any{"iss": []string{iss}}))
		}, false, ""},
		{"iss", "repeated, right one last", "", rawClaims(`{"iss":"https://evil.kinde.com","iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"iss", "repeated, wrong one last", "", rawClaims(`{"iss":"$ISS","iss":"https://evil.kinde.com","aud":"$AUD","exp":$EXP,"scp":[]}`), false, ""},
		{"iss", "escaped name", "", rawClaims(`{"\u0069ss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"aud", "string", "", withClaims(map[string]any{"aud": diffAudience}), true, ""},
		{"aud", "array with others", "", withClaims(map[string]any{"aud": []string{"other", diffAudience}}), true, ""},
		{"aud", "other", "", withClaims(map[string]any{"aud": []string{"https://other.example"}}), false, ""},
		{"aud", "empty array", "", withClaims(map[string]any{"aud": []string{}}), false, ""},
		{"aud", "missing", "", withClaims(map[string]any{"aud": nil}), false, ""},
		{"aud", "null", "", withClaims(map[string]any{"aud": raw("null")}), false, ""},
		{"aud", "number", "", withClaims(map[string]any{"aud": 1}), false, ""},
		{"aud", "array with a number", "", withClaims(map[string]any{"aud": raw(`["` + diffAudience + `",1]`)}), false, ""},
		{"aud", "case differs", "", withClaims(map[string]any{"aud": []string{strings.ToUpper(diffAudience)}}), false, ""},
		{"aud", "repeated, right one last", "", rawClaims(`{"iss":"$ISS","aud":"x","aud":"$AUD","exp":$EXP,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"aud", "escaped name", "", rawClaims(`{"iss":"$ISS","\u0061ud":"$AUD","exp":$EXP,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"aud", "only the client id (an ID token's)", "", withClaims(map[string]any{"aud": []string{diffClientID}, "scp": nil}), false, ""},

		// Registered claims: times.
		{"exp", "missing", "", withClaims(map[string]any{"exp": nil}), false, ""},
		{"exp", "expired an hour ago", "", withClaims(map[string]any{"exp": now - 3600}), false, ""},
		{"exp", "expired within the leeway", "", withClaims(map[string]any{"exp": now - 20}), true, ""},
		{"exp", "exactly at the leeway", "", withClaims(map[string]any{"exp": now - 30}), false, ""},
		{"exp", "one second inside the leeway", "", withClaims(map[string]any{"exp": now - 29}), true, ""},
		{"exp", "fraction inside the leeway", "", withClaims(map[string]any{"exp": raw(strconv.FormatInt(now-30, 10) + ".5")}), true, "fraction"},
		{"exp", "fraction past the leeway", "", withClaims(map[string]any{"exp": raw(strconv.FormatInt(now-31, 10) + ".5")}), false, ""},
		{"exp", "float", "", withClaims(map[string]any{"exp": raw(strconv.FormatInt(now+3600, 10) + ".25")}), true, ""},
		{"exp", "exponent form, now", "", withClaims(map[string]any{"exp": raw("1.9e9")}), true, ""},
		{"exp", "exponent form, future", "", withClaims(map[string]any{"exp": raw("2e9")}), true, ""},
		{"exp", "string", "", withClaims(map[string]any{"exp": strconv.FormatInt(now+3600, 10)}), false, "time-type"},
		{"exp", "string, expired", "", withClaims(map[string]any{"exp": strconv.FormatInt(now-3600, 10)}), false, ""},
		{"exp", "RFC 3339 string", "", withClaims(map[string]any{"exp": diffNow.Add(time.Hour).Format(time.RFC3339)}), false, "time-type"},
		{"exp", "null", "", withClaims(map[string]any{"exp": raw("null")}), false, ""},
		{"exp", "true", "", withClaims(map[string]any{"exp": true}), false, ""},
		{"exp", "negative", "", withClaims(map[string]any{"exp": -1}), false, ""},
		{"exp", "zero", "", withClaims(map[string]any{"exp": 0}), false, ""},
		{"exp", "1e10 (year 2286)", "", withClaims(map[string]any{"exp": raw("10000000000")}), true, ""},
		{"exp", "2e11", "", withClaims(map[string]any{"exp": raw("200000000000")}), false, "time-range"},
		{"exp", "1e300", "", withClaims(map[string]any{"exp": raw("1e300")}), false, ""},
		{"exp", "huge integer", "", withClaims(map[string]any{"exp": raw(strings.Repeat("9", 400))}), false, ""},
		{"exp", "repeated, valid last", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":1,"exp":$EXP,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"exp", "repeated, expired last", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"exp":1,"scp":[]}`), false, ""},
		{"exp", "escaped name, valid last", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":1,"\u0065xp":$EXP,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"exp", "escaped name, expired last", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"\u0065xp":1,"scp":[]}`), false, ""},
		{"nbf", "in an hour", "", withClaims(map[string]any{"nbf": now + 3600}), false, ""},
		{"nbf", "within the leeway", "", withClaims(map[string]any{"nbf": now + 30}), true, ""},
		{"nbf", "just past the leeway", "", withClaims(map[string]any{"nbf": raw(strconv.FormatInt(now+30, 10) + ".5")}), false, "fraction"},
		{"nbf", "past", "", withClaims(map[string]any{"nbf": now - 10}), true, ""},
		{"nbf", "null", "", withClaims(map[string]any{"nbf": raw("null")}), false, ""},
		{"nbf", "string, future", "", withClaims(map[string]any{"nbf": strconv.FormatInt(now+3600, 10)}), false, ""},
		{"nbf", "string, past", "", withClaims(map[string]any{"nbf": strconv.FormatInt(now-10, 10)}), false, "time-type"},
		{"nbf", "repeated, past last", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"nbf":9999999999,"nbf":1,"scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"iat", "in an hour", "", withClaims(map[string]any{"iat": now + 3600}), false, ""},
		{"iat", "within the leeway", "", withClaims(map[string]any{"iat": now + 25}), true, ""},
		{"iat", "null", "", withClaims(map[string]any{"iat": raw("null")}), false, ""},
		{"iat", "string", "", withClaims(map[string]any{"iat": strconv.FormatInt(now-10, 10)}), false, "time-type"},
		{"iat", "float", "", withClaims(map[string]any{"iat": raw(strconv.FormatInt(now-10, 10) + ".75")}), true, ""},
		{"iat", "negative", "", withClaims(map[string]any{"iat": -5}), false, "time-range"},

		// Other registered claims.
		{"claims", "sub number", "", withClaims(map[string]any{"sub": 1}), false, ""},
		{"claims", "jti number", "", withClaims(map[string]any{"jti": 1}), false, ""},
		{"claims", "azp number", "", withClaims(map[string]any{"azp": 1}), false, "claim-type"},
		{"claims", "azp of another client", "", withClaims(map[string]any{"azp": "other"}), true, ""},
		{"claims", "sub repeated", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"sub":"a","sub":"b","scp":[]}`), false, "claim-duplicate-or-escaped"},
		{"claims", "nonce (an ID token's)", "", withClaims(map[string]any{"nonce": "n"}), false, "token-kind"},
		{"claims", "at_hash (an ID token's)", "", withClaims(map[string]any{"at_hash": "x"}), false, "token-kind"},
		{"claims", "token_use refresh", "", withClaims(map[string]any{"token_use": "refresh"}), false, "token-kind"},
		{"claims", "nonce number", "", withClaims(map[string]any{"nonce": 5}), false, "claim-type"},

		// The claim set as JSON.
		{"json", "array", "", rawClaims(`["$ISS"]`), false, ""},
		{"json", "null", "", rawClaims(`null`), false, ""},
		{"json", "string", "", rawClaims(`"$ISS"`), false, ""},
		{"json", "empty", "", rawClaims(``), false, ""},
		{"json", "trailing data", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[]}x`), false, ""},
		{"json", "two objects", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[]}{}`), false, ""},
		{"json", "trailing comma", "", rawClaims(`{"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[],}`), false, ""},
		{"json", "single quotes", "", rawClaims(`{'iss':'$ISS','aud':'$AUD','exp':$EXP}`), false, ""},
		{"json", "byte order mark", "", rawClaims("\ufeff" + `{"iss":"$ISS","aud":"$AUD","exp":$EXP,"scp":[]}`), false, ""},
		{"json", "nested 100 deep", "", withClaims(map[string]any{"deep": raw(nested)}), false, "size"},
		{"json", "nested 60 deep", "", withClaims(map[string]any{"deep": raw(strings.Repeat("[", 60) + strings.Repeat("]", 60))}), true, ""},

		// The compact serialisation.
		{"compact", "empty", "", func(string) string { return "" }, false, ""},
		{"compact", "two dots only", "", func(string) string { return ".." }, false, ""},
		{"compact", "two parts", "", edit(func(t string) string { return t[:strings.LastIndexByte(t, '.')] }), false, ""},
		{"compact", "trailing dot", "", edit(func(t string) string { return t + "." }), false, ""},
		{"compact", "four parts", "", edit(func(t string) string { return t + ".e30" }), false, ""},
		{"compact", "five parts (JWE shape)", "", edit(func(t string) string { return t + ".e30.e30" }), false, ""},
		{"compact", "empty payload", "", segs(func(h, _ string) (string, string) { return h, "" }), false, ""},
		{"compact", "empty signature", "", edit(func(t string) string { return t[:strings.LastIndexByte(t, '.')+1] }), false, ""},
		{"compact", "truncated signature", "", edit(func(t string) string { return t[:len(t)-4] }), false, ""},
		{"compact", "signature with an extra byte", "", edit(func(t string) string { return t + "AA" }), false, ""},
		{"compact", "signature of another token", "", func(iss string) string {
			a, b := valid(iss), tokRS(k.k1, hdrK1, claimsJSON(iss, map[string]any{"sub": "kp_2"}))
			return a[:strings.LastIndexByte(a, '.')] + b[strings.LastIndexByte(b, '.'):]
		}, false, ""},
		{"compact", "JSON serialisation", "", func(iss string) string {
			t := valid(iss)
			p := strings.Split(t, ".")
			return `{"protected":"` + p[0] + `","payload":"` + p[1] + `","signature":"` + p[2] + `"}`
		}, false, ""},
		{"compact", "larger than 64 KiB", "", withClaims(map[string]any{"pad": huge}), false, "size"},

		// Spellings of base64url: each must be refused, signature or not.
		{"base64", "trailing LF", "", edit(func(t string) string { return t + "\n" }), false, "base64-strict"},
		{"base64", "CRLF in the signature", "", edit(func(t string) string { i := len(t) - 20; return t[:i] + "\r\n" + t[i:] }), false, "base64-strict"},
		{"base64", "LF in the payload, signed", "", segs(func(h, p string) (string, string) { return h, p[:10] + "\n" + p[10:] }), false, ""},
		{"base64", "CR in the header, signed", "", segs(func(h, p string) (string, string) { return h[:4] + "\r" + h[4:], p }), false, ""},
		{"base64", "leading space", "", edit(func(t string) string { return " " + t }), false, ""},
		{"base64", "trailing space", "", edit(func(t string) string { return t + " " }), false, ""},
		{"base64", "space in the signature", "", edit(func(t string) string { i := len(t) - 20; return t[:i] + " " + t[i:] }), false, ""},
		{"base64", "tab in the payload, signed", "", segs(func(h, p string) (string, string) { return h, p[:10] + "\t" + p[10:] }), false, ""},
		{"base64", "padded signature", "", edit(func(t string) string { return t + "==" }), false, "base64-strict"},
		{"base64", "padded payload, signed", "", segs(func(h, p string) (string, string) { return h, base64.URLEncoding.EncodeToString(mustDecode(p)) }), false, ""},
		{"base64", "padded header, signed", "", segs(func(h, p string) (string, string) { return base64.URLEncoding.EncodeToString(mustDecode(h)), p }), false, ""},
		{"base64", "standard alphabet in the signature", "", func(iss string) string {
			t := sigWith(iss, '_')
			i := strings.LastIndexByte(t, '.')
			return t[:i] + strings.NewReplacer("-", "+", "_", "/").Replace(t[i:])
		}, false, "base64-strict"},
		{"base64", "standard alphabet in the payload, signed", "", segs(func(h, p string) (string, string) {
			return h, base64.RawStdEncoding.EncodeToString(mustDecode(p) /* may contain no '-' or '_'; then the same as valid */)
		}), true, ""},
		{"base64", "non-zero trailing bits in the signature", "", edit(func(t string) string {
			// 256 bytes are 342 characters of which the last carries 2 bits
			// of data and 4 that must be zero.
			last := strings.IndexByte(b64URLAlphabet, t[len(t)-1])
			return t[:len(t)-1] + string(b64URLAlphabet[last|1])
		}), false, "base64-strict"},
		{"base64", "invalid character in the signature", "", edit(func(t string) string { i := len(t) - 20; return t[:i] + "*" + t[i+1:] }), false, ""},
		{"base64", "percent-encoded", "", edit(func(t string) string { return strings.Replace(t, ".", "%2E", 1) }), false, ""},
	}
}

const b64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func mustDecode(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestVerifyDifferential runs the catalogue through both verifiers. It fails
// when package kinde's verdict is not the expected one, when the verdicts
// differ without a knownDifferences entry, when a listed difference does not
// occur, or when an entry is used by no case.
func TestVerifyDifferential(t *testing.T) {
	envs := newDiffEnvs(t)
	type tally struct{ cases, diffs int }
	perCat := map[string]*tally{}
	perDiff := map[string]int{}
	cases := diffCatalogue()
	for _, tc := range cases {
		env := envs[tc.env]
		if tc.env == "" {
			env = envs["kinde"]
		}
		if tc.diff != "" {
			if _, ok := knownDifferences[tc.diff]; !ok {
				t.Fatalf("%s/%s: no known difference %q", tc.cat, tc.name, tc.diff)
			}
			perDiff[tc.diff]++
		}
		t.Run(tc.cat+"/"+tc.name, func(t *testing.T) {
			raw := tc.token(env.iss)
			_, kerr := env.kinde(raw)
			jerr := env.jwx(raw)
			kOK, jOK := kerr == nil, jerr == nil
			if perCat[tc.cat] == nil {
				perCat[tc.cat] = &tally{}
			}
			perCat[tc.cat].cases++
			if kOK != jOK {
				perCat[tc.cat].diffs++
			}
			if kOK != tc.kinde {
				t.Errorf("kinde accepted = %v, want %v (kinde: %v)", kOK, tc.kinde, kerr)
			}
			switch d, listed := knownDifferences[tc.diff]; {
			case kOK == jOK && listed:
				t.Errorf("listed as difference %q, but both verifiers say accepted = %v (kinde: %v; jwx: %v)", tc.diff, kOK, kerr, jerr)
			case kOK != jOK && !listed:
				t.Errorf("unlisted difference: kinde accepted = %v (%v), jwx accepted = %v (%v)", kOK, kerr, jOK, jerr)
			case kOK != jOK && !d.dir.allows(kOK):
				t.Errorf("difference %q is listed in the other direction: kinde accepted = %v (kinde: %v; jwx: %v)", tc.diff, kOK, kerr, jerr)
			}
		})
	}
	for name := range knownDifferences {
		if perDiff[name] == 0 {
			t.Errorf("known difference %q is shown by no catalogue case", name)
		}
	}
	cats := make([]string, 0, len(perCat))
	total, diffs := 0, 0
	for c, n := range perCat {
		cats = append(cats, c)
		total += n.cases
		diffs += n.diffs
	}
	sort.Strings(cats)
	for _, c := range cats {
		t.Logf("%-8s %3d cases, %2d differences", c, perCat[c].cases, perCat[c].diffs)
	}
	t.Logf("total    %3d cases, %2d differences, %d kinds of known difference", total, diffs, len(knownDifferences))
}

// FuzzVerifyDifferential verifies fuzzed tokens with both verifiers. The
// fuzzer controls the header and claim-set JSON; mode picks the signing key,
// the environment and a change to the compact form made after signing (see
// fuzzToken). It fails when package kinde accepts a token that jwx rejects,
// unless the token shows a knownDifferences entry that allows it (checked
// by justifiedKindeAccept); the other direction (kinde stricter) is logged.
func FuzzVerifyDifferential(f *testing.F) {
	envs := newDiffEnvs(f)
	k := diffKeys()
	now := diffNow.Unix()
	// Seeds: the catalogue's tokens, as header, claims and mode.
	for _, tc := range diffCatalogue() {
		if tc.env != "" && tc.env != "kinde" && tc.env != "single" {
			continue
		}
		raw := tc.token(envs["kinde"].iss)
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			continue
		}
		h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
		p, err2 := base64.RawURLEncoding.DecodeString(parts[1])
		if err1 != nil || err2 != nil {
			continue
		}
		var mode uint8
		if tc.env == "single" {
			mode |= 4
		}
		f.Add(h, p, mode)
	}
	iss := envs["kinde"].iss
	for _, m := range []uint8{1, 2, 3, 8, 16, 24, 32, 40, 48, 56, 64} {
		f.Add([]byte(hdrK1), []byte(claimsJSON(iss, nil)), m)
	}
	f.Add([]byte(hdrK1), []byte(claimsJSON(iss, map[string]any{"exp": json.RawMessage(strconv.FormatInt(now-30, 10) + ".999")})), uint8(0))
	f.Fuzz(func(t *testing.T, header, payload []byte, mode uint8) {
		env := envs["kinde"]
		if mode&4 != 0 {
			env = envs["single"]
		}
		// Both environments share the issuer's shape but not its port:
		// rewrite the kinde environment's issuer to this one's.
		payload = bytes.ReplaceAll(payload, []byte(iss), []byte(env.iss))
		raw := fuzzToken(k, header, payload, mode)
		claims, kerr := env.kinde(raw)
		jerr := env.jwx(raw)
		switch {
		case kerr == nil && jerr != nil:
			if why := justifiedKindeAccept(env, raw, claims); why == "" {
				t.Fatalf("kinde accepted a token jwx rejects (%v): %q", jerr, raw)
			}
		case kerr != nil && jerr == nil:
			t.Logf("kinde stricter: %v", kerr)
		}
	})
}

// fuzzToken builds the token of one fuzz input. mode&3 picks the RS256
// signer (k1, k2, the attacker's key, or no signature), mode&4 the "single"
// environment, and mode>>3 a change after signing.
func fuzzToken(k *diffKit, header, payload []byte, mode uint8) string {
	h64 := base64.RawURLEncoding.EncodeToString(header)
	p64 := base64.RawURLEncoding.EncodeToString(payload)
	var raw string
	switch mode & 3 {
	case 0:
		raw = signRaw("RS256", k.k1, nil, h64, p64)
	case 1:
		raw = signRaw("RS256", k.k2, nil, h64, p64)
	case 2:
		raw = signRaw("RS256", k.attacker, nil, h64, p64)
	case 3:
		raw = h64 + "." + p64 + "."
	}
	switch mode >> 3 {
	case 1:
		raw += "\n"
	case 2:
		raw += "="
	case 3:
		raw = strings.NewReplacer("-", "+", "_", "/").Replace(raw)
	case 4:
		last := strings.IndexByte(b64URLAlphabet, raw[len(raw)-1])
		if last >= 0 {
			raw = raw[:len(raw)-1] + string(b64URLAlphabet[last|1])
		}
	case 5:
		raw = " " + raw
	case 6:
		// The header is the whole token: raw fuzzing of the compact form.
		raw = string(header)
	case 7:
		// Segments with padding, signed over as they are.
		raw = signRaw("RS256", k.k1, nil, base64.URLEncoding.EncodeToString(header), base64.URLEncoding.EncodeToString(payload))
	}
	return raw
}

// justifiedKindeAccept names the knownDifferences entry (kindeLaxer or eitherWay)
// that explains why package kinde accepted raw while jwx rejected it, or
// returns "".
func justifiedKindeAccept(env *diffEnv, raw string, claims *kinde.Claims) string {
	// "fraction": exp less than a second past now - leeway, with a fraction.
	if left := claims.ExpiresAt.Add(diffLeeway).Sub(diffNow); left > 0 && left < time.Second && claims.ExpiresAt.Nanosecond() != 0 {
		return "fraction"
	}
	h, err := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
	var hdr struct {
		Kid *string `json:"kid"`
	}
	if err != nil || json.Unmarshal(h, &hdr) != nil {
		return ""
	}
	// "empty-kid-single-key": a one-key set and "kid": "".
	if env.name == "single" && hdr.Kid != nil && *hdr.Kid == "" {
		return "empty-kid-single-key"
	}
	return ""
}
