package browser

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// TestFiberDefaultReadBuffer: a Fiber app built with a plain fiber.New()
// (4 KB read buffer) and kindefiber.Register(app), in Chromium sending
// about 1.5 KB of other headers, signs in the demo admin and a user with
// 62 permissions and loads a dashboard behind RequireAuth, twice. The
// server never answers 431 (issue 16 item 5, DECISIONS "Fiber out of the
// box"): a session that fits is served; one that does not is refused at
// sign-in with a page naming the fixes, and nothing is written.
func TestFiberDefaultReadBuffer(t *testing.T) {
	exe := findChromium(t)
	srv := kindetest.Start(t)
	demo := srv.SeedDemo()
	var keys []string
	for i := range 62 {
		p := srv.AddPermission(kindetest.Permission{Key: fmt.Sprintf("todos:%02d:manage", i), Name: fmt.Sprintf("Permission %d", i)})
		keys = append(keys, p.Key)
	}
	role := srv.AddRole(kindetest.Role{Key: "owner", Name: "Owner", Permissions: keys})
	many := srv.AddUser(kindetest.User{Email: "olivia@example.com", GivenName: "Olivia", FamilyName: "Owner"})
	if err := srv.AddMember(demo.Acme.Code, many.ID, role.Key); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	srv.AllowRedirectURI(srv.ClientID(), appURL+kinde.DefaultPaths().Callback)
	app := fiber.New()
	var mu sync.Mutex
	headerBytes := 0 // the largest request header block the app received
	app.Use(func(c *fiber.Ctx) error {
		mu.Lock()
		headerBytes = max(headerBytes, len(c.Request().Header.RawHeaders()))
		mu.Unlock()
		return c.Next()
	})
	if _, err := kindefiber.Register(app, kinde.WithConfig(kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: appURL + kinde.DefaultPaths().Callback, SessionSecret: strings.Repeat("fiber-default-", 4),
		Now: srv.Now, Logger: slog.New(slog.DiscardHandler),
	})); err != nil {
		t.Fatal(err)
	}
	app.Get("/dashboard", kindefiber.RequireAuth(), func(c *fiber.Ctx) error {
		s := kindefiber.SessionFrom(c)
		c.Type("html")
		return c.SendString(fmt.Sprintf(`<h1 id="dashboard">Dashboard</h1><p id="email">%s</p><p id="permissions">%d</p>`,
			s.User().Email, len(s.Permissions().Keys)))
	})
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })

	for _, u := range []struct {
		name        string
		user        kindetest.User
		permissions int
	}{
		{"demo admin", demo.Alice, 4},
		{"62 permissions", many, 62},
	} {
		t.Run(u.name, func(t *testing.T) {
			b := newBrowser(t, exe)
			var statuses sync.Map // URL → status of every response from the app
			if err := chromedp.Listen(b.ctx, func(ev any) {
				if e, ok := ev.(*network.EventResponseReceived); ok && strings.HasPrefix(e.Response.URL, appURL) {
					statuses.Store(e.Response.URL, e.Response.Status)
				}
			}); err != nil {
				t.Fatal(err)
			}
			// Headers a browser behind a corporate proxy and a tracing
			// front end sends besides its own (Chromium adds about 700
			// bytes: user agent, client hints, Accept, Sec-Fetch-*).
			extra := network.Headers{
				"Accept-Language": "en-GB,en;q=0.9,en-US;q=0.8,de;q=0.7,fr;q=0.6,es;q=0.5,it;q=0.4,nl;q=0.3,pt;q=0.2,sv;q=0.1",
				"Traceparent":     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				"Baggage":         "userId=alice,serverNode=DF%2028,isProduction=false,tenant=acme-corporation,region=eu-west-1,experiment=checkout-v2",
				"X-Forwarded-For": "203.0.113.195, 70.41.3.18, 150.172.238.178",
				"X-Request-Id":    "f058ebd6-02f7-4d3f-942e-904344e8cde5",
				"X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=1",
				"X-Client-Data":   strings.Repeat("CIa2yQEIpbbJAQipncoBCN3jygEIk6HLAQiFoM0BCP", 7),
			}
			if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: extra}); err != nil {
				t.Fatal(err)
			}
			srv.SignInAs(u.user.ID)
			for i := range 2 { // the sign-in, then a page load with the session cookies
				b.do("load the dashboard", chromedp.Navigate(appURL+"/dashboard"))
				text := get(b, "read the page", chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
				statuses.Range(func(k, v any) bool {
					if v.(int64) == 431 {
						t.Fatalf("the app answered 431 to %s", k)
					}
					return true
				})
				if !strings.Contains(text, u.user.Email) {
					if strings.Contains(text, "WithStore") && strings.Contains(text, "ReadBufferSize") {
						t.Fatalf("load %d: sign-in refused: the session does not fit Fiber's default read buffer (never a 431): %q", i+1, text)
					}
					t.Fatalf("load %d: the dashboard shows %q; want %s", i+1, text, u.user.Email)
				}
				if got := b.text("permissions"); got != fmt.Sprint(u.permissions) {
					t.Errorf("dashboard shows %s permissions; want %d", got, u.permissions)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			t.Logf("largest request header block: %d bytes", headerBytes)
			if headerBytes < 1400 {
				t.Errorf("the browser sent at most %d bytes of headers; the test wants about 1.5 KB besides cookies", headerBytes)
			}
		})
	}
}
