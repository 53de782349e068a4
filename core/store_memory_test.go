package kinde

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// storeTestClock is a manually advanced clock for MemoryStore tests.
type storeTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStoreTestClock() *storeTestClock {
	return &storeTestClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *storeTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *storeTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newStoreTestMemory(size int) (*MemoryStore, *storeTestClock) {
	clock := newStoreTestClock()
	s := NewMemoryStore(MemoryStoreOptions{MaxEntries: size})
	s.now = clock.Now
	return s, clock
}

func TestStoreMemoryGetSetDelete(t *testing.T) {
	type step struct {
		op      string // set, get, del, advance
		id      string
		value   string
		ttl     time.Duration
		want    string
		wantErr error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"round trip", []step{
			{op: "set", id: "a", value: "alpha", ttl: time.Minute},
			{op: "get", id: "a", want: "alpha"},
		}},
		{"missing", []step{
			{op: "get", id: "nope", wantErr: ErrSessionNotFound},
		}},
		{"overwrite", []step{
			{op: "set", id: "a", value: "one", ttl: time.Minute},
			{op: "set", id: "a", value: "two", ttl: time.Minute},
			{op: "get", id: "a", want: "two"},
		}},
		{"delete", []step{
			{op: "set", id: "a", value: "alpha", ttl: time.Minute},
			{op: "del", id: "a"},
			{op: "get", id: "a", wantErr: ErrSessionNotFound},
			{op: "del", id: "a"},
		}},
		{"expired on read", []step{
			{op: "set", id: "a", value: "alpha", ttl: time.Minute},
			{op: "advance", ttl: time.Minute},
			{op: "get", id: "a", wantErr: ErrSessionNotFound},
		}},
		{"alive just before expiry", []step{
			{op: "set", id: "a", value: "alpha", ttl: time.Minute},
			{op: "advance", ttl: time.Minute - time.Nanosecond},
			{op: "get", id: "a", want: "alpha"},
		}},
		{"overwrite extends ttl", []step{
			{op: "set", id: "a", value: "one", ttl: time.Minute},
			{op: "advance", ttl: 50 * time.Second},
			{op: "set", id: "a", value: "two", ttl: time.Minute},
			{op: "advance", ttl: 50 * time.Second},
			{op: "get", id: "a", want: "two"},
		}},
		{"empty value", []step{
			{op: "set", id: "a", value: "", ttl: time.Minute},
			{op: "get", id: "a", want: ""},
		}},
		{"zero ttl rejected", []step{
			{op: "set", id: "a", value: "x", ttl: 0, wantErr: errInvalidTTL},
			{op: "get", id: "a", wantErr: ErrSessionNotFound},
		}},
		{"negative ttl rejected", []step{
			{op: "set", id: "a", value: "x", ttl: -time.Second, wantErr: errInvalidTTL},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newStoreTestMemory(10)
			ctx := context.Background()
			for i, st := range tt.steps {
				var err error
				switch st.op {
				case "set":
					err = s.Set(ctx, st.id, []byte(st.value), st.ttl)
				case "get":
					var got []byte
					got, err = s.Get(ctx, st.id)
					if err == nil && string(got) != st.want {
						t.Fatalf("step %d: Get(%q) = %q, want %q", i, st.id, got, st.want)
					}
					if err == nil && got == nil {
						t.Fatalf("step %d: Get(%q) returned nil slice without error", i, st.id)
					}
				case "del":
					err = s.Delete(ctx, st.id)
				case "advance":
					clock.Advance(st.ttl)
				}
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d (%s %q): error = %v, want %v", i, st.op, st.id, err, st.wantErr)
				}
			}
		})
	}
}

func TestStoreMemoryCopiesValues(t *testing.T) {
	s, _ := newStoreTestMemory(10)
	ctx := context.Background()
	in := []byte("original")
	if err := s.Set(ctx, "a", in, time.Minute); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X' // the caller reuses its buffer
	got, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "original" {
		t.Fatalf("Set retained the caller's slice: got %q", got)
	}
	got[0] = 'Y' // the caller scribbles on what Get returned
	again, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != "original" {
		t.Fatalf("Get returned internal storage: got %q", again)
	}
}

func TestStoreMemoryEviction(t *testing.T) {
	type op struct {
		id  string
		ttl time.Duration // 0: a Get
	}
	tests := []struct {
		name      string
		size      int
		ops       []op
		advance   time.Duration // before inserting "new"
		wantGone  []string
		wantAlive []string
	}{
		{
			name:      "evicts the least recently written",
			size:      3,
			ops:       []op{{"a", time.Hour}, {"b", 3 * time.Hour}, {"c", 2 * time.Hour}},
			wantGone:  []string{"a"},
			wantAlive: []string{"b", "c", "new"},
		},
		{
			name:      "a read is a use",
			size:      3,
			ops:       []op{{"a", 3 * time.Hour}, {"b", time.Hour}, {"c", 2 * time.Hour}, {"a", 0}},
			wantGone:  []string{"b"},
			wantAlive: []string{"a", "c", "new"},
		},
		{
			name:      "not the soonest to expire",
			size:      2,
			ops:       []op{{"a", 5 * time.Hour}, {"b", time.Hour}},
			wantGone:  []string{"a"},
			wantAlive: []string{"b", "new"},
		},
		{
			name:      "expired entry goes before live ones",
			size:      3,
			ops:       []op{{"a", time.Hour}, {"b", time.Minute}, {"c", 2 * time.Hour}},
			advance:   2 * time.Minute,
			wantGone:  []string{"b"},
			wantAlive: []string{"a", "c", "new"},
		},
		{
			name:      "overwrite is a use",
			size:      2,
			ops:       []op{{"a", time.Hour}, {"b", 2 * time.Hour}, {"a", 3 * time.Hour}},
			wantGone:  []string{"b"},
			wantAlive: []string{"a", "new"},
		},
		{
			name:      "size one",
			size:      1,
			ops:       []op{{"a", time.Hour}},
			wantGone:  []string{"a"},
			wantAlive: []string{"new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newStoreTestMemory(tt.size)
			ctx := context.Background()
			for _, o := range tt.ops {
				if o.ttl == 0 {
					if _, err := s.Get(ctx, o.id); err != nil {
						t.Fatal(err)
					}
				} else if err := s.Set(ctx, o.id, []byte(o.id), o.ttl); err != nil {
					t.Fatal(err)
				}
			}
			clock.Advance(tt.advance)
			if err := s.Set(ctx, "new", []byte("new"), 4*time.Hour); err != nil {
				t.Fatal(err)
			}
			if got := s.len(); got > tt.size {
				t.Fatalf("Len() = %d, above the bound %d", got, tt.size)
			}
			for _, id := range tt.wantGone {
				if _, err := s.Get(ctx, id); !errors.Is(err, ErrSessionNotFound) {
					t.Errorf("Get(%q) error = %v, want evicted", id, err)
				}
			}
			for _, id := range tt.wantAlive {
				if got, err := s.Get(ctx, id); err != nil || string(got) != id {
					t.Errorf("Get(%q) = %q, %v; want it kept", id, got, err)
				}
			}
		})
	}
}

func TestStoreMemoryOverwriteWhenFullKeepsOthers(t *testing.T) {
	s, _ := newStoreTestMemory(2)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := s.Set(ctx, id, []byte(id), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, "a", []byte("a2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := s.len(); got != 2 {
		t.Fatalf("Len() = %d, want 2 (overwriting must not evict)", got)
	}
}

func TestStoreMemoryLenAndSweep(t *testing.T) {
	s, clock := newStoreTestMemory(1000)
	ctx := context.Background()
	for i := range 100 {
		if err := s.Set(ctx, fmt.Sprint("short", i), []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if err := s.Set(ctx, fmt.Sprint("long", i), []byte("x"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.len(); got != 105 {
		t.Fatalf("Len() = %d, want 105", got)
	}
	clock.Advance(2 * time.Minute)

	// One write removes a bounded batch of the expired entries…
	if err := s.Set(ctx, "trigger", []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	stored := len(s.entries)
	s.mu.Unlock()
	if want := 105 - sweepPerWrite + 1; stored != want {
		t.Fatalf("after one write %d entries stored, want %d", stored, want)
	}
	// …and Len reports only live entries.
	if got := s.len(); got != 6 {
		t.Fatalf("Len() = %d, want 6", got)
	}
}

func TestStoreMemoryDefaultSize(t *testing.T) {
	for _, n := range []int{0, -5} {
		if got := NewMemoryStore(MemoryStoreOptions{MaxEntries: n}).max; got != defaultMemoryStoreSize {
			t.Errorf("NewMemoryStore(MemoryStoreOptions{MaxEntries: %d}) holds %d, want %d", n, got, defaultMemoryStoreSize)
		}
	}
}

func TestStoreMemoryCanceledContext(t *testing.T) {
	s, _ := newStoreTestMemory(10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Set(ctx, "a", []byte("x"), time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Set error = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get error = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete error = %v, want context.Canceled", err)
	}
}

func TestStoreMemoryConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	const (
		workers = 16
		ops     = 500
		size    = 64
	)
	s, clock := newStoreTestMemory(size)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				id := fmt.Sprintf("w%d-%d", w, i%100)
				want := []byte(id)
				if err := s.Set(ctx, id, want, time.Duration(1+i%7)*time.Second); err != nil {
					errs <- err
					return
				}
				got, err := s.Get(ctx, id)
				// Another worker may have evicted it, never changed it.
				if err == nil && !bytes.Equal(got, want) {
					errs <- fmt.Errorf("Get(%q) = %q", id, got)
					return
				}
				if err != nil && !errors.Is(err, ErrSessionNotFound) {
					errs <- err
					return
				}
				if i%10 == 0 {
					clock.Advance(time.Second)
					if err := s.Delete(ctx, id); err != nil {
						errs <- err
						return
					}
				}
				if s.len() > size {
					errs <- fmt.Errorf("Len() above %d", size)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) != len(s.byExp) {
		t.Fatalf("indexes disagree: %d entries, %d in heap", len(s.entries), len(s.byExp))
	}
	for i, e := range s.byExp {
		if e.index != i || s.entries[e.id] != e {
			t.Fatalf("heap entry %d (%q) is inconsistent", i, e.id)
		}
	}
}
