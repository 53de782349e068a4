package conformance

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/webhook"
)

// Doer sends a request to an app and returns the response status.
type Doer func(*http.Request) (int, error)

// HandlerDoer is a Doer for apps that are an http.Handler (net/http, Gin, Echo).
func HandlerDoer(h http.Handler) Doer {
	return func(r *http.Request) (int, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code, nil
	}
}

// RunWebhooks drives an adapter's webhook handler through the same cases:
// a valid event dispatched with typed data, a retry, a replay under another
// webhook-id header, a bad signature, a wrong issuer, an unknown event type,
// an oversized body, a wrong content type and a failing handler. mount must
// serve hooks on POST /webhooks.
func RunWebhooks(t *testing.T, mount func(hooks *webhook.Receiver) Doer) {
	t.Helper()
	srv := kindetest.Start(t)
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := webhook.New(client, webhook.WithMaxBody(8<<10))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var emails []string
	hooks.On(webhook.UserCreated, func(_ context.Context, e webhook.Event) error {
		u, err := e.User()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		emails = append(emails, u.Email)
		return nil
	})
	do := mount(hooks)

	other := kindetest.NewServer() // signs with a key Kinde does not publish
	defer other.Close()
	jane := map[string]any{"user": map[string]any{"id": "kp_1", "email": "jane@example.com"}}
	newWebhook := func(s *kindetest.Server, typ string, data any, opts ...kindetest.WebhookOption) kindetest.Webhook {
		wh, err := s.NewWebhook(typ, data, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	valid := newWebhook(srv, webhook.UserCreated, jane)
	replayed := valid
	replayed.ID = "msg_replayed" // the header is not signed: an attacker may change it
	tests := []struct {
		name        string
		wh          kindetest.Webhook
		contentType string
		want        int
		wantRuns    int // handler runs so far
	}{
		{name: "valid event dispatched with typed data", wh: valid, want: 200, wantRuns: 1},
		{name: "retry runs the handler once", wh: valid, want: 200, wantRuns: 1},
		{name: "replay under another webhook-id runs the handler once", wh: replayed, want: 200, wantRuns: 1},
		{name: "bad signature", wh: newWebhook(other, webhook.UserCreated, jane), want: 401, wantRuns: 1},
		{name: "wrong issuer", wh: newWebhook(srv, webhook.UserCreated, jane, kindetest.WebhookClaim("iss", "https://evil.example.com")), want: 401, wantRuns: 1},
		{name: "unknown event type", wh: newWebhook(srv, "thing.happened", jane), want: 200, wantRuns: 1},
		{name: "oversized body", wh: newWebhook(srv, webhook.UserCreated, map[string]any{"pad": strings.Repeat("x", 8<<10)}), want: 413, wantRuns: 1},
		{name: "wrong content type", wh: newWebhook(srv, webhook.UserCreated, jane), contentType: "application/json", want: 400, wantRuns: 1},
		{name: "handler error", wh: newWebhook(srv, webhook.UserCreated, "not an object"), want: 500, wantRuns: 1},
		{name: "another valid event", wh: newWebhook(srv, webhook.UserCreated, jane), want: 200, wantRuns: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(tt.wh.Token))
			req.Header.Set("Content-Type", webhook.ContentType)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set(webhook.IDHeader, tt.wh.ID)
			status, err := do(req)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			n := len(emails)
			mu.Unlock()
			if status != tt.want || n != tt.wantRuns {
				t.Errorf("status %d and %d handler runs, want %d and %d", status, n, tt.want, tt.wantRuns)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(emails) == 0 || emails[0] != "jane@example.com" {
		t.Errorf("handler got %q", emails)
	}
}
