package kinde_test

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
)

// testClock is a clock the tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// signedInWeb signs userID in through a Web on the clock of clock and
// returns the Web and its session cookies.
func signedInWeb(t *testing.T, srv *kindetest.Server, userID string, clock *testClock, opts ...kinde.WebOption) (*kinde.Web, []*http.Cookie) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := conformance.Config(srv, base+kinde.DefaultPaths().Callback)
	cfg.Now = clock.Now
	web, err := kinde.NewWeb(append([]kinde.WebOption{kinde.WithConfig(cfg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	conformance.ServeHTTP(t, ln, web.Handler())
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(c.CloseIdleConnections)
	srv.SignInAs(userID)
	next := base + kinde.DefaultPaths().Login
	for range 3 {
		resp, err := c.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if strings.HasPrefix(next, base+kinde.DefaultPaths().Callback) {
			var out []*http.Cookie
			for _, ck := range resp.Cookies() {
				if strings.Contains(ck.Name, "kinde_session") && ck.Value != "" {
					out = append(out, ck)
				}
			}
			if len(out) == 0 {
				t.Fatal("the callback set no session cookie")
			}
			return web, out
		}
		next = resp.Header.Get("Location")
		if strings.HasPrefix(next, "/") {
			next = base + next
		}
	}
	t.Fatal("the sign-in did not reach the callback")
	return nil, nil
}

// serveSession sends one request with cookies through the session
// middleware and RequireAuth and returns the status and the response.
func serveSession(web *kinde.Web, cookies []*http.Cookie) *httptest.ResponseRecorder {
	h := web.Middleware(web.RequireAuth()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	req := httptest.NewRequest(http.MethodGet, "http://localhost/api", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The same session cookie is decided alike on every request, however often
// it was read before (the decoded record is remembered by the cookie's
// bytes): served until the idle timeout, refused at it, and refused at the
// maximum age even while requests keep it active.
func TestSessionReadRepeatedKeepsLifetimes(t *testing.T) {
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	srv.SetTokenLifetimes(48*time.Hour, 48*time.Hour, 60*24*time.Hour)
	const idle, maxAge = time.Hour, 3 * time.Hour
	for _, tt := range []struct {
		name  string
		opts  []kinde.WebOption
		store bool
	}{
		{"cookie", nil, false},
		{"store", []kinde.WebOption{kinde.WithStore(kinde.NewMemoryStore(kinde.MemoryStoreOptions{MaxEntries: 10}))}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{now: time.Now()}
			opts := append([]kinde.WebOption{kinde.WithSessionOptions(kinde.SessionOptions{IdleTimeout: idle, MaxAge: maxAge})}, tt.opts...)
			web, cookies := signedInWeb(t, srv, demo.Bob.ID, clock, opts...)
			for i := range 3 {
				if got := serveSession(web, cookies).Code; got != http.StatusNoContent {
					t.Fatalf("request %d right after sign-in: status %d", i, got)
				}
			}
			// Just before the idle timeout the same cookie still serves,
			// and at it the same bytes are refused.
			clock.Advance(idle - time.Second)
			if got := serveSession(web, cookies).Code; got != http.StatusNoContent {
				t.Fatalf("before the idle timeout: status %d", got)
			}
			clock.Advance(time.Second)
			if got := serveSession(web, cookies).Code; got == http.StatusNoContent {
				t.Fatal("the same session bytes were served at their idle timeout")
			}
		})
	}
}

// Requests that share one session concurrently, each recording activity
// (a touch rewrites the session), never modify what the others read: run
// with -race.
func TestSessionConcurrentTouches(t *testing.T) {
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	srv.SetTokenLifetimes(48*time.Hour, 48*time.Hour, 60*24*time.Hour)
	clock := &testClock{now: time.Now()}
	web, cookies := signedInWeb(t, srv, demo.Bob.ID, clock, kinde.WithSessionOptions(kinde.SessionOptions{IdleTimeout: time.Hour, MaxAge: 24 * time.Hour}))
	if got := serveSession(web, cookies).Code; got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	clock.Advance(20 * time.Minute) // past a tenth of the idle timeout: every request touches
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				rec := serveSession(web, cookies)
				if rec.Code != http.StatusNoContent {
					t.Errorf("status %d", rec.Code)
					return
				}
				if len(rec.Result().Cookies()) == 0 {
					t.Error("no touch: the test does not exercise concurrent saves")
					return
				}
			}
		})
	}
	wg.Wait()
}

type nopResponse struct{ h http.Header }

func (w *nopResponse) Header() http.Header         { return w.h }
func (w *nopResponse) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopResponse) WriteHeader(int)             {}

// A signed-in user's later requests do not open and inflate the session
// again (docs/performance.md, "Cookie-session middleware"): the session
// middleware and RequireAuth allocate a handful of objects per request, not
// the AES-GCM, DEFLATE and record decoding's.
func TestSessionRepeatedReadAllocations(t *testing.T) {
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	srv.SetTokenLifetimes(48*time.Hour, 48*time.Hour, 60*24*time.Hour)
	clock := &testClock{now: time.Now()}
	web, cookies := signedInWeb(t, srv, demo.Olivia.ID, clock)
	h := web.Middleware(web.RequireAuth()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	req := httptest.NewRequest(http.MethodGet, "http://localhost/api", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	out := &nopResponse{h: http.Header{}}
	h.ServeHTTP(out, req)
	allocs := testing.AllocsPerRun(50, func() {
		clear(out.h)
		h.ServeHTTP(out, req)
	})
	if allocs > 8 {
		t.Errorf("%.0f allocations per request with a session read before, want at most 8", allocs)
	}
}
