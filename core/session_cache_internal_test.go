package kinde

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The session cache serves an entry only before its time, keeps its own
// copy of the key, and stays within its byte budget.
func TestSessionCacheBounds(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newSessionCache(64 << 10)
	rec := &sessionRecord{t: &Tokens{AccessToken: strings.Repeat("a", 1000)}}
	key := []byte("sealed-value-0123456789")
	c.put(string(key), rec, now.Add(time.Minute), now)
	if c.getBytes(key, now.Add(time.Minute-time.Nanosecond)) != rec || c.get(string(key), now) != rec {
		t.Fatal("entry not served before its time")
	}
	if c.get(string(key), now.Add(time.Minute)) != nil {
		t.Fatal("entry served at its time")
	}
	key[0] = 'S' // the caller's buffer is reused
	if c.getBytes(key, now) != nil || c.get("sealed-value-0123456789", now) != rec {
		t.Fatal("the cache did not keep its own copy of the key")
	}
	for i := range 2000 {
		c.put(fmt.Sprintf("key-%d-%s", i, strings.Repeat("x", 500)), rec, now.Add(time.Hour), now)
	}
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		if s.bytes > c.maxBytes {
			t.Errorf("shard %d holds %d bytes, budget %d", i, s.bytes, c.maxBytes)
		}
		n := 0
		for k, e := range s.m {
			n += e.cost
			if e.cost < len(k)+len(e.rec.t.AccessToken) {
				t.Fatalf("cost %d below the key and token bytes", e.cost)
			}
		}
		if n != s.bytes {
			t.Errorf("shard %d: accounted %d bytes, entries cost %d", i, s.bytes, n)
		}
		total += len(s.m)
	}
	if total == 0 {
		t.Fatal("nothing cached")
	}
	// A record larger than a shard's budget is not cached.
	big := &sessionRecord{t: &Tokens{AccessToken: strings.Repeat("a", 8<<10)}}
	c.put("big", big, now.Add(time.Hour), now)
	if c.get("big", now) != nil {
		t.Fatal("an entry over a shard's budget was cached")
	}
	var nilCache *sessionCache
	nilCache.put("k", rec, now.Add(time.Hour), now)
	if nilCache.get("k", now) != nil {
		t.Fatal("nil cache served")
	}
}
