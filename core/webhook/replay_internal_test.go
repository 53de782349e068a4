package webhook

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// clock is a settable clock for the memory set.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestMemoryReplays(t *testing.T) {
	type step struct {
		advance time.Duration
		op      string // "seen" or "forget"
		id      string
		ttl     time.Duration // for seen; default one hour
		want    bool          // for seen
	}
	tests := []struct {
		name     string
		capacity int
		steps    []step
		wantLen  int
	}{
		{name: "first sight, then seen", capacity: 10, steps: []step{
			{op: "seen", id: "a", want: false},
			{op: "seen", id: "a", want: true},
			{op: "seen", id: "b", want: false},
		}, wantLen: 2},
		{name: "forgotten ids are new again", capacity: 10, steps: []step{
			{op: "seen", id: "a"},
			{op: "forget", id: "a"},
			{op: "forget", id: "never"},
			{op: "seen", id: "a", want: false},
			{op: "seen", id: "a", want: true},
		}, wantLen: 1},
		{name: "ids expire after their ttl", capacity: 10, steps: []step{
			{op: "seen", id: "a"},
			{advance: time.Hour - time.Nanosecond, op: "seen", id: "a", want: true},
			{advance: time.Nanosecond, op: "seen", id: "a", want: false},
			{advance: 30 * time.Minute, op: "seen", id: "a", want: true},
		}, wantLen: 1},
		{name: "expired ids are dropped", capacity: 10, steps: []step{
			{op: "seen", id: "a"},
			{op: "seen", id: "b"},
			{advance: 2 * time.Hour, op: "seen", id: "c", want: false},
		}, wantLen: 1},
		{name: "an expired id behind a live one is dropped when looked up", capacity: 10, steps: []step{
			{op: "seen", id: "long", ttl: 10 * time.Hour},
			{op: "seen", id: "short", ttl: time.Minute},
			{advance: time.Hour, op: "seen", id: "short", want: false},
		}, wantLen: 2},
		{name: "a full set forgets the oldest first", capacity: 3, steps: []step{
			{op: "seen", id: "a"},
			{op: "seen", id: "b"},
			{op: "seen", id: "c"},
			{op: "seen", id: "d", want: false},
			{op: "seen", id: "b", want: true},
			{op: "seen", id: "a", want: false}, // evicted by d; evicts b
			{op: "seen", id: "b", want: false}, // evicts c
			{op: "seen", id: "d", want: true},
		}, wantLen: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)}
			m := newMemoryReplays(tt.capacity, c.now)
			ctx := context.Background()
			for i, s := range tt.steps {
				c.advance(s.advance)
				switch s.op {
				case "seen":
					ttl := s.ttl
					if ttl == 0 {
						ttl = time.Hour
					}
					got, err := m.Seen(ctx, s.id, ttl)
					if err != nil || got != s.want {
						t.Fatalf("step %d: Seen(%s) = %v, %v; want %v", i, s.id, got, err, s.want)
					}
				case "forget":
					if err := m.Forget(ctx, s.id); err != nil {
						t.Fatalf("step %d: Forget(%s): %v", i, s.id, err)
					}
				}
			}
			if n := m.len(); n != tt.wantLen {
				t.Errorf("holds %d ids, want %d", n, tt.wantLen)
			}
		})
	}
}

// TestMemoryReplaysBounded fills the set far beyond its capacity.
func TestMemoryReplaysBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)}
	m := newMemoryReplays(100, c.now)
	for i := range 1000 {
		if seen, _ := m.Seen(context.Background(), fmt.Sprint("event_", i), time.Hour); seen {
			t.Fatalf("event_%d seen before it was recorded", i)
		}
		if n := m.len(); n > 100 {
			t.Fatalf("holds %d ids, capacity 100", n)
		}
	}
	if seen, _ := m.Seen(context.Background(), "event_999", time.Hour); !seen {
		t.Error("the newest id was evicted")
	}
}
