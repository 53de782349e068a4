package webhook

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// ReplayStore remembers the ids of events already accepted, so that a
// Receiver runs the handlers of each event once. The ids are the signed
// event_id of each payload.
//
// The default is an in-memory set of its own (DefaultReplayCapacity ids),
// which suits a single instance. When several instances receive webhooks,
// share the ids (see ReplayStoreFrom) so that a retry reaching another
// instance is recognised.
type ReplayStore interface {
	// Seen records id for ttl and reports whether it was already recorded
	// and not yet expired. Recording and checking must be one atomic step
	// for each event to be handled once.
	Seen(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// Forget removes id, so that a retry of an event whose handler failed
	// is handled again. A missing id is not an error.
	Forget(ctx context.Context, id string) error
}

// memoryReplays is the default ReplayStore: a set of ids, each kept until
// its time to live passes, holding at most capacity ids (the oldest
// recorded go first when it is full). It is separate from session storage:
// nothing else evicts its ids.
type memoryReplays struct {
	now      func() time.Time
	capacity int

	mu    sync.Mutex
	ids   map[string]*list.Element // of *replayEntry
	order *list.List               // oldest recorded first
}

type replayEntry struct {
	id      string
	expires time.Time
}

func newMemoryReplays(capacity int, now func() time.Time) *memoryReplays {
	return &memoryReplays{now: now, capacity: capacity, ids: make(map[string]*list.Element), order: list.New()}
}

// Seen implements ReplayStore.
func (m *memoryReplays) Seen(_ context.Context, id string, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	if el, ok := m.ids[id]; ok {
		if now.Before(el.Value.(*replayEntry).expires) {
			return true, nil
		}
		m.remove(el)
	}
	for len(m.ids) >= m.capacity {
		m.remove(m.order.Front())
	}
	m.ids[id] = m.order.PushBack(&replayEntry{id: id, expires: now.Add(ttl)})
	return false, nil
}

// Forget implements ReplayStore.
func (m *memoryReplays) Forget(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.ids[id]; ok {
		m.remove(el)
	}
	return nil
}

// expire drops the expired ids at the front of the list. Ids are recorded
// with nearly the same time to live, so the front holds the first to
// expire; an expired id further back is dropped when it is looked up.
func (m *memoryReplays) expire(now time.Time) {
	for el := m.order.Front(); el != nil; el = m.order.Front() {
		if now.Before(el.Value.(*replayEntry).expires) {
			return
		}
		m.remove(el)
	}
}

func (m *memoryReplays) remove(el *list.Element) {
	delete(m.ids, el.Value.(*replayEntry).id)
	m.order.Remove(el)
}

// len returns the number of ids held, expired or not.
func (m *memoryReplays) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ids)
}

// ReplayStoreFrom returns a ReplayStore that keeps event ids in st (under
// keys prefixed "webhook:"), for example a redisstore.Store shared by every
// instance of an application. Checking and recording are one step within
// this process; across processes they are two store calls, so two
// instances receiving the same event at the same instant may both handle
// it: keep handlers idempotent.
func ReplayStoreFrom(st kinde.Store) ReplayStore {
	return &storeReplays{st: st}
}

// replayPrefix keeps event ids apart from session ids in a shared Store.
const replayPrefix = "webhook:"

type storeReplays struct {
	mu sync.Mutex
	st kinde.Store
}

// Seen implements ReplayStore.
func (s *storeReplays) Seen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.st.Get(ctx, replayPrefix+id)
	if err == nil {
		return true, nil
	}
	if !isNotFound(err) {
		return false, err
	}
	if err := s.st.Set(ctx, replayPrefix+id, []byte{1}, ttl); err != nil {
		return false, err
	}
	return false, nil
}

// Forget implements ReplayStore.
func (s *storeReplays) Forget(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Delete(ctx, replayPrefix+id)
}

// isNotFound reports whether a Store's error means "no such id": core's
// ErrSessionNotFound, or an error with a NotFound() bool method, which stores
// such as redisstore return without importing core.
func isNotFound(err error) bool {
	if errors.Is(err, kinde.ErrSessionNotFound) {
		return true
	}
	var nf interface{ NotFound() bool }
	return errors.As(err, &nf) && nf.NotFound()
}
