package kinde

import (
	"crypto/rsa"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const cacheShards = 32

const (
	// expiredTokenTTL is how long a token that had already expired when
	// verified stays cached: session ID tokens outlive their exp (an ID
	// token says who signed in and is not renewed with the access token), and
	// a replayed expired token is refused by the time check at no cost.
	expiredTokenTTL = 5 * time.Minute
	// sweepEvery is how often a shard drops its expired entries, at the
	// latest: checked on every insert and on lookups.
	sweepEvery = time.Minute
	// shrinkFloor is the smallest map worth rebuilding: a shard's map is
	// rebuilt when it holds less than a quarter of its peak and the peak was
	// at least this many entries (Go maps never give memory back).
	shrinkFloor = 64
)

// tokenCache remembers tokens whose signature and issuer were verified, so a
// token is not verified again until it expires. It is sharded by a hash of
// the token so readers on different shards never contend; each shard is
// guarded by a read-write lock that readers take in shared mode.
//
// Memory is bounded in bytes (Config.TokenCacheBytes) as well as in entries
// (Config.TokenCacheSize): each entry is charged an estimate of everything
// it keeps alive (see entryCost). Expired entries are dropped when a shard
// is swept (at least once per sweepEvery while it is used), and a shard
// whose map fell well below its peak is rebuilt, so memory taken during a
// peak of distinct tokens is given back.
type tokenCache struct {
	seed     maphash.Seed
	perShard int // entries
	maxBytes int // bytes per shard
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu        sync.RWMutex
	m         map[string]*cachedToken
	bytes     int          // estimated bytes of the entries
	peak      int          // most entries since the map was built
	nextSweep atomic.Int64 // unix nanoseconds of the next sweep for expired entries
}

type cachedToken struct {
	claims *Claims
	kid    string
	key    *rsa.PublicKey // the key that verified the token
	exp    time.Time      // when the entry stops being served
	cost   int            // estimated bytes, see entryCost
}

// newTokenCache returns a cache bounded to size entries and maxBytes
// estimated bytes, both spread evenly over the shards.
func newTokenCache(size, maxBytes int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: max(size/cacheShards, 1), maxBytes: max(maxBytes/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cachedToken)
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%cacheShards]
}

// get returns the entry for token, or nil when there is none or it expired.
func (c *tokenCache) get(token string, now time.Time) *cachedToken {
	s := c.shard(token)
	if now.UnixNano() >= s.nextSweep.Load() {
		c.sweep(s, now)
	}
	s.mu.RLock()
	e := s.m[token]
	s.mu.RUnlock()
	if e != nil && !now.Before(e.exp) {
		return nil
	}
	return e
}

// put stores a verified token. When the shard is over either budget it
// first drops expired entries, then arbitrary ones (Go's map iteration order
// is random), until the new entry fits. A token larger than a whole shard's
// byte budget is not cached.
func (c *tokenCache) put(token string, e *cachedToken, now time.Time) {
	if e.cost > c.maxBytes {
		return
	}
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[token]; ok {
		s.bytes -= old.cost
		delete(s.m, token)
	}
	if len(s.m) >= c.perShard || s.bytes+e.cost > c.maxBytes {
		c.sweepLocked(s, now)
		for k, v := range s.m {
			if len(s.m) < c.perShard && s.bytes+e.cost <= c.maxBytes {
				break
			}
			delete(s.m, k)
			s.bytes -= v.cost
		}
	}
	s.m[token] = e
	s.bytes += e.cost
	s.peak = max(s.peak, len(s.m))
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	if e, ok := s.m[token]; ok {
		delete(s.m, token)
		s.bytes -= e.cost
	}
	s.mu.Unlock()
}

// sweep drops the expired entries of s, unless another caller just did.
func (c *tokenCache) sweep(s *cacheShard, now time.Time) {
	s.mu.Lock()
	if now.UnixNano() >= s.nextSweep.Load() {
		c.sweepLocked(s, now)
	}
	s.mu.Unlock()
}

// sweepLocked drops the expired entries of s and rebuilds its map when it
// holds less than a quarter of its peak. The caller holds s.mu.
func (c *tokenCache) sweepLocked(s *cacheShard, now time.Time) {
	s.nextSweep.Store(now.Add(sweepEvery).UnixNano())
	for k, v := range s.m {
		if !now.Before(v.exp) {
			delete(s.m, k)
			s.bytes -= v.cost
		}
	}
	if s.peak >= shrinkFloor && len(s.m) < s.peak/4 {
		m := make(map[string]*cachedToken, len(s.m))
		for k, v := range s.m {
			m[k] = v
		}
		s.m, s.peak = m, len(m)
	}
}

// Per-entry overheads of the cache, in bytes, measured on Go 1.26/amd64 by
// TestTokenCacheCostEstimate (which fails when the estimate falls below
// what an entry really keeps alive).
const (
	// costMapSlot is one slot of a shard's map (string key, pointer value,
	// control byte) at the map's average load, plus growth slack.
	costMapSlot = 96
	// costListElem is one decoded element of a list claim (permissions,
	// roles, scopes) beyond its text: its slice slot and the rounding of its
	// string's allocation.
	costListElem = 24
)

// indexCost estimates Claims.members' index of n claims: a map made for at
// least 16 (a power of two of 41-byte slots, string key and json.RawMessage
// value, at Go's 7/8 load) and each key's own copy.
func indexCost(n int) int {
	slots := 8
	for slots*7/8 < max(n, 16) {
		slots *= 2
	}
	return 128 + slots*41 + n*16
}

// entryCost estimates the bytes a cached token keeps alive: the entry and
// its map slot, the token (the cache key), the decoded payload, the Claims
// and its registered strings, the index of all claims and the lists decoded
// from them (permissions, roles, scopes), which are built on first use but
// charged up front so that the budget holds whatever helpers run later.
func entryCost(token string, c *Claims, kid string) int {
	n := int(unsafe.Sizeof(cachedToken{})) + costMapSlot + int(unsafe.Sizeof(Claims{}))
	n += roundAlloc(len(token)) + roundAlloc(cap(c.payload)) + roundAlloc(len(kid))
	n += roundAlloc(len(c.Issuer)) + roundAlloc(len(c.Subject)) + roundAlloc(len(c.ID)) +
		roundAlloc(len(c.AuthorizedParty)) + roundAlloc(len(c.Nonce)) + roundAlloc(len(c.typ))
	n += roundAlloc(len(c.Audience) * int(unsafe.Sizeof(""))) // the strings are counted with the payload below
	for _, a := range c.Audience {
		n += roundAlloc(len(a))
	}
	n += indexCost(int(c.nClaims))
	n += int(c.listBytes) + int(c.listElems)*costListElem
	return n
}

// roundAlloc rounds n up to Go's allocation size class, approximately (the
// classes step by at most an eighth above 1 KiB, by 16 bytes below 256).
func roundAlloc(n int) int {
	switch {
	case n == 0:
		return 0
	case n <= 16:
		return 16
	case n <= 256:
		return (n + 15) &^ 15
	default:
		return n + n/8
	}
}
