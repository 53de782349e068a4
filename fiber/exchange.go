package kindefiber

import (
	"context"
	"net/http"
	"unsafe"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
)

// exchange is the kinde.Exchange of a Fiber request. Fiber reuses the
// buffers behind the request once the handler returns, so values are read
// from fasthttp's request as bytes and returned as copies (a string
// conversion copies), except Header and Cookie, which kinde.Exchange allows
// to share the request's memory.
type exchange struct{ c *fiber.Ctx }

var _ kinde.Exchange = exchange{}

func (x exchange) Context() context.Context { return x.c.UserContext() }

func (x exchange) Method() string { return string(x.c.Request().Header.Method()) }

// Path is fasthttp's decoded path.
func (x exchange) Path() string { return string(x.c.Request().URI().Path()) }

func (x exchange) RawQuery() string { return string(x.c.Request().URI().QueryString()) }

func (x exchange) Query(name string) string {
	return string(x.c.Context().QueryArgs().Peek(name))
}

// Header does not copy: kinde.Exchange allows it, and the web layer copies
// what it keeps (a 4 KB bearer token per request otherwise).
func (x exchange) Header(name string) string { return unsafeString(x.c.Request().Header.Peek(name)) }

// Cookie does not copy either (the web layer decrypts the value at once);
// an empty cookie counts as absent, which is how the web layer treats it.
// Once the session middleware has run, the web layer's cookies come from
// its one read of the Cookie header for the whole request (the request's
// context answers them); otherwise fasthttp parses the header.
func (x exchange) Cookie(name string) (string, bool) {
	if r, ok := x.c.UserContext().(cookieReader); ok {
		v, ok := r.Cookie(name)
		return v, ok && v != ""
	}
	v := x.c.Request().Header.Cookie(name)
	return unsafeString(v), len(v) > 0
}

// cookieReader is the request context the session middleware installs.
type cookieReader interface {
	Cookie(name string) (string, bool)
}

// CookieHeader is the raw Cookie header, without copying, for the web
// layer's single pass over it (found with an anonymous interface). Unlike
// Header("Cookie"), it does not make fasthttp parse every cookie.
func (x exchange) CookieHeader() string {
	return unsafeString(x.c.Request().Header.Peek(fiber.HeaderCookie))
}

// unsafeString views b as a string without copying. The result is valid only
// while fasthttp keeps the request, that is until the handler returns.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (x exchange) RemoteAddr() string { return x.c.Context().RemoteAddr().String() }

func (x exchange) IsTLS() bool { return x.c.Context().IsTLS() }

// SetCookie adds the cookie as net/http writes it, attributes and all
// (Max-Age=0 for a deletion, no SameSite for the default mode).
func (x exchange) SetCookie(c *http.Cookie) {
	if v := c.String(); v != "" {
		x.c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
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
