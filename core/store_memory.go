package kinde

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

const (
	// defaultMemoryStoreSize is the number of sessions a [MemoryStore] holds
	// unless [MemoryStoreOptions] says otherwise.
	defaultMemoryStoreSize = 10_000
	// defaultMemoryStoreBytes is the memory a [MemoryStore] may use for its
	// sessions unless [MemoryStoreOptions] says otherwise.
	defaultMemoryStoreBytes = 64 << 20
	// memoryEntryOverhead estimates the bytes of one entry besides its id
	// and value: the entry struct, its map slot and heap slot.
	memoryEntryOverhead = 160
)

// sweepPerWrite bounds how many expired entries one Set removes, so that a burst of
// expiries is spread over several writes instead of stalling one of them.
const sweepPerWrite = 32

// errTooLargeForStore is returned by [MemoryStore.Set] for a value that alone
// exceeds the store's byte budget.
var errTooLargeForStore = errors.New("kinde: the session is larger than the memory store's byte budget; raise MemoryStoreOptions.MaxBytes")

// MemoryStoreOptions configures [NewMemoryStore]. The zero value gives the
// defaults.
type MemoryStoreOptions struct {
	// MaxEntries is the most sessions the store holds (default 10 000).
	MaxEntries int
	// MaxBytes bounds the memory of the stored sessions: ids, values and
	// about 160 bytes of bookkeeping each (default 64 MiB).
	MaxBytes int64
	// Logger receives a record for each session evicted to make room
	// (Warn level: that user must sign in again). Without it, NewWeb gives
	// the store its Config.Logger.
	Logger *slog.Logger
}

// MemoryStore is a [Store] that keeps sessions in the memory of the current process.
// It suits a single instance of an application, and tests: sessions are lost when
// the process stops and are not shared between instances (use redisstore for that).
//
// The store is bounded by a number of sessions and by bytes. When a write would
// exceed either, it makes room by removing expired entries first, then the session
// used least recently (read or written): an active user is never evicted before an
// idle one. Each eviction of a live session is logged at Warn level, since that
// user has to sign in again. Expired entries are never returned: Get checks the
// expiry of what it reads, and every Set also removes a few expired entries, so the
// store needs no background goroutine. After a peak, once fewer than a quarter of
// the peak's sessions remain, the store rebuilds its index so the memory goes back
// to the runtime.
//
// All operations take O(log n) time. A MemoryStore is safe for concurrent use; its
// zero value is not usable, create one with [NewMemoryStore].
type MemoryStore struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64
	log      *slog.Logger
	entries  map[string]*memoryEntry
	peak     int // most entries since entries was last rebuilt
	byExp    expiryHeap
	lru      memoryEntry // sentinel of the use-ordered ring: lru.next is the most recent
	now      func() time.Time
}

type memoryEntry struct {
	id         string
	value      []byte
	expires    time.Time
	index      int // position in byExp
	prev, next *memoryEntry
}

// NewMemoryStore returns an empty MemoryStore bounded by o.
func NewMemoryStore(o MemoryStoreOptions) *MemoryStore {
	if o.MaxEntries < 1 {
		o.MaxEntries = defaultMemoryStoreSize
	}
	if o.MaxBytes < 1 {
		o.MaxBytes = defaultMemoryStoreBytes
	}
	s := &MemoryStore{
		max:      o.MaxEntries,
		maxBytes: o.MaxBytes,
		log:      o.Logger,
		entries:  make(map[string]*memoryEntry),
		now:      time.Now,
	}
	s.lru.prev, s.lru.next = &s.lru, &s.lru
	return s
}

// setLogger gives the store l for its eviction records when it has none.
func (s *MemoryStore) setLogger(l *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		s.log = l
	}
}

// Get returns a copy of the value stored under id, or an error wrapping
// [ErrSessionNotFound] when id is missing or expired. A read counts as a use
// of the session.
func (s *MemoryStore) Get(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kinde: memory store get: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(id)
	if !ok {
		return nil, fmt.Errorf("kinde: memory store get: %w", ErrSessionNotFound)
	}
	s.touch(e)
	return bytes.Clone(e.value), nil
}

// Set stores a copy of value under id for ttl. It returns an error wrapping
// [errInvalidTTL] when ttl is not positive. When the store is full, expired
// entries and then the least recently used sessions are removed first.
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
	return s.put(ctx, id, value, ttl)
}

// compareAndSwap replaces the value under id by new, for ttl, only when the
// store holds exactly old there (and it has not expired). It reports
// whether it did. The web layer uses it to save a refreshed session, so that
// a newer session is never overwritten by an older one (the optional
// CompareAndSwap of [Store], unexported here to keep the API small).
func (s *MemoryStore) compareAndSwap(ctx context.Context, id string, old, new []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("kinde: memory store compare-and-swap: %w", err)
	}
	if ttl <= 0 {
		return false, fmt.Errorf("kinde: memory store compare-and-swap: ttl %v: %w", ttl, errInvalidTTL)
	}
	value := bytes.Clone(new)
	if value == nil {
		value = []byte{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(id)
	if !ok || !bytes.Equal(e.value, old) {
		return false, nil
	}
	if err := s.put(ctx, id, value, ttl); err != nil {
		return false, err
	}
	return true, nil
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

// live returns the unexpired entry under id, removing an expired one. The
// caller holds s.mu.
func (s *MemoryStore) live(id string) (*memoryEntry, bool) {
	e, ok := s.entries[id]
	if !ok {
		return nil, false
	}
	if !s.now().Before(e.expires) {
		s.remove(e)
		return nil, false
	}
	return e, true
}

// put stores value (owned by the store) under id. The caller holds s.mu.
func (s *MemoryStore) put(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	size := entrySize(id, value)
	if size > s.maxBytes {
		return fmt.Errorf("kinde: memory store set: %d bytes: %w", size, errTooLargeForStore)
	}
	now := s.now()
	s.sweep(now, sweepPerWrite)
	expires := now.Add(ttl)
	if e, ok := s.entries[id]; ok {
		s.bytes += size - entrySize(id, e.value)
		e.value = value
		e.expires = expires
		heap.Fix(&s.byExp, e.index)
		s.touch(e)
	} else {
		e := &memoryEntry{id: id, value: value, expires: expires}
		s.entries[id] = e
		s.peak = max(s.peak, len(s.entries))
		heap.Push(&s.byExp, e)
		s.link(e)
		s.bytes += size
	}
	s.evict(ctx, now)
	return nil
}

// evict removes entries until the store is within its bounds: expired ones
// first, then the least recently used. The entry just written is the most
// recently used and fits alone, so it stays. The caller holds s.mu.
func (s *MemoryStore) evict(ctx context.Context, now time.Time) {
	evicted := 0
	for len(s.entries) > s.max || s.bytes > s.maxBytes {
		if e := s.byExp[0]; !now.Before(e.expires) {
			s.remove(e)
			continue
		}
		s.remove(s.lru.prev)
		evicted++
	}
	if evicted > 0 && s.log != nil {
		s.log.WarnContext(ctx, "kinde: memory store full; evicted the least recently used sessions, whose users must sign in again; raise MemoryStoreOptions.MaxEntries or MaxBytes, or keep sessions in redisstore",
			"evicted", evicted, "sessions", len(s.entries), "bytes", s.bytes)
	}
}

func entrySize(id string, value []byte) int64 {
	return int64(len(id) + len(value) + memoryEntryOverhead)
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

// remove deletes e from every index. The caller holds s.mu.
func (s *MemoryStore) remove(e *memoryEntry) {
	heap.Remove(&s.byExp, e.index)
	delete(s.entries, e.id)
	s.unlink(e)
	s.bytes -= entrySize(e.id, e.value)
	if s.peak >= releaseAfter && len(s.entries) < s.peak/4 {
		s.release()
	}
}

// releaseAfter is the least peak of entries after which the store gives
// memory back when it falls below a quarter of that peak.
const releaseAfter = 1024

// release copies the entries into a new map and heap sized for what is
// left, so that memory taken at a peak of sign-ins goes back to the runtime
// (a Go map keeps its buckets after deletes). The caller holds s.mu.
func (s *MemoryStore) release() {
	m := make(map[string]*memoryEntry, len(s.entries))
	for k, v := range s.entries {
		m[k] = v
	}
	s.entries, s.peak = m, len(m)
	s.byExp = append(make(expiryHeap, 0, len(s.byExp)), s.byExp...)
}

// link puts e first in use order. The caller holds s.mu.
func (s *MemoryStore) link(e *memoryEntry) {
	e.prev, e.next = &s.lru, s.lru.next
	s.lru.next.prev = e
	s.lru.next = e
}

func (s *MemoryStore) unlink(e *memoryEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// touch marks e as just used. The caller holds s.mu.
func (s *MemoryStore) touch(e *memoryEntry) {
	s.unlink(e)
	s.link(e)
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
