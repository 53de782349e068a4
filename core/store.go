package kinde

import (
	"github.com/gokinde/kinde/core/internal/cookie"

	"context"
	"errors"
	"time"
)

// Store keeps server-side sessions: an opaque value under a random session id, for
// a limited time. The default session layer needs no Store (it keeps the whole
// session in encrypted cookies, see [cookieCodec]); a Store lets sessions stay on
// the server, so cookies stay small and sessions can be revoked.
//
// [MemoryStore] suits a single instance; the separate module
// github.com/gokinde/kinde/redisstore suits several. Any type with these three
// methods is a Store; it need not import this package.
//
// Implementations must be safe for concurrent use by multiple goroutines, and must
// not retain the slice passed to Set nor hand out their internal storage from Get:
// Set copies the value (or encodes it elsewhere), and Get returns a slice the caller
// owns. They must return when ctx ends: the web layer gives each call a 2 s
// deadline, so that a frozen store costs a request at most that long.
//
// A Store may also have this method, which the web layer uses when it saves a
// refreshed session:
//
//	CompareAndSwap(ctx context.Context, id string, old, new []byte, ttl time.Duration) (swapped bool, err error)
//
// It stores new under id for ttl only when the store holds exactly old there (not
// when id is missing or expired), atomically, and reports whether it did. With it,
// when several instances refresh one session at the same moment, the first write
// wins and the others use what it stored, so an older refresh token never replaces
// a newer one. redisstore has it, and the web layer uses [MemoryStore]'s own. Without it the web layer uses
// Set, and NewWeb logs once that refreshes by several instances may race.
type Store interface {
	// Get returns the value stored under id. When id is missing or its time to
	// live has passed, Get returns an error for which [isSessionNotFound] reports
	// true (for this package's stores, errors.Is(err, ErrSessionNotFound) holds).
	Get(ctx context.Context, id string) ([]byte, error)

	// Set stores value under id for ttl, replacing any previous value. The ttl
	// must be positive; stores return an error otherwise.
	Set(ctx context.Context, id string, value []byte, ttl time.Duration) error

	// Delete removes id. Deleting an id that is not there is not an error.
	Delete(ctx context.Context, id string) error
}

// ErrSessionNotFound is returned (wrapped) by a [Store] when a session id is
// unknown or has expired, and by [cookieCodec.Decode] when the request carries no
// session cookie. Callers treat it as "not signed in"; test for it with
// [isSessionNotFound], which also recognises the errors of stores in other modules.
//
// Besides errors.Is, the error has a NotFound method that returns true: that is
// the contract stores outside this package follow, as they cannot refer to this
// variable.
var ErrSessionNotFound error = sessionNotFoundError{}

type sessionNotFoundError struct{}

func (sessionNotFoundError) Error() string {
	return "kinde: session not found or expired; the user needs to sign in again"
}

// NotFound reports true: the session does not exist.
func (sessionNotFoundError) NotFound() bool { return true }

// errInvalidTTL is returned (wrapped) by [MemoryStore.Set] when the time to live is
// zero or negative.
var errInvalidTTL = errors.New("kinde: session time to live must be positive; pass the session lifetime, for example 24*time.Hour")

// isSessionNotFound reports whether err means that a session does not exist or has
// expired: errors.Is(err, ErrSessionNotFound) holds, or some error in its chain has a
// NotFound() bool method that returns true (the contract followed by stores in other
// modules, such as redisstore).
func isSessionNotFound(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrSessionNotFound) {
		return true
	}
	var nf interface{ NotFound() bool }
	return errors.As(err, &nf) && nf.NotFound()
}

// ErrSessionTooLarge means a session does not fit in the cookies a browser
// keeps: keep sessions server-side (WithStore: NewMemoryStore for one
// instance, redisstore for several) or request fewer scopes and claims.
var ErrSessionTooLarge = cookie.ErrTooLarge

// GenerateSecret returns a new random session secret (64 characters of
// URL-safe base64) for KINDE_SESSION_SECRET.
func GenerateSecret() (string, error) { return cookie.GenerateSecret() }
