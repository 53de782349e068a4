package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"

	kinde "github.com/gokinde/kinde/core"
	kindeecho "github.com/gokinde/kinde/echo"
	kindefiber "github.com/gokinde/kinde/fiber"
	kindegin "github.com/gokinde/kinde/gin"
)

// frontEnd builds the same app in one framework: GET /api/todos, either
// protected by the SDK's guard or not. The handler does a little realistic
// work (a JSON reply) so the throughput comparison is against a real route.
type frontEnd struct {
	name string
	// handler returns an http.Handler for net/http, Gin and Echo.
	handler func(w *kinde.Web, guard string, light bool) http.Handler
	// fiber returns a Fiber app for Fiber.
	fiber func(w *kinde.Web, guard string, light bool) *fiber.App
}

const todosJSON = `[{"id":1,"title":"Write the SDK","done":true},{"id":2,"title":"Benchmark it","done":false}]`

func writeTodos(w http.ResponseWriter, light bool) {
	if light {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, todosJSON)
}

// Guards a benchmark can ask for.
const (
	guardNone    = "none"
	guardBearer  = "bearer"
	guardSession = "session"
)

func frontEnds() []frontEnd {
	return []frontEnd{
		{name: "nethttp", handler: func(w *kinde.Web, guard string, light bool) http.Handler {
			var h http.Handler = http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { writeTodos(rw, light) })
			switch guard {
			case guardBearer:
				h = w.RequireBearer()(h)
			case guardSession:
				h = w.Middleware(w.RequireAuth()(h))
			}
			return h
		}},
		{name: "gin", handler: func(w *kinde.Web, guard string, light bool) http.Handler {
			gin.SetMode(gin.ReleaseMode)
			r := gin.New()
			h := func(c *gin.Context) { writeTodos(c.Writer, light) }
			switch guard {
			case guardBearer:
				r.Use(kindegin.Middleware(w))
				r.GET("/api/todos", kindegin.RequireBearer(), h)
			case guardSession:
				r.Use(kindegin.Middleware(w))
				r.GET("/api/todos", kindegin.RequireAuth(), h)
			default:
				r.GET("/api/todos", h)
			}
			return r
		}},
		{name: "echo", handler: func(w *kinde.Web, guard string, light bool) http.Handler {
			e := echo.New()
			h := func(c echo.Context) error { writeTodos(c.Response(), light); return nil }
			switch guard {
			case guardBearer:
				e.Use(kindeecho.Middleware(w))
				e.GET("/api/todos", h, kindeecho.RequireBearer())
			case guardSession:
				e.Use(kindeecho.Middleware(w))
				e.GET("/api/todos", h, kindeecho.RequireAuth())
			default:
				e.GET("/api/todos", h)
			}
			return e
		}},
		{name: "fiber", fiber: func(w *kinde.Web, guard string, light bool) *fiber.App {
			app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10, DisableStartupMessage: true})
			h := func(c *fiber.Ctx) error {
				if light {
					return c.SendStatus(http.StatusNoContent)
				}
				c.Set("Content-Type", "application/json")
				return c.SendString(todosJSON)
			}
			switch guard {
			case guardBearer:
				app.Use(kindefiber.Middleware(w))
				app.Get("/api/todos", kindefiber.RequireBearer(), h)
			case guardSession:
				app.Use(kindefiber.Middleware(w))
				app.Get("/api/todos", kindefiber.RequireAuth(), h)
			default:
				app.Get("/api/todos", h)
			}
			return app
		}},
	}
}

// BenchmarkRequireBearer is the SDK's bearer guard in each framework, in
// process without a network round trip: "baseline" is the same route
// without the guard, "hot" a token verified before, "cold" distinct tokens
// with the verified-token cache off. The route only answers 204, so the
// difference to the baseline is the guard's cost.
func BenchmarkRequireBearer(b *testing.B) {
	f := getFixture(b)
	for _, fe := range frontEnds() {
		for _, mode := range []string{"baseline", "hot", "cold"} {
			tokens, cache, guard := hot(f), 0, guardBearer
			switch mode {
			case "cold":
				tokens, cache = cold(f), -1
			case "baseline":
				guard = guardNone
			}
			b.Run(fe.name+"/"+mode, func(b *testing.B) {
				w := f.web(b, cache)
				if fe.fiber != nil {
					serveFiber(b, fe.fiber(w, guard, true), tokens)
					return
				}
				serve(b, fe.handler(w, guard, true), tokens)
			})
		}
	}
}

// BenchmarkResourceServer is BenchmarkRequireBearer for an API-only
// program: the web layer is kinde.ResourceServer() configured with the
// domain and the audience alone (what Register(r, kinde.ResourceServer())
// builds), with the same route, tokens and hot/cold method; its baseline is
// BenchmarkRequireBearer's. net/http uses web.RequireBearer() without the
// session middleware, the adapters the middleware and their RequireBearer.
func BenchmarkResourceServer(b *testing.B) {
	f := getFixture(b)
	for _, fe := range frontEnds() {
		for _, mode := range []string{"hot", "cold"} {
			tokens, cache := hot(f), 0
			if mode == "cold" {
				tokens, cache = cold(f), -1
			}
			b.Run(fe.name+"/"+mode, func(b *testing.B) {
				w := f.resourceServer(b, cache)
				if fe.fiber != nil {
					serveFiber(b, fe.fiber(w, guardBearer, true), tokens)
					return
				}
				serve(b, fe.handler(w, guardBearer, true), tokens)
			})
		}
	}
}

// resourceServer returns the web layer of an API-only program for the
// fixture. cacheSize < 0 disables the verified-token cache (cold path).
func (f *fixture) resourceServer(b testing.TB, cacheSize int) *kinde.Web {
	w, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{
		Domain: f.srv.URL(), Audience: []string{audience}, TokenCacheSize: cacheSize, Now: f.srv.Now,
	}))
	if err != nil {
		b.Fatal(err)
	}
	// Warm the key set so no benchmark pays for the JWKS fetch.
	if _, err := w.Client().VerifyAccessToken(context.Background(), f.token); err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkCookieSession is the session middleware plus RequireAuth in each
// framework, for a request carrying the encrypted cookie session of a real
// sign-in (about 4 KB of tokens).
func BenchmarkCookieSession(b *testing.B) {
	f := getFixture(b)
	for _, fe := range frontEnds() {
		b.Run(fe.name, func(b *testing.B) {
			w := f.web(b, 0)
			cookies := signIn(b, f, w)
			if fe.fiber != nil {
				serveFiberCookies(b, fe.fiber(w, guardSession, true), cookies)
				return
			}
			req := httptest.NewRequest(http.MethodGet, "http://localhost:8080/api/todos", nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			h := fe.handler(w, guardSession, true)
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
		})
	}
}

func serveFiberCookies(b *testing.B, app *fiber.App, cookies []*http.Cookie) {
	h := app.Handler()
	var header string
	for i, c := range cookies {
		if i > 0 {
			header += "; "
		}
		header += c.Name + "=" + c.Value
	}
	var ctx fasthttpCtx
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(http.MethodGet)
		ctx.Request.SetRequestURI("/api/todos")
		ctx.Request.Header.Set("Cookie", header)
		h(&ctx.RequestCtx)
		if code := ctx.Response.StatusCode(); code != http.StatusNoContent {
			b.Fatalf("status %d", code)
		}
	}
}

// BenchmarkThroughput serves the same route, protected by RequireBearer
// (hot token) and unprotected, over real loopback connections with
// concurrent keep-alive clients (b.RunParallel), for each framework. The
// ratio of the two is what a protected route costs in throughput.
func BenchmarkThroughput(b *testing.B) {
	f := getFixture(b)
	for _, fe := range frontEnds() {
		for _, guard := range []string{guardNone, guardBearer} {
			b.Run(fe.name+"/"+map[string]string{guardNone: "unprotected", guardBearer: "protected"}[guard], func(b *testing.B) {
				w := f.web(b, 0)
				url := startServer(b, fe, w, guard)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
				b.Cleanup(client.CloseIdleConnections)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					req, _ := http.NewRequest(http.MethodGet, url+"/api/todos", nil)
					req.Header.Set("Authorization", "Bearer "+f.token)
					for pb.Next() {
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
			})
		}
	}
}

// startServer serves the front end on a loopback port until the benchmark ends.
func startServer(b *testing.B, fe frontEnd, w *kinde.Web, guard string) string {
	if fe.fiber == nil {
		srv := httptest.NewServer(fe.handler(w, guard, false))
		b.Cleanup(srv.Close)
		return srv.URL
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	app := fe.fiber(w, guard, false)
	go func() { _ = app.Listener(ln) }()
	b.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}
