package kinde

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// How sessions are refreshed (docs/sessions.md, "Refresh across instances",
// has the reasoning). Kinde returns the same access token on a refresh until
// that token expires, always rotates the refresh token, and keeps the
// replaced refresh token working for about 30 s
// (shared/reference/kinde-protocol.md, "Refresh behaviour"). So:
//   - a session is refreshed only once its access token has expired (within
//     the clock leeway): an earlier refresh renews nothing;
//   - concurrent refreshes of one session share one call to Kinde, keyed by
//     the refresh token being replaced (unique per rotation);
//   - each result is remembered for the grace period under that key, so a
//     request still carrying the replaced refresh token gets the same new
//     tokens instead of rotating again;
//   - a server-side session is written with compare-and-swap against the
//     bytes read, so an older refresh token never overwrites a newer one;
//   - a failed refresh backs off per session, and the session is kept.
const (
	// refreshTimeout bounds one refresh, well below usual HTTP timeouts.
	refreshTimeout = 5 * time.Second
	// recentRefreshTTL is Kinde's grace period for a rotated refresh token.
	recentRefreshTTL = 30 * time.Second
	// recentRefreshBytes bounds the memory of remembered refresh results.
	recentRefreshBytes = 4 << 20
	// recentRefreshOverhead estimates the bytes of one remembered result
	// besides its token strings (map entry, structs, pointers).
	recentRefreshOverhead = 256
	// backoffMin and backoffMax bound the wait after a failed refresh.
	backoffMin = time.Second
	backoffMax = 30 * time.Second
	// backoffEntries bounds the sessions whose failures are remembered.
	backoffEntries = 10_000
	// unchangedEntries bounds the access tokens remembered as handed back
	// unchanged by a refresh (about 80 bytes each).
	unchangedEntries = 100_000
)

// errBackingOff means the session's last refresh failed and the next try
// is not due yet: no call to Kinde is made.
var errBackingOff = errors.New("kinde: refresh backing off after a failure")

// load returns the session of the request, or nil when the user is not
// signed in (or cannot be shown as signed in right now). It refreshes the
// tokens once the access token has expired, or when the key that signed it
// has left Kinde's key set, and saves the rotated tokens. A session ends
// only when Kinde rejects its refresh token or its tokens are invalid; an
// outage of Kinde or of the store keeps it.
func (w *Web) load(x Exchange) *Session {
	if w.o.resource {
		return nil // an API's requests carry no session cookie
	}
	ctx := x.Context()
	rec, id, raw, err := w.read(x)
	if err != nil {
		switch {
		case errors.Is(err, errStoreFailed):
			// Keep the cookie: the session is still there once the store is back.
			if w.storeDown.failed(w.c.cfg.Now()) {
				w.log.WarnContext(ctx, "kinde: reading the session store failed; treating requests as signed out until it answers (logged at most every 10 s)", "error", err)
			} else {
				w.c.debug(ctx, "session store still failing", "error", err)
			}
		case !errors.Is(err, errNoSession):
			w.c.debug(ctx, "session cookie rejected", "error", err)
			w.destroy(x)
		case id != "":
			w.destroy(x) // the store no longer knows this id
		}
		return nil
	}
	if id != "" && w.storeDown.recovered() {
		w.log.InfoContext(ctx, "kinde: the session store answers again")
	}
	refreshed := false
	// Refresh once the access token has expired by this clock: earlier, Kinde
	// hands back the same token. Verification still accepts it for the clock
	// leeway, so the session is served while a refresh backs off.
	if w.canRefresh(rec) && rec.t.expiresWithin(0) && !w.refreshes.unchanged(rec.t) {
		if rec = w.refresh(x, rec, id, raw, false); rec == nil {
			return nil
		}
		refreshed = true
	}
	s, err := w.c.storedSession(ctx, rec.t)
	if err != nil && !refreshed && keyRetired(err) && w.canRefresh(rec) {
		// The key that signed the stored token has left the key set: new
		// tokens are signed with a current key.
		replaced := rec.t.RefreshToken
		if rec = w.refresh(x, rec, id, raw, true); rec == nil {
			return nil
		}
		refreshed = true
		if s, err = w.c.storedSession(ctx, rec.t); err == nil {
			w.log.InfoContext(ctx, "kinde: refreshed a session whose access token was signed by a key no longer published")
		} else if keyRetired(err) {
			// Kinde handed back tokens signed by a key this instance cannot
			// use (Kinde returns the same access token until it expires):
			// keep the session, and try again only after a back-off.
			step := w.refreshes.fail(rec.t.RefreshToken, replaced, w.c.cfg.Now())
			w.log.WarnContext(ctx, "kinde: refreshed tokens are signed by a key that is not in the key set; treating the request as signed out and keeping the session",
				"retry_in", step, "error", err)
			return nil
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrUnavailable) ||
			errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil // kept: a later request refreshes or verifies it
		case refreshed && keyRetired(err):
			// Fresh from Kinde yet signed by a key not in the key set (it
			// may be too new for this instance's copy): keep the session.
			w.log.WarnContext(ctx, "kinde: refreshed tokens are signed by a key that is not in the key set; treating the request as signed out and keeping the session", "error", err)
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
	if !refreshed {
		w.touch(x, rec, id, raw) // the idle timeout counts from the last request
	}
	return s
}

// checkStore logs, once at start, what a store without CompareAndSwap
// means, and gives a MemoryStore without a logger this Web's logger.
func (w *Web) checkStore() {
	switch s := w.o.store.(type) {
	case nil:
		return
	case *MemoryStore:
		s.setLogger(w.log)
		return // one process: its refreshes are already shared
	case casStore:
		return
	}
	w.log.Info("kinde: the session store has no CompareAndSwap method, so when several instances refresh one session at the same moment, an older refresh token may overwrite a newer one; use redisstore, or add CompareAndSwap to the store (see kinde.Store)")
}

// canRefresh reports whether rec may be refreshed at all.
func (w *Web) canRefresh(rec *sessionRecord) bool {
	return !w.c.cfg.DisableAutoRefresh && rec.t.RefreshToken != ""
}

// keyRetired reports a verification failure that a refresh can cure: the
// signing key is no longer in the key set (or the signature does not verify
// with the key now published under its id).
func keyRetired(err error) bool {
	return errors.Is(err, ErrTokenUnknownKey) || errors.Is(err, ErrTokenSignature)
}

// refresh refreshes rec and writes the result back. It returns the record
// to serve, or nil when the request is to be treated as signed out (the
// session is then kept, except when Kinde rejected the refresh token).
// forced is a refresh of an access token that has not expired.
func (w *Web) refresh(x Exchange, rec *sessionRecord, id string, raw []byte, forced bool) *sessionRecord {
	ctx := x.Context()
	old := rec.t
	nt, err := w.refreshes.do(ctx, old, w.c.refreshGrant)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrInvalidClient):
		if cur := w.reread(x, id, old); cur != nil {
			return cur // another instance refreshed first and stored the result
		}
		w.log.InfoContext(ctx, "kinde: refresh token rejected; the session ends", "error", err)
		w.destroy(x)
		return nil
	default:
		// Failed for now (Kinde slow or down, back-off, the caller left):
		// keep the session; serve the current token while it is valid.
		if !forced && !old.Expired() {
			return rec
		}
		return nil
	}
	own := *nt // shared with the other callers: not modified
	own.leeway, own.now = w.c.cfg.Leeway, w.c.cfg.Now
	nt = &own
	next := *rec
	next.t = nt
	err = w.save(x, &next, id, raw)
	if errors.Is(err, errSwapLost) {
		// The stored session changed since it was read.
		cur, curRaw := w.current(x, id)
		switch {
		case cur == nil:
			return &next // the store could not be read again: serve, do not write
		case cur.t.RefreshToken != old.RefreshToken:
			return cur // another instance refreshed first: its result wins
		}
		// Only the rest of the record changed: write the refresh over it.
		next = *cur
		next.t = nt
		err = w.save(x, &next, id, curRaw)
	}
	if err != nil {
		// Served for this request; the stored session keeps the replaced
		// refresh token, which Kinde accepts for its grace period (and this
		// instance answers from its remembered result meanwhile).
		w.log.WarnContext(ctx, "kinde: saving refreshed tokens failed", "error", err)
	}
	return &next
}

// current reads the stored session id again (server-side stores only).
func (w *Web) current(x Exchange, id string) (*sessionRecord, []byte) {
	if w.o.store == nil || id == "" {
		return nil, nil
	}
	raw, err := w.storeGet(x.Context(), id)
	if err != nil {
		return nil, nil
	}
	rec, err := w.decodeRecord(raw)
	if err != nil {
		return nil, nil
	}
	return rec, raw
}

// reread returns the stored session when it no longer carries the refresh
// token old (another instance rotated it), or nil.
func (w *Web) reread(x Exchange, id string, old *Tokens) *sessionRecord {
	cur, _ := w.current(x, id)
	if cur == nil || cur.t.RefreshToken == old.RefreshToken || cur.t.RefreshToken == "" {
		return nil
	}
	return cur
}

// refreshGroup makes concurrent refreshes of one session share one call to
// Kinde, remembers each result for Kinde's grace period, and backs off after
// failures. Everything is keyed by the refresh token being replaced: every
// request of a session carries it until the refresh has landed in the
// browser (or the store), and it changes with every rotation, so a
// remembered result is only ever given to a request that still carries
// exactly the replaced token.
type refreshGroup struct {
	now          func() time.Time
	log          *slog.Logger
	timeout      time.Duration // one refresh
	storeTimeout time.Duration // one store call
	maxBytes     int           // remembered results
	down         outage        // failing refreshes, for logging

	mu     sync.Mutex
	calls  map[string]*refreshCall
	recent map[string]*recentRefresh
	queue  []*recentRefresh // oldest first: the TTL is fixed, so also by expiry
	bytes  int
	fails  map[string]*refreshBackoff
	// same holds (digests of) access tokens that a refresh handed back
	// unchanged, until they expire: Kinde returns the same access token
	// until it has expired by Kinde's clock, so refreshing it again when
	// this clock runs ahead would only rotate the refresh token.
	same map[[sha256.Size]byte]time.Time
}

type refreshCall struct {
	done chan struct{}
	t    *Tokens
	err  error
}

type recentRefresh struct {
	key     string
	t       *Tokens
	expires time.Time
	size    int
	gone    bool // replaced or removed from recent; skipped in queue
}

type refreshBackoff struct {
	until  time.Time     // no refresh before
	step   time.Duration // the current wait
	forget time.Time     // the entry is dropped after
}

func newRefreshGroup(now func() time.Time, log *slog.Logger) *refreshGroup {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &refreshGroup{now: now, log: log, timeout: refreshTimeout, storeTimeout: storeTimeout, maxBytes: recentRefreshBytes,
		calls: map[string]*refreshCall{}, recent: map[string]*recentRefresh{}, fails: map[string]*refreshBackoff{},
		same: map[[sha256.Size]byte]time.Time{}}
}

// do refreshes old with fn, sharing the call with concurrent callers for the
// same refresh token and answering from a remembered result within the
// grace period. The call runs under its own timeout, detached from ctx (a
// caller that leaves must not fail it for the others); ctx bounds only the
// wait.
func (g *refreshGroup) do(ctx context.Context, old *Tokens, fn func(context.Context, *Tokens) (*Tokens, bool, error)) (*Tokens, error) {
	key := old.RefreshToken
	now := g.now()
	g.mu.Lock()
	g.sweep(now)
	if r, ok := g.recent[key]; ok && now.Before(r.expires) {
		g.mu.Unlock()
		return r.t, nil
	}
	c, ok := g.calls[key]
	if !ok {
		if b, ok := g.fails[key]; ok && now.Before(b.until) {
			g.mu.Unlock()
			return nil, errBackingOff
		}
		c = &refreshCall{done: make(chan struct{})}
		g.calls[key] = c
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
		go func() {
			defer cancel()
			g.run(rctx, c, key, old, fn)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.t, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *refreshGroup) run(ctx context.Context, c *refreshCall, key string, old *Tokens, fn func(context.Context, *Tokens) (*Tokens, bool, error)) {
	c.t, _, c.err = fn(ctx, old)
	now := g.now()
	if c.err != nil && !errors.Is(c.err, ErrInvalidGrant) && !errors.Is(c.err, ErrInvalidClient) {
		step := g.fail(key, "", now)
		if g.down.failed(now) {
			g.log.WarnContext(ctx, "kinde: refreshing a session failed; keeping the session and retrying after a back-off (logged at most every 10 s while refreshes fail)",
				"retry_in", step, "error", c.err)
		} else {
			g.log.DebugContext(ctx, "kinde: refreshing a session failed", "retry_in", step, "error", c.err)
		}
	} else if c.err == nil && g.down.recovered() {
		g.log.InfoContext(ctx, "kinde: refreshing sessions works again")
	}
	g.mu.Lock()
	delete(g.calls, key)
	if c.err == nil && c.t.AccessToken == old.AccessToken && c.t.ExpiresAt.After(now) {
		g.keepUnchanged(c.t, now)
	}
	if c.err == nil {
		// A back-off entry of key stays until it is forgotten: a refresh
		// whose tokens fail verification continues it (see fail).
		g.remember(key, c.t, now)
	}
	g.mu.Unlock()
	close(c.done)
}

// unchanged reports whether a refresh by this instance already handed back
// t's access token unchanged and that token has not expired yet.
func (g *refreshGroup) unchanged(t *Tokens) bool {
	now := g.now()
	sum := sha256.Sum256([]byte(t.AccessToken))
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.same[sum]
	if ok && !now.Before(until) {
		delete(g.same, sum)
		return false
	}
	return ok
}

// keepUnchanged remembers that a refresh handed back t's access token. The
// caller holds g.mu.
func (g *refreshGroup) keepUnchanged(t *Tokens, now time.Time) {
	if len(g.same) >= unchangedEntries {
		for k, until := range g.same {
			if !now.Before(until) {
				delete(g.same, k)
			}
		}
		if len(g.same) >= unchangedEntries {
			return // full of live entries: refresh again rather than grow
		}
	}
	g.same[sha256.Sum256([]byte(t.AccessToken))] = t.ExpiresAt
}

// fail records a failed refresh of the session holding refresh token key:
// no new attempt for 1 s, doubling with each failure up to 30 s. It returns
// the wait. A non-empty replaced names the refresh token key replaced, whose
// back-off key continues.
func (g *refreshGroup) fail(key, replaced string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.fails[key]
	if prev, found := g.fails[replaced]; !ok && found && replaced != "" {
		delete(g.fails, replaced)
		g.fails[key], b, ok = prev, prev, true
	}
	if !ok {
		if len(g.fails) >= backoffEntries {
			for k, e := range g.fails {
				if !now.Before(e.forget) {
					delete(g.fails, k)
				}
			}
			for k := range g.fails { // still full: drop any one
				if len(g.fails) < backoffEntries {
					break
				}
				delete(g.fails, k)
			}
		}
		b = &refreshBackoff{}
		g.fails[key] = b
	}
	switch {
	case b.step == 0 || !now.Before(b.forget):
		b.step = backoffMin
	default:
		b.step = min(2*b.step, backoffMax)
	}
	b.until = now.Add(b.step)
	b.forget = b.until.Add(backoffMax)
	return b.step
}

// remember keeps t as the result of refreshing key for the grace period,
// within the byte budget. The caller holds g.mu.
func (g *refreshGroup) remember(key string, t *Tokens, now time.Time) {
	size := recentRefreshOverhead + 2*len(key) + len(t.AccessToken) + len(t.IDToken) + len(t.RefreshToken) + len(t.Scope) + len(t.TokenType)
	if size > g.maxBytes {
		return
	}
	if r, ok := g.recent[key]; ok {
		g.drop(r)
	}
	// Expired entries first, then the oldest until the new one fits.
	g.sweep(now)
	for len(g.queue) > 0 && g.bytes+size > g.maxBytes {
		g.pop()
	}
	r := &recentRefresh{key: key, t: t, expires: now.Add(recentRefreshTTL), size: size}
	g.recent[key] = r
	g.queue = append(g.queue, r)
	g.bytes += size
}

// sweep removes the expired remembered results (and the replaced ones
// before them). The caller holds g.mu.
func (g *refreshGroup) sweep(now time.Time) {
	for len(g.queue) > 0 && (g.queue[0].gone || !now.Before(g.queue[0].expires)) {
		g.pop()
	}
	if len(g.queue) == 0 && cap(g.queue) > 64 {
		// Release the array and the map after a burst (Go maps never give
		// memory back): every remembered result has expired.
		g.queue = nil
		clear(g.recent)
		g.recent = map[string]*recentRefresh{}
	}
}

// pop removes the oldest remembered result. The caller holds g.mu.
func (g *refreshGroup) pop() {
	r := g.queue[0]
	g.queue[0] = nil
	g.queue = g.queue[1:]
	g.drop(r)
}

// drop removes r from recent. The caller holds g.mu.
func (g *refreshGroup) drop(r *recentRefresh) {
	if r.gone {
		return
	}
	r.gone = true
	r.t = nil
	delete(g.recent, r.key)
	g.bytes -= r.size
}

// outage tracks the failures of a dependency (the session store) so that an
// outage is logged at Warn when it starts and at most every outageLogEvery
// while it lasts, not once per request, and its end at Info.
type outage struct {
	failing atomic.Bool
	lastLog atomic.Int64 // Unix nanoseconds of the last Warn
}

// outageLogEvery is the least time between two Warn records of one outage.
const outageLogEvery = 10 * time.Second

// failed records a failure and reports whether to log it at Warn.
func (o *outage) failed(now time.Time) bool {
	o.failing.Store(true)
	last := o.lastLog.Load()
	if now.UnixNano()-last < int64(outageLogEvery) {
		return false
	}
	return o.lastLog.CompareAndSwap(last, now.UnixNano())
}

// recovered records a success and reports whether it ends an outage.
func (o *outage) recovered() bool {
	return o.failing.Load() && o.failing.CompareAndSwap(true, false)
}
