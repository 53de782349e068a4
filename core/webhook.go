package kinde

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook defaults.
const (
	// DefaultWebhookReplayWindow is how old a delivery's timestamp may be and
	// how long its id is remembered. Kinde retries a delivery that did not get
	// a 2xx answer with the same webhook-id for up to 36 hours; 48 hours covers
	// that schedule with room for clock skew, so a late retry of an event
	// already handled is still recognised (and answered 200 without running
	// the handlers again) and a late retry of an event not handled yet is not
	// refused as stale.
	DefaultWebhookReplayWindow = 48 * time.Hour
	// DefaultWebhookMaxBody is the largest request body accepted, in bytes.
	DefaultWebhookMaxBody = 1 << 20
	// DefaultWebhookReplayCapacity is the number of delivery ids the default
	// in-memory replay store remembers.
	DefaultWebhookReplayCapacity = 100_000

	// WebhookContentType is the content type of Kinde's webhook requests.
	WebhookContentType = "application/jwt"
	// WebhookIDHeader is the request header carrying the delivery id, which
	// stays the same across retries of one event to one endpoint.
	WebhookIDHeader = "webhook-id"
)

// Webhook errors. Receive wraps them; compare with errors.Is. Bad
// signatures, unknown keys and wrong issuers are reported as *VerifyError
// (with Token "webhook") wrapping the ErrToken… sentinels.
var (
	// ErrWebhookContentType means the request is not application/jwt.
	ErrWebhookContentType = errors.New("kinde: webhook request is not application/jwt")
	// ErrWebhookMalformed means the body is not a webhook event: not a
	// compact JWS, or a payload without type, timestamp or an id.
	ErrWebhookMalformed = errors.New("kinde: webhook body is malformed")
	// ErrWebhookTooLarge means the body exceeds the configured maximum.
	ErrWebhookTooLarge = errors.New("kinde: webhook body is too large")
	// ErrWebhookStale means the event's timestamp lies outside the replay
	// window (too old) or in the future beyond the clock leeway.
	ErrWebhookStale = errors.New("kinde: webhook timestamp is outside the replay window")
	// ErrWebhookHandler wraps the error a handler registered with On or
	// OnAny returned.
	ErrWebhookHandler = errors.New("kinde: webhook handler failed")
	// ErrWebhookMethod means the request is not a POST.
	ErrWebhookMethod = errors.New("kinde: webhook request is not a POST")
)

// WebhookHandlerFunc handles one verified webhook event. Returning an error
// answers 500, so Kinde delivers the event again later.
type WebhookHandlerFunc func(ctx context.Context, e WebhookEvent) error

// WebhookReplayStore remembers the ids of deliveries already accepted.
// Plug in a shared store (see WebhookReplayStoreFrom) when several instances
// of an application receive webhooks.
type WebhookReplayStore interface {
	// Seen records id for ttl and reports whether it was already recorded
	// and not yet expired. Recording and checking must be one atomic step
	// for the store's users to see each delivery once.
	Seen(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// Forget removes id, so that a retry of a delivery whose handler failed
	// is handled again. A missing id is not an error.
	Forget(ctx context.Context, id string) error
}

// WebhookOption configures Webhooks.
type WebhookOption func(*Webhooks)

// WithWebhookReplayWindow sets how old an event may be and how long delivery
// ids are remembered (DefaultWebhookReplayWindow when d is not positive).
// Keep it at least as long as Kinde's retry schedule (36 hours): shorter
// windows refuse late retries as stale if Kinde keeps the original
// timestamp, and forget ids before the last retry.
func WithWebhookReplayWindow(d time.Duration) WebhookOption {
	return func(w *Webhooks) {
		if d > 0 {
			w.window = d
		}
	}
}

// WithWebhookReplayStore sets where delivery ids are remembered. The
// default is an in-memory store holding DefaultWebhookReplayCapacity ids,
// which suits a single instance.
func WithWebhookReplayStore(s WebhookReplayStore) WebhookOption {
	return func(w *Webhooks) {
		if s != nil {
			w.store = s
		}
	}
}

// WithWebhookMaxBody sets the largest body accepted, in bytes
// (DefaultWebhookMaxBody when n is not positive). Larger bodies get 413.
func WithWebhookMaxBody(n int64) WebhookOption {
	return func(w *Webhooks) {
		if n > 0 {
			w.maxBody = n
		}
	}
}

// WithWebhookClock sets the clock used for the replay window. The default
// is the client's Config.Now.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(w *Webhooks) {
		if now != nil {
			w.now = now
		}
	}
}

// Webhooks receives Kinde's webhook requests: it verifies each one (RS256
// signature by a key of the domain's JWKS, issuer when present, timestamp
// within the replay window), drops deliveries it has already accepted, and
// calls the handlers registered for the event's type.
//
// Answers, so that Kinde retries exactly when it should:
//   - 200 when the handlers succeeded, when no handler is registered for the
//     type (the event is ignored), and for a delivery already accepted (a
//     retry after a lost answer, or a replay): the handlers do not run again;
//   - 400 for a request that is not a well-formed application/jwt event;
//   - 401 for a bad signature, an unknown key, a wrong issuer, an expired
//     token or a timestamp outside the window;
//   - 405 for methods other than POST; 413 for bodies above the maximum;
//   - 500 when a handler or the replay store fails, 503 when the key set
//     cannot be fetched: Kinde delivers the event again later.
//
// A delivery id is recorded before the handlers run, and forgotten when one
// of them fails (or panics), so Kinde's retry runs them again: handlers
// should be idempotent. A retry that arrives while the first attempt is
// still running is answered 200 without running them, so handlers should
// finish well within Kinde's request timeout. Register handlers before
// serving. Webhooks is safe for concurrent use.
type Webhooks struct {
	c       *Client
	window  time.Duration
	maxBody int64
	now     func() time.Time
	store   WebhookReplayStore

	mu          sync.RWMutex
	handlers    map[string][]WebhookHandlerFunc
	anyHandlers []WebhookHandlerFunc
}

// Webhooks returns a receiver for Kinde's webhooks, verified with the
// client's domain and key set. Mount it (it is an http.Handler) on the URL
// registered in Kinde, or use the adapter of your framework.
func (c *Client) Webhooks(opts ...WebhookOption) *Webhooks {
	w := &Webhooks{
		c:        c,
		window:   DefaultWebhookReplayWindow,
		maxBody:  DefaultWebhookMaxBody,
		now:      c.cfg.Now,
		handlers: make(map[string][]WebhookHandlerFunc),
	}
	for _, o := range opts {
		if o != nil {
			o(w)
		}
	}
	if w.store == nil {
		mem := NewMemoryStore(DefaultWebhookReplayCapacity)
		mem.now = w.now
		w.store = &storeReplays{st: mem}
	}
	return w
}

// On registers fn for events of eventType (one of the Event… constants, or
// any type Kinde adds later). Handlers of a type run in the order they were
// registered; the first error stops the others.
func (w *Webhooks) On(eventType string, fn WebhookHandlerFunc) {
	if fn == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[eventType] = append(w.handlers[eventType], fn)
}

// OnAny registers fn for every event, whatever its type. It runs after the
// handlers registered with On for the event's type.
func (w *Webhooks) OnAny(fn WebhookHandlerFunc) {
	if fn == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.anyHandlers = append(w.anyHandlers, fn)
}

// ServeHTTP implements http.Handler (see Handle).
func (w *Webhooks) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	_ = w.Handle(NewHTTPExchange(rw, r), http.MaxBytesReader(rw, r.Body, w.maxBody))
}

// Handle answers one webhook request whose body is read from body (at most
// the configured maximum): it checks the method, reads the Content-Type and
// webhook-id headers from x, calls Receive and writes the status with a
// short text body. Rejections and handler failures are logged with the
// client's logger and returned.
func (w *Webhooks) Handle(x Exchange, body io.Reader) error {
	ctx := x.Context()
	status, err := w.handle(x, body)
	switch {
	case status >= 500:
		w.c.log.ErrorContext(ctx, "kinde: webhook failed", "status", status, "error", err)
	case err != nil:
		w.c.log.WarnContext(ctx, "kinde: webhook rejected", "status", status, "error", err)
	}
	x.Write(status, "text/plain; charset=utf-8", []byte(http.StatusText(status)+"\n"))
	return err
}

func (w *Webhooks) handle(x Exchange, body io.Reader) (int, error) {
	if x.Method() != http.MethodPost {
		x.SetHeader("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, ErrWebhookMethod
	}
	data, err := io.ReadAll(io.LimitReader(body, w.maxBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: more than %d bytes", ErrWebhookTooLarge, w.maxBody)
		}
		return http.StatusBadRequest, fmt.Errorf("%w: reading the body: %w", ErrWebhookMalformed, err)
	}
	// The id is kept (replay store, the event): copy it out of the request.
	return w.Receive(x.Context(), x.Header("Content-Type"), strings.Clone(x.Header(WebhookIDHeader)), data)
}

// Receive is the framework-neutral core of Handle: it verifies one delivery,
// drops it if already accepted, runs the handlers and returns the HTTP status
// to answer with, and an error for every status but 200.
func (w *Webhooks) Receive(ctx context.Context, contentType, webhookID string, body []byte) (int, error) {
	if !isWebhookContentType(contentType) {
		return http.StatusBadRequest, fmt.Errorf("%w: Content-Type is %q", ErrWebhookContentType, truncate(contentType, 64))
	}
	if int64(len(body)) > w.maxBody {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d bytes, at most %d accepted", ErrWebhookTooLarge, len(body), w.maxBody)
	}
	e, err := w.Verify(ctx, body)
	if err != nil {
		return webhookStatus(err), err
	}
	id := webhookID
	if id == "" {
		id = e.ID
	}
	if id == "" {
		return http.StatusBadRequest, fmt.Errorf("%w: no webhook-id header and no event_id", ErrWebhookMalformed)
	}
	e.WebhookID = webhookID
	seen, err := w.store.Seen(ctx, id, w.window)
	if err != nil {
		return http.StatusInternalServerError, fmt.Errorf("kinde: webhook replay store: %w", err)
	}
	if seen {
		w.c.debug(ctx, "webhook already received", "id", id, "type", e.Type)
		return http.StatusOK, nil
	}
	if err := w.dispatch(ctx, id, e); err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusOK, nil
}

// dispatch runs the handlers for e. When one fails (or panics) the delivery
// id is forgotten, so that Kinde's retry runs them again.
func (w *Webhooks) dispatch(ctx context.Context, id string, e WebhookEvent) (err error) {
	w.mu.RLock()
	fns := make([]WebhookHandlerFunc, 0, len(w.handlers[e.Type])+len(w.anyHandlers))
	fns = append(fns, w.handlers[e.Type]...)
	fns = append(fns, w.anyHandlers...)
	w.mu.RUnlock()

	done := false
	defer func() {
		if !done {
			if ferr := w.store.Forget(context.WithoutCancel(ctx), id); ferr != nil {
				w.c.log.ErrorContext(ctx, "kinde: webhook replay store: forgetting a failed delivery", "id", id, "error", ferr)
			}
		}
	}()
	for _, fn := range fns {
		if herr := fn(ctx, e); herr != nil {
			return fmt.Errorf("%w: event %s (%s): %w", ErrWebhookHandler, e.ID, e.Type, herr)
		}
	}
	done = true
	return nil
}

// Verify checks a webhook body (a compact JWS) and decodes its event,
// without the replay check and without running handlers: RS256 signature by
// a key of the domain's key set, iss equal to the client's issuer when
// present, exp, nbf and iat when present, and a timestamp within the replay
// window. Kinde's webhook tokens carry only data, event_id,
// event_timestamp, source, timestamp and type, so unlike access tokens
// they are not required to have iss or exp.
func (w *Webhooks) Verify(ctx context.Context, body []byte) (WebhookEvent, error) {
	payload, _, err := w.c.verifyJWS(ctx, string(bytes.TrimSpace(body)), int(w.maxBody))
	if err != nil {
		return WebhookEvent{}, &VerifyError{Token: "webhook", Err: rootCause(err), Detail: detail(err)}
	}
	e, claims, err := parseWebhookPayload(payload)
	if err != nil {
		return WebhookEvent{}, err
	}
	if claims.Issuer != "" && claims.Issuer != w.c.ep.issuer {
		return WebhookEvent{}, &VerifyError{Token: "webhook", Err: ErrTokenIssuer, Detail: fmt.Sprintf("iss is %q, want %q (check KINDE_DOMAIN)", truncate(claims.Issuer, 128), w.c.ep.issuer)}
	}
	now := w.now()
	leeway := w.c.cfg.Leeway
	switch {
	case !claims.ExpiresAt.IsZero() && !now.Before(claims.ExpiresAt.Add(leeway)):
		return WebhookEvent{}, &VerifyError{Token: "webhook", Err: ErrTokenExpired}
	case !claims.NotBefore.IsZero() && now.Add(leeway).Before(claims.NotBefore),
		!claims.IssuedAt.IsZero() && now.Add(leeway).Before(claims.IssuedAt):
		return WebhookEvent{}, &VerifyError{Token: "webhook", Err: ErrTokenNotYetValid}
	}
	if e.Timestamp.Before(now.Add(-w.window)) {
		return WebhookEvent{}, fmt.Errorf("%w: timestamp %s is more than %v old", ErrWebhookStale, e.Timestamp.Format(time.RFC3339), w.window)
	}
	if e.Timestamp.After(now.Add(leeway)) {
		return WebhookEvent{}, fmt.Errorf("%w: timestamp %s is in the future", ErrWebhookStale, e.Timestamp.Format(time.RFC3339))
	}
	return e, nil
}

func isWebhookContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == WebhookContentType
}

// webhookStatus maps a verification error to the status Receive answers.
func webhookStatus(err error) int {
	switch {
	case errors.Is(err, ErrKeySetUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTokenMalformed), errors.Is(err, ErrTokenClaims), errors.Is(err, ErrWebhookMalformed):
		return http.StatusBadRequest
	default:
		return http.StatusUnauthorized
	}
}

// parseWebhookPayload decodes a verified payload: the registered claims
// (through the claims decoder, which rejects repeated or mistyped ones) and
// Kinde's event members, each of which may appear once.
func parseWebhookPayload(payload []byte) (WebhookEvent, *Claims, error) {
	claims, err := parseClaims(payload)
	if err != nil {
		return WebhookEvent{}, nil, fmt.Errorf("%w: %w", ErrWebhookMalformed, err)
	}
	var e WebhookEvent
	seen := make(map[string]bool, 6)
	var ts, eventTS []byte
	err = scanObject(payload, func(key, value []byte, escaped bool) error {
		name := string(key)
		if escaped {
			if s, ok := jsonString(append(append([]byte{'"'}, key...), '"')); ok {
				name = s
			}
		}
		switch name {
		case "type", "event_id", "source", "timestamp", "event_timestamp", "data":
		default:
			return nil
		}
		if escaped || seen[name] {
			return fmt.Errorf("member %q is repeated or escaped", name)
		}
		seen[name] = true
		switch name {
		case "data":
			e.Data = json.RawMessage(value)
		case "timestamp":
			if string(value) != "null" {
				ts = value
			}
		case "event_timestamp":
			if string(value) != "null" {
				eventTS = value
			}
		default:
			if string(value) == "null" {
				return nil
			}
			s, ok := jsonString(value)
			if !ok {
				return fmt.Errorf("%s must be a string", name)
			}
			switch name {
			case "type":
				e.Type = s
			case "event_id":
				e.ID = s
			case "source":
				e.Source = s
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errJSON) {
			return WebhookEvent{}, nil, fmt.Errorf("%w: payload is not a JSON object", ErrWebhookMalformed)
		}
		return WebhookEvent{}, nil, fmt.Errorf("%w: %w", ErrWebhookMalformed, err)
	}
	if e.Type == "" {
		return WebhookEvent{}, nil, fmt.Errorf("%w: type is missing", ErrWebhookMalformed)
	}
	if ts == nil {
		return WebhookEvent{}, nil, fmt.Errorf("%w: timestamp is missing", ErrWebhookMalformed)
	}
	if e.Timestamp, err = webhookTime(ts); err != nil {
		return WebhookEvent{}, nil, fmt.Errorf("%w: timestamp: %w", ErrWebhookMalformed, err)
	}
	if eventTS != nil {
		if e.EventTimestamp, err = webhookTime(eventTS); err != nil {
			return WebhookEvent{}, nil, fmt.Errorf("%w: event_timestamp: %w", ErrWebhookMalformed, err)
		}
	}
	return e, claims, nil
}

// webhookTime reads a timestamp: an RFC 3339 string, as Kinde sends, or a
// number of seconds since 1970.
func webhookTime(raw []byte) (time.Time, error) {
	if s, ok := jsonString(raw); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", truncate(s, 40))
		}
		return t, nil
	}
	if t, err := numericDate(raw); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s is neither an RFC 3339 string nor seconds since 1970", truncate(strconv.Quote(string(raw)), 40))
}

// WebhookReplayStoreFrom returns a WebhookReplayStore that keeps delivery
// ids in st (prefixed "webhook:"), for example a redisstore.Store shared by
// every instance of an application, or a MemoryStore of another size.
// Checking and recording are one step within this process; across
// processes they are two store calls, so two instances receiving the same
// delivery at the same instant may both handle it.
func WebhookReplayStoreFrom(st Store) WebhookReplayStore {
	return &storeReplays{st: st}
}

// replayPrefix keeps delivery ids apart from session ids in a shared Store.
const replayPrefix = "webhook:"

type storeReplays struct {
	mu sync.Mutex
	st Store
}

// Seen implements WebhookReplayStore.
func (s *storeReplays) Seen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.st.Get(ctx, replayPrefix+id)
	if err == nil {
		return true, nil
	}
	if !IsSessionNotFound(err) {
		return false, err
	}
	if err := s.st.Set(ctx, replayPrefix+id, []byte{1}, ttl); err != nil {
		return false, err
	}
	return false, nil
}

// Forget implements WebhookReplayStore.
func (s *storeReplays) Forget(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Delete(ctx, replayPrefix+id)
}
