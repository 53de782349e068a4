package kindetest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// decodeWebhook splits a token and verifies it with the server's current key
// when it is signed RS256.
func decodeWebhook(t *testing.T, srv *Server, tok string) (hdr, payload map[string]any, verified bool) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&hdr, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	keys := srv.PublicKeys()
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	verified = rsa.VerifyPKCS1v15(keys[len(keys)-1].Key, crypto.SHA256, sum[:], sig) == nil
	return hdr, payload, verified
}

func TestNewWebhook(t *testing.T) {
	srv := Start(t, WithSigningKey(testKey()))
	now := time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)
	srv.SetNow(now)

	tests := []struct {
		name       string
		opts       []WebhookOption
		wantID     string
		wantEvent  string
		wantSource string
		wantTS     string
		wantAlg    string
		wantSigned bool
		check      func(t *testing.T, payload map[string]any)
	}{
		{
			name: "defaults", wantSource: "admin", wantTS: "2026-02-03T12:00:00.000Z", wantAlg: "RS256", wantSigned: true,
			check: func(t *testing.T, p map[string]any) {
				for _, k := range []string{"iss", "exp", "iat"} {
					if _, ok := p[k]; ok {
						t.Errorf("payload has %s; Kinde's webhooks carry no registered claims", k)
					}
				}
			},
		},
		{
			name:   "ids, source and time",
			opts:   []WebhookOption{WebhookID("msg_1"), WebhookEventID("event_1"), WebhookSource("api"), WebhookTimestamp(now.Add(-time.Hour).In(time.FixedZone("x", 3600)))},
			wantID: "msg_1", wantEvent: "event_1", wantSource: "api", wantTS: "2026-02-03T11:00:00.000Z", wantAlg: "RS256", wantSigned: true,
		},
		{
			name:       "claims override",
			opts:       []WebhookOption{WebhookClaim("iss", "https://evil.example"), WebhookClaim("type", "other.type")},
			wantSource: "admin", wantTS: "2026-02-03T12:00:00.000Z", wantAlg: "RS256", wantSigned: true,
			check: func(t *testing.T, p map[string]any) {
				if p["iss"] != "https://evil.example" || p["type"] != "other.type" {
					t.Errorf("iss %v type %v", p["iss"], p["type"])
				}
			},
		},
		{
			name:       "header override",
			opts:       []WebhookOption{WebhookHeader(Header{Alg: "none"})},
			wantSource: "admin", wantTS: "2026-02-03T12:00:00.000Z", wantAlg: "none", wantSigned: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh, err := srv.NewWebhook("user.created", map[string]any{"user": map[string]any{"id": "kp_1"}}, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if wh.ID == "" || (tt.wantID != "" && wh.ID != tt.wantID) {
				t.Errorf("ID %q, want %q", wh.ID, tt.wantID)
			}
			if !strings.HasPrefix(wh.EventID, "event_") || (tt.wantEvent != "" && wh.EventID != tt.wantEvent) {
				t.Errorf("EventID %q, want %q", wh.EventID, tt.wantEvent)
			}
			hdr, p, signed := decodeWebhook(t, srv, wh.Token)
			if hdr["alg"] != tt.wantAlg || signed != tt.wantSigned {
				t.Errorf("alg %v signed %v, want %s %v", hdr["alg"], signed, tt.wantAlg, tt.wantSigned)
			}
			if tt.wantAlg == "RS256" && hdr["kid"] != srv.KeyID() {
				t.Errorf("kid %v, want %s", hdr["kid"], srv.KeyID())
			}
			if p["event_id"] != wh.EventID || p["source"] != tt.wantSource || p["timestamp"] != tt.wantTS || p["event_timestamp"] != tt.wantTS {
				t.Errorf("payload %v", p)
			}
			if data, _ := p["data"].(map[string]any); data["user"] == nil {
				t.Errorf("data %v", p["data"])
			}
			if tt.check != nil {
				tt.check(t, p)
			} else if p["type"] != "user.created" {
				t.Errorf("type %v", p["type"])
			}
		})
	}
}

func TestWebhookTokenIsTheBody(t *testing.T) {
	srv := Start(t, WithSigningKey(testKey()))
	tok, err := srv.WebhookToken("role.created", map[string]any{"role": map[string]any{"key": "admin"}}, WebhookEventID("event_9"))
	if err != nil {
		t.Fatal(err)
	}
	_, p, signed := decodeWebhook(t, srv, tok)
	if !signed || p["type"] != "role.created" || p["event_id"] != "event_9" {
		t.Errorf("signed %v payload %v", signed, p)
	}
	if _, err := srv.WebhookToken("user.created", func() {}); err == nil {
		t.Error("data that does not encode as JSON: no error")
	}
}

func TestSendWebhook(t *testing.T) {
	srv := Start(t, WithSigningKey(testKey()))
	type request struct {
		method, contentType, id, body string
	}
	got := make(chan request, 1)
	status := http.StatusAccepted
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- request{r.Method, r.Header.Get("Content-Type"), r.Header.Get("webhook-id"), string(b)}
		w.WriteHeader(status)
	}))
	defer app.Close()

	tests := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{name: "delivered", url: app.URL + "/webhooks"},
		{name: "bad URL", url: "://nowhere", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := srv.SendWebhook(context.Background(), tt.url, "user.deleted", map[string]any{"user": map[string]any{"id": "kp_1"}}, WebhookID("msg_42"))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("status %d, want an error", code)
				}
				return
			}
			if err != nil || code != status {
				t.Fatalf("status %d err %v, want %d", code, err, status)
			}
			r := <-got
			if r.method != http.MethodPost || r.contentType != "application/jwt" || r.id != "msg_42" {
				t.Errorf("request %+v", r)
			}
			if _, p, signed := decodeWebhook(t, srv, r.body); !signed || p["type"] != "user.deleted" {
				t.Errorf("body signed %v payload %v", signed, p)
			}
		})
	}
}
