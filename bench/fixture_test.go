package bench

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// audience is the API audience every token carries and every verifier checks.
const audience = "https://api.example.com"

// poolSize is how many distinct tokens the cold benchmarks cycle through.
const poolSize = 256

// fixture is one emulator, one signing key and a pool of valid tokens, shared
// by every benchmark of a run so all libraries verify the same bytes.
type fixture struct {
	srv    *kindetest.Server
	pub    *rsa.PublicKey
	kid    string
	issuer string
	token  string   // the token of the hot benchmarks
	pool   []string // distinct tokens for the cold benchmarks
}

var (
	fixOnce sync.Once
	fix     *fixture
)

// getFixture builds the shared fixture once per test binary. The emulator's
// clock is frozen so tokens never expire during a run.
func getFixture(b testing.TB) *fixture {
	fixOnce.Do(func() {
		srv := kindetest.NewServer(kindetest.WithNow(time.Now()))
		user := srv.AddUser(kindetest.User{Email: "bench@example.com", GivenName: "Bench"})
		org := srv.AddOrganization(kindetest.Organization{Name: "Bench"})
		// Enough permissions to make a realistic, large session (about 4 KB
		// of tokens) for the cookie-session benchmark.
		perms := []string{"read:todos", "create:todos"}
		for i := range 60 {
			perms = append(perms, fmt.Sprintf("read:resource_%02d", i))
		}
		srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: perms})
		srv.AllowRedirectURI(srv.ClientID(), "http://localhost:8080/api/auth/kinde_callback")
		srv.SignInAs(user.ID)
		if err := srv.AddMember(org.Code, user.ID, "admin"); err != nil {
			panic(err)
		}
		keys := srv.PublicKeys()
		f := &fixture{srv: srv, pub: keys[len(keys)-1].Key, kid: srv.KeyID(), issuer: srv.Issuer()}
		mint := func() string {
			t, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{Audience: []string{audience}})
			if err != nil {
				panic(err)
			}
			return t.AccessToken
		}
		f.token = mint()
		for range poolSize {
			f.pool = append(f.pool, mint())
		}
		fix = f
	})
	return fix
}

// client returns an SDK client for the fixture. cacheSize < 0 disables the
// verified-token cache (cold path).
func (f *fixture) client(b testing.TB, cacheSize int) *kinde.Client {
	c, err := kinde.New(kinde.Config{
		Domain: f.srv.URL(), ClientID: f.srv.ClientID(), ClientSecret: f.srv.ClientSecret(),
		RedirectURL: "http://localhost:8080/api/auth/kinde_callback", Audience: []string{audience},
		SessionSecret: "bench-secret-bench-secret-bench-secret-0123", TokenCacheSize: cacheSize,
		Now: f.srv.Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	// Warm the key set so no benchmark pays for the JWKS fetch.
	if _, err := c.VerifyAccessToken(context.Background(), f.token); err != nil {
		b.Fatal(err)
	}
	return c
}

func (f *fixture) web(b testing.TB, cacheSize int) *kinde.Web {
	w, err := kinde.NewWeb(kinde.WithClient(f.client(b, cacheSize)))
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// okHandler is the protected handler of every benchmark.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

// nopWriter is a ResponseWriter that discards everything, so benchmarks
// measure the middleware rather than a recorder.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }

func newRequest(token string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, "http://localhost/api/todos", nil)
	if err != nil {
		panic(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// serve runs h on requests carrying tokens(i) and fails on any non-2xx.
func serve(b *testing.B, h http.Handler, tokens func(i int) string) {
	reqs := make([]*http.Request, 0, poolSize)
	for i := range poolSize {
		reqs = append(reqs, newRequest(tokens(i)))
	}
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w.code = 0
		clear(w.h)
		h.ServeHTTP(w, reqs[i%poolSize])
		if w.code >= 300 {
			b.Fatalf("status %d", w.code)
		}
	}
}

func hot(f *fixture) func(int) string  { return func(int) string { return f.token } }
func cold(f *fixture) func(int) string { return func(i int) string { return f.pool[i%poolSize] } }

func mustOK(err error) {
	if err != nil {
		panic(fmt.Sprintf("bench setup: %v", err))
	}
}
