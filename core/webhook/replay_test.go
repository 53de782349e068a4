package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/webhook"
)

var errStoreDown = errors.New("store down")

// failingStore is a replay store that is down.
type failingStore struct{}

func (failingStore) Seen(context.Context, string, time.Duration) (bool, error) {
	return false, errStoreDown
}
func (failingStore) Forget(context.Context, string) error { return errStoreDown }

// TestReplayKeyedOnSignedEventID is the fix of a security finding: the
// webhook-id header is not signed, so an attacker who captured one delivery
// could replay its body under a header of their choosing and have the
// handlers run again. The Receiver keys replays on the payload's event_id.
func TestReplayKeyedOnSignedEventID(t *testing.T) {
	e := newEnv(t)
	wh := e.webhook(t, webhook.UserCreated, janeData, kindetest.WebhookID("msg_original"))
	for i, id := range []string{"msg_original", "msg_forged_1", "", "msg_forged_2"} {
		if status, err := e.post(t, http.MethodPost, webhook.ContentType, id, wh.Token); status != 200 || err != nil {
			t.Fatalf("delivery %d (webhook-id %q): status %d error %v", i, id, status, err)
		}
	}
	if _, users := e.counts(); users != 1 {
		t.Errorf("the same signed body under 4 webhook-id headers ran the handler %d times, want 1", users)
	}
}

func TestReplay(t *testing.T) {
	stores := []struct {
		name  string
		store func() webhook.ReplayStore // nil: the default
	}{
		{name: "default store"},
		{name: "shared store", store: func() webhook.ReplayStore {
			return webhook.ReplayStoreFrom(kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 10}))
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			tests := []struct {
				name        string
				sameEventID bool   // the second delivery carries the first's event_id
				secondID    string // webhook-id of the second delivery; "=" for the same
				failFirst   bool
				wantRuns    int
			}{
				{name: "Kinde's retry runs once", sameEventID: true, secondID: "=", wantRuns: 1},
				{name: "another webhook-id header runs once", sameEventID: true, secondID: "msg_other", wantRuns: 1},
				{name: "no webhook-id header runs once", sameEventID: true, secondID: "", wantRuns: 1},
				{name: "another event runs again", secondID: "=", wantRuns: 2},
				{name: "retry after a failed handler runs again", sameEventID: true, secondID: "=", failFirst: true, wantRuns: 1},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var opts []webhook.Option
					if st.store != nil {
						opts = append(opts, webhook.WithReplayStore(st.store()))
					}
					e := newEnv(t, opts...)
					first := e.webhook(t, webhook.UserCreated, janeData, kindetest.WebhookID("msg_1"))
					second := first
					if !tt.sameEventID {
						second = e.webhook(t, webhook.UserCreated, janeData)
					}
					switch tt.secondID {
					case "=":
						second.ID = first.ID
					default:
						second.ID = tt.secondID
					}
					if tt.failFirst {
						e.setFail(errors.New("database down"))
					}
					status, err := e.post(t, http.MethodPost, webhook.ContentType, first.ID, first.Token)
					if want := map[bool]int{false: 200, true: 500}[tt.failFirst]; status != want {
						t.Fatalf("first delivery: status %d, want %d (error %v)", status, want, err)
					}
					e.setFail(nil)
					if status, err := e.post(t, http.MethodPost, webhook.ContentType, second.ID, second.Token); status != 200 || err != nil {
						t.Fatalf("second delivery: status %d error %v", status, err)
					}
					if _, users := e.counts(); users != tt.wantRuns {
						t.Errorf("handler ran %d times, want %d", users, tt.wantRuns)
					}
				})
			}
		})
	}
}

func TestReplayAfterWindow(t *testing.T) {
	window := 10 * time.Minute
	e := newEnv(t, webhook.WithReplayWindow(window))
	wh := e.webhook(t, webhook.UserCreated, janeData)
	steps := []struct {
		advance time.Duration
		want    int
		wantErr error
	}{
		{0, 200, nil},
		{window - time.Second, 200, nil}, // replay inside the window: remembered, not run
		{2 * time.Second, 401, webhook.ErrStale},
	}
	for i, s := range steps {
		e.srv.Advance(s.advance)
		status, err := e.post(t, http.MethodPost, webhook.ContentType, wh.ID, wh.Token)
		if status != s.want || !errors.Is(err, s.wantErr) {
			t.Errorf("step %d: status %d error %v, want %d %v", i, status, err, s.want, s.wantErr)
		}
	}
	if _, users := e.counts(); users != 1 {
		t.Errorf("handler ran %d times, want 1", users)
	}
}

func TestReplayConcurrentDeliveriesRunOnce(t *testing.T) {
	e := newEnv(t)
	wh := e.webhook(t, webhook.UserCreated, janeData)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 16 {
		wg.Go(func() {
			// Half of them under a forged header: it changes nothing.
			id := wh.ID
			if i%2 == 1 {
				id = "msg_forged_" + strings.Repeat("x", i)
			}
			if status, err := e.post(t, http.MethodPost, webhook.ContentType, id, wh.Token); status == 200 && err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if _, users := e.counts(); users != 1 || ok.Load() != 16 {
		t.Errorf("handler ran %d times and %d answers were 200, want 1 and 16", users, ok.Load())
	}
}

// recordingStore records the ttl of each Seen call.
type recordingStore struct {
	mu   sync.Mutex
	ids  []string
	ttls []time.Duration
}

func (s *recordingStore) Seen(_ context.Context, id string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
	s.ttls = append(s.ttls, ttl)
	return false, nil
}
func (s *recordingStore) Forget(context.Context, string) error { return nil }

// TestReplayTTL checks what the store is asked to remember: the signed
// event id, for as long as the event's timestamp stays inside the window.
func TestReplayTTL(t *testing.T) {
	tests := []struct {
		name string
		age  time.Duration // how old the event is when it arrives
		want time.Duration
	}{
		{name: "fresh", age: 0, want: webhook.DefaultReplayWindow},
		{name: "an hour old", age: time.Hour, want: webhook.DefaultReplayWindow - time.Hour},
		{name: "at the edge", age: webhook.DefaultReplayWindow, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			e := newEnv(t, webhook.WithReplayStore(st))
			wh := e.webhook(t, webhook.RoleCreated, nil, kindetest.WebhookTimestamp(now.Add(-tt.age)), kindetest.WebhookEventID("event_ttl"))
			if status, err := e.post(t, http.MethodPost, webhook.ContentType, "msg_header", wh.Token); status != 200 || err != nil {
				t.Fatalf("status %d error %v", status, err)
			}
			if len(st.ids) != 1 || st.ids[0] != "event_ttl" || st.ttls[0] != tt.want {
				t.Errorf("store asked to remember %v for %v, want [event_ttl] for %v", st.ids, st.ttls, tt.want)
			}
		})
	}
}
