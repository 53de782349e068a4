package bench

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/valyala/fasthttp"
)

// BenchmarkFloor is the cost every RS256 verifier must pay: SHA-256 of the
// signing input and one RSA-2048 PKCS#1 v1.5 verification.
func BenchmarkFloor(b *testing.B) {
	f := getFixture(b)
	for _, mode := range []struct {
		name   string
		tokens func(int) string
	}{{"hot", hot(f)}, {"cold", cold(f)}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tok := mode.tokens(i)
				dot := strings.LastIndexByte(tok, '.')
				sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
				if err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256([]byte(tok[:dot]))
				if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGolangJWT parses and validates with golang-jwt v5.
func BenchmarkGolangJWT(b *testing.B) {
	f := getFixture(b)
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(f.issuer), jwt.WithAudience(audience),
		jwt.WithLeeway(30*time.Second), jwt.WithTimeFunc(f.srv.Now))
	keyFunc := func(*jwt.Token) (any, error) { return f.pub, nil }
	for _, mode := range []struct {
		name   string
		tokens func(int) string
	}{{"hot", hot(f)}, {"cold", cold(f)}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := p.Parse(mode.tokens(i), keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSDKVerify is the SDK's verifier without HTTP: hot hits the
// verified-token cache, cold has the cache switched off.
func BenchmarkSDKVerify(b *testing.B) {
	f := getFixture(b)
	ctx := context.Background()
	for _, mode := range []struct {
		name   string
		cache  int
		tokens func(int) string
	}{{"hot", 0, hot(f)}, {"cold", -1, cold(f)}} {
		b.Run(mode.name, func(b *testing.B) {
			c := f.client(b, mode.cache)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := c.VerifyAccessToken(ctx, mode.tokens(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPeerBearer runs each peer library's bearer-token middleware in
// its own framework, hot (the same token every time) and cold (distinct
// tokens), for comparison with BenchmarkRequireBearer.
func BenchmarkPeerBearer(b *testing.B) {
	f := getFixture(b)
	for _, mode := range []string{"hot", "cold"} {
		tokens := hot(f)
		if mode == "cold" {
			tokens = cold(f)
		}
		b.Run("nethttp/go-jwt-middleware/"+mode, func(b *testing.B) {
			v, err := validator.New(func(context.Context) (any, error) { return f.pub, nil }, validator.RS256, f.issuer,
				[]string{audience}, validator.WithAllowedClockSkew(30*time.Second))
			mustOK(err)
			serve(b, jwtmiddleware.New(v.ValidateToken).CheckJWT(okHandler), tokens)
		})
		b.Run("echo/echo-jwt/"+mode, func(b *testing.B) {
			e := echo.New()
			// echo-jwt checks only the signature and exp by default; a
			// ParseTokenFunc with golang-jwt's validators adds iss and aud.
			p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(f.issuer), jwt.WithAudience(audience),
				jwt.WithLeeway(30*time.Second))
			e.Use(echojwt.WithConfig(echojwt.Config{
				ParseTokenFunc: func(_ echo.Context, auth string) (any, error) {
					return p.Parse(auth, func(*jwt.Token) (any, error) { return f.pub, nil })
				},
			}))
			e.GET("/api/todos", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
			serve(b, e, tokens)
		})
		// gofiber/contrib/jwt has no issuer or audience option: it checks
		// the signature and exp only, so it does less work than the others.
		b.Run("fiber/contrib-jwt/"+mode, func(b *testing.B) {
			app := fiber.New()
			app.Use(jwtware.New(jwtware.Config{SigningKey: jwtware.SigningKey{JWTAlg: jwtware.RS256, Key: f.pub}}))
			app.Get("/api/todos", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
			serveFiber(b, app, tokens)
		})
	}
}

// serveFiber drives a Fiber app through its fasthttp handler, without a
// network connection, like serve does for net/http.
func serveFiber(b *testing.B, app *fiber.App, tokens func(int) string) {
	h := app.Handler()
	var ctx fasthttpCtx
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(http.MethodGet)
		ctx.Request.SetRequestURI("/api/todos")
		ctx.Request.Header.Set("Authorization", "Bearer "+tokens(i))
		h(&ctx.RequestCtx)
		if code := ctx.Response.StatusCode(); code >= 300 {
			b.Fatalf("status %d: %s", code, ctx.Response.Body())
		}
	}
}

// fasthttpCtx wraps the request context the Fiber benchmarks reuse.
type fasthttpCtx struct{ fasthttp.RequestCtx }
