package bench

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// signIn runs a real sign-in through web's routes and the emulator and
// returns the session cookies the browser would then send.
func signIn(b testing.TB, f *fixture, w *kinde.Web) []*http.Cookie {
	b.Helper()
	h := w.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:8080/api/auth/login", nil))
	if rec.Code != http.StatusFound {
		b.Fatalf("login: %d", rec.Code)
	}
	flow := rec.Result().Cookies()
	resp, err := f.srv.Client().Get(rec.Header().Get("Location"))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasSuffix(cb.Path, "/kinde_callback") {
		b.Fatalf("authorize redirected to %q", resp.Header.Get("Location"))
	}
	req := httptest.NewRequest(http.MethodGet, "http://localhost:8080"+cb.RequestURI(), nil)
	for _, c := range flow {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusFound {
		b.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	var session []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, kinde.DefaultSessionCookie) && c.Value != "" {
			session = append(session, c)
		}
	}
	if len(session) == 0 {
		b.Fatal("no session cookie")
	}
	return session
}

// BenchmarkSessionMiddleware measures a request that carries an encrypted
// cookie session through the session middleware and RequireAuth: cookie
// reassembly, AES-GCM decryption, token decoding and the (cached) token
// verification.
func BenchmarkSessionMiddleware(b *testing.B) {
	f := getFixture(b)
	w := f.web(b, 0)
	cookies := signIn(b, f, w)
	size := 0
	for _, c := range cookies {
		size += len(c.Value)
	}
	b.ReportMetric(float64(size), "cookie-bytes")
	h := w.Middleware(w.RequireAuth()(okHandler))
	req := httptest.NewRequest(http.MethodGet, "http://localhost:8080/dashboard", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	out := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out.code = 0
		clear(out.h)
		h.ServeHTTP(out, req)
		if out.code != http.StatusNoContent {
			b.Fatalf("status %d", out.code)
		}
	}
}
