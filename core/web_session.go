package kinde

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gokinde/kinde/core/internal/cookie"
)

// errNoSession means the request carries no session.
var errNoSession = errors.New("kinde: no session")

// errStoreFailed means the session store could not be read; the session may
// well be fine.
var errStoreFailed = errors.New("kinde: session store failed")

func (w *Web) cookieOptions(x Exchange) cookie.Options {
	return cookie.Options{Path: "/", MaxAge: w.o.lifetime, Secure: w.secure(x), SameSite: http.SameSiteLaxMode}
}

// read returns the tokens of the request's session and, for server-side
// stores, the session id.
func (w *Web) read(x Exchange) (*Tokens, string, error) {
	if _, ok := x.Cookie(w.o.cookieName); !ok {
		return nil, "", errNoSession // the common anonymous case, without allocating
	}
	now := w.c.cfg.Now()
	raw, err := w.codec.Decode(w.o.cookieName, x.Cookie, now)
	if err != nil {
		if errors.Is(err, cookie.ErrNotFound) {
			return nil, "", errNoSession
		}
		return nil, "", err
	}
	id := ""
	if w.o.store != nil {
		id = string(raw)
		if raw, err = w.o.store.Get(x.Context(), id); err != nil {
			if isSessionNotFound(err) {
				return nil, id, fmt.Errorf("%w: %w", errNoSession, err)
			}
			return nil, id, fmt.Errorf("%w: %w", errStoreFailed, err)
		}
	}
	t, err := decodeSession(raw)
	if err != nil {
		return nil, id, fmt.Errorf("%w: %w", err, cookie.ErrInvalid)
	}
	t.leeway, t.now = w.c.cfg.Leeway, w.c.cfg.Now
	return t, id, nil
}

// save writes the session: into the session cookies, or into the store
// under id (a new random id when id is empty) with the id in the cookie.
func (w *Web) save(x Exchange, t *Tokens, id string) error {
	b := encodeSession(t)
	now := w.c.cfg.Now()
	opts := w.cookieOptions(x)
	if w.o.store != nil {
		if id == "" {
			id = randomString(32)
		}
		if err := w.o.store.Set(x.Context(), id, b, w.o.lifetime); err != nil {
			return fmt.Errorf("kinde: store session: %w", err)
		}
		b = []byte(id)
	}
	cookies, err := w.codec.Replace(w.o.cookieName, b, x.Cookie, opts, now)
	if err != nil {
		return err
	}
	for _, c := range cookies {
		x.SetCookie(c)
	}
	x.SetHeader("Cache-Control", "private, no-store") // a response that sets a session cookie
	return nil
}

// destroy deletes the request's session (server-side record and cookies).
func (w *Web) destroy(x Exchange) {
	if w.o.store != nil {
		if raw, err := w.codec.Decode(w.o.cookieName, x.Cookie, w.c.cfg.Now()); err == nil {
			if err := w.o.store.Delete(x.Context(), string(raw)); err != nil && !isSessionNotFound(err) {
				w.log.WarnContext(x.Context(), "kinde: deleting a session from the store failed", "error", err)
			}
		}
	}
	for _, c := range w.codec.ClearCookies(w.o.cookieName, x.Cookie, w.cookieOptions(x)) {
		x.SetCookie(c)
	}
}
