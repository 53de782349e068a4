package kinde

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

type refreshTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *refreshTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *refreshTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestRefreshGroup() (*refreshGroup, *refreshTestClock) {
	clock := &refreshTestClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	return newRefreshGroup(clock.Now, nil), clock
}

// rotating is a refresh function that rotates the refresh token and counts
// its calls.
func rotating(calls *atomic.Int32) func(context.Context, *Tokens) (*Tokens, bool, error) {
	return func(_ context.Context, t *Tokens) (*Tokens, bool, error) {
		n := calls.Add(1)
		return &Tokens{AccessToken: t.AccessToken, RefreshToken: fmt.Sprintf("%s>%d", t.RefreshToken, n), ExpiresAt: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)}, false, nil
	}
}

// Results are remembered under the replaced refresh token, for Kinde's
// grace period only, and a request carrying another refresh token (even
// with the same access token) never gets them.
func TestRefreshGroupRemembersByRefreshToken(t *testing.T) {
	defer goleak.VerifyNone(t)
	g, clock := newTestRefreshGroup()
	var calls atomic.Int32
	ctx := context.Background()
	old := &Tokens{AccessToken: "at", RefreshToken: "r0"}
	first, err := g.do(ctx, old, rotating(&calls))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(recentRefreshTTL - time.Second)
	again, _ := g.do(ctx, old, rotating(&calls))
	if again != first || calls.Load() != 1 {
		t.Fatalf("within the grace period: %d calls, same result %v", calls.Load(), again == first)
	}
	// Same access token, another refresh token (the session moved on):
	// a refresh of its own.
	if other, _ := g.do(ctx, &Tokens{AccessToken: "at", RefreshToken: "r9"}, rotating(&calls)); other == first || calls.Load() != 2 {
		t.Fatal("a result was given to a request carrying another refresh token")
	}
	clock.Advance(2 * time.Second)
	if late, _ := g.do(ctx, old, rotating(&calls)); late == first || calls.Load() != 3 {
		t.Fatal("a result was remembered past the grace period")
	}
}

// Concurrent refreshes of one session share one call.
func TestRefreshGroupShares(t *testing.T) {
	defer goleak.VerifyNone(t)
	g, _ := newTestRefreshGroup()
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(ctx context.Context, t *Tokens) (*Tokens, bool, error) {
		<-release
		return rotating(&calls)(ctx, t)
	}
	old := &Tokens{AccessToken: "at", RefreshToken: "r0"}
	var wg sync.WaitGroup
	results := make([]*Tokens, 20)
	for i := range results {
		wg.Go(func() { results[i], _ = g.do(context.Background(), old, fn) })
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for _, r := range results {
		if r != results[0] || r == nil {
			t.Fatal("callers got different results")
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls for 20 concurrent callers, want 1", calls.Load())
	}
}

// The remembered results stay within their byte budget, estimated from the
// token lengths (issue 18, item 4).
func TestRefreshGroupByteBudget(t *testing.T) {
	g, clock := newTestRefreshGroup()
	g.maxBytes = 64 << 10
	big := strings.Repeat("a", 5000)
	fn := func(_ context.Context, t *Tokens) (*Tokens, bool, error) {
		return &Tokens{AccessToken: big, IDToken: big, RefreshToken: t.RefreshToken + "'"}, false, nil
	}
	for i := range 100 {
		if _, err := g.do(context.Background(), &Tokens{AccessToken: big, RefreshToken: fmt.Sprint("r", i)}, fn); err != nil {
			t.Fatal(err)
		}
		if g.bytes > g.maxBytes {
			t.Fatalf("after %d refreshes %d bytes remembered, budget %d", i+1, g.bytes, g.maxBytes)
		}
		clock.Advance(time.Millisecond)
	}
	if n := len(g.recent); n == 0 || n > 7 {
		t.Fatalf("%d results of about 10 KB kept in 64 KiB", n)
	}
	// After the grace period everything is released.
	clock.Advance(recentRefreshTTL)
	g.do(context.Background(), &Tokens{RefreshToken: "x"}, func(context.Context, *Tokens) (*Tokens, bool, error) {
		return nil, false, errors.New("down")
	})
	if len(g.recent) != 0 || g.bytes != 0 || len(g.queue) != 0 {
		t.Fatalf("after the grace period: %d results, %d bytes, queue %d", len(g.recent), g.bytes, len(g.queue))
	}
}

// A failed refresh backs off 1 s, doubling to 30 s; the map of back-offs is
// bounded.
func TestRefreshGroupBackoff(t *testing.T) {
	g, clock := newTestRefreshGroup()
	var calls atomic.Int32
	fail := func(context.Context, *Tokens) (*Tokens, bool, error) {
		calls.Add(1)
		return nil, false, fmt.Errorf("token endpoint: %w", ErrUnavailable)
	}
	old := &Tokens{AccessToken: "at", RefreshToken: "r0"}
	var attempts []time.Duration
	start := clock.Now()
	for range 200 { // 100 s, a request every half second
		before := calls.Load()
		_, err := g.do(context.Background(), old, fail)
		if calls.Load() != before {
			attempts = append(attempts, clock.Now().Sub(start))
		} else if !errors.Is(err, errBackingOff) {
			t.Fatalf("no call and error %v", err)
		}
		clock.Advance(500 * time.Millisecond)
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second, 61 * time.Second, 91 * time.Second}
	if fmt.Sprint(attempts) != fmt.Sprint(want) {
		t.Fatalf("attempts at %v, want %v", attempts, want)
	}
	for i := range backoffEntries + 10 {
		g.fail(fmt.Sprint("s", i), "", clock.Now())
	}
	if len(g.fails) > backoffEntries {
		t.Fatalf("%d back-offs remembered, bound %d", len(g.fails), backoffEntries)
	}
}

// A refresh runs under its own timeout, and a caller whose context ends
// stops waiting without failing the refresh for others. Checked by the
// deadline the refresh sees and by the order of events, not by elapsed time.
func TestRefreshGroupTimeouts(t *testing.T) {
	defer goleak.VerifyNone(t)
	g, _ := newTestRefreshGroup()
	g.timeout = 100 * time.Millisecond
	var left time.Duration
	slow := func(ctx context.Context, _ *Tokens) (*Tokens, bool, error) {
		if dl, ok := ctx.Deadline(); ok {
			left = time.Until(dl)
		}
		<-ctx.Done()
		return nil, false, ctx.Err()
	}
	if _, err := g.do(context.Background(), &Tokens{RefreshToken: "r0"}, slow); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow refresh: %v", err)
	}
	if left <= 0 || left > g.timeout {
		t.Fatalf("the refresh ran with %v left before its deadline, want at most the timeout %v", left, g.timeout)
	}

	// The caller leaves at its own deadline while the refresh still runs
	// (it returns only when released), and the refresh is not cancelled.
	g.timeout = time.Minute
	release, finished := make(chan struct{}), make(chan error, 1)
	held := func(ctx context.Context, _ *Tokens) (*Tokens, bool, error) {
		select {
		case <-release:
			finished <- ctx.Err()
			return &Tokens{AccessToken: "a", RefreshToken: "r2"}, false, nil
		case <-ctx.Done():
			finished <- ctx.Err()
			return nil, false, ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.do(ctx, &Tokens{RefreshToken: "r1"}, held); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller's deadline: %v", err)
	}
	select {
	case err := <-finished:
		t.Fatalf("the refresh ended (%v) with its first caller", err)
	default:
	}
	close(release)
	if err := <-finished; err != nil {
		t.Fatalf("the shared refresh was cancelled when its first caller left: %v", err)
	}
	// A later caller gets the refresh's result.
	if nt, err := g.do(context.Background(), &Tokens{RefreshToken: "r1"}, held); err != nil || nt.RefreshToken != "r2" {
		t.Fatalf("after the refresh: %v, %v", nt, err)
	}
}

// After a burst of refreshes has expired, the remembered results' map is
// replaced by an empty one (a Go map keeps its buckets after deletes), and a
// web layer's caches follow SessionOptions.CacheBytes (issue 18, item 4).
func TestRefreshMemoryReleasedAndConfigurable(t *testing.T) {
	g, clock := newTestRefreshGroup()
	fn := func(_ context.Context, t *Tokens) (*Tokens, bool, error) {
		return &Tokens{AccessToken: "a", RefreshToken: t.RefreshToken + "'"}, false, nil
	}
	for i := range 200 {
		if _, err := g.do(context.Background(), &Tokens{AccessToken: "a", RefreshToken: fmt.Sprint("r", i)}, fn); err != nil {
			t.Fatal(err)
		}
	}
	burst := g.recent
	clock.Advance(recentRefreshTTL)
	g.mu.Lock()
	g.sweep(clock.Now())
	released := len(g.recent) == 0 && g.queue == nil && reflect.ValueOf(g.recent).UnsafePointer() != reflect.ValueOf(burst).UnsafePointer()
	g.mu.Unlock()
	if !released {
		t.Fatal("the map of 200 expired results was kept")
	}

	for _, c := range []struct {
		bytes        int
		sessions     bool
		refreshBytes int
	}{
		{0, true, recentRefreshBytes},
		{3 << 20, true, 1 << 20},
		{-1, false, 0},
	} {
		w, err := NewWeb(WithConfig(Config{Domain: "https://example.kinde.com", ClientID: "c", ClientSecret: "s",
			RedirectURL: "http://localhost:8080/api/auth/kinde_callback", SessionSecret: strings.Repeat("s", 32)}),
			WithSessionOptions(SessionOptions{CacheBytes: c.bytes}))
		if err != nil {
			t.Fatal(err)
		}
		if (w.sessions != nil) != c.sessions || w.refreshes.maxBytes != c.refreshBytes {
			t.Errorf("CacheBytes %d: session cache %v, refresh budget %d; want %v, %d", c.bytes, w.sessions != nil, w.refreshes.maxBytes, c.sessions, c.refreshBytes)
		}
		if c.bytes > 0 && w.sessions.maxBytes*sessionCacheShards != c.bytes/3*2 {
			t.Errorf("CacheBytes %d: session cache %d bytes", c.bytes, w.sessions.maxBytes*sessionCacheShards)
		}
	}
}
