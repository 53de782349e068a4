package kinde_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// ttlStore is a memory store that records the time to live of each Set.
type ttlStore struct {
	kinde.Store
	mu   sync.Mutex
	ttls []time.Duration
}

func (s *ttlStore) Set(ctx context.Context, id string, v []byte, ttl time.Duration) error {
	s.mu.Lock()
	s.ttls = append(s.ttls, ttl)
	s.mu.Unlock()
	return s.Store.Set(ctx, id, v, ttl)
}

func (s *ttlStore) last() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ttls[len(s.ttls)-1]
}

// TestSessionStoreTTL checks that a store entry lives for the idle timeout,
// and, near the maximum age, only until it.
func TestSessionStoreTTL(t *testing.T) {
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	srv.SetTokenLifetimes(24*time.Hour, 24*time.Hour, 60*24*time.Hour)
	store := &ttlStore{Store: kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 10})}
	const idle, maxAge = time.Hour, 90 * time.Minute
	opts := []kinde.WebOption{kinde.WithStore(store), kinde.WithSessionOptions(kinde.SessionOptions{IdleTimeout: idle, MaxAge: maxAge})}
	sessionCookieBytes(t, srv, demo.Bob.ID, opts...)
	if got := store.last(); got != idle {
		t.Errorf("store TTL at sign-in %v, want the idle timeout %v", got, idle)
	}
}

func TestWithSessionOptionsErrors(t *testing.T) {
	for _, o := range []kinde.SessionOptions{
		{IdleTimeout: -time.Second},
		{MaxAge: -time.Second},
		{Domain: "exa mple.com"},
		{Domain: "https://example.com"},
		{Domain: "example.com:8080"},
	} {
		_, err := kinde.NewWeb(kinde.WithConfig(kinde.Config{Domain: "https://x.kinde.com", ClientID: "c", RedirectURL: "https://app.example/cb"}),
			kinde.WithSessionOptions(o))
		if err == nil || !strings.Contains(err.Error(), "session") {
			t.Errorf("%+v: err %v, want a session option error", o, err)
		}
	}
}
