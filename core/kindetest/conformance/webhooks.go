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
// a valid event dispatched with typed data, a replay, a bad signature, a
// wrong issuer, an unknown event type, an oversized body, a wrong content
// type and a failing handler. mount must serve hooks on POST /webhooks.
func RunWebhooks(t *testing.T, mount func(hooks *kinde.Webhooks) Doer) {
	t.Helper()
	srv := kindetest.Start(t)
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hooks := client.Webhooks(kinde.WithWebhookMaxBody(8 << 10))
	var mu sync.Mutex
	var emails []string
	hooks.On(kinde.EventUserCreated, func(_ context.Context, e kinde.WebhookEvent) error {
		var d kinde.UserEventData
		if err := e.Decode(&d); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		emails = append(emails, d.User.Email)
		return nil
	})
	do := mount(hooks)

	other := kindetest.NewServer() // signs with a key Kinde does not publish
	defer other.Close()
	jane := map[string]any{"user": map[string]any{"id": "kp_1", "email": "jane@example.com"}}
	webhook := func(s *kindetest.Server, typ string, data any, opts ...kindetest.WebhookOption) kindetest.Webhook {
		wh, err := s.NewWebhook(typ, data, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return wh
	}
	valid := webhook(srv, kinde.EventUserCreated, jane)
	tests := []struct {
		name        string
		wh          kindetest.Webhook
		contentType string
		want        int
		wantRuns    int // handler runs so far
	}{
		{name: "valid event dispatched with typed data", wh: valid, want: 200, wantRuns: 1},
		{name: "replay runs the handler once", wh: valid, want: 200, wantRuns: 1},
		{name: "bad signature", wh: webhook(other, kinde.EventUserCreated, jane), want: 401, wantRuns: 1},
		{name: "wrong issuer", wh: webhook(srv, kinde.EventUserCreated, jane, kindetest.WebhookClaim("iss", "https://evil.example.com")), want: 401, wantRuns: 1},
		{name: "unknown event type", wh: webhook(srv, "thing.happened", jane), want: 200, wantRuns: 1},
		{name: "oversized body", wh: webhook(srv, kinde.EventUserCreated, map[string]any{"pad": strings.Repeat("x", 8<<10)}), want: 413, wantRuns: 1},
		{name: "wrong content type", wh: webhook(srv, kinde.EventUserCreated, jane), contentType: "application/json", want: 400, wantRuns: 1},
		{name: "handler error", wh: webhook(srv, kinde.EventUserCreated, "not an object"), want: 500, wantRuns: 1},
		{name: "another valid event", wh: webhook(srv, kinde.EventUserCreated, jane), want: 200, wantRuns: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(tt.wh.Token))
			req.Header.Set("Content-Type", kinde.WebhookContentType)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set(kinde.WebhookIDHeader, tt.wh.ID)
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
