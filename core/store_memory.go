package kinde

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// defaultMemoryStoreSize is the number of sessions a [MemoryStore] holds when
// [NewMemoryStore] is given a size below 1.
const defaultMemoryStoreSize = 10_000

// sweepPerWrite bounds how many expired entries one Set removes, so that a burst of
// expiries is spread over several writes instead of stalling one of them.
const sweepPerWrite = 32

// MemoryStore is a [Store] that keeps sessions in the memory of the current process.
// It suits a single instance of an application, and tests: sessions are lost when
// the process stops and are not shared between instances (use redisstore for that).
//
// The store is bounded. When it is full, Set makes room by removing the entry that
// expires soonest: an expired entry if there is one, otherwise the live session
// with the least time left. Expired entries are never returned: Get checks the
// expiry of what it reads, and every Set also removes a few expired entries, so
// the store needs no background goroutine.
//
// All operations take O(log n) time. A MemoryStore is safe for concurrent use; its
// zero value is not usable, create one with [NewMemoryStore].
type MemoryStore struct {
	mu      sync.Mutex
	max     int
	entries map[string]*memoryEntry
	byExp   expiryHeap
	now     func() time.Time
}

type memoryEntry struct {
	id      string
	value   []byte
	expires time.Time
	index   int // position in byExp
}

// NewMemoryStore returns an empty MemoryStore that holds at most maxEntries
// sessions (defaultMemoryStoreSize when maxEntries is below 1).
func NewMemoryStore(maxEntries int) *MemoryStore {
	if maxEntries < 1 {
		maxEntries = defaultMemoryStoreSize
	}
	return &MemoryStore{
		max:     maxEntries,
		entries: make(map[string]*memoryEntry),
		now:     time.Now,
	}
}

// Get returns a copy of the value stored under id, or an error wrapping
// [ErrSessionNotFound] when id is missing or expired.
func (s *MemoryStore) Get(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kinde: memory store get: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return nil, fmt.Errorf("kinde: memory store get: %w", ErrSessionNotFound)
	}
	if !s.now().Before(e.expires) {
		s.remove(e)
		return nil, fmt.Errorf("kinde: memory store get: %w", ErrSessionNotFound)
	}
	return bytes.Clone(e.value), nil
}

// Set stores a copy of value under id for ttl. It returns an error wrapping
// [errInvalidTTL] when ttl is not positive. When the store is full and id is new,
// the entry that expires soonest is removed first.
func (s *MemoryStore) Set(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kinde: memory store set: %w", err)
	}
	if ttl <= 0 {
		return fmt.Errorf("kinde: memory store set: ttl %v: %w", ttl, errInvalidTTL)
	}
	value = bytes.Clone(value)
	if value == nil {
		value = []byte{}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now, sweepPerWrite)
	expires := now.Add(ttl)
	if e, ok := s.entries[id]; ok {
		e.value = value
		e.expires = expires
		heap.Fix(&s.byExp, e.index)
		return nil
	}
	for len(s.entries) >= s.max {
		s.remove(s.byExp[0])
	}
	e := &memoryEntry{id: id, value: value, expires: expires}
	s.entries[id] = e
	heap.Push(&s.byExp, e)
	return nil
}

// Delete removes id; a missing id is not an error.
func (s *MemoryStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kinde: memory store delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[id]; ok {
		s.remove(e)
	}
	return nil
}

// len returns the number of sessions that have not expired. It removes the expired
// ones it finds.
func (s *MemoryStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.now(), len(s.entries))
	return len(s.entries)
}

// sweep removes at most limit expired entries. The caller holds s.mu.
func (s *MemoryStore) sweep(now time.Time, limit int) {
	for i := 0; i < limit && len(s.byExp) > 0; i++ {
		e := s.byExp[0]
		if now.Before(e.expires) {
			return
		}
		s.remove(e)
	}
}

// remove deletes e from both indexes. The caller holds s.mu.
func (s *MemoryStore) remove(e *memoryEntry) {
	heap.Remove(&s.byExp, e.index)
	delete(s.entries, e.id)
}

// expiryHeap orders entries by expiry, soonest first; it implements heap.Interface.
type expiryHeap []*memoryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*memoryEntry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}
