package kindetest

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
)

// NewCookieJar returns an http.CookieJar that keeps cookies per host and
// port. Browsers (and net/http/cookiejar) share cookies between ports of one
// host; in tests the app and the emulator usually both listen on 127.0.0.1,
// and their cookies must not mix.
func NewCookieJar() http.CookieJar { return &hostJar{jars: map[string]*cookiejar.Jar{}} }

type hostJar struct {
	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func (j *hostJar) jar(host string) *cookiejar.Jar {
	j.mu.Lock()
	defer j.mu.Unlock()
	jar, ok := j.jars[host]
	if !ok {
		jar, _ = cookiejar.New(nil) // never fails without options
		j.jars[host] = jar
	}
	return jar
}

// SetCookies implements http.CookieJar.
func (j *hostJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar(u.Host).SetCookies(u, cookies)
}

// Cookies implements http.CookieJar.
func (j *hostJar) Cookies(u *url.URL) []*http.Cookie { return j.jar(u.Host).Cookies(u) }
