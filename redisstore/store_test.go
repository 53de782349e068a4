package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sessionStore is a copy of kinde.Store from github.com/gokinde/kinde/core, which
// this module does not import. Store must keep satisfying it.
type sessionStore interface {
	Get(ctx context.Context, id string) ([]byte, error)
	Set(ctx context.Context, id string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, id string) error
}

var _ sessionStore = (*Store)(nil)

// isNotFound is how kinde recognises the not-found errors of stores in other modules.
func isNotFound(err error) bool {
	var nf interface{ NotFound() bool }
	return errors.As(err, &nf) && nf.NotFound()
}

func TestStoreOperations(t *testing.T) {
	type step struct {
		op       string // set, get, del
		id       string
		value    []byte
		ttl      time.Duration
		want     []byte
		notFound bool // get: want a not-found error
		wantErr  bool // want some other error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"round trip", []step{
			{op: "set", id: "a", value: []byte("alpha"), ttl: time.Hour},
			{op: "get", id: "a", want: []byte("alpha")},
		}},
		{"missing", []step{
			{op: "get", id: "nope", notFound: true},
		}},
		{"overwrite", []step{
			{op: "set", id: "a", value: []byte("one"), ttl: time.Hour},
			{op: "set", id: "a", value: []byte("two"), ttl: time.Hour},
			{op: "get", id: "a", want: []byte("two")},
		}},
		{"delete", []step{
			{op: "set", id: "a", value: []byte("alpha"), ttl: time.Hour},
			{op: "del", id: "a"},
			{op: "get", id: "a", notFound: true},
			{op: "del", id: "a"},
		}},
		{"binary value", []step{
			{op: "set", id: "bin", value: []byte{0, 1, 0xff, '\r', '\n', 0}, ttl: time.Hour},
			{op: "get", id: "bin", want: []byte{0, 1, 0xff, '\r', '\n', 0}},
		}},
		{"empty value", []step{
			{op: "set", id: "e", value: []byte{}, ttl: time.Hour},
			{op: "get", id: "e", want: []byte{}},
		}},
		{"odd id", []step{
			{op: "set", id: "id with spaces:*?[]", value: []byte("v"), ttl: time.Hour},
			{op: "get", id: "id with spaces:*?[]", want: []byte("v")},
			{op: "get", id: "id with spaces", notFound: true},
		}},
		{"sub-millisecond ttl is accepted", []step{
			{op: "set", id: "tiny", value: []byte("v"), ttl: time.Microsecond},
		}},
		{"zero ttl rejected", []step{
			{op: "set", id: "z", value: []byte("v"), ttl: 0, wantErr: true},
			{op: "get", id: "z", notFound: true},
		}},
		{"negative ttl rejected", []step{
			{op: "set", id: "n", value: []byte("v"), ttl: -time.Second, wantErr: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(newTestClient(t), WithPrefix(testPrefix(t)))
			ctx := context.Background()
			for i, st := range tt.steps {
				var err error
				switch st.op {
				case "set":
					err = s.Set(ctx, st.id, st.value, st.ttl)
				case "get":
					var got []byte
					got, err = s.Get(ctx, st.id)
					if err == nil && (!bytes.Equal(got, st.want) || got == nil) {
						t.Fatalf("step %d: Get(%q) = %q, want %q", i, st.id, got, st.want)
					}
				case "del":
					err = s.Delete(ctx, st.id)
				}
				switch {
				case st.notFound:
					if !errors.Is(err, ErrNotFound) || !isNotFound(err) {
						t.Fatalf("step %d (%s %q): error = %v, want not found", i, st.op, st.id, err)
					}
				case st.wantErr:
					if err == nil || isNotFound(err) {
						t.Fatalf("step %d (%s %q): error = %v, want a non-not-found error", i, st.op, st.id, err)
					}
				case err != nil:
					t.Fatalf("step %d (%s %q): %v", i, st.op, st.id, err)
				}
			}
		})
	}
}

func TestStoreCopiesValues(t *testing.T) {
	s := New(newTestClient(t), WithPrefix(testPrefix(t)))
	ctx := context.Background()
	in := []byte("original")
	if err := s.Set(ctx, "a", in, time.Hour); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	got, err := s.Get(ctx, "a")
	if err != nil || string(got) != "original" {
		t.Fatalf("Get = %q, %v; want the value as it was when Set", got, err)
	}
}

func TestStoreTTL(t *testing.T) {
	client := newTestClient(t)
	prefix := testPrefix(t)
	s := New(client, WithPrefix(prefix))
	ctx := context.Background()

	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"whole seconds", 2 * time.Hour},
		{"milliseconds", 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(ctx, tt.name, []byte("v"), tt.ttl); err != nil {
				t.Fatal(err)
			}
			left, err := client.PTTL(ctx, prefix+tt.name).Result()
			if err != nil {
				t.Fatal(err)
			}
			if left <= 0 || left > tt.ttl {
				t.Fatalf("Redis TTL = %v, want in (0, %v]", left, tt.ttl)
			}
		})
	}

	t.Run("expires", func(t *testing.T) {
		if err := s.Set(ctx, "short", []byte("v"), 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := s.Get(ctx, "short")
			if isNotFound(err) {
				break
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if time.Now().After(deadline) {
				t.Fatal("session still there 10s after a 50ms TTL")
			}
			time.Sleep(10 * time.Millisecond)
		}
		n, err := client.Exists(ctx, prefix+"short").Result()
		if err != nil || n != 0 {
			t.Fatalf("key still in Redis: %d, %v", n, err)
		}
	})
}

func TestStorePrefixIsolation(t *testing.T) {
	client := newTestClient(t)
	base := testPrefix(t)
	ctx := context.Background()
	app1 := New(client, WithPrefix(base+"app1:"))
	app2 := New(client, WithPrefix(base+"app2:"))

	if err := app1.Set(ctx, "same-id", []byte("one"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := app2.Get(ctx, "same-id"); !isNotFound(err) {
		t.Fatalf("app2 sees app1's session: %v", err)
	}
	if err := app2.Set(ctx, "same-id", []byte("two"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := app2.Delete(ctx, "same-id"); err != nil {
		t.Fatal(err)
	}
	got, err := app1.Get(ctx, "same-id")
	if err != nil || string(got) != "one" {
		t.Fatalf("app1 Get = %q, %v; app2 must not touch it", got, err)
	}
	raw, err := client.Get(ctx, base+"app1:same-id").Result()
	if err != nil || raw != "one" {
		t.Fatalf("Redis key %q = %q, %v", base+"app1:same-id", raw, err)
	}
}

func TestStoreDefaultPrefix(t *testing.T) {
	client := newTestClient(t)
	ctx := context.Background()
	id := fmt.Sprintf("kinde-test-default-prefix-%d", time.Now().UnixNano())
	t.Cleanup(func() { client.Del(context.Background(), DefaultPrefix+id) })

	if err := New(client).Set(ctx, id, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Get(ctx, DefaultPrefix+id).Result(); err != nil || got != "v" {
		t.Fatalf("key %q = %q, %v", DefaultPrefix+id, got, err)
	}
	if DefaultPrefix != "kinde:session:" {
		t.Fatalf("DefaultPrefix = %q", DefaultPrefix)
	}
	// A nil option is ignored rather than crashing.
	if got := New(client, nil).prefix; got != DefaultPrefix {
		t.Fatalf("prefix with a nil option = %q", got)
	}
}

func TestStoreSurvivesNewClient(t *testing.T) {
	prefix := testPrefix(t)
	ctx := context.Background()

	first := redis.NewClient(&redis.Options{Addr: testRedisAddr})
	if err := New(first, WithPrefix(prefix)).Set(ctx, "persisted", []byte("still here"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil { // the application stops
		t.Fatal(err)
	}

	restarted := New(newTestClient(t), WithPrefix(prefix))
	got, err := restarted.Get(ctx, "persisted")
	if err != nil || string(got) != "still here" {
		t.Fatalf("after restart Get = %q, %v", got, err)
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := New(newTestClient(t), WithPrefix(testPrefix(t)))
	ctx := context.Background()
	const workers, rounds = 32, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				own := fmt.Sprintf("w%d", w)
				want := fmt.Appendf(nil, "worker %d round %d", w, i)
				if err := s.Set(ctx, own, want, time.Minute); err != nil {
					errs <- err
					return
				}
				got, err := s.Get(ctx, own)
				if err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("worker %d: Get = %q, %v; want %q", w, got, err, want)
					return
				}
				// Everybody writes, reads and deletes one shared session too.
				if err := s.Set(ctx, "shared", want, time.Minute); err != nil {
					errs <- err
					return
				}
				if _, err := s.Get(ctx, "shared"); err != nil && !isNotFound(err) {
					errs <- err
					return
				}
				if i%5 == 0 {
					if err := s.Delete(ctx, "shared"); err != nil {
						errs <- err
						return
					}
				}
			}
			if err := s.Delete(ctx, fmt.Sprintf("w%d", w)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range workers {
		if _, err := s.Get(ctx, fmt.Sprintf("w%d", w)); !isNotFound(err) {
			t.Errorf("w%d after delete: %v", w, err)
		}
	}
}

func TestStoreErrorsAreNotNotFound(t *testing.T) {
	// A Redis outage must not look like a missing session, or users would be
	// signed out instead of seeing an error.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = down.Close() })

	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name  string
		store *Store
		ctx   context.Context
		want  error // also errors.Is, when not nil
	}{
		{"server down", New(down), context.Background(), nil},
		{"canceled context", New(newTestClient(t), WithPrefix(testPrefix(t))), canceled, context.Canceled},
		{"nil client", New(nil), context.Background(), nil},
		{"nil store", nil, context.Background(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, getErr := tt.store.Get(tt.ctx, "id")
			setErr := tt.store.Set(tt.ctx, "id", []byte("v"), time.Minute)
			delErr := tt.store.Delete(tt.ctx, "id")
			for op, err := range map[string]error{"Get": getErr, "Set": setErr, "Delete": delErr} {
				if err == nil || isNotFound(err) || errors.Is(err, ErrNotFound) {
					t.Errorf("%s error = %v, want a failure that is not 'not found'", op, err)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("%s error = %v, want %v", op, err, tt.want)
				}
			}
		})
	}
}
