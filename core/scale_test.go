package kinde_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// TestScaleColdStart: 10,000 concurrent first verifications on a new client
// share one JWKS fetch.
func TestScaleColdStart(t *testing.T) {
	e := newEnv(t)
	tok, err := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	runConcurrently(t, 10_000, func() error {
		_, err := e.client.VerifyAccessToken(context.Background(), tok.AccessToken)
		return err
	})
	if n := e.srv.Requests("/.well-known/jwks"); n != 1 {
		t.Fatalf("JWKS fetched %d times for 10,000 concurrent cold verifications, want 1", n)
	}
}

// TestScaleUnknownKidFlood: 10,000 requests with a key id nobody publishes
// cost at most one JWKS fetch per refresh interval.
func TestScaleUnknownKidFlood(t *testing.T) {
	e := newEnv(t)
	good, _ := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
	if _, err := e.client.VerifyAccessToken(context.Background(), good.AccessToken); err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	bad := e.srv.Sign(e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: other, Kid: "attacker-kid"})
	e.srv.ResetRequests()
	runConcurrently(t, 10_000, func() error {
		_, err := e.client.VerifyAccessToken(context.Background(), bad)
		if errors.Is(err, kinde.ErrTokenUnknownKey) {
			return nil
		}
		return err
	})
	if n := e.srv.Requests("/.well-known/jwks"); n > 1 {
		t.Fatalf("unknown-kid flood caused %d JWKS fetches within one interval, want at most 1", n)
	}
}

// runConcurrently runs fn n times from n goroutines started together.
func runConcurrently(t *testing.T, n int, fn func() error) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := fn(); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
