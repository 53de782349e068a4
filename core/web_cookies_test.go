package kinde

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// countingExchange is an Exchange of another adapter that hands over its
// raw Cookie header, counting every read of it (a pass over the header).
type countingExchange struct {
	Exchange
	header  string
	passes  int
	cookies []*http.Cookie
}

func (x *countingExchange) CookieHeader() string { x.passes++; return x.header }

// Cookie is what the Fiber adapters do: the session middleware's view when
// it ran, else a lookup in the header.
func (x *countingExchange) Cookie(name string) (string, bool) {
	if r, ok := x.Context().(interface{ Cookie(string) (string, bool) }); ok {
		return r.Cookie(name)
	}
	x.passes++
	return cookieValue([]string{x.header}, name)
}

func (x *countingExchange) SetCookie(c *http.Cookie) { x.cookies = append(x.cookies, c) }

func (x *countingExchange) SetHeader(string, string) {}

func newCookieTestWeb(t testing.TB) *Web {
	t.Helper()
	w, err := NewWeb(WithConfig(Config{Domain: "https://example.kinde.com", ClientID: "client", ClientSecret: "secret",
		RedirectURL: "http://localhost:8080/api/auth/kinde_callback", SessionSecret: strings.Repeat("s", 40),
		Logger: slog.New(slog.DiscardHandler)}))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// hostileCookieHeader is a Cookie header of about size bytes: a forged,
// chunked session (which the web layer rejects and clears) followed by
// many small cookies.
func hostileCookieHeader(size int) string {
	var b strings.Builder
	b.WriteString("kinde_session=3.AAAAbm90IGEgc2Vzc2lvbg; kinde_session.1=AAAA; kinde_session.2=AAAA")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "; c%d=v", i)
	}
	return b.String()
}

// TestCookieHeaderReadOnce: a request with a rejected session cookie reads
// its Cookie header once, through the session middleware and the routes
// (issue 18 item 5: it was scanned 12-13 times).
func TestCookieHeaderReadOnce(t *testing.T) {
	w := newCookieTestWeb(t)
	base := httptest.NewRequest(http.MethodGet, "/api/auth/kinde_callback?state=AAAAAAAAAAAAAAAAAAAAAAAA&code=x", nil)
	x := &countingExchange{Exchange: NewHTTPExchange(httptest.NewRecorder(), base), header: hostileCookieHeader(4 << 10)}
	ctx, s := w.LoadContext(x)
	if s != nil {
		t.Fatal("a forged session was accepted")
	}
	if x.passes != 1 {
		t.Errorf("the session middleware read the Cookie header %d times; want 1", x.passes)
	}
	cleared := 0
	for _, c := range x.cookies {
		if strings.HasPrefix(c.Name, "kinde_session") && c.MaxAge < 0 {
			cleared++
		}
	}
	if cleared != 3 {
		t.Errorf("cleared %d session cookies; want the 3 the request carries", cleared)
	}
	// The callback route of the same request reads the state's view.
	rx := &countingExchange{Exchange: &routeExchange{Exchange: x.Exchange, ctx: ctx}, header: x.header}
	h, _ := w.Route(w.o.paths.Callback)
	h(rx)
	if rx.passes != 0 {
		t.Errorf("the callback read the Cookie header %d more times; want 0", rx.passes)
	}
}

type routeExchange struct {
	Exchange
	ctx context.Context
}

func (x *routeExchange) Context() context.Context { return x.ctx }

// TestCookieHeaderCaps: the web layer reads at most maxCookiesRead
// cookies and maxCookieHeaderBytes bytes of the header; what lies beyond is
// ignored.
func TestCookieHeaderCaps(t *testing.T) {
	w := newCookieTestWeb(t)
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "c%d=v; ", i)
		}
		return b.String()
	}
	tests := []struct {
		name   string
		header string
		want   bool
	}{
		{"first", "kinde_flow_x=1; " + many(1000), true},
		{"within the cookie cap", many(maxCookiesRead-1) + "kinde_flow_x=1", true},
		{"past the cookie cap", many(maxCookiesRead) + "kinde_flow_x=1", false},
		{"past the byte cap", "big=" + strings.Repeat("v", maxCookieHeaderBytes) + "; kinde_flow_x=1", false},
		{"cut by the byte cap", "big=" + strings.Repeat("v", maxCookieHeaderBytes-20) + "; kinde_flow_x=1234567890", false},
		{"quoted", `kinde_flow_x="1"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Cookie", tt.header)
			x := NewHTTPExchange(httptest.NewRecorder(), r)
			w.stateOf(x)
			v, ok := x.Cookie("kinde_flow_x")
			if ok != tt.want || ok && v != "1" {
				t.Errorf("Cookie = %q, %v; want found %v", v, ok, tt.want)
			}
		})
	}
}

func TestOwnCookie(t *testing.T) {
	w := newCookieTestWeb(t)
	for name, want := range map[string]bool{
		"kinde_session": true, "kinde_session.1": true, "kinde_session.12": true, "kinde_flow_abc": true,
		"kinde_session.": false, "kinde_session.x": false, "kinde_sessionx": false, "other": false, "": false,
	} {
		if got := w.ownCookie(name); got != want {
			t.Errorf("ownCookie(%q) = %v; want %v", name, got, want)
		}
	}
}

// TestAnonymousRequestAllocations: an anonymous request with the
// application's own cookies costs the session middleware the one
// allocation of its request state, as before.
func TestAnonymousRequestAllocations(t *testing.T) {
	w := newCookieTestWeb(t)
	h := w.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", "_ga=GA1.1.123; theme=dark; consent=yes")
	rw := httptest.NewRecorder()
	allocs := testing.AllocsPerRun(100, func() { h.ServeHTTP(rw, r) })
	if allocs > 3 { // the state, and r.WithContext's request
		t.Errorf("an anonymous request allocates %v times", allocs)
	}
}

func FuzzCookieJar(f *testing.F) {
	f.Add("kinde_session=a; kinde_session.1=b", "kinde_session.1")
	f.Add(`x="y"; ;;=; kinde_flow_z=`, "kinde_flow_z")
	w := newCookieTestWeb(f)
	f.Fuzz(func(t *testing.T, header, name string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = []string{header}
		x := NewHTTPExchange(httptest.NewRecorder(), r)
		w.stateOf(x)
		got, ok := x.Cookie(name)
		want, wok := cookieValue([]string{header}, name)
		if got != want || ok != wok {
			t.Fatalf("Cookie(%q) = %q, %v; a direct scan finds %q, %v", name, got, ok, want, wok)
		}
	})
}

// BenchmarkHostileCookieHeader is a request with a rejected session cookie
// and a 900 KB Cookie header through the session middleware.
func BenchmarkHostileCookieHeader(b *testing.B) {
	w := newCookieTestWeb(b)
	h := w.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", hostileCookieHeader(900<<10))
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
