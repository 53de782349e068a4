package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const (
	cookieTestSecretA = "test-secret-A-0123456789abcdefghijklmnopqrstuvwxyz"
	cookieTestSecretB = "test-secret-B-0123456789abcdefghijklmnopqrstuvwxyz"
	cookieTestSecretC = "test-secret-C-0123456789abcdefghijklmnopqrstuvwxyz"
)

var cookieTestNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func cookieTestCodec(t testing.TB, secrets ...string) *Codec {
	t.Helper()
	c, err := New(secrets...)
	if err != nil {
		t.Fatalf("NewCookieCodec: %v", err)
	}
	return c
}

// cookieTestBytes returns n deterministic pseudo-random bytes.
func cookieTestBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// cookieJar is a browser's cookies for one site, for Decode, Replace and ClearCookies.
type cookieJar map[string]string

func (j cookieJar) get(name string) (string, bool) {
	v, ok := j[name]
	return v, ok
}

// apply stores or deletes cookies as a browser does on Set-Cookie.
func (j cookieJar) apply(cookies []*http.Cookie) {
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(j, c.Name)
			continue
		}
		j[c.Name] = c.Value
	}
}

func TestCookieCodecNew(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		wantErr bool
	}{
		{"one secret", []string{cookieTestSecretA}, false},
		{"rotation", []string{cookieTestSecretB, cookieTestSecretA}, false},
		{"exactly 32", []string{strings.Repeat("s", 32)}, false},
		{"none", nil, true},
		{"empty", []string{""}, true},
		{"31 bytes", []string{strings.Repeat("s", 31)}, true},
		{"short old secret", []string{cookieTestSecretA, "short"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.secrets...)
			if tt.wantErr {
				if !errors.Is(err, ErrSecretTooShort) {
					t.Fatalf("error = %v, want ErrSecretTooShort", err)
				}
				if !strings.Contains(err.Error(), "KINDE_SESSION_SECRET must be at least 32 characters; generate one with `openssl rand -base64 48`") {
					t.Fatalf("error %q does not say what to do", err)
				}
				if c != nil {
					t.Fatal("codec returned with an error")
				}
				return
			}
			if err != nil || c == nil {
				t.Fatalf("NewCookieCodec: %v", err)
			}
		})
	}
}

func TestCookieCodecGenerateSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 8 {
		s, err := GenerateSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) < MinSecretLength {
			t.Fatalf("secret %q is shorter than %d", s, MinSecretLength)
		}
		if seen[s] {
			t.Fatal("GenerateSecret repeated a secret")
		}
		seen[s] = true
		cookieTestCodec(t, s)
	}
}

func TestCookieCodecRoundTrip(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	tests := []struct {
		name      string
		cookie    string
		plaintext []byte
	}{
		{"empty", "s", nil},
		{"text", "kinde_session", []byte(`{"access_token":"x","refresh_token":"y"}`)},
		{"binary", "kinde.session", cookieTestBytes(1, 300)},
		{"large", "s", cookieTestBytes(2, 20_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.Seal(tt.cookie, tt.plaintext, cookieTestNow.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if !isRawURLBase64(v) {
				t.Fatalf("sealed value %q is not URL-safe base64", v)
			}
			got, err := c.Open(tt.cookie, v, cookieTestNow)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %x, want %x", got, tt.plaintext)
			}
			again, err := c.Seal(tt.cookie, tt.plaintext, cookieTestNow.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if again == v {
				t.Fatal("two seals of the same plaintext are identical; the nonce is not random")
			}
		})
	}
}

func TestCookieCodecRotation(t *testing.T) {
	old := cookieTestCodec(t, cookieTestSecretA)
	rotated := cookieTestCodec(t, cookieTestSecretB, cookieTestSecretA)
	onlyNew := cookieTestCodec(t, cookieTestSecretB)
	other := cookieTestCodec(t, cookieTestSecretC)
	exp := cookieTestNow.Add(time.Hour)

	fromOld, err := old.Seal("s", []byte("old"), exp)
	if err != nil {
		t.Fatal(err)
	}
	fromRotated, err := rotated.Seal("s", []byte("new"), exp)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		codec   *Codec
		value   string
		want    string
		wantErr error
	}{
		{"rotated opens old value", rotated, fromOld, "old", nil},
		{"rotated opens its own", rotated, fromRotated, "new", nil},
		{"new secret alone opens rotated value", onlyNew, fromRotated, "new", nil},
		{"rotated seals with the new secret", old, fromRotated, "", ErrInvalid},
		{"retired secret no longer opens", onlyNew, fromOld, "", ErrInvalid},
		{"unrelated secret", other, fromOld, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Open("s", tt.value, cookieTestNow)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(got) != tt.want {
				t.Fatalf("Open = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCookieCodecKeyIDCollision checks that when two secrets share a key id byte,
// Open tries every key with that id.
func TestCookieCodecKeyIDCollision(t *testing.T) {
	first := cookieTestSecretA
	firstKey, err := deriveCookieKey(first)
	if err != nil {
		t.Fatal(err)
	}
	second := ""
	for i := range 100_000 {
		candidate := fmt.Sprintf("collision-search-%08d-0123456789abcdef", i)
		k, err := deriveCookieKey(candidate)
		if err != nil {
			t.Fatal(err)
		}
		if k.id == firstKey.id {
			second = candidate
			break
		}
	}
	if second == "" {
		t.Fatal("no secret with a colliding key id found")
	}
	sealed, err := cookieTestCodec(t, second).Seal("s", []byte("v"), cookieTestNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cookieTestCodec(t, first, second).Open("s", sealed, cookieTestNow)
	if err != nil || string(got) != "v" {
		t.Fatalf("Open = %q, %v; want the second key with the same id to open it", got, err)
	}
}

func TestCookieCodecTamper(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	plaintext := []byte("the session payload!") // 58 sealed bytes: the last character has spare bits
	value, err := c.Seal("s", plaintext, cookieTestNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw)%3 == 0 {
		t.Fatalf("sealed length %d leaves no spare bits to test", len(raw))
	}
	// Setting a spare low bit of the last character gives a non-canonical encoding
	// of the same bytes, which a lenient decoder would accept.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, value[len(value)-1])
	nonCanonical := value[:len(value)-1] + string(alphabet[last|1])
	if nonCanonical == value {
		t.Fatal("spare bit already set")
	}
	const nonceLen, tagLen = 12, 16
	bodyStart := cookieHeaderLen + nonceLen
	regions := []struct {
		name       string
		start, end int
	}{
		{"version", 0, 1},
		{"key id", 1, 2},
		{"nonce", cookieHeaderLen, bodyStart},
		{"sealed expiry", bodyStart, bodyStart + cookieExpiryLen},
		{"sealed body", bodyStart + cookieExpiryLen, len(raw) - tagLen},
		{"tag", len(raw) - tagLen, len(raw)},
	}
	for _, r := range regions {
		t.Run(r.name, func(t *testing.T) {
			if r.end <= r.start {
				t.Fatalf("empty region %d..%d", r.start, r.end)
			}
			for i := r.start; i < r.end; i++ {
				for _, mask := range []byte{0x01, 0x80, 0xff} {
					b := bytes.Clone(raw)
					b[i] ^= mask
					_, err := c.Open("s", base64.RawURLEncoding.EncodeToString(b), cookieTestNow)
					if !errors.Is(err, ErrInvalid) {
						t.Fatalf("byte %d ^ %#x: error = %v, want ErrCookieInvalid", i, mask, err)
					}
				}
			}
		})
	}

	t.Run("every character", func(t *testing.T) {
		for i := range len(value) {
			repl := byte('A')
			if value[i] == 'A' {
				repl = 'B'
			}
			v := value[:i] + string(repl) + value[i+1:]
			if _, err := c.Open("s", v, cookieTestNow); !errors.Is(err, ErrInvalid) {
				t.Fatalf("character %d changed: error = %v, want ErrCookieInvalid", i, err)
			}
		}
	})

	encodings := []struct {
		name  string
		value string
	}{
		{"padded", value + "=="},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(value) + "+/"},
		{"newline inserted", value[:10] + "\n" + value[10:]},
		{"space appended", value + " "},
		{"appended character", value + "A"},
		{"non-canonical final character", nonCanonical},
		{"empty", ""},
	}
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			if _, err := c.Open("s", e.value, cookieTestNow); !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want ErrCookieInvalid", err)
			}
		})
	}
}

func TestCookieCodecTruncation(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	value, err := c.Seal("s", []byte("some session"), cookieTestNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(value) {
		if _, err := c.Open("s", value[:n], cookieTestNow); !errors.Is(err, ErrInvalid) {
			t.Fatalf("prefix of %d characters: error = %v, want ErrCookieInvalid", n, err)
		}
		if _, err := c.Open("s", value[n+1:], cookieTestNow); !errors.Is(err, ErrInvalid) {
			t.Fatalf("suffix from %d: error = %v, want ErrCookieInvalid", n+1, err)
		}
	}
}

func TestCookieCodecNameBinding(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	value, err := c.Seal("kinde_session", []byte("v"), cookieTestNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kinde_flow", "kinde_session.1", "Kinde_session", "kinde_sessio", "kinde_session_"} {
		if _, err := c.Open(name, value, cookieTestNow); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open under %q: error = %v, want ErrCookieInvalid", name, err)
		}
	}
}

func TestCookieCodecExpiry(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	expires := cookieTestNow.Add(time.Hour)
	value, err := c.Seal("s", []byte("v"), expires)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		now     time.Time
		wantErr error
	}{
		{"long before", cookieTestNow.Add(-24 * time.Hour), nil},
		{"just before", expires.Add(-time.Millisecond), nil},
		{"at expiry", expires, ErrExpired},
		{"after", expires.Add(time.Second), ErrExpired},
		{"much later", expires.AddDate(5, 0, 0), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Open("s", value, tt.now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && errors.Is(err, ErrInvalid) {
				t.Fatal("an expired cookie must not also be reported as invalid")
			}
		})
	}
}

func TestCookieCodecSealErrors(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	tests := []struct {
		name    string
		codec   *Codec
		cookie  string
		expires time.Time
	}{
		{"empty name", c, "", cookieTestNow},
		{"name with space", c, "a b", cookieTestNow},
		{"name with semicolon", c, "a;b", cookieTestNow},
		{"zero expiry", c, "s", time.Time{}},
		{"zero codec", &Codec{}, "s", cookieTestNow},
		{"nil codec", nil, "s", cookieTestNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := tt.codec.Seal(tt.cookie, []byte("v"), tt.expires); err == nil {
				t.Fatalf("Seal = %q, want an error", v)
			}
		})
	}
	if _, err := (&Codec{}).Open("s", "AAAA", cookieTestNow); err == nil {
		t.Fatal("Open on a zero codec: want an error")
	}
}

// cookieTestPlaintextSize returns the size of a plaintext whose sealed value takes
// exactly want chunks of size bytes.
func cookieTestPlaintextSize(want, size int) int {
	const overhead = cookieHeaderLen + 12 + cookieExpiryLen + 16
	sealed := want*size - size/3 // inside the last chunk
	return sealed*3/4 - overhead
}

func TestCookieCodecEncodeDecodeChunks(t *testing.T) {
	tests := []struct {
		name       string
		chunkSize  int // 0 keeps the default
		chunks     int
		opts       Options
		wantMaxAge int
	}{
		{"one", 400, 1, Options{MaxAge: time.Hour}, 3600},
		{"two", 400, 2, Options{MaxAge: time.Hour}, 3600},
		{"five", 400, 5, Options{}, 0},
		{"ten", 400, 10, Options{Secure: true, SameSite: http.SameSiteStrictMode}, 0},
		{"default size, three", 0, 3, Options{MaxAge: 30 * 24 * time.Hour, Secure: true}, 30 * 24 * 3600},
		{"default size, long domain and path", 0, 4, Options{
			Domain: strings.Repeat("sub.", 30) + "example.test",
			Path:   "/" + strings.Repeat("p", 200),
			MaxAge: time.Hour,
		}, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cookieTestCodec(t, cookieTestSecretA)
			if tt.chunkSize > 0 {
				c.ChunkSize = tt.chunkSize
			}
			size, err := c.chunkSize("sess", cookieTestNormalize(t, tt.opts), cookieTestNow)
			if err != nil {
				t.Fatal(err)
			}
			plaintext := cookieTestBytes(uint64(tt.chunks), cookieTestPlaintextSize(tt.chunks, size))
			cookies, err := c.Encode("sess", plaintext, tt.opts, cookieTestNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(cookies) != tt.chunks {
				t.Fatalf("got %d cookies, want %d", len(cookies), tt.chunks)
			}
			wantPath := tt.opts.Path
			if wantPath == "" {
				wantPath = "/"
			}
			wantSameSite := tt.opts.SameSite
			if wantSameSite == 0 {
				wantSameSite = http.SameSiteLaxMode
			}
			for i, ck := range cookies {
				wantName := "sess"
				if i > 0 {
					wantName = "sess." + strconv.Itoa(i)
				}
				if ck.Name != wantName {
					t.Errorf("cookie %d name = %q, want %q", i, ck.Name, wantName)
				}
				if n := len(ck.String()); n > maxCookieBytes {
					t.Errorf("cookie %d is %d bytes, above %d", i, n, maxCookieBytes)
				}
				if err := ck.Valid(); err != nil {
					t.Errorf("cookie %d invalid: %v", i, err)
				}
				if !ck.HttpOnly || ck.SameSite != wantSameSite || ck.Path != wantPath || ck.Domain != tt.opts.Domain || ck.Secure != tt.opts.Secure {
					t.Errorf("cookie %d attributes = %+v", i, ck)
				}
				if ck.MaxAge != tt.wantMaxAge {
					t.Errorf("cookie %d MaxAge = %d, want %d", i, ck.MaxAge, tt.wantMaxAge)
				}
			}
			j := cookieJar{"unrelated": "x"}
			j.apply(cookies)
			got, err := c.Decode("sess", j.get, cookieTestNow)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(got, plaintext) {
				t.Fatal("Decode returned different bytes")
			}
		})
	}
}

func cookieTestNormalize(t *testing.T, o Options) Options {
	t.Helper()
	o, err := o.normalize()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// cookieTestThreeChunks returns a cookieJar holding a session in three chunks, and its plaintext.
func cookieTestThreeChunks(t *testing.T, c *Codec, seed uint64) (cookieJar, []byte) {
	t.Helper()
	c.ChunkSize = 400
	plaintext := cookieTestBytes(seed, cookieTestPlaintextSize(3, 400))
	cookies, err := c.Encode("sess", plaintext, Options{MaxAge: time.Hour}, cookieTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 3 {
		t.Fatalf("got %d cookies, want 3", len(cookies))
	}
	j := cookieJar{}
	j.apply(cookies)
	return j, plaintext
}

func TestCookieCodecDecodeDamagedChunks(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	other, _ := cookieTestThreeChunks(t, c, 99)
	tests := []struct {
		name    string
		damage  func(j cookieJar)
		wantErr error
	}{
		{"intact", func(cookieJar) {}, nil},
		{"extra stale chunk is ignored", func(j cookieJar) { j["sess.3"] = "stale"; j["sess.7"] = "stale" }, nil},
		{"no cookie", func(j cookieJar) { clear(j) }, ErrNotFound},
		{"empty first cookie", func(j cookieJar) { j["sess"] = "" }, ErrNotFound},
		{"first cookie missing", func(j cookieJar) { delete(j, "sess") }, ErrNotFound},
		{"missing middle chunk", func(j cookieJar) { delete(j, "sess.1") }, ErrInvalid},
		{"missing last chunk", func(j cookieJar) { delete(j, "sess.2") }, ErrInvalid},
		{"empty chunk", func(j cookieJar) { j["sess.1"] = "" }, ErrInvalid},
		{"swapped chunks", func(j cookieJar) { j["sess.1"], j["sess.2"] = j["sess.2"], j["sess.1"] }, ErrInvalid},
		{"chunk from another session", func(j cookieJar) { j["sess.1"] = other["sess.1"] }, ErrInvalid},
		{"count lowered", func(j cookieJar) { j["sess"] = "2" + strings.TrimPrefix(j["sess"], "3") }, ErrInvalid},
		{"count raised with stale chunk", func(j cookieJar) {
			j["sess"] = "4" + strings.TrimPrefix(j["sess"], "3")
			j["sess.3"] = other["sess.2"]
		}, ErrInvalid},
		{"count above maximum", func(j cookieJar) { j["sess"] = "11" + strings.TrimPrefix(j["sess"], "3") }, ErrInvalid},
		{"count of one", func(j cookieJar) { j["sess"] = "1" + strings.TrimPrefix(j["sess"], "3") }, ErrInvalid},
		{"count with leading zero", func(j cookieJar) { j["sess"] = "03" + strings.TrimPrefix(j["sess"], "3") }, ErrInvalid},
		{"count with sign", func(j cookieJar) { j["sess"] = "+3" + strings.TrimPrefix(j["sess"], "3") }, ErrInvalid},
		{"count missing", func(j cookieJar) { j["sess"] = strings.TrimPrefix(j["sess"], "3") }, ErrInvalid},
		{"chunk too long", func(j cookieJar) { j["sess.1"] = strings.Repeat("A", maxCookieBytes+1) }, ErrInvalid},
		{"first chunk too long", func(j cookieJar) { j["sess"] += strings.Repeat("A", maxCookieBytes) }, ErrInvalid},
		{"chunk truncated", func(j cookieJar) { j["sess.2"] = j["sess.2"][:len(j["sess.2"])-1] }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, plaintext := cookieTestThreeChunks(t, c, 1)
			tt.damage(j)
			got, err := c.Decode("sess", j.get, cookieTestNow)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, plaintext) {
				t.Fatal("Decode returned different bytes")
			}
		})
	}
}

func TestCookieCodecDecodeExpiredAndMoved(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	j, _ := cookieTestThreeChunks(t, c, 1)
	if _, err := c.Decode("sess", j.get, cookieTestNow.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("after MaxAge: error = %v, want ErrCookieExpired", err)
	}
	moved := cookieJar{"flow": j["sess"], "flow.1": j["sess.1"], "flow.2": j["sess.2"]}
	if _, err := c.Decode("flow", moved.get, cookieTestNow); !errors.Is(err, ErrInvalid) {
		t.Fatalf("under another name: error = %v, want ErrCookieInvalid", err)
	}
}

func TestCookieCodecSessionCookieLifetime(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	c.SessionCookieLifetime = 2 * time.Hour
	cookies, err := c.Encode("s", []byte("v"), Options{}, cookieTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 1 || cookies[0].MaxAge != 0 || !cookies[0].Expires.IsZero() {
		t.Fatalf("want one browser-session cookie, got %+v", cookies)
	}
	j := cookieJar{}
	j.apply(cookies)
	if _, err := c.Decode("s", j.get, cookieTestNow.Add(2*time.Hour-time.Second)); err != nil {
		t.Fatalf("within lifetime: %v", err)
	}
	if _, err := c.Decode("s", j.get, cookieTestNow.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("after lifetime: error = %v, want ErrCookieExpired", err)
	}
}

func TestCookieCodecTooLarge(t *testing.T) {
	tests := []struct {
		name      string
		maxChunks int
		size      int
	}{
		{"default limit", DefaultMaxChunks, 40_000},
		{"one chunk allowed", 1, 4000},
		{"three chunks allowed", 3, 12_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cookieTestCodec(t, cookieTestSecretA)
			c.MaxChunks = tt.maxChunks
			cookies, err := c.Encode("sess", cookieTestBytes(3, tt.size), Options{}, cookieTestNow)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error = %v (%d cookies), want ErrSessionTooLarge", err, len(cookies))
			}
			var tooLarge *TooLargeError
			if !errors.As(err, &tooLarge) || tooLarge.MaxChunks != tt.maxChunks || tooLarge.Name != "sess" || tooLarge.Size <= tt.size {
				t.Fatalf("error details = %+v", tooLarge)
			}
			if !strings.Contains(err.Error(), "server-side store") {
				t.Fatalf("error %q does not say what to do", err)
			}
		})
	}
	c := cookieTestCodec(t, cookieTestSecretA)
	if _, err := c.Seal("sess", cookieTestBytes(4, 40_000), cookieTestNow.Add(time.Hour)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Seal of an oversized value: error = %v, want ErrSessionTooLarge", err)
	}
}

func TestCookieCodecEncodeOptionErrors(t *testing.T) {
	tests := []struct {
		name   string
		cookie string
		opts   Options
	}{
		{"negative MaxAge", "s", Options{MaxAge: -time.Second}},
		{"SameSite None without Secure", "s", Options{SameSite: http.SameSiteNoneMode}},
		{"invalid domain", "s", Options{Domain: "bad domain"}},
		{"invalid path", "s", Options{Path: "/a;b"}},
		{"invalid name", "a=b", Options{}},
		{"path too long", "s", Options{Path: "/" + strings.Repeat("p", 4000)}},
	}
	c := cookieTestCodec(t, cookieTestSecretA)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cookies, err := c.Encode(tt.cookie, []byte("v"), tt.opts, cookieTestNow); err == nil {
				t.Fatalf("Encode = %v, want an error", cookies)
			}
		})
	}
	opts := Options{SameSite: http.SameSiteNoneMode, Secure: true, DisableHTTPOnly: true}
	cookies, err := c.Encode("s", []byte("v"), opts, cookieTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteNoneMode {
		t.Fatalf("options not applied: %+v", cookies[0])
	}
}

func TestCookieCodecReplaceAndClear(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	c.ChunkSize = 400
	opts := Options{MaxAge: time.Hour, Domain: "app.example.test", Path: "/app"}
	big := cookieTestBytes(5, cookieTestPlaintextSize(5, 400))

	tests := []struct {
		name        string
		before      []byte // session already in the browser, nil for none
		after       []byte
		wantCookies int // Set-Cookie headers from Replace
	}{
		{"shrink from five to one", big, []byte("small"), 5},
		{"grow from one to five", []byte("small"), big, 5},
		{"same size", big, big, 5},
		{"fresh login", nil, big, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := cookieJar{"other": "keep"}
			if tt.before != nil {
				cookies, err := c.Encode("sess", tt.before, opts, cookieTestNow)
				if err != nil {
					t.Fatal(err)
				}
				j.apply(cookies)
			}
			cookies, err := c.Replace("sess", tt.after, j.get, opts, cookieTestNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(cookies) != tt.wantCookies {
				t.Fatalf("Replace returned %d cookies, want %d", len(cookies), tt.wantCookies)
			}
			j.apply(cookies)
			got, err := c.Decode("sess", j.get, cookieTestNow)
			if err != nil || !bytes.Equal(got, tt.after) {
				t.Fatalf("Decode after Replace: %v", err)
			}
			encoded, err := c.Encode("sess", tt.after, opts, cookieTestNow)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(encoded) + 1; len(j) != want {
				t.Fatalf("browser holds %d cookies, want %d: %v", len(j), want, cookieJarNames(j))
			}

			cleared := c.ClearCookies("sess", j.get, opts)
			if len(cleared) != len(encoded) {
				t.Fatalf("ClearCookies returned %d cookies, want %d", len(cleared), len(encoded))
			}
			for _, ck := range cleared {
				if ck.MaxAge != -1 || ck.Value != "" || ck.Path != "/app" || ck.Domain != "app.example.test" || !ck.HttpOnly {
					t.Fatalf("clearing cookie %+v", ck)
				}
				if !strings.Contains(ck.String(), "Max-Age=0") {
					t.Fatalf("clearing cookie %q lacks Max-Age=0", ck.String())
				}
			}
			j.apply(cleared)
			if len(j) != 1 || j["other"] != "keep" {
				t.Fatalf("after ClearCookies the browser holds %v", cookieJarNames(j))
			}
			if _, err := c.Decode("sess", j.get, cookieTestNow); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Decode after logout: error = %v, want ErrSessionNotFound", err)
			}
		})
	}
}

func TestCookieCodecClearCookiesCases(t *testing.T) {
	c := cookieTestCodec(t, cookieTestSecretA)
	tests := []struct {
		name  string
		have  cookieJar
		opts  Options
		want  []string
		check func(*http.Cookie) bool
	}{
		{"nothing to clear", cookieJar{"other": "x"}, Options{}, nil, nil},
		{"gap in chunks", cookieJar{"s": "x", "s.1": "x", "s.4": "x"}, Options{}, []string{"s", "s.1", "s.4"}, nil},
		{"chunks without main", cookieJar{"s.2": "x"}, Options{}, []string{"s.2"}, nil},
		{"invalid options fall back to defaults", cookieJar{"s": "x"}, Options{MaxAge: -1, Secure: true},
			[]string{"s"}, func(ck *http.Cookie) bool { return ck.Path == "/" && ck.Secure && ck.SameSite == http.SameSiteLaxMode }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.ClearCookies("s", tt.have.get, tt.opts)
			var names []string
			for _, ck := range got {
				names = append(names, ck.Name)
				if tt.check != nil && !tt.check(ck) {
					t.Errorf("cookie %+v", ck)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) {
				t.Fatalf("cleared %v, want %v", names, tt.want)
			}
		})
	}
}

func TestCookieCodecConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := cookieTestCodec(t, cookieTestSecretB, cookieTestSecretA)
	c.ChunkSize = 400
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				want := cookieTestBytes(uint64(w*1000+i), 100+i*20)
				cookies, err := c.Encode("s", want, Options{MaxAge: time.Hour}, cookieTestNow)
				if err != nil {
					errs <- err
					return
				}
				j := cookieJar{}
				j.apply(cookies)
				got, err := c.Decode("s", j.get, cookieTestNow)
				if err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("worker %d round %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func cookieJarNames(j cookieJar) []string {
	var out []string
	for k := range j {
		out = append(out, k)
	}
	return out
}

func FuzzCookieCodecOpen(f *testing.F) {
	c := cookieTestCodec(f, cookieTestSecretA)
	valid, err := c.Seal("sess", []byte("payload"), cookieTestNow.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("sess", valid)
	f.Add("sess", valid[:len(valid)/2])
	f.Add("other", valid)
	f.Add("sess", "")
	f.Add("sess", "AQ")
	f.Add("sess", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("", "%%%")
	f.Fuzz(func(t *testing.T, name, value string) {
		got, err := c.Open(name, value, cookieTestNow)
		if err == nil {
			// Only values sealed by the codec open. (valid differs between fuzzing
			// processes, as each seals with its own nonce, so compare what it holds.)
			if name != "sess" || string(got) != "payload" {
				t.Fatalf("Open(%q, %q) accepted a forged value: %q", name, value, got)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
			t.Fatalf("Open(%q, %q) error %v is neither invalid nor expired", name, value, err)
		}
	})
}

func FuzzCookieDecodeChunks(f *testing.F) {
	c := cookieTestCodec(f, cookieTestSecretA)
	c.ChunkSize = 300
	plaintext := cookieTestBytes(7, 500)
	cookies, err := c.Encode("s", plaintext, Options{MaxAge: time.Hour}, cookieTestNow)
	if err != nil {
		f.Fatal(err)
	}
	if len(cookies) < 3 {
		f.Fatalf("seed has %d chunks, want at least 3", len(cookies))
	}
	v := func(i int) string { return cookies[i].Value }
	f.Add(v(0), v(1), v(2), "")
	f.Add(v(0), v(2), v(1), "")
	f.Add(v(0), v(1), "", "")
	f.Add(v(0), v(1), v(2), v(2))
	f.Add("3.", "", "", "")
	f.Add("9999999999.x", "a", "b", "c")
	f.Add("2.AQ", "AQ", "", "")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, first, c1, c2, c3 string) {
		j := cookieJar{}
		for name, value := range map[string]string{"s": first, "s.1": c1, "s.2": c2, "s.3": c3} {
			if value != "" {
				j[name] = value
			}
		}
		got, err := c.Decode("s", j.get, cookieTestNow)
		if err == nil {
			if !bytes.Equal(got, plaintext) {
				t.Fatalf("Decode accepted forged chunks: %q %q %q %q", first, c1, c2, c3)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Decode error %v is none of invalid, expired, not found", err)
		}
	})
}

func FuzzCookieCodecRoundTrip(f *testing.F) {
	c := cookieTestCodec(f, cookieTestSecretA)
	c.ChunkSize = 300
	f.Add([]byte(""))
	f.Add([]byte("hello"))
	f.Add(cookieTestBytes(8, 2000))
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		cookies, err := c.Encode("s", plaintext, Options{MaxAge: time.Minute}, cookieTestNow)
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		j := cookieJar{}
		j.apply(cookies)
		got, err := c.Decode("s", j.get, cookieTestNow)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("round trip of %d bytes: %v", len(plaintext), err)
		}
	})
}

func TestCookieCodecBrowserSession(t *testing.T) {
	c := cookieTestCodec(t, strings.Repeat("k", MinSecretLength))
	now := time.Unix(1_700_000_000, 0)
	cookies, err := c.Encode("s", []byte("hello"), Options{MaxAge: time.Hour, BrowserSession: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if ck := cookies[0]; ck.MaxAge != 0 || !ck.Expires.IsZero() || strings.Contains(ck.String(), "Max-Age") || strings.Contains(ck.String(), "Expires") {
		t.Errorf("browser-session cookie %q has a lifetime", ck.String())
	}
	jar := cookieJar{}
	jar.apply(cookies)
	if _, err := c.Decode("s", jar.get, now.Add(time.Hour-time.Second)); err != nil {
		t.Errorf("within MaxAge: %v", err)
	}
	if _, err := c.Decode("s", jar.get, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("at MaxAge: %v, want ErrExpired (the sealed expiry still applies)", err)
	}
}
