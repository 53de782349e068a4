package kinde_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// The refresh design (web_refresh.go, docs/sessions.md "Refresh across
// instances") rests on Kinde's refresh behaviour: the same access token
// until it expires, a rotated refresh token on every refresh, and about 30 s
// during which the replaced refresh token still works
// (shared/reference/kinde-protocol.md, "Refresh behaviour"; the emulator
// models it: kindetest RefreshGracePeriod, mintLocked's reuse).

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level contain msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

// fleet is several application instances (each its own *kinde.Web) behind
// one origin, sharing a session secret and, optionally, a store.
type fleet struct {
	srv   *kindetest.Server
	user  kindetest.User
	cfg   kinde.Config
	logs  *logRecorder
	store kinde.Store
	webs  []*kinde.Web
	apps  []http.Handler
}

func newFleet(t *testing.T, n int, store kinde.Store, opts ...kindetest.Option) *fleet {
	t.Helper()
	srv := kindetest.Start(t, append([]kindetest.Option{kindetest.WithNow(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}, opts...)...)
	srv.AllowRedirectURI(srv.ClientID(), testRedirect)
	user := srv.AddUser(kindetest.User{Email: "fleet@example.com", GivenName: "Fleet", FamilyName: "User"})
	srv.SignInAs(user.ID)
	f := &fleet{srv: srv, user: user, logs: &logRecorder{}, store: store}
	f.cfg = kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: testRedirect, SessionSecret: webTestSecret, Now: srv.Now,
		Leeway: time.Second, Logger: slog.New(f.logs), HTTPClient: srv.Client(),
	}
	f.cfg.HTTPClient.Jar = nil
	for range n {
		f.add(t)
	}
	return f
}

// add starts one more instance.
func (f *fleet) add(t *testing.T) *kinde.Web {
	t.Helper()
	opts := []kinde.WebOption{kinde.WithConfig(f.cfg)}
	if f.store != nil {
		opts = append(opts, kinde.WithStore(f.store))
	}
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", web.Handler())
	mux.Handle("/", web.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := kinde.SessionFrom(r.Context()); s != nil {
			fmt.Fprintf(w, "user=%s", s.UserID())
			return
		}
		fmt.Fprint(w, "anonymous")
	})))
	f.webs = append(f.webs, web)
	f.apps = append(f.apps, mux)
	return web
}

// jar is a browser's cookies for the app: it keeps what the last response
// set, as a browser does.
type jar map[string]string

func (j jar) update(rec *httptest.ResponseRecorder) {
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j, c.Name)
			continue
		}
		j[c.Name] = c.Value
	}
}

func (j jar) hasSession() bool {
	for name := range j {
		if strings.HasPrefix(name, "kinde_session") {
			return true
		}
	}
	return false
}

// signIn signs in through instance 0 and returns the browser's cookies.
func (f *fleet) signIn(t *testing.T) jar {
	t.Helper()
	j := jar{}
	rec := httptest.NewRecorder()
	f.apps[0].ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:8080"+kinde.DefaultPaths().Login, nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("login answered %d", rec.Code)
	}
	j.update(rec)
	c := f.srv.Client()
	defer c.CloseIdleConnections()
	resp, err := c.Get(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), testRedirect+"?") {
		t.Fatalf("authorize answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	rec = f.do(t, 0, loc.String(), j, context.Background())
	if rec.Code != http.StatusFound || !j.hasSession() {
		t.Fatalf("callback answered %d without a session", rec.Code)
	}
	return j
}

// do sends a GET for target to instance i with the browser's cookies and
// keeps what the response sets.
func (f *fleet) do(t *testing.T, i int, target string, j jar, ctx context.Context) *httptest.ResponseRecorder {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = "http://localhost:8080" + target
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	for name, v := range j {
		req.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	rec := httptest.NewRecorder()
	f.apps[i].ServeHTTP(rec, req)
	j.update(rec)
	return rec
}

func (f *fleet) get(t *testing.T, i int, j jar) string {
	t.Helper()
	return f.do(t, i, "/", j, context.Background()).Body.String()
}

func (f *fleet) signedIn() string { return "user=" + f.user.ID }

// refreshTokensStored returns the refresh tokens held by a MemoryStore.
func refreshTokensStored(s kinde.Store) []string {
	ms, ok := s.(*kinde.MemoryStore)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range kinde.MemoryStoreValues(ms) {
		out = append(out, kinde.StoredRefreshToken(v))
	}
	return out
}

// Two instances behind a round-robin balancer, one session, several access
// token lifetimes: no request may see the user signed out, and the stored
// refresh token only ever moves forward (issue 18, item 1).
func TestRefreshAcrossInstances(t *testing.T) {
	const lifetime = 10 * time.Second
	for _, tt := range []struct {
		name  string
		store func() kinde.Store
	}{
		{"memory store", func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{}) }},
		{"cookies", func() kinde.Store { return nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFleet(t, 2, tt.store())
			f.srv.SetTokenLifetimes(lifetime, lifetime, 0)
			j := f.signIn(t)
			seen := map[string]bool{}
			last := ""
			calls := f.srv.Requests("/oauth2/token")
			const steps = 120 // 12 lifetimes, four times the refresh grace
			for step := range steps {
				f.srv.Advance(time.Second)
				i := step % len(f.apps)
				if got := f.get(t, i, j); got != f.signedIn() {
					t.Fatalf("step %d (instance %d, %v after sign-in): %q, want %q", step, i, time.Duration(step+1)*time.Second, got, f.signedIn())
				}
				if !j.hasSession() {
					t.Fatalf("step %d: the session cookie was deleted", step)
				}
				if stored := refreshTokensStored(f.store); f.store != nil {
					if len(stored) != 1 {
						t.Fatalf("step %d: %d sessions stored, want 1", step, len(stored))
					}
					if rt := stored[0]; rt != last {
						if seen[rt] {
							t.Fatalf("step %d: the stored refresh token went back to an older one", step)
						}
						seen[rt], last = true, rt
					}
				}
			}
			// One refresh per lifetime (the singleflight and the store keep
			// it so), give or take one where both instances saw the expiry.
			refreshes := f.srv.Requests("/oauth2/token") - calls
			if max := 2 * steps / int(lifetime/time.Second); refreshes > max {
				t.Errorf("%d token calls in %d lifetimes, want at most %d", refreshes, steps/int(lifetime/time.Second), max)
			}
			t.Logf("%d requests, %d token calls, 0 sign-outs", steps, refreshes)
		})
	}
}

// Two responses race on a cookie session: two requests carrying the same
// cookie reach two instances right after expiry. Both refresh (within
// Kinde's grace), the browser keeps whichever Set-Cookie came last, and
// the session goes on.
func TestRefreshCookieRace(t *testing.T) {
	checkGoroutines(t)
	const lifetime = 10 * time.Second
	f := newFleet(t, 2, nil)
	f.srv.SetTokenLifetimes(lifetime, lifetime, 0)
	j := f.signIn(t)
	for round := range 5 {
		f.srv.Advance(lifetime + time.Second)
		a, b := jar{}, jar{}
		for k, v := range j {
			a[k], b[k] = v, v
		}
		var wg sync.WaitGroup
		bodies := make([]string, 2)
		for i, jj := range []jar{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bodies[i] = f.get(t, i, jj)
			}()
		}
		wg.Wait()
		for i, body := range bodies {
			if body != f.signedIn() {
				t.Fatalf("round %d, instance %d: %q", round, i, body)
			}
		}
		j = a
		if round%2 == 1 {
			j = b
		}
		// Another request, well within the grace period, with the kept cookie.
		f.srv.Advance(5 * time.Second)
		if got := f.get(t, round%2, j); got != f.signedIn() {
			t.Fatalf("round %d after the race: %q", round, got)
		}
	}
}

// tokenCalls wraps a transport and records, for calls to the token
// endpoint, how long their context had left and how many are in flight.
type tokenCalls struct {
	base     http.RoundTripper
	left     atomic.Int64 // time.Duration before the last call's deadline; -1: none
	inFlight atomic.Int32
}

func (c *tokenCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/oauth2/token" {
		c.left.Store(-1)
		if dl, ok := r.Context().Deadline(); ok {
			c.left.Store(int64(time.Until(dl)))
		}
		c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
	}
	return c.base.RoundTrip(r)
}

// A refresh that Kinde answers slowly costs a request at most the refresh
// timeout (5 s), or less when the caller's own deadline comes first; the
// session is kept. Checked by the deadline the token call carries and by the
// order of events (the caller returns while the call is still in flight),
// not by elapsed time.
func TestRefreshBoundedByTimeout(t *testing.T) {
	for _, tt := range []struct {
		name     string
		deadline time.Duration // of the request; 0: none
	}{
		{"refresh timeout", 0},
		{"caller's deadline", 200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkGoroutines(t)
			f := newFleet(t, 0, nil)
			calls := &tokenCalls{base: f.cfg.HTTPClient.Transport}
			f.cfg.HTTPClient = &http.Client{Transport: calls, Timeout: time.Minute}
			f.add(t)
			j := f.signIn(t)
			f.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
			f.srv.SetFault("/oauth2/token", kindetest.Fault{Delay: 30 * time.Second, Times: 1})
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			rec := f.do(t, 0, "/", j, ctx)
			if left := time.Duration(calls.left.Load()); left <= 0 || left > 5*time.Second {
				t.Fatalf("the refresh's token call had %v before its deadline, want at most the 5 s refresh timeout", left)
			}
			if tt.deadline > 0 && calls.inFlight.Load() != 1 {
				t.Fatal("the request waited for the whole refresh instead of its own deadline")
			}
			if rec.Body.String() != "anonymous" || !j.hasSession() {
				t.Fatalf("during the slow refresh: %q, session kept %v", rec.Body, j.hasSession())
			}
			// Once the shared refresh has given up (its call is no longer in
			// flight), the session works again.
			for calls.inFlight.Load() != 0 {
				time.Sleep(10 * time.Millisecond)
			}
			f.srv.ClearFaults()
			f.srv.Advance(time.Minute) // past the back-off
			if got := f.get(t, 0, j); got != f.signedIn() {
				t.Fatalf("after the slow refresh: %q", got)
			}
		})
	}
}

// While the token endpoint fails, a session makes a bounded number of
// token calls (1 s back-off doubling to 30 s), logs a warning when the
// failures start and at most every 10 s (not per request or attempt), and is
// kept (issue 17, finding 11).
func TestRefreshBackoff(t *testing.T) {
	for _, st := range []struct {
		name  string
		store func() kinde.Store
	}{
		{"memory store", func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{}) }},
		{"cookies", func() kinde.Store { return nil }},
	} {
		t.Run(st.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFleet(t, 1, st.store())
			j := f.signIn(t)
			f.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
			f.srv.SetFault("/oauth2/token", kindetest.Fault{Status: http.StatusServiceUnavailable})
			before := f.srv.Requests("/oauth2/token")
			const requests = 60
			for range requests { // 30 s, two requests a second
				if got := f.get(t, 0, j); got != "anonymous" {
					t.Fatalf("during the outage: %q", got)
				}
				f.srv.Advance(500 * time.Millisecond)
			}
			// Attempts at 0, 1, 3, 7, 15 s (then 31 s).
			calls := f.srv.Requests("/oauth2/token") - before
			if calls > 6 {
				t.Fatalf("%d token calls for %d requests in 30 s, want at most 6", calls, requests)
			}
			// Failures at 0, 1, 3, 7 and 15 s: Warn at 0 and 15 s.
			if warns := f.logs.count(slog.LevelWarn, "refreshing a session failed"); warns != 2 {
				t.Errorf("%d warnings for %d failed refreshes in 30 s, want 2 (at most one per 10 s)", warns, calls)
			}
			if !j.hasSession() {
				t.Fatal("the outage ended the session")
			}
			f.srv.ClearFaults()
			f.srv.Advance(backoffCeiling)
			if got := f.get(t, 0, j); got != f.signedIn() {
				t.Fatalf("after the outage: %q", got)
			}
			if n := f.logs.count(slog.LevelInfo, "works again"); n != 1 {
				t.Errorf("%d Info records for the end of the outage, want 1", n)
			}
			t.Logf("%d requests during a 30 s outage made %d token calls", requests, calls)
		})
	}
}

const backoffCeiling = 30 * time.Second

// Kinde retires the key that signed the stored access token, and an
// instance that has not verified the token before (a new one, or one whose
// cache entry is gone) sees it: the session is refreshed instead of ended
// (issue 18, item 2). Kinde hands back the same access token until it
// expires; with it, the session is kept (treated as signed out, token calls
// bounded by the back-off) and works again from the first new access token.
func TestRefreshKeyRetired(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fresh  bool // the emulator issues a new access token on refresh
		store  func() kinde.Store
		signed bool // signed in right after the retirement
	}{
		{"new access token/memory store", true, func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{}) }, true},
		{"new access token/cookies", true, func() kinde.Store { return nil }, true},
		{"same access token/memory store", false, func() kinde.Store { return kinde.NewMemoryStore(kinde.MemoryStoreOptions{}) }, false},
		{"same access token/cookies", false, func() kinde.Store { return nil }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			f := newFleet(t, 1, tt.store(), kindetest.WithFreshAccessTokenOnRefresh(tt.fresh))
			j := f.signIn(t)
			if got := f.get(t, 0, j); got != f.signedIn() {
				t.Fatalf("after sign-in: %q", got)
			}
			if _, err := f.srv.RotateKey(); err != nil {
				t.Fatal(err)
			}
			f.srv.RetireOldKeys()
			f.srv.Advance(2 * time.Minute) // past the key set's refetch interval
			f.apps = f.apps[1:]
			f.add(t) // a new instance: nothing cached
			before := f.srv.Requests("/oauth2/token")
			want := "anonymous"
			if tt.signed {
				want = f.signedIn()
			}
			for i := range 20 {
				if got := f.get(t, 0, j); got != want {
					t.Fatalf("request %d after the key was retired: %q, want %q", i, got, want)
				}
				if !j.hasSession() {
					t.Fatalf("request %d: the retired key ended the session", i)
				}
				f.srv.Advance(500 * time.Millisecond)
			}
			if calls := f.srv.Requests("/oauth2/token") - before; calls > 5 {
				t.Fatalf("%d token calls for 20 requests, want at most 5", calls)
			}
			f.srv.Advance(kindetest.DefaultAccessTokenLifetime)
			if got := f.get(t, 0, j); got != f.signedIn() {
				t.Fatalf("once the access token expired: %q", got)
			}
		})
	}
}

// blockingStore is a store whose calls hang until their context ends, as a
// frozen Redis does. It records how long the context had left when a call
// came in (a call without a deadline fails at once, so the test fails
// rather than hangs).
type blockingStore struct {
	*kinde.MemoryStore
	blocked chan struct{} // closed: calls block
	left    atomic.Int64  // time.Duration before the deadline of the last blocked call; -1: none
}

func (s *blockingStore) Get(ctx context.Context, id string) ([]byte, error) {
	select {
	case <-s.blocked:
		dl, ok := ctx.Deadline()
		if !ok {
			s.left.Store(-1)
			return nil, errors.New("blockingStore: called without a deadline")
		}
		s.left.Store(int64(time.Until(dl)))
		<-ctx.Done()
		return nil, ctx.Err()
	default:
		return s.MemoryStore.Get(ctx, id)
	}
}

// A session store that stops answering costs a request at most 2 s (the
// store call carries that deadline; the store here answers only when its
// context ends): the request is treated as signed out, the session is kept
// and a warning is logged (issue 18, item 3).
func TestRefreshStoreDeadline(t *testing.T) {
	checkGoroutines(t)
	store := &blockingStore{MemoryStore: kinde.NewMemoryStore(kinde.MemoryStoreOptions{}), blocked: make(chan struct{})}
	f := newFleet(t, 1, store)
	j := f.signIn(t)
	close(store.blocked)
	rec := f.do(t, 0, "/", j, context.Background())
	if left := time.Duration(store.left.Load()); left <= 0 || left > 2*time.Second {
		t.Fatalf("the store call had %v before its deadline, want a deadline of at most 2 s", left)
	}
	if rec.Body.String() != "anonymous" || !j.hasSession() {
		t.Fatalf("during the freeze: %q, session kept %v", rec.Body, j.hasSession())
	}
	if f.logs.count(slog.LevelWarn, "session store failed") != 1 {
		t.Fatal("no warning about the store")
	}
}

// A store without CompareAndSwap works, and NewWeb says once, at Info,
// that concurrent refreshes by several instances may race.
func TestRefreshStoreWithoutCompareAndSwap(t *testing.T) {
	type plainStore struct{ kinde.Store }
	f := newFleet(t, 0, plainStore{kinde.NewMemoryStore(kinde.MemoryStoreOptions{})})
	f.add(t)
	if n := f.logs.count(slog.LevelInfo, "no CompareAndSwap"); n != 1 {
		t.Fatalf("%d log records about the missing CompareAndSwap, want 1", n)
	}
	j := f.signIn(t)
	f.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
	if got := f.get(t, 0, j); got != f.signedIn() {
		t.Fatalf("after a refresh through Set: %q", got)
	}
	f2 := newFleet(t, 1, kinde.NewMemoryStore(kinde.MemoryStoreOptions{}))
	if n := f2.logs.count(slog.LevelInfo, "no CompareAndSwap"); n != 0 {
		t.Fatalf("%d log records about CompareAndSwap for a MemoryStore", n)
	}
}

// downStore fails every Get while down is set, as an unreachable Redis does.
type downStore struct {
	*kinde.MemoryStore
	down atomic.Bool
}

func (s *downStore) Get(ctx context.Context, id string) ([]byte, error) {
	if s.down.Load() {
		return nil, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return s.MemoryStore.Get(ctx, id)
}

// A store outage is logged at Warn when it starts and at most every 10 s
// while it lasts, not once per request, and its end at Info; the session
// survives it.
func TestStoreOutageLogged(t *testing.T) {
	store := &downStore{MemoryStore: kinde.NewMemoryStore(kinde.MemoryStoreOptions{})}
	f := newFleet(t, 1, store)
	j := f.signIn(t)
	store.down.Store(true)
	for range 20 {
		if got := f.get(t, 0, j); got != "anonymous" {
			t.Fatalf("while the store is down: %q", got)
		}
	}
	if n := f.logs.count(slog.LevelWarn, "session store failed"); n != 1 {
		t.Fatalf("%d Warn records for 20 requests in one outage, want 1", n)
	}
	f.srv.Advance(11 * time.Second) // the emulator's clock is the instances' clock
	f.get(t, 0, j)
	if n := f.logs.count(slog.LevelWarn, "session store failed"); n != 2 {
		t.Fatalf("%d Warn records after 11 s more of the outage, want 2", n)
	}
	store.down.Store(false)
	if got := f.get(t, 0, j); got != f.signedIn() {
		t.Fatalf("after the outage: %q", got)
	}
	f.get(t, 0, j)
	if n := f.logs.count(slog.LevelInfo, "answers again"); n != 1 {
		t.Fatalf("%d Info records for the store's recovery, want 1", n)
	}
}
