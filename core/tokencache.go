package kinde

import (
	"crypto/rsa"
	"hash/maphash"
	"sync"
	"time"
)

const cacheShards = 32

// tokenCache remembers tokens whose signature and issuer were verified, so a
// token is not verified again until it expires. It is sharded by a hash of
// the token so readers on different shards never contend; each shard is
// guarded by a read-write lock that readers take in shared mode.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*cachedToken
}

type cachedToken struct {
	claims *Claims
	kid    string
	key    *rsa.PublicKey // the key that verified the token
	exp    time.Time
}

func newTokenCache(size int) *tokenCache {
	per := max(size/cacheShards, 1)
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cachedToken, min(per, 64))
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%cacheShards]
}

func (c *tokenCache) get(token string) *cachedToken {
	s := c.shard(token)
	s.mu.RLock()
	e := s.m[token]
	s.mu.RUnlock()
	return e
}

// put stores a verified token. When the shard is full it first drops expired
// entries among a few it looks at, else one arbitrary entry (Go's map
// iteration order is random), which keeps memory bounded at size entries.
func (c *tokenCache) put(token string, e *cachedToken, now time.Time) {
	s := c.shard(token)
	s.mu.Lock()
	if _, ok := s.m[token]; !ok && len(s.m) >= c.perShard {
		looked, evicted := 0, false
		var victim string
		for k, v := range s.m {
			if v.exp.Before(now) {
				delete(s.m, k)
				evicted = true
			} else if victim == "" {
				victim = k
			}
			if looked++; looked >= 8 {
				break
			}
		}
		if !evicted && victim != "" {
			delete(s.m, victim)
		}
	}
	s.m[token] = e
	s.mu.Unlock()
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}
