package kinde_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func TestVerifyJWS(t *testing.T) {
	srv := kindetest.Start(t, kindetest.WithSigningKey(sessionTestKey()))
	other := kindetest.Start(t) // signs with a key of its own
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID()})
	if err != nil {
		t.Fatal(err)
	}
	// Claims no token verifier would accept: VerifyJWS checks only the signature.
	claims := map[string]any{"iss": "https://evil.example.com", "exp": time.Now().Add(-time.Hour).Unix(), "hello": "world"}
	tests := []struct {
		name    string
		token   string
		maxLen  int
		wantErr error
	}{
		{name: "signed by the domain", token: srv.Sign(claims, kindetest.Header{})},
		{name: "default size limit", token: srv.Sign(map[string]any{"pad": strings.Repeat("x", 40<<10)}, kindetest.Header{}), maxLen: -1},
		{name: "above the default size limit", token: srv.Sign(map[string]any{"pad": strings.Repeat("x", 64<<10)}, kindetest.Header{}), wantErr: kinde.ErrTokenMalformed},
		{name: "above the given size limit", token: srv.Sign(claims, kindetest.Header{}), maxLen: 100, wantErr: kinde.ErrTokenMalformed},
		{name: "not a JWS", token: "a.b", wantErr: kinde.ErrTokenMalformed},
		{name: "another key", token: other.Sign(claims, kindetest.Header{Kid: srv.KeyID()}), wantErr: kinde.ErrTokenSignature},
		{name: "unknown key", token: srv.Sign(claims, kindetest.Header{Kid: "nobody"}), wantErr: kinde.ErrTokenUnknownKey},
		{name: "alg none", token: srv.Sign(claims, kindetest.Header{Alg: "none"}), wantErr: kinde.ErrTokenAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := client.VerifyJWS(context.Background(), tt.token, tt.maxLen)
			if tt.wantErr != nil {
				var ve *kinde.VerifyError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &ve) || ve.Token != "JWS" || payload != nil {
					t.Fatalf("payload %q error %v, want a *VerifyError for a JWS wrapping %v", payload, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil || len(got) == 0 {
				t.Fatalf("payload %q: %v", payload, err)
			}
		})
	}
}
