package kinde

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/gokinde/kinde/core/kindetest"
)

func sameRecord(a, b *sessionRecord) bool {
	x, y := a.t, b.t
	return x.AccessToken == y.AccessToken && x.IDToken == y.IDToken && x.RefreshToken == y.RefreshToken &&
		x.Scope == y.Scope && x.TokenType == y.TokenType && x.ExpiresAt.Equal(y.ExpiresAt) && x.ExpiresIn == y.ExpiresIn &&
		a.created.Equal(b.created) && a.seen.Equal(b.seen) && a.persistent == b.persistent
}

func TestSessionRecordRoundTrip(t *testing.T) {
	created := time.Unix(1_800_000_000, 0)
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrcF8xIn0.c2lnbmF0dXJl"
	for _, tt := range []struct {
		name string
		t    Tokens
	}{
		{"JWTs", Tokens{AccessToken: jwt, IDToken: jwt, RefreshToken: "r", Scope: "openid offline", TokenType: "bearer", ExpiresAt: created.Add(time.Hour), ExpiresIn: 3600}},
		{"access token only", Tokens{AccessToken: "only"}},
		{"expired before sign-in", Tokens{AccessToken: jwt, ExpiresAt: created.Add(-time.Hour)}},
		// Tokens that are not canonical base64url JWTs keep their spelling.
		{"padding", Tokens{AccessToken: "eyJhIjoxfQ==.eyJhIjoxfQ.c2ln"}},
		{"non-zero trailing bits", Tokens{AccessToken: "eyJhIjoxfR.eyJhIjoxfQ.c2ln"}},
		{"standard base64", Tokens{AccessToken: "eyJhIjoxfQ.eyJhIjo+fQ.c2l/"}},
		{"CR LF", Tokens{AccessToken: "eyJhIjoxfQ.eyJh\r\nIjoxfQ.c2ln"}},
		{"two segments", Tokens{AccessToken: "eyJhIjoxfQ.eyJhIjoxfQ"}},
		{"four segments", Tokens{AccessToken: "eyJhIjoxfQ.eyJhIjoxfQ.c2ln.c2ln"}},
		{"empty segments", Tokens{AccessToken: "..", IDToken: "."}},
		{"opaque", Tokens{AccessToken: "opaque-token_123", IDToken: "not a jwt"}},
	} {
		for _, persistent := range []bool{true, false} {
			in := &sessionRecord{t: &tt.t, created: created, seen: created.Add(90 * time.Minute), persistent: persistent}
			b := encodeSession(in)
			out, err := decodeSession(b, time.Now())
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !sameRecord(in, out) {
				t.Errorf("%s: round trip gave %+v %+v, want %+v %+v", tt.name, out, out.t, in, in.t)
			}
		}
	}
}

// TestSessionRecordKindeTokens checks that the tokens the emulator issues
// (Kinde's shape) come back byte for byte, and that they are stored as raw
// segments, compressed.
func TestSessionRecordKindeTokens(t *testing.T) {
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	for _, id := range []string{demo.Alice.ID, demo.Bob.ID, demo.Olivia.ID} {
		r, err := srv.IssueTokens(id, kindetest.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := &sessionRecord{t: &Tokens{AccessToken: r.AccessToken, IDToken: r.IDToken, RefreshToken: r.RefreshToken,
			Scope: r.Scope, TokenType: r.TokenType, ExpiresIn: r.ExpiresIn, ExpiresAt: srv.Now().Add(time.Hour).Truncate(time.Second)},
			created: srv.Now().Truncate(time.Second), seen: srv.Now().Truncate(time.Second), persistent: true}
		b := encodeSession(in)
		if b[1]&recordDeflated == 0 {
			t.Errorf("record of %s is not compressed", id)
		}
		plain := len(r.AccessToken) + len(r.IDToken) + len(r.RefreshToken)
		if len(b) > plain/2 {
			t.Errorf("record of %s is %d bytes for %d bytes of tokens, want at most half", id, len(b), plain)
		}
		out, err := decodeSession(b, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !sameRecord(in, out) {
			t.Errorf("round trip of %s's tokens changed them", id)
		}
		if _, ok := jwtSegments(r.AccessToken); !ok {
			t.Errorf("the access token is not stored as raw segments")
		}
	}
}

func TestSessionRecordV1(t *testing.T) {
	// A version 1 record, as the previous release wrote it.
	v1 := []byte{sessionRecordV1}
	for _, f := range []string{"a.b.c", "d.e.f", "r", "openid", "bearer"} {
		v1 = binary.AppendUvarint(v1, uint64(len(f)))
		v1 = append(v1, f...)
	}
	v1 = binary.AppendVarint(v1, 1_800_000_000)
	v1 = binary.AppendVarint(v1, 3600)
	now := time.Unix(1_700_000_000, 0)
	rec, err := decodeSession(v1, now)
	if err != nil {
		t.Fatal(err)
	}
	want := &sessionRecord{t: &Tokens{AccessToken: "a.b.c", IDToken: "d.e.f", RefreshToken: "r", Scope: "openid", TokenType: "bearer",
		ExpiresAt: time.Unix(1_800_000_000, 0), ExpiresIn: 3600}, created: now, seen: now, persistent: true}
	if !sameRecord(rec, want) {
		t.Errorf("v1 record gave %+v %+v", rec, rec.t)
	}
	if _, err := decodeSession(v1[:len(v1)-1], now); err == nil {
		t.Error("a truncated v1 record was accepted")
	}
}

func TestSessionRecordRejects(t *testing.T) {
	good := encodeSession(&sessionRecord{t: &Tokens{AccessToken: strings.Repeat("eyJhIjoxfQ.", 2) + "c2ln"}, created: time.Unix(1, 0)})
	bomb := []byte{sessionRecordV2, recordDeflated}
	var z bytes.Buffer
	z.Write(new(recordCodec).deflate(make([]byte, maxSessionRecord+10)))
	bomb = append(bomb, z.Bytes()...)
	for name, b := range map[string][]byte{
		"empty":         {},
		"version 3":     {3, 0},
		"unknown flag":  {sessionRecordV2, 0x80},
		"truncated":     good[:len(good)-1],
		"trailing byte": append(append([]byte{}, good...), 0),
		"bad deflate":   {sessionRecordV2, recordDeflated, 0xff, 0xff},
		"too large":     bomb,
		"no access":     encodeSession(&sessionRecord{t: &Tokens{IDToken: "x"}}),
		"bad kind":      {sessionRecordV2, 0, 0, 0, 0, 0, 7},
	} {
		if _, err := decodeSession(b, time.Now()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeSession(f *testing.F) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrcF8xIn0.c2lnbmF0dXJl"
	f.Add(encodeSession(&sessionRecord{t: &Tokens{AccessToken: jwt, IDToken: jwt, RefreshToken: "r", ExpiresAt: time.Unix(1, 0)}, created: time.Unix(5, 0)}))
	f.Add(encodeSession(&sessionRecord{t: &Tokens{AccessToken: "a"}, persistent: true}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{sessionRecordV2, recordDeflated, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeSession(b, time.Unix(1_700_000_000, 0))
		if err != nil {
			return
		}
		again, err := decodeSession(encodeSession(rec), time.Unix(1_700_000_000, 0))
		if err != nil || !sameRecord(rec, again) {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}

// FuzzSessionRecordTokens checks that any token strings round-trip exactly,
// whether stored as raw JWT segments or as strings.
func FuzzSessionRecordTokens(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrcF8xIn0.c2lnbmF0dXJl", "eyJhIjoxfQ==.eyJhIjoxfQ.c2ln", "refresh")
	f.Add("a.b.c", "", "")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte{0xfb})+"..", ".", "\x00")
	f.Fuzz(func(t *testing.T, access, id, refresh string) {
		if access == "" {
			return
		}
		in := &sessionRecord{t: &Tokens{AccessToken: access, IDToken: id, RefreshToken: refresh}, created: time.Unix(1_700_000_000, 0), seen: time.Unix(1_700_000_100, 0)}
		out, err := decodeSession(encodeSession(in), time.Now())
		if err != nil || !sameRecord(in, out) {
			t.Fatalf("round trip of %q %q %q failed: %v", access, id, refresh, err)
		}
	})
}

func TestKSPPersistent(t *testing.T) {
	tok := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	for _, tt := range []struct {
		token string
		want  bool
	}{
		{tok(`{"sub":"kp_1"}`), true},
		{tok(`{"ksp":{"persistent":true}}`), true},
		{tok(`{"ksp":{"persistent":false}}`), false},
		{tok(`{"ksp":{}}`), true},
		{tok(`{"ksp":null}`), true},
		{tok(`{"ksp":{"persistent":"no"}}`), true},
		{"opaque", true},
	} {
		if got := kspPersistent(tt.token); got != tt.want {
			t.Errorf("kspPersistent(%s) = %v, want %v", tt.token, got, tt.want)
		}
	}
}
