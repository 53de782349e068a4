package kinde

import (
	"testing"
	"time"
)

func TestSessionRecordRoundTrip(t *testing.T) {
	for _, in := range []Tokens{
		{AccessToken: "a.b.c", IDToken: "d.e.f", RefreshToken: "r", Scope: "openid offline", TokenType: "bearer", ExpiresAt: time.Unix(1_800_000_000, 0), ExpiresIn: 86400},
		{AccessToken: "only"},
	} {
		out, err := decodeSession(encodeSession(&in))
		if err != nil {
			t.Fatal(err)
		}
		if out.AccessToken != in.AccessToken || out.IDToken != in.IDToken || out.RefreshToken != in.RefreshToken ||
			out.Scope != in.Scope || out.TokenType != in.TokenType || !out.ExpiresAt.Equal(in.ExpiresAt) || out.ExpiresIn != in.ExpiresIn {
			t.Fatalf("round trip: %+v != %+v", out, in)
		}
	}
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(encodeSession(&Tokens{AccessToken: "a", RefreshToken: "r", ExpiresAt: time.Unix(1, 0)}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := decodeSession(b)
		if err != nil {
			return
		}
		again, err := decodeSession(encodeSession(tok))
		if err != nil || again.AccessToken != tok.AccessToken || again.RefreshToken != tok.RefreshToken {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}
