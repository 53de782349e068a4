package kinde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gokinde/kinde/core/internal/cookie"
)

// errNoSession means the request carries no session.
var errNoSession = errors.New("kinde: no session")

// errStoreFailed means the session store could not be read; the session may
// well be fine.
var errStoreFailed = errors.New("kinde: session store failed")

// errSwapLost means a compare-and-swap save found the stored session changed
// since it was read: another request (or instance) wrote it first.
var errSwapLost = errors.New("kinde: the stored session changed since it was read")

// storeTimeout bounds every call to the session store, so that a frozen
// store costs a request at most this long.
const storeTimeout = 2 * time.Second

// casStore is the optional method of a Store that lets a refresh never
// overwrite a newer session (see the Store documentation).
type casStore interface {
	CompareAndSwap(ctx context.Context, id string, old, new []byte, ttl time.Duration) (swapped bool, err error)
}

// compareAndSwapOf returns the compare-and-swap of s, or nil when it has none.
func compareAndSwapOf(s Store) func(ctx context.Context, id string, old, new []byte, ttl time.Duration) (bool, error) {
	switch s := s.(type) {
	case *MemoryStore:
		return s.compareAndSwap
	case casStore:
		return s.CompareAndSwap
	}
	return nil
}

func (w *Web) cookieOptions(x Exchange) cookie.Options {
	return cookie.Options{Path: "/", MaxAge: w.o.lifetime, Secure: w.secure(x), SameSite: http.SameSiteLaxMode}
}

// storeContext bounds one store call by storeTimeout.
func (w *Web) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, w.refreshes.storeTimeout)
}

// read returns the request's session and, for server-side stores, the
// session id and the record bytes as stored (for CompareAndSwap).
func (w *Web) read(x Exchange) (rec *sessionRecord, id string, raw []byte, err error) {
	if _, ok := x.Cookie(w.o.cookieName); !ok {
		return nil, "", nil, errNoSession // the common anonymous case, without allocating
	}
	now := w.c.cfg.Now()
	b, err := w.codec.Decode(w.o.cookieName, x.Cookie, now)
	if err != nil {
		if errors.Is(err, cookie.ErrNotFound) {
			return nil, "", nil, errNoSession
		}
		return nil, "", nil, err
	}
	if w.o.store != nil {
		id = string(b)
		if b, err = w.storeGet(x.Context(), id); err != nil {
			return nil, id, nil, err
		}
		raw = b
	}
	rec, err = w.decodeRecord(b)
	if err != nil {
		return nil, id, nil, err
	}
	return rec, id, raw, nil
}

// storeGet reads id from the store within storeTimeout.
func (w *Web) storeGet(ctx context.Context, id string) ([]byte, error) {
	sctx, cancel := w.storeContext(ctx)
	defer cancel()
	b, err := w.o.store.Get(sctx, id)
	if err != nil {
		if isSessionNotFound(err) {
			return nil, fmt.Errorf("%w: %w", errNoSession, err)
		}
		return nil, fmt.Errorf("%w: %w", errStoreFailed, err)
	}
	return b, nil
}

// decodeRecord decodes a session record (cookie payload or store value).
func (w *Web) decodeRecord(b []byte) (*sessionRecord, error) {
	t, err := decodeSession(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, cookie.ErrInvalid)
	}
	t.leeway, t.now = w.c.cfg.Leeway, w.c.cfg.Now
	return &sessionRecord{t: t}, nil
}

// save writes the session: into the session cookies, or into the store
// under id (a new random id when id is empty) with the id in the cookie.
// With old (the bytes read from the store) and a store that has
// CompareAndSwap, the write only happens when the store still holds old;
// otherwise save returns errSwapLost and writes nothing.
func (w *Web) save(x Exchange, rec *sessionRecord, id string, old []byte) error {
	b := encodeSession(rec.t)
	now := w.c.cfg.Now()
	opts := w.cookieOptions(x)
	if w.o.store != nil {
		if id == "" {
			id = randomString(32)
		}
		sctx, cancel := w.storeContext(x.Context())
		defer cancel()
		if cas := compareAndSwapOf(w.o.store); cas != nil && old != nil {
			swapped, err := cas(sctx, id, old, b, w.o.lifetime)
			if err != nil {
				return fmt.Errorf("kinde: store session: %w", err)
			}
			if !swapped {
				return errSwapLost
			}
		} else if err := w.o.store.Set(sctx, id, b, w.o.lifetime); err != nil {
			return fmt.Errorf("kinde: store session: %w", err)
		}
		b = []byte(id)
	}
	cookies, err := w.codec.Replace(w.o.cookieName, b, x.Cookie, opts, now)
	if err != nil {
		return err
	}
	if err := w.checkCookieBudget(x, cookies); err != nil {
		return err // never a session the server cannot read back
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
			sctx, cancel := w.storeContext(x.Context())
			if err := w.o.store.Delete(sctx, string(raw)); err != nil && !isSessionNotFound(err) {
				w.log.WarnContext(x.Context(), "kinde: deleting a session from the store failed", "error", err)
			}
			cancel()
		}
	}
	for _, c := range w.codec.ClearCookies(w.o.cookieName, x.Cookie, w.cookieOptions(x)) {
		x.SetCookie(c)
	}
}
