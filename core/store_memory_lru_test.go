package kinde

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// An active user is never evicted to make room for sign-ins, however many
// (issue 18, item 4: one account signing in 10,000 times evicted everyone).
func TestStoreMemoryKeepsActiveUsers(t *testing.T) {
	var logs bytes.Buffer
	s := NewMemoryStore(MemoryStoreOptions{MaxEntries: 100, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	clock := newStoreTestClock()
	s.now = clock.Now
	ctx := context.Background()
	if err := s.Set(ctx, "active", []byte("alice"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 { // sign-ins, each a new session that is never used again
		if err := s.Set(ctx, fmt.Sprint("flood", i), []byte("x"), 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 { // the active user's requests
			if _, err := s.Get(ctx, "active"); err != nil {
				t.Fatalf("after %d sign-ins the active session is gone: %v", i+1, err)
			}
		}
	}
	if got := s.len(); got != 100 {
		t.Fatalf("%d sessions kept, want 100", got)
	}
	if n := strings.Count(logs.String(), "memory store full"); n != 901 {
		t.Fatalf("%d eviction records for 901 evictions, want one each", n)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Fatal("evictions are not logged at Warn")
	}
}

func TestStoreMemoryByteBudget(t *testing.T) {
	value := bytes.Repeat([]byte("v"), 1000)
	per := entrySize("id00", value)
	s := NewMemoryStore(MemoryStoreOptions{MaxBytes: 3 * per})
	ctx := context.Background()
	for i := range 10 {
		if err := s.Set(ctx, fmt.Sprintf("id%02d", i), value, time.Hour); err != nil {
			t.Fatal(err)
		}
		if s.bytes > s.maxBytes {
			t.Fatalf("after %d writes %d bytes held, budget %d", i+1, s.bytes, s.maxBytes)
		}
	}
	if got := s.len(); got != 3 {
		t.Fatalf("%d sessions within a budget of three, want 3", got)
	}
	for _, id := range []string{"id07", "id08", "id09"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("the newest session %s was evicted: %v", id, err)
		}
	}
	// A value larger than the whole budget is refused, not stored alone.
	if err := s.Set(ctx, "huge", bytes.Repeat(value, 4), time.Hour); !errors.Is(err, errTooLargeForStore) {
		t.Fatalf("a value beyond the budget: %v, want errTooLargeForStore", err)
	}
	// Deleting and overwriting keep the count of bytes exact.
	for _, id := range []string{"id07", "id08", "id09"} {
		if err := s.Set(ctx, id, []byte("small"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "id08"); err != nil {
		t.Fatal(err)
	}
	if want := entrySize("id07", []byte("small")) * 2; s.bytes != want {
		t.Fatalf("%d bytes counted, want %d", s.bytes, want)
	}
	if got := NewMemoryStore(MemoryStoreOptions{}).maxBytes; got != defaultMemoryStoreBytes {
		t.Fatalf("default byte budget %d, want %d", got, defaultMemoryStoreBytes)
	}
}

func TestStoreMemoryCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		stored  string // "": nothing
		expired bool
		old     string
		swapped bool
		want    string // "": not found
	}{
		{"holds old", "v1", false, "v1", true, "v2"},
		{"holds another value", "v3", false, "v1", false, "v3"},
		{"missing", "", false, "v1", false, ""},
		{"expired", "v1", true, "v1", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newStoreTestMemory(10)
			if tt.stored != "" {
				if err := s.Set(ctx, "id", []byte(tt.stored), time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if tt.expired {
				clock.Advance(time.Hour)
			}
			swapped, err := s.compareAndSwap(ctx, "id", []byte(tt.old), []byte("v2"), time.Minute)
			if err != nil || swapped != tt.swapped {
				t.Fatalf("CompareAndSwap = %v, %v; want %v", swapped, err, tt.swapped)
			}
			got, err := s.Get(ctx, "id")
			if tt.want == "" {
				if !errors.Is(err, ErrSessionNotFound) {
					t.Fatalf("Get = %q, %v; want not found", got, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Get = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	s, _ := newStoreTestMemory(10)
	if _, err := s.compareAndSwap(ctx, "id", nil, []byte("x"), 0); !errors.Is(err, errInvalidTTL) {
		t.Fatalf("zero ttl: %v", err)
	}
	if compareAndSwapOf(s) == nil {
		t.Fatal("the web layer does not see the MemoryStore's compare-and-swap")
	}
}

// After a peak of sessions the store gives its memory back: once fewer than
// a quarter of the peak remain, the map and the heap are rebuilt for what is
// left, and every remaining session is still there (issue 18, item 4).
func TestStoreMemoryReleasesAfterPeak(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(MemoryStoreOptions{})
	for i := range 4000 {
		if err := s.Set(ctx, fmt.Sprint("id", i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	peakMap := reflect.ValueOf(s.entries).UnsafePointer()
	s.mu.Unlock()
	for i := range 3500 {
		if err := s.Delete(ctx, fmt.Sprint("id", i)); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	rebuilt := reflect.ValueOf(s.entries).UnsafePointer() != peakMap
	n, peak, heapCap := len(s.entries), s.peak, cap(s.byExp)
	s.mu.Unlock()
	if !rebuilt || n != 500 || peak > 1000 || heapCap > 1000 {
		t.Fatalf("after 3,500 of 4,000 sessions left: rebuilt %v, %d entries, peak %d, heap capacity %d", rebuilt, n, peak, heapCap)
	}
	for i := 3500; i < 4000; i++ {
		if v, err := s.Get(ctx, fmt.Sprint("id", i)); err != nil || string(v) != "v" {
			t.Fatalf("session %d after the rebuild: %q, %v", i, v, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.byExp {
		if e.index != i {
			t.Fatalf("heap entry %d has index %d", i, e.index)
		}
	}
}
