package kinde

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A trusted caller that finds an untrusted fetch already running waits for
// it and, when that fetch (begun before Kinde published the new key) does
// not have its kid, fetches again on its own budget; untrusted callers get
// no second fetch.
func TestKeySetTrustedCallerOutlivesUntrustedFetch(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	old, rotated := &k.PublicKey, &rsa.PublicKey{N: k.N, E: 3}
	var (
		mu        sync.Mutex
		published = map[string]*rsa.PublicKey{"old": old}
		release   = make(chan struct{})
		calls     atomic.Int32
		started   = make(chan struct{}, 4)
	)
	fetch := func(context.Context) (map[string]*rsa.PublicKey, error) {
		mu.Lock()
		keys := make(map[string]*rsa.PublicKey, len(published))
		for kid, k := range published {
			keys[kid] = k
		}
		mu.Unlock()
		if calls.Add(1) == 2 {
			started <- struct{}{}
			<-release // the untrusted fetch is slow
		}
		return keys, nil
	}
	now := time.Unix(1_700_000_000, 0)
	s := newKeySet(fetch, func() time.Time { return now }, time.Minute, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	if _, err := s.key(ctx, "old", untrusted); err != nil { // cold start: fetch 1
		t.Fatal(err)
	}

	untrustedDone := make(chan error, 1)
	go func() { _, err := s.key(ctx, "new", untrusted); untrustedDone <- err }() // fetch 2, slow
	<-started
	mu.Lock()
	published = map[string]*rsa.PublicKey{"old": old, "new": rotated} // Kinde rotates meanwhile
	mu.Unlock()
	trustedDone := make(chan error, 1)
	go func() {
		key, err := s.key(ctx, "new", trusted)
		if err == nil && key != rotated {
			err = errors.New("wrong key")
		}
		trustedDone <- err
	}()
	// Let the trusted caller join the running fetch, then finish it.
	for {
		s.mu.Lock()
		joined := s.inflight != nil
		s.mu.Unlock()
		if joined {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-untrustedDone; !errors.Is(err, ErrTokenUnknownKey) && err != nil {
		t.Fatalf("untrusted: %v", err)
	}
	if err := <-trustedDone; err != nil {
		t.Fatalf("trusted caller after an untrusted fetch that began before the rotation: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3 (cold start, untrusted, trusted)", n)
	}
	// Both budgets are spent now: neither kind of caller fetches again.
	for _, tr := range []trust{untrusted, trusted} {
		if _, err := s.key(ctx, "unknown", tr); !errors.Is(err, ErrTokenUnknownKey) {
			t.Fatalf("trust %d: %v", tr, err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d fetches after both budgets were spent, want 3", n)
	}
	now = now.Add(trustedRefetchInterval)
	if _, err := s.key(ctx, "unknown", untrusted); !errors.Is(err, ErrTokenUnknownKey) || calls.Load() != 3 {
		t.Fatalf("untrusted after %s: %v, %d fetches", trustedRefetchInterval, err, calls.Load())
	}
	if _, err := s.key(ctx, "unknown", trusted); !errors.Is(err, ErrTokenUnknownKey) || calls.Load() != 4 {
		t.Fatalf("trusted after %s: %v, %d fetches", trustedRefetchInterval, err, calls.Load())
	}
}
