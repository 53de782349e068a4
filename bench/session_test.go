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
		if strings.HasPrefix(c.Name, "kinde_session") && c.Value != "" {
			session = append(session, c)
		}
	}
	if len(session) == 0 {
		b.Fatal("no session cookie")
	}
	return session
}
