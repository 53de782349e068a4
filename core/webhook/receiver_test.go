package webhook_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/webhook"
)

// TestMain checks that no test leaves a goroutine behind: the emulators,
// the test servers and the concurrent deliveries all end with their test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// now is the fixed time of the tests.
var now = time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)

// newKey makes a 2048-bit RSA key, once per variable: key generation is slow.
func newKey() func() *rsa.PrivateKey {
	return sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
}

var (
	// emulatorKey is the emulator's signing key, shared by the tests so
	// that they can sign payloads of their own with it.
	emulatorKey = newKey()
	// otherKey is a key the emulator does not publish.
	otherKey = newKey()
)

// env is an emulator, a client of it and a receiver whose handlers record
// the events they get.
type env struct {
	srv    *kindetest.Server
	client *kinde.Client
	hooks  *webhook.Receiver

	mu     sync.Mutex
	events []webhook.Event // every event, from OnAny
	users  []webhook.User  // from the user.created handler
	fail   error           // returned by the user.created handler when set
}

func newEnv(t testing.TB, opts ...webhook.Option) *env {
	t.Helper()
	srv := kindetest.Start(t, kindetest.WithSigningKey(emulatorKey()), kindetest.WithNow(now))
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := webhook.New(client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: srv, client: client, hooks: hooks}
	hooks.On(webhook.UserCreated, func(_ context.Context, ev webhook.Event) error {
		u, err := ev.User()
		if err != nil {
			return err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.fail != nil {
			return e.fail
		}
		e.users = append(e.users, u)
		return nil
	})
	hooks.OnAny(func(_ context.Context, ev webhook.Event) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
		return nil
	})
	return e
}

func (e *env) setFail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = err
}

func (e *env) counts() (events, users int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.events), len(e.users)
}

// post sends body through Handle, as an adapter does, and returns the status
// written and the error returned.
func (e *env) post(t testing.TB, method, contentType, id, body string) (int, error) {
	t.Helper()
	req := httptest.NewRequest(method, "/webhooks", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if id != "" {
		req.Header.Set(webhook.IDHeader, id)
	}
	rec := httptest.NewRecorder()
	err := e.hooks.Handle(kinde.NewHTTPExchange(rec, req), req.Body)
	return rec.Code, err
}

func (e *env) webhook(t testing.TB, eventType string, data any, opts ...kindetest.WebhookOption) kindetest.Webhook {
	t.Helper()
	wh, err := e.srv.NewWebhook(eventType, data, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

// janeData is user.created data in Kinde's shape (kinde-oss/webhook,
// lib/types.ts at HEAD: roles are {id, key} objects).
var janeData = map[string]any{"user": map[string]any{
	"id": "kp_1234567890", "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
	"is_password_reset_requested": false, "is_suspended": false, "phone": nil, "username": nil,
	"organizations": []any{map[string]any{
		"code":        "org_1234567890",
		"permissions": []any{map[string]any{"id": "perm_1", "key": "read:todos"}},
		"roles":       []any{map[string]any{"id": "role_1", "key": "admin"}},
	}},
}}

// opts builds webhook options once the emulator runs.
type opts func(srv *kindetest.Server) []kindetest.WebhookOption

func with(o ...kindetest.WebhookOption) opts {
	return func(*kindetest.Server) []kindetest.WebhookOption { return o }
}

func TestReceiverHandle(t *testing.T) {
	tests := []struct {
		name        string
		method      string // default POST
		contentType string // default application/jwt; "-" for none
		eventType   string // default user.created
		opts        opts
		body        string // replaces the signed token when set
		want        int
		wantErr     error
		wantEvents  int // events seen by OnAny
		wantUsers   int // events seen by the user.created handler
	}{
		{name: "valid", want: 200, wantEvents: 1, wantUsers: 1},
		{name: "content type with parameters", contentType: "application/jwt; charset=utf-8", want: 200, wantEvents: 1, wantUsers: 1},
		{name: "issuer present and right", opts: func(srv *kindetest.Server) []kindetest.WebhookOption {
			return []kindetest.WebhookOption{kindetest.WebhookClaim("iss", srv.Issuer())}
		}, want: 200, wantEvents: 1, wantUsers: 1},
		{name: "unknown event type", eventType: "thing.happened", want: 200, wantEvents: 1},
		{name: "no webhook-id header", opts: with(kindetest.WebhookID("-")), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "epoch seconds timestamp", opts: with(kindetest.WebhookClaim("timestamp", now.Unix())), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "timestamp with microseconds and an offset", opts: with(kindetest.WebhookClaim("timestamp", "2026-02-03T21:59:59.592145+10:00")), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "timestamp at the edge of the window", opts: with(kindetest.WebhookTimestamp(now.Add(-webhook.DefaultReplayWindow))), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "timestamp within the leeway ahead", opts: with(kindetest.WebhookTimestamp(now.Add((30 * time.Second)))), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "null members count as absent", opts: with(kindetest.WebhookClaim("source", nil), kindetest.WebhookClaim("iss", nil), kindetest.WebhookClaim("event_timestamp", nil)), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "wrong content type", contentType: "application/json", want: 400, wantErr: webhook.ErrContentType},
		{name: "no content type", contentType: "-", want: 400, wantErr: webhook.ErrContentType},
		{name: "not a JWT", body: "hello", want: 400, wantErr: kinde.ErrTokenMalformed},
		{name: "four parts", body: "a.b.c.d", want: 400, wantErr: kinde.ErrTokenMalformed},
		{name: "GET", method: http.MethodGet, want: 405, wantErr: webhook.ErrMethod},
		{name: "bad signature", opts: func(srv *kindetest.Server) []kindetest.WebhookOption {
			return []kindetest.WebhookOption{kindetest.WebhookHeader(kindetest.Header{Key: otherKey(), Kid: srv.KeyID()})}
		}, want: 401, wantErr: kinde.ErrTokenSignature},
		{name: "unknown key", opts: with(kindetest.WebhookHeader(kindetest.Header{Key: otherKey()})), want: 401, wantErr: kinde.ErrTokenUnknownKey},
		{name: "alg none", opts: with(kindetest.WebhookHeader(kindetest.Header{Alg: "none"})), want: 401, wantErr: kinde.ErrTokenAlgorithm},
		{name: "HS256 keyed with the public key", opts: with(kindetest.WebhookHeader(kindetest.Header{Alg: "HS256"})), want: 401, wantErr: kinde.ErrTokenAlgorithm},
		{name: "wrong issuer", opts: with(kindetest.WebhookClaim("iss", "https://evil.example.com")), want: 401, wantErr: kinde.ErrTokenIssuer},
		{name: "empty issuer", opts: with(kindetest.WebhookClaim("iss", "")), want: 401, wantErr: kinde.ErrTokenIssuer},
		{name: "expired", opts: with(kindetest.WebhookClaim("exp", now.Add(-time.Hour).Unix())), want: 401, wantErr: kinde.ErrTokenExpired},
		{name: "not valid yet", opts: with(kindetest.WebhookClaim("nbf", now.Add(time.Hour).Unix())), want: 401, wantErr: kinde.ErrTokenNotYetValid},
		{name: "issued in the future", opts: with(kindetest.WebhookClaim("iat", now.Add(time.Hour).Unix())), want: 401, wantErr: kinde.ErrTokenNotYetValid},
		{name: "stale", opts: with(kindetest.WebhookTimestamp(now.Add(-webhook.DefaultReplayWindow - time.Second))), want: 401, wantErr: webhook.ErrStale},
		{name: "timestamp in the future", opts: with(kindetest.WebhookTimestamp(now.Add(10 * time.Minute))), want: 401, wantErr: webhook.ErrStale},
		{name: "no type", opts: with(kindetest.WebhookClaim("type", nil)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "type not a string", opts: with(kindetest.WebhookClaim("type", 7)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "no event_id", opts: with(kindetest.WebhookClaim("event_id", nil)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "empty event_id", opts: with(kindetest.WebhookClaim("event_id", "")), want: 400, wantErr: webhook.ErrMalformed},
		{name: "no timestamp", opts: with(kindetest.WebhookClaim("timestamp", nil)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "timestamp not a time", opts: with(kindetest.WebhookClaim("timestamp", "yesterday")), want: 400, wantErr: webhook.ErrMalformed},
		{name: "timestamp a boolean", opts: with(kindetest.WebhookClaim("timestamp", true)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "event_timestamp not a time", opts: with(kindetest.WebhookClaim("event_timestamp", "soon")), want: 400, wantErr: webhook.ErrMalformed},
		{name: "ip_address not a string", opts: with(kindetest.WebhookClaim("ip_address", 127)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "iss not a string", opts: with(kindetest.WebhookClaim("iss", 1)), want: 400, wantErr: webhook.ErrMalformed},
		{name: "exp not a number", opts: with(kindetest.WebhookClaim("exp", "tomorrow")), want: 400, wantErr: webhook.ErrMalformed},
		{name: "handler fails", opts: with(kindetest.WebhookClaim("data", "not an object")), want: 500, wantErr: webhook.ErrHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var o []kindetest.WebhookOption
			if tt.opts != nil {
				o = tt.opts(e.srv)
			}
			eventType := tt.eventType
			if eventType == "" {
				eventType = webhook.UserCreated
			}
			wh := e.webhook(t, eventType, janeData, o...)
			body := wh.Token
			if tt.body != "" {
				body = tt.body
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			ct := tt.contentType
			switch ct {
			case "":
				ct = webhook.ContentType
			case "-":
				ct = ""
			}
			id := wh.ID
			if id == "-" {
				id = ""
			}
			status, err := e.post(t, method, ct, id, body)
			if status != tt.want {
				t.Errorf("status %d, want %d (error %v)", status, tt.want, err)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			var ve *kinde.VerifyError
			if errors.As(err, &ve) && ve.Token != "webhook" {
				t.Errorf("VerifyError.Token %q, want webhook", ve.Token)
			}
			if events, users := e.counts(); events != tt.wantEvents || users != tt.wantUsers {
				t.Errorf("handlers saw %d events and %d users, want %d and %d", events, users, tt.wantEvents, tt.wantUsers)
			}
		})
	}
}

func TestReceiverEvent(t *testing.T) {
	e := newEnv(t)
	wh := e.webhook(t, webhook.UserCreated, janeData, kindetest.WebhookSource(webhook.SourceUser), kindetest.WebhookEventID("event_42"))
	if status, err := e.post(t, http.MethodPost, webhook.ContentType, wh.ID, wh.Token); status != 200 || err != nil {
		t.Fatalf("status %d err %v", status, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	want := webhook.User{
		ID: "kp_1234567890", Email: "jane@example.com", FirstName: "Jane", LastName: "Doe",
		Organizations: []webhook.Membership{{
			Code:        "org_1234567890",
			Roles:       []webhook.RoleRef{{ID: "role_1", Key: "admin"}},
			Permissions: []webhook.PermissionRef{{ID: "perm_1", Key: "read:todos"}},
		}},
	}
	if got := e.users[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("user %+v, want %+v", got, want)
	}
	ev := e.events[0]
	if ev.ID != "event_42" || ev.Type != webhook.UserCreated || ev.Source != webhook.SourceUser || ev.WebhookID != wh.ID ||
		!ev.Timestamp.Equal(now) || !ev.EventTimestamp.Equal(now) || ev.IPAddress != "" {
		t.Errorf("event %+v", ev)
	}
}

func TestReceiverHandlerOrder(t *testing.T) {
	e := newEnv(t)
	var order []string
	hooks, err := webhook.New(e.client)
	if err != nil {
		t.Fatal(err)
	}
	hooks.OnAny(func(context.Context, webhook.Event) error { order = append(order, "any"); return nil })
	hooks.On(webhook.RoleCreated, func(context.Context, webhook.Event) error { order = append(order, "role 1"); return nil })
	hooks.On(webhook.RoleCreated, func(context.Context, webhook.Event) error { order = append(order, "role 2"); return nil })
	hooks.On(webhook.RoleCreated, nil)
	hooks.OnAny(nil)
	hooks.On(webhook.RoleDeleted, func(context.Context, webhook.Event) error { order = append(order, "deleted"); return nil })
	wh := e.webhook(t, webhook.RoleCreated, nil)
	status, err := hooks.Receive(context.Background(), webhook.ContentType, wh.ID, []byte(wh.Token+"\n"))
	if status != 200 || err != nil {
		t.Fatalf("status %d error %v", status, err)
	}
	if got := strings.Join(order, ", "); got != "role 1, role 2, any" {
		t.Errorf("handlers ran in order %s", got)
	}
}

func TestReceiverHandlerErrorStopsTheOthers(t *testing.T) {
	e := newEnv(t)
	hooks, err := webhook.New(e.client)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("database down")
	var ran []string
	hooks.On(webhook.RoleCreated, func(context.Context, webhook.Event) error { ran = append(ran, "first"); return boom })
	hooks.On(webhook.RoleCreated, func(context.Context, webhook.Event) error { ran = append(ran, "second"); return nil })
	hooks.OnAny(func(context.Context, webhook.Event) error { ran = append(ran, "any"); return nil })
	wh := e.webhook(t, webhook.RoleCreated, nil)
	status, err := hooks.Receive(context.Background(), webhook.ContentType, wh.ID, []byte(wh.Token))
	if status != 500 || !errors.Is(err, webhook.ErrHandler) || !errors.Is(err, boom) {
		t.Errorf("status %d error %v, want 500 wrapping both ErrHandler and the handler's error", status, err)
	}
	if got := strings.Join(ran, ", "); got != "first" {
		t.Errorf("ran %s, want first only", got)
	}
}

func TestReceiverHandlerPanicForgetsTheEvent(t *testing.T) {
	e := newEnv(t)
	hooks, err := webhook.New(e.client)
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	hooks.On(webhook.RoleCreated, func(context.Context, webhook.Event) error {
		if runs.Add(1) == 1 {
			panic("handler bug")
		}
		return nil
	})
	wh := e.webhook(t, webhook.RoleCreated, nil)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the handler's panic did not reach the caller")
			}
		}()
		_, _ = hooks.Receive(context.Background(), webhook.ContentType, wh.ID, []byte(wh.Token))
	}()
	// Kinde's retry runs the handler again: the panic left the id unrecorded.
	if status, err := hooks.Receive(context.Background(), webhook.ContentType, wh.ID, []byte(wh.Token)); status != 200 || err != nil {
		t.Fatalf("retry: status %d error %v", status, err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2", n)
	}
}

func TestReceiverServeHTTP(t *testing.T) {
	e := newEnv(t, webhook.WithMaxBody(4096))
	app := httptest.NewServer(e.hooks)
	defer app.Close()
	big := e.webhook(t, webhook.UserCreated, map[string]any{"user": map[string]any{"id": strings.Repeat("x", 4096)}})
	tests := []struct {
		name string
		wh   kindetest.Webhook
		want int
	}{
		{name: "valid", wh: e.webhook(t, webhook.UserCreated, janeData), want: 200},
		{name: "oversized", wh: big, want: 413},
		{name: "bad signature", wh: e.webhook(t, webhook.UserCreated, janeData, kindetest.WebhookHeader(kindetest.Header{Key: otherKey(), Kid: e.srv.KeyID()})), want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := kindetest.PostWebhook(context.Background(), app.URL, tt.wh)
			if err != nil || status != tt.want {
				t.Errorf("status %d error %v, want %d", status, err, tt.want)
			}
		})
	}
	// The receiver checks the size also when handed a body directly.
	if status, err := e.hooks.Receive(context.Background(), webhook.ContentType, big.ID, []byte(big.Token)); status != 413 || !errors.Is(err, webhook.ErrTooLarge) {
		t.Errorf("Receive: status %d error %v, want 413", status, err)
	}
	if _, users := e.counts(); users != 1 {
		t.Errorf("handler ran %d times, want 1", users)
	}
}

func TestReceiverServerErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env)
		opts    []webhook.Option
		want    int
		wantErr error
	}{
		{name: "replay store down", opts: []webhook.Option{webhook.WithReplayStore(failingStore{})}, want: 500, wantErr: errStoreDown},
		{name: "key set unavailable", setup: func(e *env) {
			e.srv.SetFault("/.well-known/jwks", kindetest.Fault{Status: 503})
			e.srv.SetFault("/.well-known/jwks.json", kindetest.Fault{Status: 503})
		}, want: 503, wantErr: kinde.ErrKeySetUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(e)
			}
			wh := e.webhook(t, webhook.UserCreated, janeData)
			status, err := e.post(t, http.MethodPost, webhook.ContentType, wh.ID, wh.Token)
			if status != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("status %d error %v, want %d %v", status, err, tt.want, tt.wantErr)
			}
			if _, users := e.counts(); users != 0 {
				t.Errorf("handler ran %d times", users)
			}
		})
	}
}

// TestReceiverClock checks that the replay window follows the client's
// clock (Config.Now).
func TestReceiverClock(t *testing.T) {
	e := newEnv(t)
	wh := e.webhook(t, webhook.UserCreated, janeData)
	tests := []struct {
		name    string
		now     time.Time
		want    int
		wantErr error
	}{
		{name: "inside the window", now: now.Add(webhook.DefaultReplayWindow - time.Minute), want: 200},
		{name: "after the window", now: now.Add(webhook.DefaultReplayWindow + time.Minute), want: 401, wantErr: webhook.ErrStale},
		{name: "before the event", now: now.Add(-time.Hour), want: 401, wantErr: webhook.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := kinde.New(kinde.Config{Domain: e.srv.URL(), ClientID: e.srv.ClientID(), Now: func() time.Time { return tt.now }, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			hooks, err := webhook.New(client)
			if err != nil {
				t.Fatal(err)
			}
			status, err := hooks.Receive(context.Background(), webhook.ContentType, wh.ID, []byte(wh.Token))
			if status != tt.want || tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("status %d error %v, want %d %v", status, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNew(t *testing.T) {
	srv := kindetest.Start(t, kindetest.WithSigningKey(emulatorKey()))
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		client  *kinde.Client
		opts    []webhook.Option
		wantErr string // a part of the message; "" for success
	}{
		{name: "defaults", client: client},
		{name: "all options", client: client, opts: []webhook.Option{webhook.WithReplayWindow(72 * time.Hour), webhook.WithMaxBody(64 << 10), webhook.WithReplayStore(failingStore{}), nil}},
		{name: "no client", wantErr: "kinde.Client"},
		{name: "zero window", client: client, opts: []webhook.Option{webhook.WithReplayWindow(0)}, wantErr: "WithReplayWindow(0s)"},
		{name: "negative size", client: client, opts: []webhook.Option{webhook.WithMaxBody(-1)}, wantErr: "WithMaxBody(-1)"},
		{name: "nil store", client: client, opts: []webhook.Option{webhook.WithReplayStore(nil)}, wantErr: "WithReplayStore(nil)"},
		{name: "every mistake is reported", client: client, opts: []webhook.Option{webhook.WithReplayWindow(-time.Hour), webhook.WithMaxBody(0)}, wantErr: "WithMaxBody(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hooks, err := webhook.New(tt.client, tt.opts...)
			switch {
			case tt.wantErr == "" && (err != nil || hooks == nil):
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || hooks != nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}
