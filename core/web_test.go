package kinde_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

const (
	webTestSecret = "web-test-session-secret-0123456789-abcdefghij"
	webTestAPI    = "https://todo.example/api"
	aliceEmail    = "alice@example.com"
	bobEmail      = "bob@example.com"
)

// webApp is a net/http application that uses the web layer, served on a
// loopback test server, signing in at a Kinde emulator that shares its clock.
type webApp struct {
	t     *testing.T
	srv   *kindetest.Server
	demo  kindetest.Demo
	url   string
	store kinde.Store

	handler atomic.Pointer[http.Handler]
	web     atomic.Pointer[kinde.Web]
}

type webAppConfig struct {
	store     kinde.Store
	bigTokens bool // tokens large enough to need several session cookies
}

func newWebApp(t *testing.T, conf webAppConfig) *webApp {
	t.Helper()
	var opts []kindetest.Option
	if conf.bigTokens { // a long application property, which the token customization adds
		opts = append(opts, kindetest.WithTokenCustomization(kindetest.TokenCustomization{AppProperties: true}))
	}
	srv := kindetest.Start(t, opts...)
	a := &webApp{t: t, srv: srv, demo: srv.SeedDemo(), store: conf.store}
	if err := srv.SetUserFlag(a.demo.Alice.ID, "dark_mode", true); err != nil {
		t.Fatal(err)
	}
	if conf.bigTokens {
		// Sessions are compressed: only text without repeats needs chunks.
		rnd := rand.New(rand.NewPCG(1, 2))
		terms := make([]byte, 4500)
		for i := range terms {
			terms[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "[rnd.IntN(63)]
		}
		srv.SetProperty("terms", string(terms))
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*a.handler.Load()).ServeHTTP(w, r)
	}))
	a.url = "http://" + ts.Listener.Addr().String()
	srv.AllowRedirectURI(srv.ClientID(), a.url+kinde.DefaultPaths().Callback)
	srv.AllowLogoutURI(srv.ClientID(), a.url+"/")
	a.restart(webTestSecret)
	ts.Start()
	t.Cleanup(ts.Close)
	return a
}

func (a *webApp) config(secret string) kinde.Config {
	return kinde.Config{
		Domain:                a.srv.URL(),
		ClientID:              a.srv.ClientID(),
		ClientSecret:          a.srv.ClientSecret(),
		RedirectURL:           a.url + kinde.DefaultPaths().Callback,
		PostLogoutRedirectURL: a.url + "/",
		SessionSecret:         secret,
		Now:                   a.srv.Now,
		Logger:                slog.New(slog.DiscardHandler),
	}
}

// restart replaces the running application by a new one (a new *Web with the
// given session secret and the same store), as a deployment would.
func (a *webApp) restart(secret string) {
	a.t.Helper()
	opts := []kinde.WebOption{kinde.WithConfig(a.config(secret))}
	if a.store != nil {
		opts = append(opts, kinde.WithStore(a.store))
	}
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		a.t.Fatal(err)
	}
	var h http.Handler = newTestMux(web, a.demo)
	a.web.Store(web)
	a.handler.Store(&h)
}

func (a *webApp) client() *kinde.Client { return a.web.Load().Client() }

// newTestMux is the application: the auth routes plus pages behind each guard.
func newTestMux(web *kinde.Web, demo kindetest.Demo) http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := kinde.SessionFrom(r.Context())
		if s == nil {
			fmt.Fprint(w, "home: anonymous")
			return
		}
		fmt.Fprintf(w, "home: %s", s.User().Email)
	})
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := kinde.SessionFrom(r.Context())
		fmt.Fprintf(w, "page %s user=%s org=%s query=%s", r.URL.Path, s.User().Email, s.Organization().Code, r.URL.RawQuery)
	})
	pages.Handle("/dashboard", web.RequireAuth()(show))
	pages.Handle("/tokens", web.RequireAuth()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(kinde.SessionFrom(r.Context()).Tokens())
	})))
	pages.Handle("/admin", web.RequirePermission("delete:todos")(show))
	pages.Handle("/admin-role", web.RequireRole("admin")(show))
	pages.Handle("/globex", web.RequireOrg(demo.Globex.Code)(show))
	pages.Handle("/beta", web.RequireFlag("dark_mode")(show))
	pages.Handle("/alice-only", web.Require(func(s *kinde.Session) bool { return s.User().Email == aliceEmail })(show))

	api := http.NewServeMux()
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := kinde.SessionFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": s.UserID(), "org": s.Organization().Code})
	})
	api.Handle("/api/me", web.RequireBearer()(me))
	api.Handle("/api/todos", web.RequireBearer(kinde.VerifyAudience(webTestAPI))(me))

	mux := http.NewServeMux()
	mux.Handle("/api/auth/", web.Handler())
	mux.Handle("/api/me", api)
	mux.Handle("/api/todos", api)
	mux.Handle("/", web.Middleware(pages))
	return mux
}

// browser is a tiny browser: a cookie jar per host, page loads that send
// navigation headers, and redirects followed only between the app and the
// emulator. A redirect anywhere else is recorded, never followed.
type browser struct {
	t      *testing.T
	app    *webApp
	jar    http.CookieJar
	client *http.Client
}

// hop is one request a page load made.
type hop struct {
	URL      string
	Status   int
	Location string
	Header   http.Header
	Body     string
}

// page is the result of a page load.
type page struct {
	Status  int
	URL     *url.URL
	Body    string
	Header  http.Header
	Hops    []hop
	Offsite string // a redirect target outside the app and the emulator
}

func newBrowser(t *testing.T, a *webApp) *browser {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	jar := kindetest.NewCookieJar()
	return &browser{t: t, app: a, jar: jar, client: &http.Client{
		Transport:     tr,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var navigationHeaders = http.Header{
	"Accept":         {"text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"},
	"Sec-Fetch-Mode": {"navigate"},
}

var apiHeaders = http.Header{"Accept": {"application/json"}}

// do sends one request without following redirects.
func (b *browser) do(method, rawURL string, h http.Header) hop {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return hop{URL: rawURL, Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(body)}
}

// step loads rawURL as a page without following redirects.
func (b *browser) step(rawURL string) hop {
	b.t.Helper()
	return b.do(http.MethodGet, b.abs(rawURL), navigationHeaders)
}

// abs resolves paths against the app.
func (b *browser) abs(rawURL string) string {
	if strings.HasPrefix(rawURL, "/") {
		return b.app.url + rawURL
	}
	return rawURL
}

// get loads rawURL (a path of the app or an absolute URL) like a browser:
// it follows redirects between the app and the emulator.
func (b *browser) get(rawURL string) page {
	b.t.Helper()
	hops, offsite, err := kindetest.Browse(b.client, b.abs(rawURL), navigationHeaders, b.app.url, b.app.srv.URL())
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{Offsite: offsite}
	for _, h := range hops {
		p.Hops = append(p.Hops, hop{URL: h.URL.String(), Status: h.Status, Location: h.Location, Header: h.Header, Body: h.Body})
	}
	last := hops[len(hops)-1]
	p.Status, p.URL, p.Body, p.Header = last.Status, last.URL, last.Body, last.Header
	return p
}

// signIn signs the browser in as userID through the app's login route with
// the given query, and returns the page it lands on.
func (b *browser) signIn(userID, query string) page {
	b.t.Helper()
	b.app.srv.SignInAs(userID)
	u := "/api/auth/login"
	if query != "" {
		u += "?" + query
	}
	p := b.get(u)
	if p.Status != http.StatusOK || p.Offsite != "" {
		b.t.Fatalf("sign-in ended with status %d at %s (offsite %q): %s", p.Status, p.URL, p.Offsite, p.Body)
	}
	return p
}

// cookies returns the app's cookies in the jar for path.
func (b *browser) cookies(path string) []*http.Cookie {
	u, _ := url.Parse(b.app.url + path)
	return b.jar.Cookies(u)
}

// sessionCookies returns the session cookies (and chunks) in the jar.
func (b *browser) sessionCookies() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range b.cookies("/") {
		if c.Name == "kinde_session" || strings.HasPrefix(c.Name, "kinde_session"+".") {
			out = append(out, c)
		}
	}
	return out
}

// setSessionCookies replaces the app's session cookies by cookies.
func (b *browser) setSessionCookies(cookies []*http.Cookie) {
	u, _ := url.Parse(b.app.url + "/")
	var set []*http.Cookie
	for _, c := range b.sessionCookies() {
		set = append(set, &http.Cookie{Name: c.Name, Value: "", Path: "/", MaxAge: -1})
	}
	for _, c := range cookies {
		set = append(set, &http.Cookie{Name: c.Name, Value: c.Value, Path: "/"})
	}
	b.jar.SetCookies(u, set)
}

// tokens returns the tokens of the browser's session.
func (b *browser) tokens() kinde.Tokens {
	b.t.Helper()
	h := b.do(http.MethodGet, b.app.url+"/tokens", apiHeaders)
	if h.Status != http.StatusOK {
		b.t.Fatalf("GET /tokens: status %d: %s", h.Status, h.Body)
	}
	var tok kinde.Tokens
	if err := json.Unmarshal([]byte(h.Body), &tok); err != nil {
		b.t.Fatal(err)
	}
	return tok
}

// wantPage fails unless the page is 200 and its body contains want.
func wantPage(t *testing.T, p page, want string) {
	t.Helper()
	if p.Status != http.StatusOK || !strings.Contains(p.Body, want) {
		t.Fatalf("got status %d at %s with body %q; want 200 containing %q", p.Status, p.URL, p.Body, want)
	}
}

// wantSignedIn fails unless the browser's session is email's: /dashboard
// answers at once, without a trip through sign-in.
func (b *browser) wantSignedIn(email string) {
	b.t.Helper()
	h := b.do(http.MethodGet, b.app.url+"/dashboard", navigationHeaders)
	if h.Status != http.StatusOK || !strings.Contains(h.Body, "user="+email) {
		b.t.Fatalf("/dashboard answered %d (Location %q): %q; want 200 for %s", h.Status, h.Location, h.Body, email)
	}
}

// in returns the browser (same cookies) reporting failures to t, for use in
// subtests.
func (b *browser) in(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}
