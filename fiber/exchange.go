package kindefiber

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
)

// exchange is the kinde.Exchange of a Fiber request. Fiber hands out
// strings that point into fasthttp's reused buffers, so every string it
// returns is a copy.
type exchange struct{ c *fiber.Ctx }

var _ kinde.Exchange = exchange{}

func (x exchange) Context() context.Context { return x.c.UserContext() }

func (x exchange) Method() string { return strings.Clone(x.c.Method()) }

// Path is fasthttp's decoded path (string conversion copies it).
func (x exchange) Path() string { return string(x.c.Request().URI().Path()) }

func (x exchange) RawQuery() string { return string(x.c.Request().URI().QueryString()) }

func (x exchange) Query(name string) string { return strings.Clone(x.c.Query(name)) }

// Header does not copy: kinde.Exchange allows it, and the web layer copies
// what it keeps (a 4 KB bearer token per request otherwise).
func (x exchange) Header(name string) string { return unsafeString(x.c.Request().Header.Peek(name)) }

// Cookie does not copy either (the web layer decrypts the value at once);
// an empty cookie counts as absent, which is how the web layer treats it.
func (x exchange) Cookie(name string) (string, bool) {
	v := x.c.Request().Header.Cookie(name)
	return unsafeString(v), len(v) > 0
}

// unsafeString views b as a string without copying. The result is valid only
// while fasthttp keeps the request, that is until the handler returns.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (x exchange) RemoteAddr() string { return x.c.Context().RemoteAddr().String() }

func (x exchange) IsTLS() bool { return x.c.Context().IsTLS() }

func (x exchange) SetCookie(c *http.Cookie) {
	expires := c.Expires
	if c.MaxAge < 0 && expires.IsZero() {
		expires = time.Unix(0, 0) // net/http's Max-Age=0: delete now
	}
	x.c.Cookie(&fiber.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain, MaxAge: c.MaxAge,
		Expires: expires, Secure: c.Secure, HTTPOnly: c.HttpOnly, SameSite: sameSite(c.SameSite)})
}

// sameSite names a SameSite mode as Fiber does; like net/http, the default
// mode writes no attribute.
func sameSite(s http.SameSite) string {
	switch s {
	case http.SameSiteLaxMode:
		return fiber.CookieSameSiteLaxMode
	case http.SameSiteStrictMode:
		return fiber.CookieSameSiteStrictMode
	case http.SameSiteNoneMode:
		return fiber.CookieSameSiteNoneMode
	}
	return fiber.CookieSameSiteDisabled
}

func (x exchange) SetHeader(name, value string) { x.c.Set(name, value) }

func (x exchange) Redirect(status int, location string) {
	x.c.Set(fiber.HeaderCacheControl, "no-store")
	_ = x.c.Redirect(location, status)
}

func (x exchange) Write(status int, contentType string, body []byte) {
	x.c.Set(fiber.HeaderContentType, contentType)
	x.c.Set(fiber.HeaderCacheControl, "no-store")
	x.c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	_ = x.c.Status(status).Send(body)
}
