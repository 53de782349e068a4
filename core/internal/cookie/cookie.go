// Package cookie seals values into encrypted, authenticated cookies
// (AES-256-GCM with keys derived by HKDF from the session secrets), split into
// chunks when they are large. It is the session cookie format of package
// kinde, which maps its errors to its own public ones.
package cookie

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits and defaults of [Codec].
const (
	// MinSecretLength is the shortest secret, in bytes, that [New] accepts.
	MinSecretLength = 32

	// DefaultChunkSize is the default [Codec.ChunkSize].
	DefaultChunkSize = 3800

	// DefaultMaxChunks is the default [Codec.MaxChunks].
	DefaultMaxChunks = 10

	// DefaultLifetime is the default [Codec.SessionCookieLifetime].
	DefaultLifetime = 7 * 24 * time.Hour

	// maxCookieBytes is what one cookie may take: name, value and attributes.
	maxCookieBytes = 4096

	// minChunkSize guards against names and attributes so long that almost no
	// room is left for the value.
	minChunkSize = 256
)

const (
	cookieFormatVersion = 1
	cookieHeaderLen     = 2 // version, key id
	cookieExpiryLen     = 8 // Unix milliseconds, big endian, inside the sealed payload
	cookiePurpose       = "kinde-go session cookie v1"
	cookieKeyInfo       = "kinde-go session cookie AES-256-GCM key v1"
	cookieKeyIDInfo     = "kinde-go session cookie key id v1"
	chunkSeparator      = "."
)

// Errors of [Codec]; they are returned wrapped, test them with errors.Is.
var (
	// ErrInvalid means a cookie value could not be opened: it was altered or
	// truncated, was sealed for another cookie name, or was sealed with a secret
	// that is no longer configured. Treat the request as signed out; if every user
	// is affected, check that KINDE_SESSION_SECRET (and any previous secrets kept
	// for rotation) is the same on all instances.
	ErrInvalid = errors.New("kinde: session cookie is invalid; the user needs to sign in again (if this happens to every user, check that KINDE_SESSION_SECRET is the same on every instance)")

	// ErrExpired means a cookie value was genuine but is past the expiry
	// sealed inside it. Treat the request as signed out.
	ErrExpired = errors.New("kinde: session cookie has expired; the user needs to sign in again")

	// ErrNotFound means the request carries no cookie of that name.
	ErrNotFound = errors.New("kinde: no session cookie")

	// ErrTooLarge means a session does not fit in the cookies a browser
	// keeps. The returned error is a [*TooLargeError].
	ErrTooLarge = errors.New("kinde: session is too large for cookies; use a server-side store (kinde.NewMemoryStore or redisstore) or request fewer scopes and claims")

	// ErrSecretTooShort is returned (wrapped) by [New] for a missing
	// secret or one shorter than MinSecretLength.
	ErrSecretTooShort = errors.New("KINDE_SESSION_SECRET must be at least 32 characters; generate one with `openssl rand -base64 48`")
)

// TooLargeError reports a session that needs more cookies than
// [Codec.MaxChunks]. errors.Is(err, ErrTooLarge) holds for it.
type TooLargeError struct {
	Name      string // cookie name
	Size      int    // bytes of the sealed, encoded session
	MaxChunks int    // cookies allowed
	ChunkSize int    // bytes of value per cookie
}

// Error describes the size and what to do about it.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("kinde: session cookie %q needs %d bytes, more than %d cookies of %d bytes hold; use a server-side store (kinde.NewMemoryStore or redisstore) or request fewer scopes and claims",
		e.Name, e.Size, e.MaxChunks, e.ChunkSize)
}

// Is reports whether target is [ErrTooLarge].
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Options are the attributes of the cookies that [Codec] writes. The zero
// value is a host-only, HttpOnly, SameSite=Lax cookie for path "/" that lasts as long
// as the browser session.
type Options struct {
	// Path defaults to "/".
	Path string
	// Domain is empty for a host-only cookie (recommended).
	Domain string
	// MaxAge is how long the cookie lives. It is also sealed inside the value, which
	// stops being accepted after it. Zero makes a browser-session cookie whose
	// sealed value lasts [Codec.SessionCookieLifetime]; negative is an error.
	MaxAge time.Duration
	// BrowserSession writes the cookie without Max-Age and Expires, so that
	// the browser drops it when it closes, while MaxAge still bounds how long
	// the sealed value is accepted.
	BrowserSession bool
	// Secure restricts the cookie to https. Set it whenever the application is
	// served over https.
	Secure bool
	// SameSite defaults to http.SameSiteLaxMode. http.SameSiteNoneMode requires Secure.
	SameSite http.SameSite
	// DisableHTTPOnly lets scripts in the page read the cookie. Session cookies
	// never need that; it exists for unusual front ends only.
	DisableHTTPOnly bool
}

// Codec seals data into cookie values with AES-256-GCM and splits large values
// over several cookies. Each value is bound to its cookie name, so it is rejected
// under any other name, and carries its expiry, so it is rejected after it.
//
// Create one with [New], adjust the exported fields if needed, then use it
// from any number of goroutines; do not change the fields after first use.
type Codec struct {
	// ChunkSize is the most bytes of value in one cookie. Encode lowers it further
	// when the name and attributes would make a cookie longer than 4096 bytes.
	// Default DefaultChunkSize.
	ChunkSize int
	// MaxChunks is the most cookies one session may use, counting the first.
	// Default DefaultMaxChunks. Note that proxies often limit a request
	// header to 8 KiB, which is about two full cookies; keep sessions small or use
	// a server-side [Store].
	MaxChunks int
	// SessionCookieLifetime is how long a value from Encode is accepted when
	// Options.MaxAge is zero. Default DefaultLifetime.
	SessionCookieLifetime time.Duration

	keys []cookieKey // keys[0] seals; all open
}

type cookieKey struct {
	id   byte
	aead cipher.AEAD
}

// New returns a codec keyed by secrets. The first secret seals new values;
// every secret opens values, so to rotate, put the new secret first and keep the old
// one after it until the cookies it sealed have expired. Each secret must be at least
// MinSecretLength bytes; use [GenerateSecret] or `openssl rand -base64 48`.
//
// A key is used for at most about 2^32 values; rotate the secret long before that.
func New(secrets ...string) (*Codec, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("kinde: no session secret given: %w", ErrSecretTooShort)
	}
	c := &Codec{
		ChunkSize:             DefaultChunkSize,
		MaxChunks:             DefaultMaxChunks,
		SessionCookieLifetime: DefaultLifetime,
		keys:                  make([]cookieKey, 0, len(secrets)),
	}
	for i, secret := range secrets {
		if len(secret) < MinSecretLength {
			return nil, fmt.Errorf("kinde: session secret %d of %d is %d characters: %w", i+1, len(secrets), len(secret), ErrSecretTooShort)
		}
		k, err := deriveCookieKey(secret)
		if err != nil {
			return nil, fmt.Errorf("kinde: session secret %d of %d: %w", i+1, len(secrets), err)
		}
		c.keys = append(c.keys, k)
	}
	return c, nil
}

func deriveCookieKey(secret string) (cookieKey, error) {
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, cookieKeyInfo, 32)
	if err != nil {
		return cookieKey{}, fmt.Errorf("derive cookie key: %w", err)
	}
	id, err := hkdf.Key(sha256.New, []byte(secret), nil, cookieKeyIDInfo, 1)
	if err != nil {
		return cookieKey{}, fmt.Errorf("derive cookie key id: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return cookieKey{}, fmt.Errorf("create AES cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return cookieKey{}, fmt.Errorf("create AES-GCM: %w", err)
	}
	return cookieKey{id: id[0], aead: aead}, nil
}

// GenerateSecret returns a new random secret (48 random bytes, 64 characters of
// URL-safe base64) suitable for KINDE_SESSION_SECRET and [New].
func GenerateSecret() (string, error) {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("kinde: generate session secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Seal encrypts plaintext for the cookie called name, to be accepted until expires.
// The result is URL-safe base64 without padding, usable as a cookie value as is.
// Values longer than MaxChunks cookies could carry are refused with a
// [*TooLargeError], so that whatever Seal returns, Open accepts.
func (c *Codec) Seal(name string, plaintext []byte, expires time.Time) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	if !validCookieName(name) {
		return "", fmt.Errorf("kinde: seal cookie: %q is not a valid cookie name; use only letters, digits, dots, dashes and underscores", name)
	}
	if expires.IsZero() {
		return "", errors.New("kinde: seal cookie: expiry is required; pass the time the session ends")
	}
	k := c.keys[0]
	header := [cookieHeaderLen]byte{cookieFormatVersion, k.id}
	payload := make([]byte, cookieExpiryLen, cookieExpiryLen+len(plaintext))
	binary.BigEndian.PutUint64(payload, uint64(expires.UnixMilli()))
	payload = append(payload, plaintext...)

	out := make([]byte, cookieHeaderLen, cookieHeaderLen+len(payload)+k.aead.Overhead())
	copy(out, header[:])
	out = k.aead.Seal(out, nil, payload, cookieAAD(name, header))
	if n := base64.RawURLEncoding.EncodedLen(len(out)); n > c.maxSealedLen() {
		return "", &TooLargeError{Name: name, Size: n, MaxChunks: c.MaxChunks, ChunkSize: maxCookieBytes}
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal for the cookie called name and returns the
// plaintext. It returns an error wrapping [ErrInvalid] when the value was not
// sealed by one of the codec's secrets for this name, and one wrapping
// [ErrExpired] when now is at or after the sealed expiry.
func (c *Codec) Open(name, value string, now time.Time) ([]byte, error) {
	p, _, err := c.OpenUntil(name, value, now)
	return p, err
}

// OpenUntil is Open that also returns the sealed expiry: the value is
// accepted at any time before it (and never at or after it), so a caller
// may remember the plaintext of value until then.
func (c *Codec) OpenUntil(name, value string, now time.Time) ([]byte, time.Time, error) {
	if err := c.check(); err != nil {
		return nil, time.Time{}, err
	}
	if len(value) > c.maxSealedLen() {
		return nil, time.Time{}, cookieInvalid(name, "value too long")
	}
	if !isRawURLBase64(value) {
		return nil, time.Time{}, cookieInvalid(name, "not URL-safe base64")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil {
		return nil, time.Time{}, cookieInvalid(name, "not URL-safe base64")
	}
	if len(raw) < cookieHeaderLen+cookieExpiryLen || raw[0] != cookieFormatVersion {
		return nil, time.Time{}, cookieInvalid(name, "unknown format")
	}
	header := [cookieHeaderLen]byte{raw[0], raw[1]}
	aad := cookieAAD(name, header)
	sealed := raw[cookieHeaderLen:]
	var payload []byte
	opened := false
	for i, k := range c.keys {
		if k.id != header[1] {
			continue
		}
		// Decrypt in place (raw is this call's own copy), unless another
		// key may have to try the same bytes: a failed Open may overwrite
		// its output.
		in := sealed
		if c.keyIDAfter(i, header[1]) {
			in = bytes.Clone(sealed)
		}
		if p, err := k.aead.Open(in[:0], nil, in, aad); err == nil {
			payload, opened = p, true
			break
		}
	}
	if !opened {
		return nil, time.Time{}, cookieInvalid(name, "authentication failed")
	}
	if len(payload) < cookieExpiryLen {
		return nil, time.Time{}, cookieInvalid(name, "payload too short")
	}
	expires := time.UnixMilli(int64(binary.BigEndian.Uint64(payload)))
	if !now.Before(expires) {
		return nil, time.Time{}, fmt.Errorf("kinde: cookie %q expired at %s: %w", name, expires.UTC().Format(time.RFC3339), ErrExpired)
	}
	return payload[cookieExpiryLen:], expires, nil
}

// keyIDAfter reports whether a key after keys[i] has the key id id.
func (c *Codec) keyIDAfter(i int, id byte) bool {
	for _, k := range c.keys[i+1:] {
		if k.id == id {
			return true
		}
	}
	return false
}

// Encode seals plaintext for the cookie called name and returns the cookies to set:
// name alone when the value fits in one cookie, otherwise name, name.1, name.2, …
// The first cookie then starts with the number of cookies, so Decode notices a
// missing one. Each cookie, attributes included, stays within 4096 bytes. When more
// than MaxChunks cookies would be needed, the error is a [*TooLargeError].
//
// To replace a session that may have used more cookies before, use [Codec.Replace].
func (c *Codec) Encode(name string, plaintext []byte, opts Options, now time.Time) ([]*http.Cookie, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	chunkSize, err := c.chunkSize(name, opts, now)
	if err != nil {
		return nil, err
	}
	lifetime := opts.MaxAge
	if lifetime == 0 {
		lifetime = c.SessionCookieLifetime
	}
	if lifetime <= 0 {
		return nil, errors.New("kinde: encode cookie: SessionCookieLifetime must be positive")
	}
	sealed, err := c.Seal(name, plaintext, now.Add(lifetime))
	if err != nil {
		return nil, err
	}

	if len(sealed) <= chunkSize {
		return []*http.Cookie{opts.cookie(name, sealed, now)}, nil
	}
	n := (len(sealed) + chunkSize - 1) / chunkSize
	if n > c.MaxChunks {
		return nil, &TooLargeError{Name: name, Size: len(sealed), MaxChunks: c.MaxChunks, ChunkSize: chunkSize}
	}
	cookies := make([]*http.Cookie, 0, n)
	for i := range n {
		part := sealed[i*chunkSize : min((i+1)*chunkSize, len(sealed))]
		if i == 0 {
			cookies = append(cookies, opts.cookie(name, strconv.Itoa(n)+chunkSeparator+part, now))
			continue
		}
		cookies = append(cookies, opts.cookie(chunkName(name, i), part, now))
	}
	return cookies, nil
}

// Decode reads the cookies written by Encode through get, which returns the value of
// the request cookie with the given name, and returns the plaintext. It returns an
// error wrapping [ErrNotFound] when the request has no cookie called name,
// [ErrInvalid] when a part is missing, altered or out of order, and
// [ErrExpired] when the sealed expiry has passed. Chunks beyond the count
// recorded in the first cookie (left over from a larger session) are ignored.
func (c *Codec) Decode(name string, get func(name string) (string, bool), now time.Time) ([]byte, error) {
	value, err := c.Sealed(name, get)
	if err != nil {
		return nil, err
	}
	return c.Open(name, value, now)
}

// Sealed returns the sealed value that Decode opens: the cookie called name,
// or its chunks joined, read through get. Its errors are Decode's, except
// those of opening the value (which Open returns). Decode is Sealed
// followed by Open; a caller may remember what Open gave for the value
// (until OpenUntil's expiry) and skip Open.
func (c *Codec) Sealed(name string, get func(name string) (string, bool)) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	first, ok := get(name)
	if !ok || first == "" {
		return "", fmt.Errorf("kinde: cookie %q: %w", name, ErrNotFound)
	}
	countText, part, chunked := strings.Cut(first, chunkSeparator)
	if !chunked {
		return first, nil
	}
	if len(first) > maxCookieBytes {
		return "", cookieInvalid(name, "chunk too long")
	}
	n, ok := parseChunkCount(countText)
	if !ok || n < 2 || n > c.MaxChunks {
		return "", cookieInvalid(name, "bad chunk count")
	}
	var b strings.Builder
	b.Grow(n * len(part))
	b.WriteString(part)
	for i := 1; i < n; i++ {
		v, ok := get(chunkName(name, i))
		if !ok || v == "" {
			return "", cookieInvalid(name, fmt.Sprintf("chunk %d of %d missing", i+1, n))
		}
		if len(v) > maxCookieBytes {
			return "", cookieInvalid(name, "chunk too long")
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// Replace is Encode followed by ClearCookies for the chunks that the request carries
// but the new value no longer uses, so a session that shrinks leaves no stale
// cookies behind. get reads request cookies, as for Decode.
func (c *Codec) Replace(name string, plaintext []byte, get func(name string) (string, bool), opts Options, now time.Time) ([]*http.Cookie, error) {
	cookies, err := c.Encode(name, plaintext, opts, now)
	if err != nil {
		return nil, err
	}
	opts, _ = opts.normalize() // Encode accepted opts
	for i := len(cookies); i < c.MaxChunks; i++ {
		if _, ok := get(chunkName(name, i)); ok {
			cookies = append(cookies, opts.expired(chunkName(name, i)))
		}
	}
	return cookies, nil
}

// ClearCookies returns cookies that make the browser delete the cookie called name
// and every chunk of it (name.1, name.2, … up to MaxChunks) that the request
// carries, as reported by get. Use the same opts as when the cookies were set, as
// browsers match the path and domain. Invalid opts are replaced by the defaults.
func (c *Codec) ClearCookies(name string, get func(name string) (string, bool), opts Options) []*http.Cookie {
	opts, err := opts.normalize()
	if err != nil {
		opts = Options{Path: "/", SameSite: http.SameSiteLaxMode, Secure: opts.Secure}
	}
	chunks := DefaultMaxChunks
	if c != nil && c.MaxChunks > 0 {
		chunks = c.MaxChunks
	}
	var cookies []*http.Cookie
	if _, ok := get(name); ok {
		cookies = append(cookies, opts.expired(name))
	}
	for i := 1; i < chunks; i++ {
		if _, ok := get(chunkName(name, i)); ok {
			cookies = append(cookies, opts.expired(chunkName(name, i)))
		}
	}
	return cookies
}

// check reports a codec that was not made by New or whose fields were set
// to nonsense.
func (c *Codec) check() error {
	switch {
	case c == nil || len(c.keys) == 0:
		return errors.New("kinde: cookie codec has no keys; create it with kinde.NewCookieCodec")
	case c.ChunkSize < minChunkSize:
		return fmt.Errorf("kinde: cookie codec ChunkSize %d is below %d; leave it at the default %d", c.ChunkSize, minChunkSize, DefaultChunkSize)
	case c.MaxChunks < 1:
		return fmt.Errorf("kinde: cookie codec MaxChunks %d must be at least 1; leave it at the default %d", c.MaxChunks, DefaultMaxChunks)
	}
	return nil
}

// maxSealedLen bounds what Open decodes, so hostile input costs little.
func (c *Codec) maxSealedLen() int {
	return c.MaxChunks * maxCookieBytes
}

// chunkSize returns the bytes of value per cookie: ChunkSize, lowered so that the
// longest chunk name with its attributes and the count prefix fit in 4096 bytes.
func (c *Codec) chunkSize(name string, opts Options, now time.Time) (int, error) {
	longest := opts.cookie(chunkName(name, max(c.MaxChunks, 2)), "", now)
	if err := longest.Valid(); err != nil {
		return 0, fmt.Errorf("kinde: cookie %q: %w; check the cookie name, path and domain", name, err)
	}
	room := maxCookieBytes - len(longest.String()) - len(strconv.Itoa(c.MaxChunks)+chunkSeparator)
	size := min(c.ChunkSize, room)
	if size < minChunkSize {
		return 0, fmt.Errorf("kinde: cookie %q: name, path and domain leave only %d bytes for the value; shorten them", name, room)
	}
	return size, nil
}

func (o Options) normalize() (Options, error) {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.SameSite == 0 || o.SameSite == http.SameSiteDefaultMode {
		o.SameSite = http.SameSiteLaxMode
	}
	if o.MaxAge < 0 {
		return o, fmt.Errorf("kinde: cookie MaxAge %v is negative; use ClearCookies to delete cookies", o.MaxAge)
	}
	if o.SameSite == http.SameSiteNoneMode && !o.Secure {
		return o, errors.New("kinde: cookie SameSite=None requires Secure; serve the application over https and set Secure")
	}
	return o, nil
}

func (o Options) cookie(name, value string, now time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     o.Path,
		Domain:   o.Domain,
		Secure:   o.Secure,
		HttpOnly: !o.DisableHTTPOnly,
		SameSite: o.SameSite,
	}
	if o.MaxAge > 0 && !o.BrowserSession {
		ck.MaxAge = int(max(o.MaxAge/time.Second, 1))
		ck.Expires = now.Add(o.MaxAge).UTC()
	}
	return ck
}

func (o Options) expired(name string) *http.Cookie {
	ck := o.cookie(name, "", time.Time{})
	ck.MaxAge = -1
	ck.Expires = time.Unix(0, 0).UTC()
	return ck
}

func cookieAAD(name string, header [cookieHeaderLen]byte) []byte {
	aad := make([]byte, 0, len(cookiePurpose)+1+cookieHeaderLen+len(name))
	aad = append(aad, cookiePurpose...)
	aad = append(aad, 0)
	aad = append(aad, header[:]...)
	return append(aad, name...)
}

func cookieInvalid(name, reason string) error {
	return fmt.Errorf("kinde: cookie %q: %s: %w", name, reason, ErrInvalid)
}

func chunkName(name string, i int) string {
	return name + chunkSeparator + strconv.Itoa(i)
}

// parseChunkCount accepts a decimal number without sign or leading zero.
func parseChunkCount(s string) (int, bool) {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// isRawURLBase64 reports whether s uses only the URL-safe base64 alphabet. The
// decoder alone would skip CR and LF, letting two values decode alike.
func isRawURLBase64(s string) bool {
	// The strict decoder rejects every character outside the alphabet
	// except CR and LF, which it skips; only those need a separate check.
	return strings.IndexByte(s, '\r') < 0 && strings.IndexByte(s, '\n') < 0
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	return name != "" && (&http.Cookie{Name: name, Value: "x"}).Valid() == nil
}
