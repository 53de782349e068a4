package load

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/redisstore"
	"github.com/redis/go-redis/v9"
)

const (
	sessions      = 1000
	requests      = 10_000 // in total, over every round
	rounds        = 3      // the access tokens of every session expire before each round but the first
	parallel      = 32     // sessions served at once
	accessTTL     = 10 * time.Minute
	sessionSecret = "load-session-secret-0123456789-abcdefghijklmn"
)

// app is one public origin served by one or more application instances
// (each its own *kinde.Web), taking turns as behind a round-robin load
// balancer.
type app struct {
	srv       *kindetest.Server
	url       string
	instances []http.Handler
	next      atomic.Uint64
}

// newApp starts the emulator and n instances; store returns the session
// store of each instance (nil: cookie sessions).
func newApp(t *testing.T, n int, store func(t *testing.T) kinde.Store) *app {
	t.Helper()
	a := &app{srv: kindetest.Start(t)}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.instances[a.next.Add(1)%uint64(len(a.instances))].ServeHTTP(w, r)
	}))
	a.url = "http://" + ts.Listener.Addr().String()
	a.srv.AllowRedirectURI(a.srv.ClientID(), a.url+kinde.DefaultPaths().Callback)
	for range n {
		opts := []kinde.WebOption{kinde.WithConfig(kinde.Config{
			Domain: a.srv.URL(), ClientID: a.srv.ClientID(), ClientSecret: a.srv.ClientSecret(),
			RedirectURL: a.url + kinde.DefaultPaths().Callback, SessionSecret: sessionSecret,
			Now: a.srv.Now, Logger: slog.New(slog.DiscardHandler),
		})}
		if s := store(t); s != nil {
			opts = append(opts, kinde.WithStore(s))
		}
		web, err := kinde.NewWeb(opts...)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", web.Handler())
		mux.Handle("/me", web.Middleware(web.RequireAuth()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "user=%s", kinde.SessionFrom(r.Context()).UserID())
		}))))
		a.instances = append(a.instances, mux)
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return a
}

// session is one user's browser.
type session struct {
	userID string
	client *http.Client
}

// get loads path and returns the status, Location and body.
func (s *session) get(ctx context.Context, rawURL string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b), err
}

// signIn signs s in through the app's routes. Kinde's part is serialized:
// the emulator signs everybody in as one user at a time (SignInAs).
func (a *app) signIn(ctx context.Context, s *session, kindeMu *sync.Mutex) error {
	status, loc, _, err := s.get(ctx, a.url+kinde.DefaultPaths().Login)
	if err != nil || status != http.StatusFound {
		return fmt.Errorf("login: %d %v", status, err)
	}
	kindeMu.Lock()
	a.srv.SignInAs(s.userID)
	status, loc, _, err = s.get(ctx, loc)
	kindeMu.Unlock()
	if err != nil || status != http.StatusFound || !strings.HasPrefix(loc, a.url+kinde.DefaultPaths().Callback+"?") {
		return fmt.Errorf("kinde: %d to %q %v", status, loc, err)
	}
	status, loc, body, err := s.get(ctx, loc)
	if err != nil || status != http.StatusFound || loc != "/" {
		return fmt.Errorf("callback: %d to %q %v: %s", status, loc, err, body)
	}
	return nil
}

// runLoad signs in the sessions, then makes the requests in rounds. Before
// every round but the first the emulator clock passes the access tokens'
// expiry, so each session refreshes once per round (rotating its refresh
// token) and the total number of refreshes per round equals the number of
// sessions. Every request must be answered 200 for its own user.
func runLoad(t *testing.T, a *app) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a.srv.SetTokenLifetimes(accessTTL, accessTTL, 0)
	tr := &http.Transport{MaxIdleConns: 2 * parallel, MaxIdleConnsPerHost: 2 * parallel}
	t.Cleanup(tr.CloseIdleConnections)
	all := make([]*session, sessions)
	for i := range all {
		u := a.srv.AddUser(kindetest.User{Email: fmt.Sprintf("user%04d@load.example", i)})
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		all[i] = &session{userID: u.ID, client: &http.Client{Transport: tr, Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}

	var kindeMu sync.Mutex
	if err := forEach(ctx, all, func(ctx context.Context, s *session) error { return a.signIn(ctx, s, &kindeMu) }); err != nil {
		t.Fatalf("sign-in: %v", err)
	}

	perSession := requests / sessions
	var answered atomic.Int64
	for round := range rounds {
		perRound := perSession / rounds
		if round < perSession%rounds {
			perRound++
		}
		if round > 0 {
			a.srv.Advance(accessTTL + time.Minute)
		}
		before := a.srv.Requests("/oauth2/token")
		err := forEach(ctx, all, func(ctx context.Context, s *session) error {
			// A session's requests follow each other, as a browser's page
			// loads do; sessions run concurrently.
			for range perRound {
				status, _, body, err := s.get(ctx, a.url+"/me")
				if err != nil {
					return err
				}
				if status != http.StatusOK || body != "user="+s.userID {
					return fmt.Errorf("session of %s: %d %q", s.userID, status, body)
				}
				answered.Add(1)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		want := sessions
		if round == 0 {
			want = 0
		}
		if got := a.srv.Requests("/oauth2/token") - before; got != want {
			t.Fatalf("round %d: %d refresh requests, want %d (one per session)", round, got, want)
		}
	}
	if n := answered.Load(); n != requests {
		t.Fatalf("%d requests answered, want %d", n, requests)
	}
}

// forEach runs fn for every session, at most parallel at once, and returns
// the first error; after an error the remaining sessions are skipped.
func forEach(ctx context.Context, all []*session, fn func(context.Context, *session) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, s := range all {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, s); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

func TestLoadCookieSessions(t *testing.T) {
	runLoad(t, newApp(t, 1, func(*testing.T) kinde.Store { return nil }))
}

func TestLoadTwoInstancesRedis(t *testing.T) {
	prefix := fmt.Sprintf("kinde-load:%d:", time.Now().UnixNano())
	a := newApp(t, 2, func(t *testing.T) kinde.Store {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: parallel})
		t.Cleanup(func() { _ = rdb.Close() })
		return redisstore.New(rdb, redisstore.WithPrefix(prefix))
	})
	runLoad(t, a)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != sessions {
		t.Fatalf("%d sessions in Redis, want %d", len(keys), sessions)
	}
	if err := rdb.Del(context.Background(), keys...).Err(); err != nil {
		t.Fatal(err)
	}
}
