package kindefiber_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiberv3"
)

// defaultReadBuffer is fasthttp's default read buffer, which limits the
// whole request header block of a plain fiber.New() app; a larger block is
// answered 431.
const defaultReadBuffer = 4096

// browserHeaders are about 1.5 KB of headers a desktop Chromium sends on a
// page load besides cookies (user agent, client hints, Accept, Sec-Fetch-*,
// a Referer), with those a corporate proxy and a tracing front end add.
func browserHeaders(referer string) http.Header {
	h := http.Header{}
	for k, v := range map[string]string{
		"User-Agent":                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Accept":                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
		"Accept-Language":           "en-GB,en;q=0.9,en-US;q=0.8,de;q=0.7,fr;q=0.6,es;q=0.5,it;q=0.4,nl;q=0.3,pt;q=0.2,sv;q=0.1",
		"Accept-Encoding":           "gzip, deflate, br, zstd",
		"Cache-Control":             "max-age=0",
		"Sec-Ch-Ua":                 `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`,
		"Sec-Ch-Ua-Mobile":          "?0",
		"Sec-Ch-Ua-Platform":        `"Windows"`,
		"Sec-Fetch-Dest":            "document",
		"Sec-Fetch-Mode":            "navigate",
		"Sec-Fetch-Site":            "same-origin",
		"Sec-Fetch-User":            "?1",
		"Upgrade-Insecure-Requests": "1",
		"Priority":                  "u=0, i",
		"Referer":                   referer + "/projects/launch-plan/tasks?view=board&filter=assignee%3Ame&sort=-updated",
		"Traceparent":               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"Baggage":                   "userId=alice,serverNode=DF%2028,isProduction=false,tenant=acme-corporation,region=eu-west-1,experiment=checkout-v2",
		"X-Forwarded-For":           "203.0.113.195, 70.41.3.18, 150.172.238.178",
		"X-Request-Id":              "f058ebd6-02f7-4d3f-942e-904344e8cde5",
		"X-Amzn-Trace-Id":           "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=1",
		"X-Client-Data":             strings.Repeat("CIa2yQEIpbbJAQipncoBCN3jygEIk6HLAQiFoM0BCP", 4),
	} {
		h.Set(k, v)
	}
	return h
}

// analyticsCookies are the cookies (about 300 bytes) an analytics and a
// consent script leave on the app's site.
var analyticsCookies = []*http.Cookie{
	{Name: "_ga", Value: "GA1.1.1234567890.1718000000"},
	{Name: "_ga_3XYZ7ABCDE", Value: "GS1.1.1718000000.12.1.1718003600.0.0.0"},
	{Name: "_gid", Value: "GA1.2.987654321.1718000000"},
	{Name: "_fbp", Value: "fb.1.1718000000000.1234567890"},
	{Name: "_hjSessionUser_3456789", Value: "eyJpZCI6IjFhMmIzYzRkLTVlNmYtN2E4Yi05YzBkIiwiY3JlYXRlZCI6MTcxODAwMDAwMDAwMH0="},
	{Name: "ajs_anonymous_id", Value: "8f14e45f-ceea-467f-a0e6-9a1c2b3d4e5f"},
	{Name: "cookieconsent_status", Value: "allow"},
}

// headerRecorder records the largest Cookie header and the largest block of
// other headers the app receives.
type headerRecorder struct {
	mu     sync.Mutex
	cookie int // bytes of the largest Cookie header value
	other  int // bytes of the largest header block without its Cookie line
}

// handler is the recording middleware, installed before the adapter.
func (r *headerRecorder) handler(c fiber.Ctx) error {
	cookie := len(c.Get(fiber.HeaderCookie))
	other := len(c.Request().Header.RawHeaders())
	if cookie > 0 {
		other -= len("Cookie: \r\n") + cookie
	}
	r.mu.Lock()
	r.cookie, r.other = max(r.cookie, cookie), max(r.other, other)
	r.mu.Unlock()
	return c.Next()
}

// sizes returns the recorded sizes.
func (r *headerRecorder) sizes() (cookie, other int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cookie, r.other
}

// TestDefaultReadBuffer: a plain fiber.New() app (fasthttp's 4 KB read
// buffer) with the adapter installed by Register, or by Middleware with the
// sign-in routes mounted by the app, serves the demo admin, the demo member
// and the 62-permission user, signed in by a client sending a browser's
// headers and analytics cookies: the dashboard answers them, no answer is
// ever 431, the Cookie header stays within the buffer and sign-out works
// (issue 16 item 5; DECISIONS "Web completeness, Fiber out of the box").
// The listener is real: app.Test does not apply the read buffer.
func TestDefaultReadBuffer(t *testing.T) {
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	for _, mount := range []struct {
		name    string
		install func(t *testing.T, app *fiber.App, cfg kinde.Config)
	}{
		{"Register", func(t *testing.T, app *fiber.App, cfg kinde.Config) {
			if _, err := kindefiber.Register(app, kinde.WithConfig(cfg)); err != nil {
				t.Fatal(err)
			}
		}},
		{"Middleware", func(t *testing.T, app *fiber.App, cfg kinde.Config) {
			web, err := kinde.NewWeb(kinde.WithConfig(cfg))
			if err != nil {
				t.Fatal(err)
			}
			app.Use(kindefiber.Middleware(web))
			for _, p := range web.Routes() {
				app.Get(p, adaptor.HTTPHandler(web.Handler()))
			}
		}},
	} {
		for _, u := range []struct {
			name string
			user kindetest.User
		}{
			{"demo admin", demo.Alice},
			{"demo member", demo.Bob},
			{"62 permissions", demo.Olivia},
		} {
			t.Run(mount.name+"/"+u.name, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				appURL := "http://" + ln.Addr().String()
				cfg := conformance.Config(srv, appURL+kinde.DefaultPaths().Callback)
				app := fiber.New()
				var rec headerRecorder
				app.Use(rec.handler)
				mount.install(t, app, cfg)
				app.Get("/", func(c fiber.Ctx) error { return c.SendString("home") })
				app.Get("/dashboard", kindefiber.RequireAuth(), func(c fiber.Ctx) error {
					return c.SendString(kindefiber.SessionFrom(c).User().ID)
				})
				serve(t, app, ln)

				jar := kindetest.NewCookieJar()
				site, _ := url.Parse(appURL)
				jar.SetCookies(site, analyticsCookies)
				client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
					return http.ErrUseLastResponse
				}}
				header := browserHeaders(appURL)
				load := func(what, target string) kindetest.Hop {
					t.Helper()
					hops, offsite, err := kindetest.Browse(client, target, header, appURL, srv.URL())
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					for _, h := range hops {
						if h.Status == http.StatusRequestHeaderFieldsTooLarge {
							t.Fatalf("%s: %s answered 431", what, h.URL)
						}
					}
					if offsite != "" {
						t.Fatalf("%s: redirected off site to %s", what, offsite)
					}
					return hops[len(hops)-1]
				}

				srv.SignInAs(u.user.ID)
				t.Cleanup(func() { srv.SignInAs("") })
				last := load("sign in", appURL+"/dashboard")
				if last.Status != http.StatusOK || last.Body != u.user.ID {
					t.Fatalf("sign-in ended at %s with %d %q; want the dashboard with %s", last.URL, last.Status, last.Body, u.user.ID)
				}
				for i := range 2 {
					last = load("load the dashboard", appURL+"/dashboard")
					if last.URL.Path != "/dashboard" || last.Status != http.StatusOK || last.Body != u.user.ID {
						t.Fatalf("load %d after sign-in: %s answered %d %q; want 200 %s", i+1, last.URL, last.Status, last.Body, u.user.ID)
					}
				}
				cookie, other := rec.sizes()
				t.Logf("largest Cookie header %d bytes, other headers %d bytes", cookie, other)
				if cookie >= defaultReadBuffer {
					t.Errorf("the app received a %d-byte Cookie header; want under %d", cookie, defaultReadBuffer)
				}
				if other < 1400 {
					t.Errorf("the client sent at most %d bytes of headers besides cookies; the test wants about 1.5 KB", other)
				}

				srv.SignInAs("")
				if last = load("sign out", appURL+kinde.DefaultPaths().Logout); last.URL.String() != appURL+"/" || last.Status != http.StatusOK {
					t.Fatalf("sign-out ended at %s with %d; want the home page", last.URL, last.Status)
				}
				req, err := http.NewRequest(http.MethodGet, appURL+"/dashboard", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header = header.Clone()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther ||
					!strings.HasPrefix(loc, kinde.DefaultPaths().Login) && !strings.HasPrefix(loc, appURL+kinde.DefaultPaths().Login) {
					t.Errorf("the dashboard after sign-out answered %d to %q; want a redirect to sign-in", resp.StatusCode, loc)
				}
			})
		}
	}
}
