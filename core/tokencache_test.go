package kinde

import (
	"encoding/base64"
	"encoding/json"
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
			c := newTokenCache(size, 1<<30)
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
	c := newTokenCache(cacheShards, 1<<30) // one entry per shard
	for i := range 64 {
		c.put(fmt.Sprintf("old-%d", i), &cachedToken{exp: now.Add(-time.Minute)}, now)
	}
	c.put("fresh", &cachedToken{exp: now.Add(time.Hour)}, now)
	if c.get("fresh", now) == nil {
		t.Fatal("fresh token not cached")
	}
}

func TestTokenCacheConcurrent(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(1000, 1<<30)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprintf("t-%d-%d", g, i%300)
				if e := c.get(k, now); e == nil {
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

// realisticToken returns a distinct token of about size bytes shaped like a
// Kinde access token (registered claims, org_code, scp, feature_flags and
// as many permissions as it takes to reach size) and its claims, decoded
// as the verifier decodes them, with the helpers a guard uses already run.
func realisticToken(i, size int, now time.Time) (string, *Claims) {
	claims := map[string]any{
		"aud": []string{"https://api.example.com"}, "azp": "0123456789abcdef0123456789abcdef",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "iss": "https://acme.kinde.com",
		"jti": fmt.Sprintf("9f1c2b7e-4a5d-4e6f-8a9b-%012d", i), "org_code": "org_1a2b3c4d5e6f",
		"scp": []string{"openid", "profile", "email", "offline"}, "sub": fmt.Sprintf("kp_%032d", i),
		"feature_flags": map[string]any{"theme": map[string]any{"t": "s", "v": "pink"}, "max_items": map[string]any{"t": "i", "v": 25}},
		"permissions":   []string{},
	}
	const header = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjhhOjkxOjhkOmI4OjAyOjVhOjAwOjdhOjU4OjQ3OmRiOmMzOjcyOmY4OjMzOmYyIiwidHlwIjoiSldUIn0"
	sig := strings.Repeat("s", 342) // RSA-2048
	var perms []string
	var payload []byte
	// Each permission adds 21 bytes of JSON, 28 of base64.
	for {
		claims["permissions"] = perms
		payload, _ = json.Marshal(claims)
		short := size - (len(header) + 2 + base64.RawURLEncoding.EncodedLen(len(payload)) + len(sig))
		if short <= 0 {
			break
		}
		for range max(short/28, 1) {
			perms = append(perms, fmt.Sprintf("read:resource_%03d", len(perms)))
		}
	}
	token := header + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + sig
	c := &Claims{}
	if err := c.decode(payload); err != nil {
		panic(err)
	}
	c.token = token
	c.members()
	c.permissions()
	c.scopeList()
	c.rolesList()
	return token, c
}

// fillCache puts n realistic tokens of size bytes into c and returns the sum
// of their estimated costs.
func fillCache(c *tokenCache, n, size int, now time.Time) int {
	sum := 0
	for i := range n {
		token, claims := realisticToken(i, size, now)
		kid := strings.Clone("8a:91:8d:b8:02:5a:00:7a:58:47:db:c3:72:f8:33:f2")
		cost := entryCost(token, claims, kid)
		sum += cost
		c.put(token, &cachedToken{claims: claims, kid: kid, exp: claims.ExpiresAt, cost: cost}, now)
	}
	return sum
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Issue 18, item 4: the cache's byte estimate must cover what an entry
// really keeps alive (each token with its own claims, the claim index and
// the decoded lists), and not overstate it much either.
func TestTokenCacheCostEstimate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1 << 10, 5 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			const n = 2000
			before := liveHeap()
			c := newTokenCache(n*2, 1<<30)
			estimated := fillCache(c, n, size, now)
			measured := liveHeap() - before
			runtime.KeepAlive(c)
			if c.count() != n {
				t.Fatalf("%d entries, want %d", c.count(), n)
			}
			per, est := float64(measured)/n, float64(estimated)/n
			t.Logf("%d-byte tokens: %.0f bytes per entry measured, %.0f estimated", size, per, est)
			// 3 % below allows for the heap's own accounting noise (the
			// race detector's builds measure about 3 % more).
			if est < 0.97*per || est > 1.5*per {
				t.Fatalf("estimate %.0f bytes per entry, measured %.0f: want the estimate within [0.97, 1.5]× the measurement", est, per)
			}
		})
	}
}

// BenchmarkTokenCacheMemory passes 20,000 distinct realistic tokens (each
// with its own claims, the claim index and decoded lists built, as after a
// guard checked permissions) through a cache of the default budgets and
// reports the live heap afterwards and the real cost per entry.
func BenchmarkTokenCacheMemory(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	for _, size := range []int{1 << 10, 5 << 10} {
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			for b.Loop() {
				before := liveHeap()
				c := newTokenCache(defaultTokenCacheSize, defaultTokenCacheBytes)
				fillCache(c, 20_000, size, now)
				heap := liveHeap() - before
				b.ReportMetric(float64(c.count()), "entries")
				b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
				b.ReportMetric(float64(heap)/float64(c.count()), "B/entry")
				runtime.KeepAlive(c)
			}
		})
	}
}

// Issue 18, item 4 ("released after load"): Go maps never shrink, so after a
// peak of distinct tokens has expired, a shard's map is rebuilt and the
// memory of both the entries and the map's slots is given back.
func TestTokenCacheShrinksAfterExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	before := liveHeap()
	c := newTokenCache(100_000, 1<<30)
	claims := &Claims{}
	for i := range 50_000 {
		c.put(fmt.Sprintf("token-%06d", i), &cachedToken{claims: claims, exp: now.Add(time.Hour), cost: 100}, now)
	}
	peak := liveHeap() - before
	later := now.Add(2 * time.Hour)
	for i := range 1000 { // lookups reach every shard
		c.get(fmt.Sprintf("other-%d", i), later)
	}
	after := liveHeap() - before
	runtime.KeepAlive(c)
	t.Logf("heap: %d KiB at the peak, %d KiB after expiry", peak>>10, after>>10)
	if n := c.count(); n != 0 {
		t.Fatalf("%d expired entries still cached", n)
	}
	if after > peak/20 {
		t.Fatalf("after expiry the cache still holds %d KiB of %d KiB at the peak", after>>10, peak>>10)
	}
}

// The byte budget holds whatever the mix of token sizes.
func TestTokenCacheByteBudget(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	const budget = 2 << 20
	c := newTokenCache(1_000_000, budget)
	for i := range 3000 {
		size := 1 << 10
		if i%2 == 1 {
			size = 5 << 10
		}
		token, claims := realisticToken(i, size, now)
		c.put(token, &cachedToken{claims: claims, exp: claims.ExpiresAt, cost: entryCost(token, claims, "")}, now)
		if b := c.bytes(); b > budget {
			t.Fatalf("after %d inserts the cache holds %d estimated bytes, budget %d", i+1, b, budget)
		}
	}
	if n := c.count(); n < 100 {
		t.Fatalf("only %d entries fit in %d bytes", n, budget)
	}
}

// bytes returns the estimated bytes of all cached tokens (tests only).
func (c *tokenCache) bytes() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.bytes
		s.mu.RUnlock()
	}
	return n
}
