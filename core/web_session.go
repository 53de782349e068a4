package kinde

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gokinde/kinde/core/internal/cookie"
)

// errNoSession means the request carries no session.
var errNoSession = errors.New("kinde: no session")

// errStoreFailed means the session store could not be read; the session may
// well be fine.
var errStoreFailed = errors.New("kinde: session store failed")

// sessionRecord is a session as kept in the cookie or the store (see
// encodeSession for its bytes).
type sessionRecord struct {
	t          *Tokens
	created    time.Time // sign-in time (absolute max age)
	seen       time.Time // last stored activity (idle timeout)
	persistent bool      // false: browser-session cookie
}

// errSessionExpired means the session passed its idle timeout or its
// absolute maximum age: it ends.
var errSessionExpired = errors.New("kinde: the session has expired (idle timeout or maximum age); the user needs to sign in again")

// errSwapLost means another request (or instance) wrote the session in the
// store after this one read it: save wrote nothing.
var errSwapLost = errors.New("kinde: the session was changed by another request")

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

// storeContext bounds one store call by storeTimeout.
func (w *Web) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, w.refreshes.storeTimeout)
}

// decodeRecord decodes a session record (cookie payload or store value).
func (w *Web) decodeRecord(b []byte) (*sessionRecord, error) {
	rec, err := w.records.decode(b, w.c.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, cookie.ErrInvalid)
	}
	rec.t.leeway, rec.t.now = w.c.cfg.Leeway, w.c.cfg.Now
	return rec, nil
}

// touchMargin is how long beyond the clock leeway the access token must
// still be valid for an idle-timeout touch: no request refreshes the session
// meanwhile, so a touch never writes tokens older than a refresh's.
const touchMargin = time.Minute

// hostPrefix is the cookie name prefix that makes browsers refuse the
// cookie from anywhere but this host, over https, for path "/" (RFC 6265bis,
// "The __Host- Prefix"): a sibling subdomain cannot plant or overwrite it.
const hostPrefix = "__Host-"

// sessionCookieName returns the session cookie's name: with the __Host-
// prefix when the application is served over https (its redirect URL) and
// the cookie has no Domain.
func sessionCookieName(name, redirectURL, domain string) string {
	if domain == "" && strings.HasPrefix(strings.ToLower(redirectURL), "https://") {
		return hostPrefix + name
	}
	return name
}

func (w *Web) cookieOptions(x Exchange) cookie.Options {
	return cookie.Options{Path: "/", Domain: w.o.cookieDomain, Secure: w.secure(x), SameSite: http.SameSiteLaxMode}
}

// newRecord starts the record of a session signed in now. Its cookie is a
// browser-session cookie when SessionOptions.BrowserSession says so or when
// Kinde's access token carries ksp.persistent=false ("keep me signed in"
// off; Kinde's SDKs read the claim from the access token:
// kinde-typescript-sdk lib/sdk/utilities/token-utils.ts, kinde-auth-nextjs
// src/authMiddleware/authMiddleware.ts; /work/shared/reference/kinde-sdks.md, "Other SDKs").
func (w *Web) newRecord(t *Tokens) *sessionRecord {
	now := w.c.cfg.Now()
	return &sessionRecord{t: t, created: now, seen: now, persistent: !w.o.browserSession && kspPersistent(t.AccessToken)}
}

// kspPersistent reports the access token's ksp.persistent claim, true when
// it is absent (as Kinde's SDKs default it).
func kspPersistent(accessToken string) bool {
	_, rest, _ := strings.Cut(accessToken, ".")
	payload, _, _ := strings.Cut(rest, ".")
	if payload == "" {
		return true
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !bytes.Contains(b, []byte(`"ksp"`)) {
		return true
	}
	var c struct {
		KSP *struct {
			Persistent *bool `json:"persistent"`
		} `json:"ksp"`
	}
	if json.Unmarshal(b, &c) != nil || c.KSP == nil || c.KSP.Persistent == nil {
		return true
	}
	return *c.KSP.Persistent
}

// remaining is how long the session of rec may still last from now: until
// its idle timeout or its maximum age, whichever comes first.
func (w *Web) remaining(rec *sessionRecord, now time.Time) time.Duration {
	return min(rec.seen.Add(w.o.idleTimeout).Sub(now), rec.created.Add(w.o.maxAge).Sub(now))
}

// read returns the record of the request's session and, for server-side
// stores, the session id and the record's bytes as stored (for a
// compare-and-swap). A session past its idle timeout or maximum age is an
// error wrapping errSessionExpired. The record may be shared with other
// requests (see sessionCache): it must not be modified.
func (w *Web) read(x Exchange) (rec *sessionRecord, id string, raw []byte, err error) {
	if _, ok := x.Cookie(w.o.cookieName); !ok {
		return nil, "", nil, errNoSession // the common anonymous case, without allocating
	}
	now := w.c.cfg.Now()
	sealed, err := w.codec.Sealed(w.o.cookieName, x.Cookie)
	if err != nil {
		if errors.Is(err, cookie.ErrNotFound) {
			return nil, "", nil, errNoSession
		}
		return nil, "", nil, err
	}
	if w.o.store == nil {
		if rec = w.sessions.get(sealed, now); rec != nil {
			return w.live(rec, "", nil, now)
		}
	}
	b, until, err := w.codec.OpenUntil(w.o.cookieName, sealed, now)
	if err != nil {
		return nil, "", nil, err
	}
	key := sealed
	if w.o.store != nil {
		id = string(b)
		if b, err = w.storeGet(x.Context(), id); err != nil {
			return nil, id, nil, err
		}
		raw = b
		if rec = w.sessions.getBytes(b, now); rec != nil {
			return w.live(rec, id, raw, now)
		}
		key, until = "", time.Time{} // the entry is keyed by the record's bytes
	}
	if rec, err = w.decodeRecord(b); err != nil {
		return nil, id, nil, err
	}
	if len(b) > 0 && b[0] != sessionRecordV1 { // a version 1 record depends on the clock
		end := rec.seen.Add(w.o.idleTimeout)
		if e := rec.created.Add(w.o.maxAge); e.Before(end) {
			end = e
		}
		if until.IsZero() || end.Before(until) {
			until = end
		}
		if key == "" {
			key = string(b)
		}
		w.sessions.put(key, rec, until, now)
	}
	return w.live(rec, id, raw, now)
}

// live returns rec unless its session passed its idle timeout or maximum age.
func (w *Web) live(rec *sessionRecord, id string, raw []byte, now time.Time) (*sessionRecord, string, []byte, error) {
	if w.remaining(rec, now) <= 0 {
		return nil, id, nil, errSessionExpired
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

// save writes the session of rec, recording this request as its last
// activity (the record written is rec with seen set to now; rec itself is
// not modified, as it may be shared): into the session cookies, or into the store under id
// (a new random id when id is empty) with the id in the cookie. With old
// (the bytes read from the store) and a store that can compare and swap, the
// write happens only if the store still holds old; otherwise it returns
// errSwapLost. The cookie and the store entry last until the idle timeout
// or the maximum age, whichever comes first.
func (w *Web) save(x Exchange, rec *sessionRecord, id string, old []byte) error {
	now := w.c.cfg.Now()
	cur := *rec // rec may be shared (sessionCache)
	cur.seen = now
	ttl := w.remaining(&cur, now)
	if ttl <= 0 {
		return errSessionExpired
	}
	b := w.records.encode(&cur)
	opts := w.cookieOptions(x)
	opts.MaxAge = ttl
	opts.BrowserSession = !cur.persistent
	if w.o.store != nil {
		if id == "" {
			id = randomString(32)
		}
		if err := w.storeSession(x.Context(), id, old, b, ttl); err != nil {
			return err
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
	w.clearUnprefixed(x)
	x.SetHeader("Cache-Control", "private, no-store") // a response that sets a session cookie
	return nil
}

// storeSession writes b under id: compare-and-swap against old when there
// is an old record and the store can, otherwise Set.
func (w *Web) storeSession(ctx context.Context, id string, old, b []byte, ttl time.Duration) error {
	sctx, cancel := w.storeContext(ctx)
	defer cancel()
	if cas := compareAndSwapOf(w.o.store); cas != nil && old != nil {
		swapped, err := cas(sctx, id, old, b, ttl)
		if err != nil {
			return fmt.Errorf("kinde: store session: %w", err)
		}
		if !swapped {
			return errSwapLost
		}
		return nil
	}
	if err := w.o.store.Set(sctx, id, b, ttl); err != nil {
		return fmt.Errorf("kinde: store session: %w", err)
	}
	return nil
}

// touch records the activity of a request whose session was not saved
// otherwise, so that the idle timeout counts from the last request: at most
// once per tenth of the idle timeout, and only while the access token is far
// from expiry, so that no refresh can race the write (a touch rewrites the
// tokens it read).
func (w *Web) touch(x Exchange, rec *sessionRecord, id string, raw []byte) {
	now := w.c.cfg.Now()
	if now.Sub(rec.seen) < w.o.idleTimeout/10 || rec.t.expiresWithin(w.c.cfg.Leeway+touchMargin) {
		return
	}
	if err := w.save(x, rec, id, raw); err != nil && !errors.Is(err, errSwapLost) {
		w.log.WarnContext(x.Context(), "kinde: recording session activity failed", "error", err)
	}
}

// clearUnprefixed deletes the session cookies of the unprefixed name that
// this host wrote before the __Host- prefix was in use, so they do not
// weigh on every request until they expire. (A cookie a sibling subdomain
// planted for the parent domain cannot be deleted from here; it is never
// read either.)
func (w *Web) clearUnprefixed(x Exchange) {
	old, ok := strings.CutPrefix(w.o.cookieName, hostPrefix)
	if !ok {
		return
	}
	if _, ok := x.Cookie(old); !ok {
		return
	}
	for _, c := range w.codec.ClearCookies(old, x.Cookie, w.cookieOptions(x)) {
		x.SetCookie(c)
	}
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
	w.clearUnprefixed(x)
}
