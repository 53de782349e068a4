package kinde

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenCacheBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1, 100, 10_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newTokenCache(size)
			claims := &Claims{}
			limit := max(size/cacheShards, 1) * cacheShards
			for i := range 5 * limit {
				c.put(fmt.Sprintf("token-%d", i), &cachedToken{claims: claims, exp: now.Add(time.Hour)}, now)
				if n := c.count(); n > limit {
					t.Fatalf("after %d inserts the cache holds %d entries, limit %d", i+1, n, limit)
				}
			}
		})
	}
}

func TestTokenCacheEvictsExpiredFirst(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(cacheShards) // one entry per shard
	for i := range 64 {
		c.put(fmt.Sprintf("old-%d", i), &cachedToken{exp: now.Add(-time.Minute)}, now)
	}
	c.put("fresh", &cachedToken{exp: now.Add(time.Hour)}, now)
	if c.get("fresh") == nil {
		t.Fatal("fresh token not cached")
	}
}

func TestTokenCacheConcurrent(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(1000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprintf("t-%d-%d", g, i%300)
				if e := c.get(k); e == nil {
					c.put(k, &cachedToken{exp: now.Add(time.Hour)}, now)
				}
				if i%50 == 0 {
					c.remove(k)
				}
			}
		}()
	}
	wg.Wait()
	if n := c.count(); n > 1000+cacheShards {
		t.Fatalf("%d entries", n)
	}
}

// count returns the number of cached tokens (tests only).
func (c *tokenCache) count() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// BenchmarkTokenCacheMillion passes one million distinct, realistic-size
// tokens through a cache of the default size and reports the live heap
// afterwards: the size limit, not the traffic, bounds memory.
func BenchmarkTokenCacheMillion(b *testing.B) {
	const tokens = 1_000_000
	now := time.Unix(1_700_000_000, 0)
	pad := strings.Repeat("x", 900) // a Kinde access token is about 1 KB
	claims := &Claims{Subject: "kp_1", ExpiresAt: now.Add(time.Hour)}
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		c := newTokenCache(defaultTokenCacheSize)
		for i := range tokens {
			c.put(fmt.Sprintf("%s.%d", pad, i), &cachedToken{claims: claims, exp: claims.ExpiresAt}, now)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(c.count()), "entries")
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")
		runtime.KeepAlive(c)
	}
}
