package kindetest

import (
	"net/http"
	"net/url"
	"testing"
)

func TestCookieJarSeparatesPorts(t *testing.T) {
	jar := NewCookieJar()
	app, _ := url.Parse("http://127.0.0.1:8080/")
	emu, _ := url.Parse("http://127.0.0.1:8787/")
	jar.SetCookies(app, []*http.Cookie{{Name: "s", Value: "app"}})
	jar.SetCookies(emu, []*http.Cookie{{Name: "s", Value: "emulator"}})
	for _, tt := range []struct {
		u    *url.URL
		want string
	}{{app, "app"}, {emu, "emulator"}} {
		if got := jar.Cookies(tt.u); len(got) != 1 || got[0].Value != tt.want {
			t.Errorf("cookies of %s = %v, want one with %q", tt.u, got, tt.want)
		}
	}
}
