package kinde

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// The session middleware reads the same session on every request of a
// signed-in user: opening the sealed cookie (AES-GCM) and inflating the
// record (DEFLATE) cost most of the request. sessionCache remembers the
// record decoded from the bytes it was read from, so that a request with
// the same bytes skips both.
//
// Decoding is a function of those bytes alone: a sealed cookie is
// authenticated and bound to its name (equal values open to equal
// records, under the one name a Web reads), and a version 2 record holds
// absolute times. What depends on the clock is checked on every request as
// before: an entry is served only before the sealed expiry of its cookie
// (after it the request takes the full path and gets its error), and read
// checks the idle timeout and the maximum age of the record it got.
// Version 1 records, which are given the time they are read, are not
// cached. Keys are compared in full, never by hash alone.
//
// Records are shared by the requests that read them and must not be
// modified (save works on a copy).
const (
	sessionCacheShards = 16
	// sessionCacheBytes bounds the cache's memory (estimated, see
	// cachedRecord.cost): about 1,100 sessions of a user with 62
	// permissions, 2,000 of a user with a few. SessionOptions.CacheBytes
	// changes it (two thirds of that budget).
	sessionCacheBytes = 8 << 20
)

type sessionCache struct {
	seed     maphash.Seed
	maxBytes int // per shard
	shards   [sessionCacheShards]sessionShard
}

type sessionShard struct {
	mu        sync.RWMutex
	m         map[string]*cachedRecord
	bytes     int
	nextSweep time.Time // guarded by mu (written under the write lock)
}

type cachedRecord struct {
	rec   *sessionRecord // shared: never modified
	until time.Time      // served only before this time
	cost  int            // estimated bytes kept alive
}

func newSessionCache(maxBytes int) *sessionCache {
	c := &sessionCache{seed: maphash.MakeSeed(), maxBytes: max(maxBytes/sessionCacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cachedRecord)
	}
	return c
}

// shard picks the shard of key by its last bytes: a sealed cookie ends in
// its AES-GCM tag and a record in its JWT signatures, both random, so
// hashing a few bytes spreads keys as well as hashing all of them.
func (c *sessionCache) shard(key string) *sessionShard {
	return &c.shards[maphash.String(c.seed, key[max(len(key)-32, 0):])%sessionCacheShards]
}

// shardBytes is shard for a key held in a byte slice (maphash hashes equal
// bytes and strings alike).
func (c *sessionCache) shardBytes(key []byte) *sessionShard {
	return &c.shards[maphash.Bytes(c.seed, key[max(len(key)-32, 0):])%sessionCacheShards]
}

// get returns the record cached for key, or nil when there is none or it
// is not to be served at now.
func (c *sessionCache) get(key string, now time.Time) *sessionRecord {
	if c == nil {
		return nil
	}
	s := c.shard(key)
	s.mu.RLock()
	e := s.m[key]
	s.mu.RUnlock()
	if e == nil || !now.Before(e.until) {
		return nil
	}
	return e.rec
}

// getBytes is get for a key held in a byte slice.
func (c *sessionCache) getBytes(key []byte, now time.Time) *sessionRecord {
	if c == nil {
		return nil
	}
	s := c.shardBytes(key)
	s.mu.RLock()
	e := s.m[string(key)] // no copy for a map index
	s.mu.RUnlock()
	if e == nil || !now.Before(e.until) {
		return nil
	}
	return e.rec
}

// put remembers rec for key until until (a private copy of key is kept:
// callers' keys may point into buffers that are reused). When the shard
// is over its budget, expired entries go first, then arbitrary ones (Go's
// map iteration order is random).
func (c *sessionCache) put(key string, rec *sessionRecord, until, now time.Time) {
	if c == nil || key == "" || !now.Before(until) {
		return
	}
	e := &cachedRecord{rec: rec, until: until, cost: recordCost(key, rec)}
	if e.cost > c.maxBytes {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[key]; ok {
		delete(s.m, key)
		s.bytes -= old.cost
	}
	if !now.Before(s.nextSweep) || s.bytes+e.cost > c.maxBytes {
		s.nextSweep = now.Add(sweepEvery)
		for k, v := range s.m {
			if !now.Before(v.until) {
				delete(s.m, k)
				s.bytes -= v.cost
			}
		}
	}
	for k, v := range s.m {
		if s.bytes+e.cost <= c.maxBytes {
			break
		}
		delete(s.m, k)
		s.bytes -= v.cost
	}
	s.m[strings.Clone(key)] = e
	s.bytes += e.cost
}

// recordCost estimates what an entry keeps alive: the key, the record, its
// tokens and their strings (which share one allocation when decoded), the
// entry and its map slot.
func recordCost(key string, rec *sessionRecord) int {
	t := rec.t
	n := int(unsafe.Sizeof(cachedRecord{})+unsafe.Sizeof(sessionRecord{})+unsafe.Sizeof(Tokens{})) + costMapSlot
	return n + roundAlloc(len(key)) +
		roundAlloc(len(t.AccessToken)+len(t.IDToken)+len(t.RefreshToken)+len(t.Scope)+len(t.TokenType))
}
