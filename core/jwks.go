package kinde

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokinde/kinde/core/internal/jose"
)

// fetchTimeout bounds one fetch of the key set, whatever the HTTP client.
const fetchTimeout = 10 * time.Second

// trustedRefetchInterval is the minimum time between two fetches of the key
// set caused by an unknown kid in a trusted token (see trust).
const trustedRefetchInterval = 5 * time.Second

// trust says where a token comes from, which decides whose refetch budget an
// unknown kid may spend.
type trust uint8

const (
	// untrusted: anyone can send the token (a bearer token, a gRPC call's
	// metadata, a webhook body). An unknown kid refetches the key set at
	// most once per Config.JWKSRefreshInterval.
	untrusted trust = iota
	// trusted: the token came from Kinde's token endpoint over TLS (code
	// exchange, refresh, client credentials, device flow) or from a session
	// this server stored (a sealed cookie or its session store). An unknown
	// kid refetches at most once per trustedRefetchInterval, a budget that
	// untrusted tokens cannot spend.
	trusted
)

// keySnapshot is an immutable view of Kinde's signing keys.
type keySnapshot struct {
	keys      map[string]*rsa.PublicKey
	only      *rsa.PublicKey // set when the set holds exactly one key
	fetchedAt time.Time
}

// keySet caches Kinde's JWKS. Readers never lock: they load the current
// snapshot atomically. A fetch happens when a token names an unknown key id
// (rate limited per trust level, shared by all concurrent callers) or when
// the snapshot is older than maxAge (one caller refreshes, the others keep
// using the old keys). When a fetch fails the old keys keep serving.
//
// Untrusted and trusted unknown kids have separate budgets: an attacker's
// token with a made-up kid, sent just before Kinde rotates its keys, spends
// only the untrusted budget, so a sign-in or refresh whose new tokens carry
// the new kid still refetches within trustedRefetchInterval.
type keySet struct {
	fetch    func(ctx context.Context) (map[string]*rsa.PublicKey, error)
	now      func() time.Time
	interval time.Duration // untrusted unknown kids, and stale snapshots
	trusted  time.Duration // trusted unknown kids
	maxAge   time.Duration
	log      *slog.Logger

	cur atomic.Pointer[keySnapshot]

	mu          sync.Mutex
	inflight    *fetchCall
	lastUnknown time.Time // last fetch caused by an unknown kid in an untrusted token
	lastTrusted time.Time // last fetch caused by an unknown kid in a trusted token
	lastFailure time.Time // last failed fetch
	lastStale   time.Time // last refresh of an old snapshot
	fetches     atomic.Int64
	failing     atomic.Bool // the last fetch failed
}

type fetchCall struct {
	done chan struct{}
	err  error
}

func newKeySet(fetch func(context.Context) (map[string]*rsa.PublicKey, error), now func() time.Time, interval, maxAge time.Duration, log *slog.Logger) *keySet {
	return &keySet{fetch: fetch, now: now, interval: interval, trusted: min(interval, trustedRefetchInterval), maxAge: maxAge, log: log}
}

// key returns the public key for kid. An empty kid is accepted only when the
// set holds exactly one key.
//
// When kid is not in the key set after a refetch, the error matches
// ErrTokenUnknownKey: the key left the set (or never was in it). When the key
// set could not be read to tell (the refetch failed, or the budget is spent
// and the last fetch failed), the error matches ErrKeySetUnavailable (and so
// ErrUnavailable) instead, never ErrTokenUnknownKey.
func (s *keySet) key(ctx context.Context, kid string, tr trust) (*rsa.PublicKey, error) {
	snap := s.cur.Load()
	if k := snap.lookup(kid); k != nil {
		if s.now().Sub(snap.fetchedAt) > s.maxAge {
			s.refreshStale(ctx, snap)
		}
		return k, nil
	}
	if kid == "" && snap != nil && len(snap.keys) > 1 {
		return nil, fmt.Errorf("%w: the token has no kid and the key set holds %d keys", ErrTokenUnknownKey, len(snap.keys))
	}
	// Unknown kid (or nothing cached yet): fetch, rate limited and shared.
	err := s.refresh(ctx, kid, tr)
	if s.cur.Load() == nil {
		if err == nil {
			err = fmt.Errorf("%w: the last fetch failed; retrying shortly", ErrKeySetUnavailable)
		}
		return nil, err
	}
	snap = s.cur.Load()
	if k := snap.lookup(kid); k != nil {
		return k, nil
	}
	if err != nil {
		// The key may well exist: the key set could not be read to tell.
		return nil, err
	}
	if kid == "" && len(snap.keys) > 1 {
		return nil, fmt.Errorf("%w: the token has no kid and the key set holds %d keys", ErrTokenUnknownKey, len(snap.keys))
	}
	return nil, fmt.Errorf("%w: kid %q is not in the key set fetched %s ago", ErrTokenUnknownKey, truncate(kid, 64), s.now().Sub(snap.fetchedAt).Round(time.Second))
}

func (k *keySnapshot) lookup(kid string) *rsa.PublicKey {
	if k == nil {
		return nil
	}
	if kid == "" {
		return k.only
	}
	return k.keys[kid]
}

// publishes reports whether key is still the published key for kid. A cached
// token is valid only while the key that verified it is: not when its kid is
// gone, nor when the kid now names another key, nor, for a token without a
// kid, when the single key was replaced.
func (s *keySet) publishes(kid string, key *rsa.PublicKey) bool {
	return key != nil && s.cur.Load().lookup(kid) == key
}

// refresh fetches the key set for the unknown kid unless the budget of tr is
// spent: the last fetch caused by an unknown kid of the same trust was less
// than its interval ago. A fetch already running is shared (its result
// awaited) rather than repeated; a trusted caller that waited for a fetch
// another caller started may then start its own, within its budget, so an
// untrusted fetch that began before a key rotation never stands in for a
// trusted one. While nothing is cached, failed fetches are retried at most
// every five seconds, so an outage at start-up heals quickly without a
// fetch per request.
//
// It returns nil after a successful fetch and when the budget is spent while
// the last fetch succeeded (the cached set is the answer); it returns an
// error matching ErrKeySetUnavailable when the fetch failed, or when the
// budget is spent and the last fetch failed, and the context's error when
// the caller stopped waiting.
func (s *keySet) refresh(ctx context.Context, kid string, tr trust) error {
	for waited := false; ; waited = true {
		s.mu.Lock()
		if call := s.inflight; call != nil && !waited {
			s.mu.Unlock()
			if err := s.wait(ctx, call); err != nil || tr != trusted || s.cur.Load().lookup(kid) != nil {
				return err
			}
			continue // the kid is still unknown: a trusted caller checks its own budget
		}
		if s.inflight != nil {
			// A trusted caller waited for one fetch and another began:
			// that one started after this caller asked; share it.
			call := s.inflight
			s.mu.Unlock()
			return s.wait(ctx, call)
		}
		now := s.now()
		last, every := &s.lastUnknown, s.interval
		if tr == trusted {
			last, every = &s.lastTrusted, s.trusted
		}
		if s.cur.Load() == nil {
			if !s.lastFailure.IsZero() && now.Sub(s.lastFailure) < min(s.interval, 5*time.Second) {
				s.mu.Unlock()
				return nil
			}
		} else if !last.IsZero() && now.Sub(*last) < every {
			failing := s.failing.Load()
			s.mu.Unlock()
			if failing {
				return fmt.Errorf("%w: the last fetch failed; the next is allowed in %s", ErrKeySetUnavailable, (every - now.Sub(*last)).Round(time.Second))
			}
			return nil
		} else {
			*last = now
		}
		call := &fetchCall{done: make(chan struct{})}
		s.inflight = call
		s.mu.Unlock()

		// The fetch is shared: it runs on its own, bounded by fetchTimeout,
		// and every caller (this one included) waits only as long as its
		// own context allows.
		go s.run(ctx, call)
		return s.wait(ctx, call)
	}
}

// refreshStale refreshes an old snapshot: the caller that notices starts the
// fetch and waits for it; others keep the old keys meanwhile.
func (s *keySet) refreshStale(ctx context.Context, snap *keySnapshot) {
	s.mu.Lock()
	if s.inflight != nil || s.cur.Load() != snap || (!s.lastStale.IsZero() && s.now().Sub(s.lastStale) < s.interval) {
		s.mu.Unlock()
		return
	}
	call := &fetchCall{done: make(chan struct{})}
	s.inflight = call
	s.lastStale = s.now()
	s.mu.Unlock()
	// The caller that noticed waits for the fresh set (as long as its context
	// allows) and uses it; the others keep the old keys meanwhile.
	go s.run(ctx, call)
	_ = s.wait(ctx, call)
}

func (s *keySet) run(ctx context.Context, call *fetchCall) {
	// The fetch must not be abandoned because the first caller's context
	// ends: other callers share it. Its own timeout bounds it, even with an
	// HTTP client that has none.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	keys, err := s.fetch(fctx)
	cancel()
	s.fetches.Add(1)
	s.failing.Store(err != nil)
	if err == nil {
		// Keep the pointers of keys that did not change, so that tokens
		// cached under them stay valid (see publishes).
		if old := s.cur.Load(); old != nil {
			for kid, k := range keys {
				if o := old.keys[kid]; o != nil && o.E == k.E && o.N.Cmp(k.N) == 0 {
					keys[kid] = o
				}
			}
		}
		snap := &keySnapshot{keys: keys, fetchedAt: s.now()}
		if len(keys) == 1 {
			for _, k := range keys {
				snap.only = k
			}
		}
		s.cur.Store(snap)
	} else {
		s.log.WarnContext(ctx, "kinde: fetching the key set failed; cached keys stay in use", "error", err)
	}
	s.mu.Lock()
	call.err = err
	if err != nil {
		s.lastFailure = s.now()
	}
	s.inflight = nil
	s.mu.Unlock()
	close(call.done)
}

func (s *keySet) wait(ctx context.Context, call *fetchCall) error {
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchJWKS downloads and parses Kinde's key set, keeping only RSA keys that
// may verify RS256 signatures.
func (c *Client) fetchJWKS(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.ep.jwks, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeySetUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	// Kinde's JWKS endpoint is public; an Authorization header can make it answer 403.
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", ErrKeySetUnavailable, c.ep.jwks, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrKeySetUnavailable, c.ep.jwks, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s answered HTTP %d: check KINDE_DOMAIN", ErrKeySetUnavailable, c.ep.jwks, resp.StatusCode)
	}
	keys, err := jose.ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeySetUnavailable, c.ep.jwks, err)
	}
	c.debug(ctx, "key set fetched", "keys", len(keys))
	return keys, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
