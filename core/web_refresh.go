package kinde

import (
	"context"
	"errors"
	"sync"
	"time"
)

// load returns the session of the request, or nil when the user is not
// signed in. It refreshes the access token when it is about to expire (one
// refresh per session however many requests arrive together) and saves the
// rotated tokens. When the refresh token is rejected the session is ended
// quietly and the request continues as anonymous.
func (w *Web) load(x Exchange) *Session {
	if w.o.resource {
		return nil // an API's requests carry no session cookie
	}
	ctx := x.Context()
	t, id, err := w.read(x)
	if err != nil {
		switch {
		case errors.Is(err, errStoreFailed):
			// Keep the cookie: the session is still there once the store is back.
			w.log.WarnContext(ctx, "kinde: reading the session store failed; treating the request as signed out", "error", err)
		case !errors.Is(err, errNoSession):
			w.c.debug(ctx, "session cookie rejected", "error", err)
			w.destroy(x)
		case id != "":
			w.destroy(x) // the store no longer knows this id
		}
		return nil
	}
	if !w.c.cfg.DisableAutoRefresh && t.RefreshToken != "" && t.expiresWithin(w.o.refreshBefore) {
		nt, err := w.refreshes.do(ctx, t, func(ctx context.Context) (*Tokens, error) {
			return w.c.Refresh(ctx, t)
		}, w.c.cfg.Now())
		switch {
		case err == nil:
			t = nt
			if err := w.save(x, t, id); err != nil {
				w.log.WarnContext(ctx, "kinde: saving refreshed tokens failed", "error", err)
			}
		case errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrInvalidClient):
			w.log.InfoContext(ctx, "kinde: refresh token rejected; the session ends", "error", err)
			w.destroy(x)
			return nil
		default:
			w.log.WarnContext(ctx, "kinde: refreshing the session failed; will retry", "error", err)
			if t.Expired() {
				return nil
			}
		}
	}
	s, err := w.c.storedSession(ctx, t)
	if err != nil {
		if errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrKeySetUnavailable) || errors.Is(err, context.Canceled) {
			return nil
		}
		w.c.debug(ctx, "stored tokens rejected; the session ends", "error", err)
		w.destroy(x)
		return nil
	}
	// A signed-in page is this user's own: no shared cache may keep it,
	// nor a browser's back-forward cache show it after sign-out. Handlers
	// may set another Cache-Control for responses that are safe to cache.
	x.SetHeader("Cache-Control", "private, no-store")
	return s
}

// refreshGroup makes concurrent refreshes of one session share one call to
// Kinde, and remembers each result for a while so that requests still
// carrying the old tokens get the new ones without asking again. Results are
// keyed by the access token being replaced: every request of a session
// carries it until the refresh has landed in the browser (or the store).
//
// Kinde answers a refresh with the same access token while that token has
// not expired yet. Such a result is remembered until that token's expiry, so
// the last minute before expiry costs one refresh, not one per request.
type refreshGroup struct {
	mu     sync.Mutex
	calls  map[string]*refreshCall
	recent map[string]recentRefresh
}

type refreshCall struct {
	done chan struct{}
	t    *Tokens
	err  error
}

type recentRefresh struct {
	t       *Tokens
	expires time.Time
}

// recentRefreshTTL matches Kinde's grace period for a rotated refresh token.
const (
	recentRefreshTTL = 30 * time.Second
	recentRefreshMax = 10000
)

func newRefreshGroup() *refreshGroup {
	return &refreshGroup{calls: map[string]*refreshCall{}, recent: map[string]recentRefresh{}}
}

func (g *refreshGroup) do(ctx context.Context, old *Tokens, fn func(context.Context) (*Tokens, error), now time.Time) (*Tokens, error) {
	key := old.AccessToken
	g.mu.Lock()
	if r, ok := g.recent[key]; ok && now.Before(r.expires) {
		g.mu.Unlock()
		return r.t, nil
	}
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.t, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &refreshCall{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()

	// The refresh is shared: it must not fail because the first caller left.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	c.t, c.err = fn(rctx)
	cancel()

	g.mu.Lock()
	delete(g.calls, key)
	if c.err == nil {
		until := now.Add(recentRefreshTTL)
		if c.t.AccessToken == old.AccessToken && c.t.ExpiresAt.After(until) {
			until = c.t.ExpiresAt
		}
		if len(g.recent) >= recentRefreshMax {
			for k, r := range g.recent {
				if !now.Before(r.expires) {
					delete(g.recent, k)
				}
			}
		}
		if len(g.recent) < recentRefreshMax {
			g.recent[key] = recentRefresh{t: c.t, expires: until}
		}
	}
	g.mu.Unlock()
	close(c.done)
	return c.t, c.err
}
