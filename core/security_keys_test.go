package kinde_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// keyServer serves a JWKS document that a test can replace.
type keyServer struct {
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey // kid ("" for none) -> key
	srv  *httptest.Server
}

func newKeyServer(t *testing.T, keys map[string]*rsa.PublicKey) *keyServer {
	t.Helper()
	ks := &keyServer{keys: keys}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		var doc struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range ks.keys {
			jwk := map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
			if kid != "" {
				jwk["kid"] = kid
			}
			doc.Keys = append(doc.Keys, jwk)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) set(keys map[string]*rsa.PublicKey) {
	ks.mu.Lock()
	ks.keys = keys
	ks.mu.Unlock()
}

func genKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Security review, finding 2: a cached token was accepted as long as its kid
// was still published, even after the key behind that kid was replaced, or
// after the one kid-less key rotated to another. A fresh verifier rejects
// such a token; the cache must too.
func TestVerifiedCacheBoundToKey(t *testing.T) {
	tests := []struct {
		name string
		kid  string // "" for a key set of one key without kid
	}{
		{"same kid, another key", "k1"},
		{"single key without kid replaced", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kindetest.Start(t)
			user := srv.AddUser(kindetest.User{Email: "alice@example.com"})
			keyA, keyB := genKey(t), genKey(t)
			ks := newKeyServer(t, map[string]*rsa.PublicKey{tt.kid: &keyA.PublicKey})
			c, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now,
				JWKSPath: ks.srv.URL + "/jwks", JWKSRefreshInterval: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			kid := tt.kid
			if kid == "" {
				kid = "-"
			}
			tok := srv.Sign(srv.AccessTokenClaims(user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: keyA, Kid: kid})
			if _, err := c.VerifyAccessToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			// The key set changes; a token with an unknown kid makes the
			// verifier fetch it again.
			ks.set(map[string]*rsa.PublicKey{tt.kid: &keyB.PublicKey})
			srv.Advance(2 * time.Minute)
			probe := srv.Sign(srv.AccessTokenClaims(user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: keyB, Kid: "probe"})
			_, _ = c.VerifyAccessToken(ctx, probe)
			if _, err := c.VerifyAccessToken(ctx, tok); !errors.Is(err, kinde.ErrTokenSignature) {
				t.Fatalf("token of the replaced key: err = %v, want ErrTokenSignature", err)
			}
			// A token of the new key verifies, and a key that did not change
			// keeps its cached tokens valid across fetches.
			fresh := srv.Sign(srv.AccessTokenClaims(user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: keyB, Kid: kid})
			if _, err := c.VerifyAccessToken(ctx, fresh); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Security review, finding 9: the key-set fetch ran under the first
// caller's context without its deadline, so a VerifyAccessToken with a 200 ms
// deadline waited for the whole fetch (forever with an HTTP client without a
// timeout). The caller's deadline bounds its wait; the fetch goes on alone.
func TestKeyFetchHonoursCallerDeadline(t *testing.T) {
	srv := kindetest.Start(t)
	user := srv.AddUser(kindetest.User{Email: "alice@example.com"})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	c, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now,
		JWKSPath: slow.URL + "/jwks", HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := srv.IssueTokens(user.ID, kindetest.IssueOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.VerifyAccessToken(ctx, tok.AccessToken)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's context.DeadlineExceeded", err)
	}
}
