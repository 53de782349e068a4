package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gokinde/kinde/core/webhook"
)

// neverSeen is a replay store that remembers nothing, so that every fuzz
// input reaches the handlers.
type neverSeen struct{}

func (neverSeen) Seen(context.Context, string, time.Duration) (bool, error) { return false, nil }
func (neverSeen) Forget(context.Context, string) error                      { return nil }

// FuzzWebhookBody feeds the body parser: raw is sent unsigned, payload is
// signed with the emulator's key so that any bytes reach the payload parser.
func FuzzWebhookBody(f *testing.F) {
	ts := now.Format(time.RFC3339)
	for _, seed := range []struct{ payload, raw string }{
		{`{"data":{"user":{"id":"kp_1"}},"event_id":"event_1","event_timestamp":"` + ts + `","source":"admin","timestamp":"` + ts + `","type":"user.created"}`, "a.b.c"},
		{`{"data":{"user":{"id":"kp_1","organizations":[{"code":"org_1","roles":[{"id":"r","key":"admin"}],"permissions":null}]}},"event_id":"event_1","source":"admin","timestamp":"2026-02-03T21:59:59.592145+10:00","type":"user.created"}`, ""},
		{`{"data":{"user":{"id":"kp_1"}},"event_id":"event_2","ip_address":"203.0.113.7","source":"user","timestamp":"` + ts + `","type":"user.authenticated"}`, "."},
		{`{"type":"role.deleted","event_id":"event_2","timestamp":` + fmt.Sprint(now.Unix()) + `,"data":{"role":{"id":"r"}}}`, ""},
		{`{"type":"x","event_id":"e","timestamp":"` + ts + `","iss":"https://evil.example.com"}`, "eyJhbGciOiJub25lIn0.e30."},
		{`{"type":"x","type":"y","event_id":"e","timestamp":"` + ts + `"}`, "...."},
		{`{"type":"x","event_id":"e","timestamp":"2001-01-01T00:00:00Z"}`, "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"},
		{`{"type":"x","event_id":"e","timestamp":"` + ts + `","exp":1}`, " "},
		{`{"t\u0079pe":"x","type":"y","event_id":"e","timestamp":"` + ts + `"}`, "\x00"},
		{`{"type":"x","event_id":"e","timestamp":"` + ts + `"} {}`, "a..b"},
		{`[]`, "a..b"},
		{`{"type":"user.created","event_id":"e","timestamp":"` + ts + `","data":{"user":[]}}`, "e30.e30.e30"},
	} {
		f.Add([]byte(seed.payload), []byte(seed.raw))
	}
	e := newEnv(f, webhook.WithReplayStore(neverSeen{}))
	kid := e.srv.KeyID()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload, raw []byte) {
		// Unsigned bytes are never accepted.
		if status, err := e.hooks.Receive(ctx, webhook.ContentType, "msg_raw", raw); status == 200 || err == nil {
			t.Fatalf("unsigned body %q: status %d error %v", raw, status, err)
		}
		before, _ := e.counts()
		status, err := e.hooks.Receive(ctx, webhook.ContentType, "msg_signed", []byte(signPayload(t, kid, payload)))
		after, _ := e.counts()
		switch status {
		case 200, 500:
			// 500 comes from the user.created handler failing to read the user.
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
		if json.Unmarshal(payload, &ref) != nil {
			t.Fatalf("accepted a payload encoding/json rejects: %q", payload)
		}
		e.mu.Lock()
		got := e.events[len(e.events)-1]
		e.mu.Unlock()
		if typ, _ := ref["type"].(string); after != before+1 || got.Type == "" || got.Type != typ {
			t.Fatalf("accepted %q as type %q", payload, got.Type)
		}
		if id, _ := ref["event_id"].(string); got.ID == "" || got.ID != id {
			t.Fatalf("accepted %q with event id %q", payload, got.ID)
		}
		if got.Timestamp.Before(now.Add(-webhook.DefaultReplayWindow)) || got.Timestamp.After(now.Add(30*time.Second)) {
			t.Fatalf("accepted timestamp %v", got.Timestamp)
		}
		if got.Data != nil && !bytes.Equal(bytes.TrimSpace(got.Data), got.Data) {
			t.Fatalf("data %q is not trimmed", got.Data)
		}
	})
}
