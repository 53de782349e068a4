package jose

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in      string
		alg     string
		kid     string
		wantErr bool
	}{
		{`{"alg":"RS256","kid":"k1","typ":"JWT"}`, "RS256", "k1", false},
		{`{"alg":"RS256"}`, "RS256", "", false},
		{`{"alg":"RS256","alg":"none"}`, "", "", true},
		{`{"alg":"RS256","crit":["exp"]}`, "", "", true},
		{`{"alg":"RS256","b64":false}`, "", "", true},
		{`{"alg":"RS256","b64":true}`, "", "", true},
		{`{"\u0061lg":"none","alg":"RS256"}`, "", "", true},
		{`{"alg":1}`, "", "", true},
		{`nope`, "", "", true},
	}
	for _, tt := range tests {
		h, err := ParseHeader([]byte(tt.in))
		if (err != nil) != tt.wantErr || (!tt.wantErr && (h.Alg != tt.alg || h.Kid != tt.kid)) {
			t.Errorf("ParseHeader(%s) = %+v, %v", tt.in, h, err)
		}
	}
}

func signedToken(t *testing.T, key *rsa.PrivateKey, header, payload string) string {
	t.Helper()
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	digest := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Go's base64 decoders skip CR and LF, so without a check of its own a
// token with a line break anywhere still verified, and every spelling was
// another cache entry (security review, finding 3).
func TestParseRejectsLineBreaks(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok := signedToken(t, key, `{"alg":"RS256","kid":"k1"}`, `{"sub":"kp_1","exp":4102444800}`)
	j, err := Parse(tok, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.VerifyRS256(&key.PublicKey); err != nil {
		t.Fatalf("the genuine token does not verify: %v", err)
	}
	dot1 := strings.IndexByte(tok, '.')
	dot2 := strings.LastIndexByte(tok, '.')
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"LF in the header", tok[:4] + "\n" + tok[4:], ErrMalformed},
		// The signing input includes the line break: the signature fails.
		{"CRLF in the payload", tok[:dot1+5] + "\r\n" + tok[dot1+5:], ErrSignature},
		{"LF in the signature", tok[:dot2+5] + "\n" + tok[dot2+5:], ErrMalformed},
		{"trailing LF", tok + "\n", ErrMalformed},
		{"trailing CR", tok + "\r", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse(tt.tok, 1<<16)
			if err == nil {
				err = j.VerifyRS256(&key.PublicKey)
			}
			if err == nil {
				_, err = j.Payload()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := signedToken(t, key, `{"alg":"RS256","kid":"k1"}`, `{"sub":"kp_1"}`)
	tests := []struct {
		name    string
		tok     string
		key     *rsa.PublicKey
		wantErr error
	}{
		{"genuine", good, &key.PublicKey, nil},
		{"other key", good, &other.PublicKey, ErrSignature},
		{"two parts", "a.b", &key.PublicKey, ErrMalformed},
		{"four parts", good + ".x", &key.PublicKey, ErrMalformed},
		{"empty header", "." + good[strings.IndexByte(good, '.')+1:], &key.PublicKey, ErrMalformed},
		{"padded header", "eyJhbGciOiJSUzI1NiJ9=" + good[strings.IndexByte(good, '.'):], &key.PublicKey, ErrMalformed},
		{"too long", good + strings.Repeat("A", 1<<16), &key.PublicKey, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse(tt.tok, 1<<16)
			if err == nil {
				err = j.VerifyRS256(tt.key)
			}
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				p, err := j.Payload()
				if err != nil || string(p) != `{"sub":"kp_1"}` {
					t.Fatalf("payload %q, %v", p, err)
				}
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts has
// three parts without line breaks and a header that encoding/json reads as
// an object.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJrcF8xIn0.c2ln",
		"eyJhbGciOiJub25lIn0..", "a.b.c", "..", "eyJhbGciOiJSUzI1NiJ9\n.e30.c2ln", "e30.e30.e30",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := Parse(tok, 1<<16)
		if err != nil {
			return
		}
		if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok[:strings.IndexByte(tok, '.')], "\r\n") {
			t.Fatalf("accepted %q", tok)
		}
		hdr, err := DecodeSegment(nil, tok[:strings.IndexByte(tok, '.')])
		if err != nil {
			t.Fatalf("header of an accepted token does not decode: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(hdr, &m); err != nil {
			t.Fatalf("accepted a header encoding/json rejects: %q", hdr)
		}
		if alg, _ := m["alg"].(string); alg != j.Header.Alg {
			t.Fatalf("alg %q, encoding/json %q", j.Header.Alg, alg)
		}
	})
}
