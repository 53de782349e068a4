package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// Defaults and wire names.
const (
	// DefaultReplayWindow is how old an event's timestamp may be, and so
	// how long its id is remembered. Kinde retries an event that did not
	// get a 2xx answer for up to 36 hours (docs.kinde.com, "About
	// webhooks", retry policy); 48 hours covers that schedule with room for
	// clock skew, so a late retry of an event already handled is still
	// recognised and one not handled yet is not refused as stale.
	DefaultReplayWindow = 48 * time.Hour
	// DefaultMaxBody is the largest request body accepted, in bytes.
	DefaultMaxBody = 1 << 20
	// DefaultReplayCapacity is the number of event ids the default
	// in-memory replay store holds; when it is full, the oldest go first.
	DefaultReplayCapacity = 100_000

	// ContentType is the content type of Kinde's webhook requests.
	ContentType = "application/jwt"
	// IDHeader is the request header in which Kinde sends the delivery id.
	// It is not signed, so the Receiver only reports it (Event.WebhookID).
	IDHeader = "webhook-id"
)

// Errors of Receive and Verify; compare with errors.Is. Bad signatures,
// unknown keys, wrong issuers and expired payloads are reported as
// *kinde.VerifyError (with Token "webhook") wrapping the kinde.ErrToken…
// sentinels, and an unreachable key set as kinde.ErrKeySetUnavailable.
var (
	// ErrMethod means the request is not a POST (answer 405).
	ErrMethod = errors.New("webhook: request is not a POST")
	// ErrContentType means the request is not application/jwt (answer 400).
	ErrContentType = errors.New("webhook: request is not application/jwt")
	// ErrTooLarge means the body exceeds the configured maximum (answer 413).
	ErrTooLarge = errors.New("webhook: body is too large")
	// ErrMalformed means the body is not a Kinde event: not a compact JWS,
	// or a payload without type, event_id or timestamp, with a member of
	// the wrong type or repeated (answer 400). The typed accessors of Event
	// also wrap it when the data lacks what they read.
	ErrMalformed = errors.New("webhook: body is not a Kinde webhook event")
	// ErrStale means the event's timestamp lies outside the replay window,
	// or in the future beyond the client's clock leeway (answer 401).
	ErrStale = errors.New("webhook: timestamp is outside the replay window")
	// ErrHandler wraps the error a handler returned (answer 500, so that
	// Kinde delivers the event again).
	ErrHandler = errors.New("webhook: handler failed")
)

// HandlerFunc handles one verified event. Returning an error answers 500,
// so Kinde delivers the event again later.
type HandlerFunc func(ctx context.Context, e Event) error

// Option configures a Receiver.
type Option func(*settings)

type settings struct {
	window  time.Duration
	maxBody int64
	store   ReplayStore
	errs    []error
}

// WithReplayWindow sets how old an event may be, and how long event ids are
// remembered (default DefaultReplayWindow; d must be positive). Keep it at
// least as long as Kinde's retry schedule (36 hours): shorter windows
// refuse late retries as stale.
func WithReplayWindow(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.errs = append(s.errs, fmt.Errorf("WithReplayWindow(%v): the window must be positive; leave the option out for %v", d, DefaultReplayWindow))
			return
		}
		s.window = d
	}
}

// WithReplayStore sets where event ids are remembered (default: an
// in-memory set of DefaultReplayCapacity ids, for a single instance).
func WithReplayStore(st ReplayStore) Option {
	return func(s *settings) {
		if st == nil {
			s.errs = append(s.errs, errors.New("WithReplayStore(nil): pass a store, or leave the option out for the in-memory one"))
			return
		}
		s.store = st
	}
}

// WithMaxBody sets the largest body accepted, in bytes (default
// DefaultMaxBody; n must be positive). Larger bodies are answered 413.
func WithMaxBody(n int64) Option {
	return func(s *settings) {
		if n <= 0 {
			s.errs = append(s.errs, fmt.Errorf("WithMaxBody(%d): the size must be positive; leave the option out for %d bytes", n, DefaultMaxBody))
			return
		}
		s.maxBody = n
	}
}

// Receiver receives Kinde's webhook requests. For each one it checks the
// RS256 signature against a key of the domain's key set, the issuer when the
// payload has one (Kinde's have none), exp, nbf and iat when present, and
// that the timestamp lies within the replay window; it then runs the
// handlers registered for the event's type, once per signed event_id.
//
// Answers, so that Kinde retries exactly when it should:
//   - 200 when the handlers succeeded, when no handler is registered for the
//     type (the event is acknowledged and ignored), and for an event already
//     accepted (Kinde's retry after a lost answer, or a replay, whatever its
//     webhook-id header): the handlers do not run again;
//   - 400 for a request that is not a well-formed application/jwt event;
//   - 401 for a bad signature, an unknown key, a wrong issuer, an expired
//     payload or a timestamp outside the window;
//   - 405 for methods other than POST; 413 for bodies above the maximum;
//   - 500 when a handler or the replay store fails, 503 when the key set
//     cannot be fetched: Kinde delivers the event again later.
//
// An event id is recorded before the handlers run, and forgotten when one of
// them fails (or panics), so that Kinde's retry runs them again: handlers
// should be idempotent. A retry that arrives while the first attempt is
// still running is answered 200 without running them, so handlers should
// finish well within Kinde's request timeout. Register handlers before
// serving. A Receiver is safe for concurrent use.
type Receiver struct {
	client  *kinde.Client
	issuer  string
	leeway  time.Duration
	now     func() time.Time
	log     *slog.Logger
	debug   bool
	window  time.Duration
	maxBody int64
	store   ReplayStore

	mu          sync.RWMutex
	handlers    map[string][]HandlerFunc
	anyHandlers []HandlerFunc
}

// New returns a Receiver of the webhooks of client's Kinde domain. It uses
// the client's key set to verify them, and the client's clock, leeway and
// logger. Mount it (it is an http.Handler) on the POST route whose URL is
// registered in Kinde, or use the Webhooks function of your framework's
// adapter. New fails when client is nil or an option is invalid.
func New(client *kinde.Client, opts ...Option) (*Receiver, error) {
	if client == nil {
		return nil, errors.New("webhook: New needs a *kinde.Client (from kinde.New)")
	}
	s := settings{window: DefaultReplayWindow, maxBody: DefaultMaxBody}
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	if len(s.errs) > 0 {
		return nil, fmt.Errorf("webhook: %w", errors.Join(s.errs...))
	}
	cfg := client.Config()
	r := &Receiver{
		client:   client,
		issuer:   client.Issuer(),
		leeway:   cfg.Leeway,
		now:      cfg.Now,
		log:      cfg.Logger,
		debug:    cfg.Debug,
		window:   s.window,
		maxBody:  s.maxBody,
		store:    s.store,
		handlers: make(map[string][]HandlerFunc),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.store == nil {
		r.store = newMemoryReplays(DefaultReplayCapacity, r.now)
	}
	return r, nil
}

// On registers fn for events of eventType (one of this package's
// constants, or a type Kinde adds later). Handlers of a type run in the
// order they were registered; the first error stops the others.
func (r *Receiver) On(eventType string, fn HandlerFunc) {
	if fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[eventType] = append(r.handlers[eventType], fn)
}

// OnAny registers fn for every event, whatever its type. It runs after the
// handlers registered with On for the event's type.
func (r *Receiver) OnAny(fn HandlerFunc) {
	if fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.anyHandlers = append(r.anyHandlers, fn)
}

// ServeHTTP implements http.Handler (see Handle).
func (r *Receiver) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	_ = r.Handle(kinde.NewHTTPExchange(rw, req), http.MaxBytesReader(rw, req.Body, r.maxBody))
}

// Handle answers one webhook request whose body is read from body (at most
// the configured maximum): it checks the method, reads the Content-Type and
// webhook-id headers from x, calls Receive and writes the status with a
// short text body. Rejections and failures are logged with the client's
// logger and returned. It is the entry point of the framework adapters.
func (r *Receiver) Handle(x kinde.Exchange, body io.Reader) error {
	ctx := x.Context()
	status, err := r.handle(x, body)
	switch {
	case status >= 500:
		r.log.ErrorContext(ctx, "webhook: failed", "status", status, "error", err)
	case err != nil:
		r.log.WarnContext(ctx, "webhook: rejected", "status", status, "error", err)
	}
	x.Write(status, "text/plain; charset=utf-8", []byte(http.StatusText(status)+"\n"))
	return err
}

func (r *Receiver) handle(x kinde.Exchange, body io.Reader) (int, error) {
	if x.Method() != http.MethodPost {
		x.SetHeader("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, ErrMethod
	}
	data, err := io.ReadAll(io.LimitReader(body, r.maxBody+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.maxBody)
		}
		return http.StatusBadRequest, fmt.Errorf("%w: reading the body: %w", ErrMalformed, err)
	}
	// The header is kept in the event: copy it out of the request's buffers.
	return r.Receive(x.Context(), x.Header("Content-Type"), strings.Clone(x.Header(IDHeader)), data)
}

// Receive is the framework-neutral core of Handle: it verifies one request
// body, drops an event already accepted, runs the handlers and returns the
// HTTP status to answer with, and an error for every status but 200.
// webhookID is the request's webhook-id header, reported in Event.WebhookID
// and nowhere relied on.
func (r *Receiver) Receive(ctx context.Context, contentType, webhookID string, body []byte) (int, error) {
	if !isContentType(contentType) {
		return http.StatusBadRequest, fmt.Errorf("%w: Content-Type is %q", ErrContentType, truncate(contentType, 64))
	}
	if int64(len(body)) > r.maxBody {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("%w: %d bytes, at most %d accepted", ErrTooLarge, len(body), r.maxBody)
	}
	e, err := r.Verify(ctx, body)
	if err != nil {
		return status(err), err
	}
	e.WebhookID = webhookID
	// The id need only be remembered while the event's timestamp is inside
	// the window: after that, Verify refuses the event as stale.
	ttl := max(e.Timestamp.Add(r.window).Sub(r.now()), time.Second)
	seen, err := r.store.Seen(ctx, e.ID, ttl)
	if err != nil {
		return http.StatusInternalServerError, fmt.Errorf("webhook: replay store: %w", err)
	}
	if seen {
		if r.debug {
			r.log.DebugContext(ctx, "webhook: event already accepted; handlers not run again", "event_id", e.ID, "type", e.Type, "webhook_id", e.WebhookID)
		}
		return http.StatusOK, nil
	}
	if err := r.dispatch(ctx, e); err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusOK, nil
}

// dispatch runs the handlers for e. When one fails (or panics) the event id
// is forgotten, so that Kinde's retry runs them again.
func (r *Receiver) dispatch(ctx context.Context, e Event) error {
	r.mu.RLock()
	fns := make([]HandlerFunc, 0, len(r.handlers[e.Type])+len(r.anyHandlers))
	fns = append(fns, r.handlers[e.Type]...)
	fns = append(fns, r.anyHandlers...)
	r.mu.RUnlock()

	done := false
	defer func() {
		if done {
			return
		}
		if err := r.store.Forget(context.WithoutCancel(ctx), e.ID); err != nil {
			r.log.ErrorContext(ctx, "webhook: replay store: forgetting a failed event", "event_id", e.ID, "error", err)
		}
	}()
	for _, fn := range fns {
		if err := fn(ctx, e); err != nil {
			return fmt.Errorf("%w: event %s (%s): %w", ErrHandler, e.ID, e.Type, err)
		}
	}
	done = true
	return nil
}

// Verify checks a webhook body (a compact JWS) and decodes its event,
// without the replay check and without running handlers: the RS256
// signature by a key of the domain's key set, iss equal to the client's
// issuer when present, exp, nbf and iat when present (with the client's
// leeway), and a timestamp within the replay window. Kinde's payloads carry
// data, event_id, event_timestamp, source, timestamp, type (and ip_address
// for sign-ins) but no registered claims, so none is required.
func (r *Receiver) Verify(ctx context.Context, body []byte) (Event, error) {
	payload, err := r.client.VerifyJWS(ctx, string(bytes.TrimSpace(body)), int(r.maxBody))
	if err != nil {
		var ve *kinde.VerifyError
		if errors.As(err, &ve) {
			return Event{}, &kinde.VerifyError{Token: "webhook", Err: ve.Err, Detail: ve.Detail}
		}
		return Event{}, err
	}
	e, reg, err := parsePayload(payload)
	if err != nil {
		return Event{}, err
	}
	now := r.now()
	switch {
	case reg.hasIssuer && reg.issuer != r.issuer:
		return Event{}, &kinde.VerifyError{Token: "webhook", Err: kinde.ErrTokenIssuer,
			Detail: fmt.Sprintf("iss is %q, want %q (check KINDE_DOMAIN)", truncate(reg.issuer, 128), r.issuer)}
	case !reg.expires.IsZero() && !now.Before(reg.expires.Add(r.leeway)):
		return Event{}, &kinde.VerifyError{Token: "webhook", Err: kinde.ErrTokenExpired}
	case !reg.notBefore.IsZero() && now.Add(r.leeway).Before(reg.notBefore),
		!reg.issuedAt.IsZero() && now.Add(r.leeway).Before(reg.issuedAt):
		return Event{}, &kinde.VerifyError{Token: "webhook", Err: kinde.ErrTokenNotYetValid}
	case e.Timestamp.Before(now.Add(-r.window)):
		return Event{}, fmt.Errorf("%w: timestamp %s is more than %v old", ErrStale, e.Timestamp.Format(time.RFC3339), r.window)
	case e.Timestamp.After(now.Add(r.leeway)):
		return Event{}, fmt.Errorf("%w: timestamp %s is in the future (this server's clock may be behind: sync it)", ErrStale, e.Timestamp.Format(time.RFC3339))
	}
	return e, nil
}

func isContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == ContentType
}

// status maps an error of Verify to the status Receive answers.
func status(err error) int {
	switch {
	case errors.Is(err, kinde.ErrKeySetUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, kinde.ErrTokenMalformed), errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	default:
		return http.StatusUnauthorized
	}
}
