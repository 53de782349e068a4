package kinde_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// webhookNow is the fixed time of the webhook tests.
var webhookNow = time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)

// otherWebhookKey is a key the emulator does not publish.
var otherWebhookKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// webhookEnv is an emulator, a client of it and a receiver whose handlers
// record the events they get.
type webhookEnv struct {
	srv    *kindetest.Server
	client *kinde.Client
	hooks  *kinde.Webhooks

	mu     sync.Mutex
	events []kinde.WebhookEvent // every event, from OnAny
	users  []kinde.UserEventData
	fail   error // returned by the user.created handler when set
}

func newWebhookEnv(t testing.TB, opts ...kinde.WebhookOption) *webhookEnv {
	t.Helper()
	srv := kindetest.Start(t, kindetest.WithSigningKey(sessionTestKey()), kindetest.WithNow(webhookNow))
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &webhookEnv{srv: srv, client: client, hooks: client.Webhooks(opts...)}
	e.hooks.On(kinde.EventUserCreated, func(_ context.Context, ev kinde.WebhookEvent) error {
		var d kinde.UserEventData
		if err := ev.Decode(&d); err != nil {
			return err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.fail != nil {
			return e.fail
		}
		e.users = append(e.users, d)
		return nil
	})
	e.hooks.OnAny(func(_ context.Context, ev kinde.WebhookEvent) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
		return nil
	})
	return e
}

func (e *webhookEnv) setFail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = err
}

func (e *webhookEnv) counts() (events, users int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.events), len(e.users)
}

// post sends body through Handle, as an adapter does, and returns the status
// written and the error returned.
func (e *webhookEnv) post(t testing.TB, method, contentType, id, body string) (int, error) {
	t.Helper()
	req := httptest.NewRequest(method, "/webhooks", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if id != "" {
		req.Header.Set("webhook-id", id)
	}
	rec := httptest.NewRecorder()
	err := e.hooks.Handle(kinde.NewHTTPExchange(rec, req), req.Body)
	return rec.Code, err
}

func (e *webhookEnv) webhook(t testing.TB, eventType string, data any, opts ...kindetest.WebhookOption) kindetest.Webhook {
	t.Helper()
	wh, err := e.srv.NewWebhook(eventType, data, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

var janeData = map[string]any{"user": map[string]any{
	"id": "kp_1234567890", "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
	"is_password_reset_requested": false, "is_suspended": false, "phone": nil, "username": nil,
	"organizations": []any{map[string]any{"code": "org_1234567890", "permissions": []any{map[string]any{"id": "perm_1", "key": "read:todos"}}, "roles": []any{"admin"}}},
}}

// opts builds webhook options once the emulator runs.
type opts func(srv *kindetest.Server) []kindetest.WebhookOption

func with(o ...kindetest.WebhookOption) opts {
	return func(*kindetest.Server) []kindetest.WebhookOption { return o }
}

func TestWebhooksHandle(t *testing.T) {
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
		{name: "epoch seconds timestamp", opts: with(kindetest.WebhookClaim("timestamp", webhookNow.Unix())), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "timestamp at the edge of the window", opts: with(kindetest.WebhookTimestamp(webhookNow.Add(-kinde.DefaultWebhookReplayWindow))), want: 200, wantEvents: 1, wantUsers: 1},
		{name: "wrong content type", contentType: "application/json", want: 400, wantErr: kinde.ErrWebhookContentType},
		{name: "no content type", contentType: "-", want: 400, wantErr: kinde.ErrWebhookContentType},
		{name: "not a JWT", body: "hello", want: 400, wantErr: kinde.ErrTokenMalformed},
		{name: "four parts", body: "a.b.c.d", want: 400, wantErr: kinde.ErrTokenMalformed},
		{name: "GET", method: http.MethodGet, want: 405, wantErr: kinde.ErrWebhookMethod},
		{name: "bad signature", opts: func(srv *kindetest.Server) []kindetest.WebhookOption {
			return []kindetest.WebhookOption{kindetest.WebhookHeader(kindetest.Header{Key: otherWebhookKey(), Kid: srv.KeyID()})}
		}, want: 401, wantErr: kinde.ErrTokenSignature},
		{name: "unknown key", opts: with(kindetest.WebhookHeader(kindetest.Header{Key: otherWebhookKey()})), want: 401, wantErr: kinde.ErrTokenUnknownKey},
		{name: "alg none", opts: with(kindetest.WebhookHeader(kindetest.Header{Alg: "none"})), want: 401, wantErr: kinde.ErrTokenAlgorithm},
		{name: "HS256 keyed with the public key", opts: with(kindetest.WebhookHeader(kindetest.Header{Alg: "HS256"})), want: 401, wantErr: kinde.ErrTokenAlgorithm},
		{name: "wrong issuer", opts: with(kindetest.WebhookClaim("iss", "https://evil.example.com")), want: 401, wantErr: kinde.ErrTokenIssuer},
		{name: "expired", opts: with(kindetest.WebhookClaim("exp", webhookNow.Add(-time.Hour).Unix())), want: 401, wantErr: kinde.ErrTokenExpired},
		{name: "issued in the future", opts: with(kindetest.WebhookClaim("iat", webhookNow.Add(time.Hour).Unix())), want: 401, wantErr: kinde.ErrTokenNotYetValid},
		{name: "stale", opts: with(kindetest.WebhookTimestamp(webhookNow.Add(-kinde.DefaultWebhookReplayWindow - time.Second))), want: 401, wantErr: kinde.ErrWebhookStale},
		{name: "timestamp in the future", opts: with(kindetest.WebhookTimestamp(webhookNow.Add(10 * time.Minute))), want: 401, wantErr: kinde.ErrWebhookStale},
		{name: "no type", opts: with(kindetest.WebhookClaim("type", nil)), want: 400, wantErr: kinde.ErrWebhookMalformed},
		{name: "type not a string", opts: with(kindetest.WebhookClaim("type", 7)), want: 400, wantErr: kinde.ErrWebhookMalformed},
		{name: "no timestamp", opts: with(kindetest.WebhookClaim("timestamp", nil)), want: 400, wantErr: kinde.ErrWebhookMalformed},
		{name: "timestamp not a time", opts: with(kindetest.WebhookClaim("timestamp", "yesterday")), want: 400, wantErr: kinde.ErrWebhookMalformed},
		{name: "iss not a string", opts: with(kindetest.WebhookClaim("iss", 1)), want: 400, wantErr: kinde.ErrWebhookMalformed},
		{name: "no ids", opts: with(kindetest.WebhookID("-"), kindetest.WebhookEventID("-"), kindetest.WebhookClaim("event_id", nil)), want: 400, wantErr: kinde.ErrWebhookMalformed},
		{name: "handler fails", opts: with(kindetest.WebhookClaim("data", "not an object")), want: 500, wantErr: kinde.ErrWebhookHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t)
			var o []kindetest.WebhookOption
			if tt.opts != nil {
				o = tt.opts(e.srv)
			}
			eventType := tt.eventType
			if eventType == "" {
				eventType = kinde.EventUserCreated
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
				ct = kinde.WebhookContentType
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
			if events, users := e.counts(); events != tt.wantEvents || users != tt.wantUsers {
				t.Errorf("handlers saw %d events and %d users, want %d and %d", events, users, tt.wantEvents, tt.wantUsers)
			}
		})
	}
}

func TestWebhooksTypedData(t *testing.T) {
	e := newWebhookEnv(t)
	wh := e.webhook(t, kinde.EventUserCreated, janeData, kindetest.WebhookSource(kinde.WebhookSourceUser), kindetest.WebhookEventID("event_42"))
	if status, err := e.post(t, http.MethodPost, kinde.WebhookContentType, wh.ID, wh.Token); status != 200 || err != nil {
		t.Fatalf("status %d err %v", status, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	want := kinde.WebhookUser{
		ID: "kp_1234567890", Email: "jane@example.com", FirstName: "Jane", LastName: "Doe",
		Organizations: []kinde.WebhookUserOrganization{{Code: "org_1234567890", Roles: []string{"admin"}, Permissions: []kinde.WebhookPermissionRef{{ID: "perm_1", Key: "read:todos"}}}},
	}
	if got := e.users[0].User; !reflect.DeepEqual(got, want) {
		t.Errorf("user %+v, want %+v", got, want)
	}
	ev := e.events[0]
	if ev.ID != "event_42" || ev.Type != kinde.EventUserCreated || ev.Source != kinde.WebhookSourceUser || ev.WebhookID != wh.ID ||
		!ev.Timestamp.Equal(webhookNow) || !ev.EventTimestamp.Equal(webhookNow) {
		t.Errorf("event %+v", ev)
	}
}

func TestWebhookEventDecode(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		into    any
		want    any
		wantErr error
		typeErr bool // want a *json.UnmarshalTypeError
	}{
		{name: "organization", data: `{"organization":{"code":"org_1","name":"Acme","handle":"acme","external_id":null,"is_allow_registrations":true}}`, into: &kinde.OrganizationEventData{},
			want: &kinde.OrganizationEventData{Organization: kinde.WebhookOrganization{Code: "org_1", Name: "Acme", Handle: "acme", IsAllowRegistrations: true}}},
		{name: "role", data: `{"role":{"id":"r1","key":"admin","name":"Admin","description":"","is_default_role":true}}`, into: &kinde.RoleEventData{},
			want: &kinde.RoleEventData{Role: kinde.WebhookRole{ID: "r1", Key: "admin", Name: "Admin", IsDefaultRole: true}}},
		{name: "permission", data: `{"permission":{"id":"p1","key":"read:x","name":"Read","description":"d"}}`, into: &kinde.PermissionEventData{},
			want: &kinde.PermissionEventData{Permission: kinde.WebhookPermission{ID: "p1", Key: "read:x", Name: "Read", Description: "d"}}},
		{name: "subscriber", data: `{"subscriber":{"id":"s1","user_id":"kp_1","email":"a@b.c","first_name":"A","last_name":"B"}}`, into: &kinde.SubscriberEventData{},
			want: &kinde.SubscriberEventData{Subscriber: kinde.WebhookSubscriber{ID: "s1", UserID: "kp_1", Email: "a@b.c", FirstName: "A", LastName: "B"}}},
		{name: "access request", data: `{"access_request":{"user_id":"kp_1","email":"a@b.c","first_name":"A","last_name":"B"}}`, into: &kinde.AccessRequestEventData{},
			want: &kinde.AccessRequestEventData{AccessRequest: kinde.WebhookAccessRequest{UserID: "kp_1", Email: "a@b.c", FirstName: "A", LastName: "B"}}},
		{name: "deleted user", data: `{"user":{"id":"kp_1"}}`, into: &kinde.UserEventData{}, want: &kinde.UserEventData{User: kinde.WebhookUser{ID: "kp_1"}}},
		{name: "null data", data: `null`, into: &kinde.UserEventData{}, wantErr: kinde.ErrWebhookMalformed},
		{name: "no data", data: ``, into: &kinde.UserEventData{}, wantErr: kinde.ErrWebhookMalformed},
		{name: "wrong shape", data: `{"user":[]}`, into: &kinde.UserEventData{}, typeErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := kinde.WebhookEvent{ID: "event_1", Type: "x", Data: json.RawMessage(tt.data)}.Decode(tt.into)
			var typeErr *json.UnmarshalTypeError
			switch {
			case tt.typeErr:
				if !errors.As(err, &typeErr) {
					t.Errorf("error %v, want a JSON type error", err)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.into, tt.want) {
				t.Errorf("decoded %+v, want %+v", tt.into, tt.want)
			}
		})
	}
}

// failingStore is a replay store that is down.
type failingStore struct{}

func (failingStore) Seen(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("store down")
}
func (failingStore) Forget(context.Context, string) error { return errors.New("store down") }

func TestWebhooksReplay(t *testing.T) {
	stores := []struct {
		name  string
		store kinde.WebhookReplayStore // nil: the default
	}{
		{name: "default store"},
		{name: "session store", store: kinde.WebhookReplayStoreFrom(kinde.NewMemoryStore(10))},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			tests := []struct {
				name      string
				secondID  string // webhook-id of the second delivery; "=" for the same
				noHeader  bool   // send no webhook-id header: event_id is the key
				failFirst bool
				wantRuns  int
			}{
				{name: "same webhook-id twice runs once", secondID: "=", wantRuns: 1},
				{name: "same event_id without header runs once", secondID: "=", noHeader: true, wantRuns: 1},
				{name: "another webhook-id runs again", secondID: "msg_other", wantRuns: 2},
				{name: "retry after a failed handler runs again", secondID: "=", failFirst: true, wantRuns: 1},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var opts []kinde.WebhookOption
					if st.store != nil {
						opts = append(opts, kinde.WithWebhookReplayStore(st.store))
					}
					e := newWebhookEnv(t, opts...)
					wh := e.webhook(t, kinde.EventUserCreated, janeData, kindetest.WebhookID("msg_"+strings.ReplaceAll(t.Name(), "/", "_")))
					first, second := wh.ID, tt.secondID
					if second == "=" {
						second = first
					}
					if tt.noHeader {
						first, second = "", ""
					}
					if tt.failFirst {
						e.setFail(errors.New("database down"))
					}
					status, err := e.post(t, http.MethodPost, kinde.WebhookContentType, first, wh.Token)
					if want := map[bool]int{false: 200, true: 500}[tt.failFirst]; status != want {
						t.Fatalf("first delivery: status %d, want %d (error %v)", status, want, err)
					}
					e.setFail(nil)
					if status, err := e.post(t, http.MethodPost, kinde.WebhookContentType, second, wh.Token); status != 200 || err != nil {
						t.Fatalf("second delivery: status %d error %v", status, err)
					}
					if _, users := e.counts(); users != tt.wantRuns {
						t.Errorf("handler ran %d times, want %d", users, tt.wantRuns)
					}
				})
			}
		})
	}
}

func TestWebhooksReplayAfterWindow(t *testing.T) {
	window := 10 * time.Minute
	e := newWebhookEnv(t, kinde.WithWebhookReplayWindow(window))
	wh := e.webhook(t, kinde.EventUserCreated, janeData)
	steps := []struct {
		advance time.Duration
		want    int
		wantErr error
	}{
		{0, 200, nil},
		{window - time.Second, 200, nil}, // replay inside the window: remembered, not run
		{2 * time.Second, 401, kinde.ErrWebhookStale},
	}
	for i, s := range steps {
		e.srv.Advance(s.advance)
		status, err := e.post(t, http.MethodPost, kinde.WebhookContentType, wh.ID, wh.Token)
		if status != s.want || !errors.Is(err, s.wantErr) && s.wantErr != nil || s.wantErr == nil && err != nil {
			t.Errorf("step %d: status %d error %v, want %d %v", i, status, err, s.want, s.wantErr)
		}
	}
	if _, users := e.counts(); users != 1 {
		t.Errorf("handler ran %d times, want 1", users)
	}
}

func TestWebhooksConcurrentDeliveriesRunOnce(t *testing.T) {
	e := newWebhookEnv(t)
	wh := e.webhook(t, kinde.EventUserCreated, janeData)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 16 {
		wg.Go(func() {
			if status, err := e.post(t, http.MethodPost, kinde.WebhookContentType, wh.ID, wh.Token); status == 200 && err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if _, users := e.counts(); users != 1 || ok.Load() != 16 {
		t.Errorf("handler ran %d times and %d answers were 200, want 1 and 16", users, ok.Load())
	}
}

func TestWebhooksServerErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *webhookEnv)
		opts    []kinde.WebhookOption
		want    int
		wantErr error
	}{
		{name: "replay store down", opts: []kinde.WebhookOption{kinde.WithWebhookReplayStore(failingStore{})}, want: 500},
		{name: "key set unavailable", setup: func(e *webhookEnv) {
			e.srv.SetFault("/.well-known/jwks", kindetest.Fault{Status: 503})
			e.srv.SetFault("/.well-known/jwks.json", kindetest.Fault{Status: 503})
		}, want: 503, wantErr: kinde.ErrKeySetUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(e)
			}
			wh := e.webhook(t, kinde.EventUserCreated, janeData)
			status, err := e.post(t, http.MethodPost, kinde.WebhookContentType, wh.ID, wh.Token)
			if status != tt.want || err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("status %d error %v, want %d %v", status, err, tt.want, tt.wantErr)
			}
			if _, users := e.counts(); users != 0 {
				t.Errorf("handler ran %d times", users)
			}
		})
	}
}

func TestWebhooksHandlerOrder(t *testing.T) {
	e := newWebhookEnv(t)
	var order []string
	hooks := e.client.Webhooks()
	hooks.OnAny(func(context.Context, kinde.WebhookEvent) error { order = append(order, "any"); return nil })
	hooks.On(kinde.EventRoleCreated, func(context.Context, kinde.WebhookEvent) error { order = append(order, "role 1"); return nil })
	hooks.On(kinde.EventRoleCreated, func(context.Context, kinde.WebhookEvent) error { order = append(order, "role 2"); return nil })
	hooks.On(kinde.EventRoleCreated, nil)
	hooks.OnAny(nil)
	wh := e.webhook(t, kinde.EventRoleCreated, map[string]any{"role": map[string]any{"id": "r1"}})
	status, err := hooks.Receive(context.Background(), kinde.WebhookContentType, wh.ID, []byte(wh.Token+"\n"))
	if status != 200 || err != nil {
		t.Fatalf("status %d error %v", status, err)
	}
	if got := strings.Join(order, ", "); got != "role 1, role 2, any" {
		t.Errorf("handlers ran in order %s", got)
	}
}

func TestWebhooksServeHTTP(t *testing.T) {
	e := newWebhookEnv(t, kinde.WithWebhookMaxBody(4096))
	app := httptest.NewServer(e.hooks)
	defer app.Close()
	big := e.webhook(t, kinde.EventUserCreated, map[string]any{"user": map[string]any{"id": strings.Repeat("x", 4096)}})
	tests := []struct {
		name string
		wh   kindetest.Webhook
		want int
	}{
		{name: "valid", wh: e.webhook(t, kinde.EventUserCreated, janeData), want: 200},
		{name: "oversized", wh: big, want: 413},
		{name: "bad signature", wh: e.webhook(t, kinde.EventUserCreated, janeData, kindetest.WebhookHeader(kindetest.Header{Key: otherWebhookKey(), Kid: e.srv.KeyID()})), want: 401},
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
	if status, err := e.hooks.Receive(context.Background(), kinde.WebhookContentType, big.ID, []byte(big.Token)); status != 413 || !errors.Is(err, kinde.ErrWebhookTooLarge) {
		t.Errorf("Receive: status %d error %v, want 413", status, err)
	}
	if _, users := e.counts(); users != 1 {
		t.Errorf("handler ran %d times, want 1", users)
	}
}

// signRaw signs payload as the emulator's current key would, so that the
// fuzz target reaches the payload parser with any bytes.
func signRaw(kid string, payload []byte) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	input := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, sessionTestKey(), crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// neverSeen is a replay store that remembers nothing, so every fuzz input
// reaches the handlers.
type neverSeen struct{}

func (neverSeen) Seen(context.Context, string, time.Duration) (bool, error) { return false, nil }
func (neverSeen) Forget(context.Context, string) error                      { return nil }

func FuzzWebhookBody(f *testing.F) {
	ts := webhookNow.Format(time.RFC3339)
	for _, seed := range []struct{ payload, raw string }{
		{`{"data":{"user":{"id":"kp_1"}},"event_id":"event_1","event_timestamp":"` + ts + `","source":"admin","timestamp":"` + ts + `","type":"user.created"}`, "a.b.c"},
		{`{"type":"role.deleted","event_id":"event_2","timestamp":` + fmt.Sprint(webhookNow.Unix()) + `,"data":{"role":{"id":"r"}}}`, ""},
		{`{"type":"x","event_id":"e","timestamp":"` + ts + `","iss":"https://evil.example.com"}`, "eyJhbGciOiJub25lIn0.e30."},
		{`{"type":"x","type":"y","event_id":"e","timestamp":"` + ts + `"}`, "...."},
		{`{"type":"x","event_id":"e","timestamp":"2001-01-01T00:00:00Z"}`, "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"},
		{`{"type":"x","event_id":"e","timestamp":"` + ts + `","exp":1}`, " "},
		{`{"t\u0079pe":"x","event_id":"e","timestamp":"` + ts + `"}`, "\x00"},
		{`[]`, "a..b"},
		{`{"type":"user.created","event_id":"e","timestamp":"` + ts + `","data":{"user":[]}}`, "e30.e30.e30"},
	} {
		f.Add([]byte(seed.payload), []byte(seed.raw))
	}
	e := newWebhookEnv(f, kinde.WithWebhookReplayStore(neverSeen{}))
	kid := e.srv.KeyID()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload, raw []byte) {
		// Unsigned bytes are never accepted.
		if status, err := e.hooks.Receive(ctx, kinde.WebhookContentType, "msg_raw", raw); status == 200 || err == nil {
			t.Fatalf("unsigned body %q: status %d error %v", raw, status, err)
		}
		before, _ := e.counts()
		status, err := e.hooks.Receive(ctx, kinde.WebhookContentType, "msg_signed", []byte(signRaw(kid, payload)))
		after, _ := e.counts()
		switch status {
		case 200, 500:
			// 500 comes from the user.created handler failing to decode data.
		case 400, 401:
			if after != before {
				t.Fatalf("status %d but a handler ran", status)
			}
		default:
			t.Fatalf("status %d (error %v)", status, err)
		}
		if (status == 200) != (err == nil) {
			t.Fatalf("status %d with error %v", status, err)
		}
		if status != 200 {
			return
		}
		var ref map[string]any
		if !json.Valid(payload) || json.Unmarshal(payload, &ref) != nil {
			t.Fatalf("accepted a payload encoding/json rejects: %q", payload)
		}
		e.mu.Lock()
		got := e.events[len(e.events)-1]
		e.mu.Unlock()
		if typ, _ := ref["type"].(string); after != before+1 || got.Type == "" || got.Type != typ {
			t.Fatalf("accepted %q as type %q", payload, got.Type)
		}
		if got.Timestamp.Before(webhookNow.Add(-kinde.DefaultWebhookReplayWindow)) || got.Timestamp.After(webhookNow.Add((30 * time.Second))) {
			t.Fatalf("accepted timestamp %v", got.Timestamp)
		}
		if got.Data != nil && !bytes.Equal(bytes.TrimSpace(got.Data), got.Data) {
			t.Fatalf("data %q is not trimmed", got.Data)
		}
	})
}

func TestWithWebhookClock(t *testing.T) {
	e := newWebhookEnv(t)
	late := func() time.Time { return webhookNow.Add(kinde.DefaultWebhookReplayWindow + time.Hour) }
	client, err := kinde.New(kinde.Config{Domain: e.srv.URL(), ClientID: e.srv.ClientID(), Now: late, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wh := e.webhook(t, kinde.EventUserCreated, janeData)
	tests := []struct {
		name    string
		opts    []kinde.WebhookOption
		want    int
		wantErr error
	}{
		{name: "client clock", want: 401, wantErr: kinde.ErrWebhookStale},
		{name: "webhook clock", opts: []kinde.WebhookOption{kinde.WithWebhookClock(func() time.Time { return webhookNow })}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := client.Webhooks(tt.opts...).Receive(context.Background(), kinde.WebhookContentType, wh.ID, []byte(wh.Token))
			if status != tt.want || tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("status %d error %v, want %d %v", status, err, tt.want, tt.wantErr)
			}
		})
	}
}
