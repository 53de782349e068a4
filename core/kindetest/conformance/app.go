package conformance

import (
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// Demo is what the adapters' examples run against: an emulator seeded with
// kindetest's demo directory, and a loopback listener for the application.
type Demo struct {
	// Kinde is the emulator.
	Kinde *kindetest.Server
	// Users are the demo users and organizations (Alice, Bob, …).
	Users kindetest.Demo
	// Listener is where the application must serve.
	Listener net.Listener
	// URL is the application's base URL.
	URL string
}

// NewDemo starts a Demo; close it when done. Like httptest.NewServer, it
// panics when it cannot listen on a loopback port.
func NewDemo() *Demo {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("conformance: cannot listen on a loopback port: " + err.Error())
	}
	srv := kindetest.NewServer()
	return &Demo{Kinde: srv, Users: srv.SeedDemo(), Listener: ln, URL: "http://" + ln.Addr().String()}
}

// Option configures an application's web layer for the demo (see Config).
func (d *Demo) Option() kinde.WebOption {
	return kinde.WithConfig(Config(d.Kinde, d.URL+kinde.DefaultPaths().Callback))
}

// Close stops the emulator and closes the listener, if the application has
// not closed it yet.
func (d *Demo) Close() {
	_ = d.Listener.Close()
	d.Kinde.Close()
}

// Visit loads url as a browser navigates to a page: it follows redirects
// (through sign-in, see kindetest.Server.SignInAs), keeps cookies, and
// returns the final status and body.
func Visit(url string) (int, string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "text/html")
	return do(&http.Client{Jar: jar, Timeout: 30 * time.Second}, req)
}

// CallAPI sends an API request with the bearer token (none when token is
// "") and returns the status and body.
func CallAPI(method, url, token string) (int, string, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(&http.Client{Timeout: 30 * time.Second}, req)
}

func do(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	c.CloseIdleConnections()
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// signingKey is shared by every emulator of a test binary: generating an
// RSA key per scenario would dominate the run time.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})
