package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/redisstore"
	"github.com/redis/go-redis/v9"
)

const sessionSecret = "e2e-session-secret-0123456789-abcdefghijklmn"

// cluster is one public origin served by any of several application
// instances (each its own *kinde.Web), as behind a load balancer; serving
// selects which instance answers.
type cluster struct {
	t       *testing.T
	srv     *kindetest.Server
	demo    kindetest.Demo
	url     string
	prefix  string
	serving atomic.Pointer[http.Handler]
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	srv := kindetest.Start(t)
	c := &cluster{t: t, srv: srv, demo: srv.SeedDemo(),
		prefix: fmt.Sprintf("kinde-e2e:%s:%d:", t.Name(), time.Now().UnixNano())}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*c.serving.Load()).ServeHTTP(w, r)
	}))
	c.url = "http://" + ts.Listener.Addr().String()
	srv.AllowRedirectURI(srv.ClientID(), c.url+kinde.DefaultPaths().Callback)
	srv.AllowLogoutURI(srv.ClientID(), c.url+"/")
	c.serve(c.instance(redisAddr))
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(func() { c.deleteKeys() })
	return c
}

// instance starts a new application instance with its own Redis client for
// addr and its own *kinde.Web, sharing the session secret and key prefix.
func (c *cluster) instance(addr string) http.Handler {
	c.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	c.t.Cleanup(func() { _ = rdb.Close() })
	web, err := kinde.NewWeb(
		kinde.WithConfig(kinde.Config{
			Domain: c.srv.URL(), ClientID: c.srv.ClientID(), ClientSecret: c.srv.ClientSecret(),
			RedirectURL: c.url + kinde.DefaultPaths().Callback, PostLogoutRedirectURL: c.url + "/",
			SessionSecret: sessionSecret, Now: c.srv.Now, Logger: slog.New(slog.DiscardHandler),
		}),
		kinde.WithStore(redisstore.New(rdb, redisstore.WithPrefix(c.prefix))),
	)
	if err != nil {
		c.t.Fatal(err)
	}
	pages := http.NewServeMux()
	pages.Handle("/dashboard", web.RequireAuth()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "dashboard user=%s", kinde.SessionFrom(r.Context()).User().Email)
	})))
	pages.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s := kinde.SessionFrom(r.Context()); s != nil {
			fmt.Fprintf(w, "home: %s", s.User().Email)
			return
		}
		fmt.Fprint(w, "home: anonymous")
	})
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", web.Handler())
	mux.Handle("/", web.Middleware(pages))
	return mux
}

func (c *cluster) serve(h http.Handler) { c.serving.Store(&h) }

// keys returns the session keys in Redis.
func (c *cluster) keys() []string {
	c.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), c.prefix+"*").Result()
	if err != nil {
		c.t.Fatal(err)
	}
	return keys
}

func (c *cluster) deleteKeys() {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	for _, k := range c.keys() {
		if err := rdb.Del(context.Background(), k).Err(); err != nil {
			c.t.Errorf("delete %s: %v", k, err)
		}
	}
}

// browser follows redirects only between the app and the emulator.
type browser struct {
	t      *testing.T
	c      *cluster
	client *http.Client
}

func newBrowser(t *testing.T, c *cluster) *browser {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, c: c, client: &http.Client{
		Transport:     tr,
		Jar:           kindetest.NewCookieJar(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get loads path like a browser and returns the final status, URL and body.
func (b *browser) get(path string) (int, *url.URL, string) {
	b.t.Helper()
	hops, offsite, err := kindetest.Browse(b.client, b.c.url+path, http.Header{"Accept": {"text/html"}}, b.c.url, b.c.srv.URL())
	if err != nil {
		b.t.Fatal(err)
	}
	last := hops[len(hops)-1]
	if offsite != "" {
		b.t.Fatalf("%s redirected off-site to %s", last.URL, offsite)
	}
	return last.Status, last.URL, last.Body
}

func (b *browser) want(path, body string) {
	b.t.Helper()
	status, u, got := b.get(path)
	if status != http.StatusOK || !strings.Contains(got, body) {
		b.t.Fatalf("GET %s ended with %d at %s: %q; want 200 with %q", path, status, u, got, body)
	}
}

func TestRedisSessionsAcrossInstances(t *testing.T) {
	c := newCluster(t)
	b := newBrowser(t, c)
	alice := c.demo.Alice

	// Sign in through instance A.
	c.srv.SignInAs(alice.ID)
	b.want("/dashboard", "dashboard user="+alice.Email)
	if keys := c.keys(); len(keys) != 1 {
		t.Fatalf("%d sessions in Redis after sign-in, want 1", len(keys))
	}

	// Instance B, a separate *Web and Redis client, knows the session.
	instanceB := c.instance(redisAddr)
	c.serve(instanceB)
	b.want("/dashboard", "dashboard user="+alice.Email)

	// B refreshes the expired access token; a restarted instance C reads the
	// rotated tokens from Redis without another refresh.
	c.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
	calls := c.srv.Requests("/oauth2/token")
	b.want("/dashboard", "dashboard user="+alice.Email)
	c.serve(c.instance(redisAddr))
	b.want("/dashboard", "dashboard user="+alice.Email)
	if got := c.srv.Requests("/oauth2/token") - calls; got != 1 {
		t.Fatalf("%d token requests across instances, want 1", got)
	}

	// Sign out through B: the session is gone for every instance.
	c.serve(instanceB)
	b.want("/api/auth/logout", "home: anonymous")
	if keys := c.keys(); len(keys) != 0 {
		t.Fatalf("sessions left in Redis after sign-out: %v", keys)
	}
	c.serve(c.instance(redisAddr))
	b.want("/", "home: anonymous")
}

func TestRedisUnreachableKeepsSession(t *testing.T) {
	c := newCluster(t)
	b := newBrowser(t, c)
	c.srv.SignInAs(c.demo.Bob.ID)
	b.want("/dashboard", "dashboard user="+c.demo.Bob.Email)
	healthy := c.serving.Load()

	// An instance whose Redis cannot be reached treats the user as signed
	// out for now, but must not end the session.
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	c.serve(c.instance(dead))
	b.want("/", "home: anonymous")
	if b.sessionCookie() == "" {
		t.Fatal("an unreachable Redis deleted the session cookie")
	}

	c.serving.Store(healthy)
	signIns := c.srv.Requests("/oauth2/auth")
	b.want("/dashboard", "dashboard user="+c.demo.Bob.Email)
	if c.srv.Requests("/oauth2/auth") != signIns {
		t.Fatal("the user had to sign in again after the outage")
	}
}

// sessionCookie returns the value of the browser's session cookie, or "".
func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.c.url + "/")
	for _, ck := range b.client.Jar.Cookies(u) {
		if ck.Name == "kinde_session" {
			return ck.Value
		}
	}
	return ""
}

func TestRedisSessionRecord(t *testing.T) {
	c := newCluster(t)
	b := newBrowser(t, c)
	c.srv.SignInAs(c.demo.Alice.ID)
	b.want("/dashboard", "dashboard user="+c.demo.Alice.Email)
	keys := c.keys()
	if len(keys) != 1 {
		t.Fatalf("%d sessions in Redis, want 1", len(keys))
	}
	// The cookie holds a sealed session id, never the tokens; Redis holds
	// the tokens under an id that is not the cookie value.
	if ck := b.sessionCookie(); ck == "" || strings.Contains(keys[0], ck) {
		t.Fatalf("session cookie %q, Redis key %q: the cookie must hold a sealed id", ck, keys[0])
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	ttl, err := rdb.TTL(context.Background(), keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > (15*24*time.Hour) {
		t.Fatalf("session TTL %v, want within the session lifetime %v", ttl, (15 * 24 * time.Hour))
	}
	if err := rdb.Del(context.Background(), keys[0]).Err(); err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	b.want("/", "home: anonymous")
}

// Two instances sharing one Redis behind a round-robin balancer, across
// several short access-token lifetimes: no request sees the user signed
// out, and the refresh token stored in Redis only ever moves forward
// (issue 18, item 1). Before compare-and-swap, each instance wrote its own
// refresh result back and the stored refresh token flipped between them
// until Kinde refused one as rotated more than 30 s earlier.
//
// The instances keep the default 30 s clock leeway, so each refreshes a
// token once within the last 30 s of its life (Kinde hands back the same
// access token) and once more after it expired.
func TestRedisRefreshRoundRobin(t *testing.T) {
	const lifetime, tick = time.Minute, 3 * time.Second
	c := newCluster(t)
	c.srv.SetNow(time.Now())
	c.srv.SetTokenLifetimes(lifetime, lifetime, 0)
	instances := []http.Handler{*c.serving.Load(), c.instance(redisAddr)}
	b := newBrowser(t, c)
	c.srv.SignInAs(c.demo.Alice.ID)
	b.want("/dashboard", "dashboard user="+c.demo.Alice.Email)

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	seen := map[string]bool{}
	last := ""
	calls := c.srv.Requests("/oauth2/token")
	const steps = 200 // 10 lifetimes, 20 times Kinde's 30 s refresh grace
	for step := range steps {
		c.srv.Advance(tick)
		c.serve(instances[step%2])
		b.want("/", "home: "+c.demo.Alice.Email)
		keys := c.keys()
		if len(keys) != 1 {
			t.Fatalf("step %d: %d sessions in Redis, want 1", step, len(keys))
		}
		v, err := rdb.Get(context.Background(), keys[0]).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if rt := string(v); rt != last { // the record changes only with its tokens
			if seen[rt] {
				t.Fatalf("step %d: the stored session went back to an older one", step)
			}
			seen[rt], last = true, rt
		}
	}
	refreshes := c.srv.Requests("/oauth2/token") - calls
	lifetimes := int(steps * tick / lifetime)
	if max := (len(instances) + 1) * lifetimes; refreshes > max {
		t.Errorf("%d token calls in %d lifetimes, want at most %d", refreshes, lifetimes, max)
	}
	t.Logf("%d requests over 2 instances, %d token calls, 0 sign-outs", steps, refreshes)
}
