package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// compareAndSwapper is the optional method kinde.Store documents; Store must
// keep it, or kinde falls back to plain writes that can go backwards.
type compareAndSwapper interface {
	CompareAndSwap(ctx context.Context, id string, old, new []byte, ttl time.Duration) (bool, error)
}

var _ compareAndSwapper = (*Store)(nil)

func TestStoreCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		stored  []byte // nil: nothing stored
		old     []byte
		swapped bool
		want    []byte // stored afterwards; nil: nothing
	}{
		{"holds old", []byte("v1"), []byte("v1"), true, []byte("v2")},
		{"holds another value", []byte("v3"), []byte("v1"), false, []byte("v3")},
		{"missing", nil, []byte("v1"), false, nil},
		{"binary value", []byte("\x00\xff\x01"), []byte("\x00\xff\x01"), true, []byte("v2")},
		{"prefix of the stored value", []byte("v1v1"), []byte("v1"), false, []byte("v1v1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(newTestClient(t), WithPrefix(testPrefix(t)))
			if tt.stored != nil {
				if err := s.Set(ctx, "id", tt.stored, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			swapped, err := s.CompareAndSwap(ctx, "id", tt.old, []byte("v2"), time.Minute)
			if err != nil || swapped != tt.swapped {
				t.Fatalf("CompareAndSwap = %v, %v; want %v", swapped, err, tt.swapped)
			}
			got, err := s.Get(ctx, "id")
			switch {
			case tt.want == nil && !isNotFound(err):
				t.Fatalf("Get = %q, %v; want not found", got, err)
			case tt.want != nil && (err != nil || !bytes.Equal(got, tt.want)):
				t.Fatalf("Get = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestStoreCompareAndSwapSetsTTL(t *testing.T) {
	ctx := context.Background()
	client := newTestClient(t)
	prefix := testPrefix(t)
	s := New(client, WithPrefix(prefix))
	if err := s.Set(ctx, "id", []byte("v1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSwap(ctx, "id", []byte("v1"), []byte("v2"), 10*time.Second); !ok || err != nil {
		t.Fatalf("CompareAndSwap = %v, %v", ok, err)
	}
	ttl, err := client.PTTL(ctx, prefix+"id").Result()
	if err != nil || ttl <= 0 || ttl > 10*time.Second {
		t.Fatalf("TTL after the swap %v, %v; want at most 10s", ttl, err)
	}
	if _, err := s.CompareAndSwap(ctx, "id", []byte("v2"), []byte("v3"), 0); err == nil {
		t.Fatal("a zero ttl was accepted")
	}
}

// Many writers that each read, then swap: exactly one wins each round, as
// several instances refreshing one session must.
func TestStoreCompareAndSwapConcurrent(t *testing.T) {
	ctx := context.Background()
	s := New(newTestClient(t), WithPrefix(testPrefix(t)))
	for round := range 10 {
		old := fmt.Appendf(nil, "round %d", round)
		if err := s.Set(ctx, "shared", old, time.Minute); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				ok, err := s.CompareAndSwap(ctx, "shared", old, fmt.Appendf(nil, "writer %d", w), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d swaps won, want 1", round, n)
		}
	}
}
