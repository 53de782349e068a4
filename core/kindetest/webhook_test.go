package kindetest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
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
			name: "defaults", wantSource: "admin", wantTS: "2026-02-03T12:00:00.000000Z", wantAlg: "RS256", wantSigned: true,
			check: func(t *testing.T, p map[string]any) {
				for _, k := range []string{"iss", "exp", "iat", "ip_address"} {
					if _, ok := p[k]; ok {
						t.Errorf("payload has %s; Kinde's user.created carries no registered claims and no ip_address", k)
					}
				}
			},
		},
		{
			// Kinde writes microseconds and its own offset: the test token of
			// kinde-oss/webhook (lib/main.test.ts) has
			// "timestamp":"2024-05-01T17:41:45.592145+10:00".
			name:   "ids, source and time with an offset",
			opts:   []WebhookOption{WebhookID("msg_1"), WebhookEventID("event_1"), WebhookSource("api"), WebhookTimestamp(now.Add(-time.Hour + 123456*time.Microsecond).In(time.FixedZone("AEST", 10*3600)))},
			wantID: "msg_1", wantEvent: "event_1", wantSource: "api", wantTS: "2026-02-03T21:00:00.123456+10:00", wantAlg: "RS256", wantSigned: true,
		},
		{
			name:       "claims override",
			opts:       []WebhookOption{WebhookClaim("iss", "https://evil.example"), WebhookClaim("type", "other.type")},
			wantSource: "admin", wantTS: "2026-02-03T12:00:00.000000Z", wantAlg: "RS256", wantSigned: true,
			check: func(t *testing.T, p map[string]any) {
				if p["iss"] != "https://evil.example" || p["type"] != "other.type" {
					t.Errorf("iss %v type %v", p["iss"], p["type"])
				}
			},
		},
		{
			name:       "header override",
			opts:       []WebhookOption{WebhookHeader(Header{Alg: "none"})},
			wantSource: "admin", wantTS: "2026-02-03T12:00:00.000000Z", wantAlg: "none", wantSigned: false,
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

func TestWebhookIPAddress(t *testing.T) {
	srv := Start(t, WithSigningKey(testKey()))
	tests := []struct {
		name      string
		eventType string
		opts      []WebhookOption
		want      any // nil: no ip_address member
	}{
		// kinde-oss/webhook, lib/types.ts: UserAuthenticatedWebhookEvent and
		// UserAuthenticationFailedWebhookEvent have a top-level ip_address.
		{name: "sign-in", eventType: "user.authenticated", want: DefaultWebhookIPAddress},
		{name: "failed sign-in", eventType: "user.authentication_failed", want: DefaultWebhookIPAddress},
		{name: "chosen address", eventType: "user.authenticated", opts: []WebhookOption{WebhookIPAddress("198.51.100.4")}, want: "198.51.100.4"},
		{name: "other types have none", eventType: "user.created"},
		{name: "added to another type on request", eventType: "role.created", opts: []WebhookOption{WebhookIPAddress("2001:db8::1")}, want: "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := srv.WebhookToken(tt.eventType, nil, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, p, _ := decodeWebhook(t, srv, tok)
			if got := p["ip_address"]; got != tt.want {
				t.Errorf("ip_address %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWebhookSampleData checks the sample data against the shapes of
// kinde-oss/webhook, lib/types.ts (at HEAD: roles are {id, key} objects).
func TestWebhookSampleData(t *testing.T) {
	srv := Start(t, WithSigningKey(testKey()))
	tests := []struct {
		eventType string
		member    string   // the one member of data
		keys      []string // the members of data[member]
	}{
		{"user.created", "user", []string{"email", "first_name", "id", "is_password_reset_requested", "is_suspended", "last_name", "organizations", "phone", "username"}},
		{"user.updated", "user", []string{"email", "first_name", "id", "is_password_reset_requested", "is_suspended", "last_name", "organizations", "phone", "username"}},
		{"user.deleted", "user", []string{"id"}},
		{"user.authenticated", "user", []string{"id"}},
		{"user.authentication_failed", "user", []string{"id"}},
		{"organization.created", "organization", []string{"code", "external_id", "handle", "name"}},
		{"organization.updated", "organization", []string{"code", "external_id", "handle", "is_allow_registrations", "name"}},
		{"organization.deleted", "organization", []string{"code"}},
		{"role.created", "role", []string{"description", "id", "is_default_role", "key", "name"}},
		{"role.updated", "role", []string{"description", "id", "is_default_role", "key", "name"}},
		{"role.deleted", "role", []string{"id"}},
		{"permission.created", "permission", []string{"description", "id", "key", "name"}},
		{"permission.updated", "permission", []string{"description", "id", "key", "name"}},
		{"permission.deleted", "permission", []string{"id"}},
		{"subscriber.created", "subscriber", []string{"email", "first_name", "id", "last_name", "user_id"}},
		{"access_request.created", "access_request", []string{"email", "first_name", "last_name", "user_id"}},
		{"passkey.added", "", nil},
		{"customer.plan_changed", "", nil},
		{"thing.happened", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			tok, err := srv.WebhookToken(tt.eventType, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, p, _ := decodeWebhook(t, srv, tok)
			data, _ := p["data"].(map[string]any)
			if tt.member == "" {
				if data == nil || len(data) != 0 {
					t.Fatalf("data %v, want {}", p["data"])
				}
				return
			}
			if len(data) != 1 {
				t.Fatalf("data %v, want one member %s", data, tt.member)
			}
			obj, _ := data[tt.member].(map[string]any)
			if got := slices.Sorted(maps.Keys(obj)); !slices.Equal(got, tt.keys) {
				t.Errorf("data.%s has %v, want %v", tt.member, got, tt.keys)
			}
			orgs, ok := obj["organizations"].([]any)
			if !ok {
				return
			}
			for _, o := range orgs {
				for _, list := range []string{"roles", "permissions"} {
					for _, ref := range o.(map[string]any)[list].([]any) {
						if r, ok := ref.(map[string]any); !ok || r["id"] == nil || r["key"] == nil {
							t.Errorf("%s entry %v, want {id, key}", list, ref)
						}
					}
				}
			}
		})
	}
}

func TestWebhookUserData(t *testing.T) {
	srv := Start(t, WithSigningKey(testKey()))
	jane := srv.AddUser(User{Email: "jane@example.com", GivenName: "Jane", FamilyName: "Doe", Username: "jane"})
	bob := srv.AddUser(User{Email: "bob@example.com", Phone: "+61400000000", Suspended: true})
	acme := srv.AddOrganization(Organization{Name: "Acme"})
	globex := srv.AddOrganization(Organization{Name: "Globex"})
	admin := srv.AddRole(Role{Key: "admin", Permissions: []string{"read:reports", "write:reports"}})
	if err := srv.AddMember(acme.Code, jane.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddMember(globex.Code, jane.ID); err != nil {
		t.Fatal(err)
	}
	perm := func(key string) map[string]any {
		t.Helper()
		for _, p := range srv.st.perms {
			if p.Key == key {
				return map[string]any{"id": p.ID, "key": p.Key}
			}
		}
		t.Fatalf("no permission %s", key)
		return nil
	}
	tests := []struct {
		name    string
		userID  string
		want    map[string]any
		wantErr bool
	}{
		{name: "member of two organizations", userID: jane.ID, want: map[string]any{
			"id": jane.ID, "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "username": "jane", "phone": nil,
			"is_suspended": false, "is_password_reset_requested": false,
			"organizations": []any{
				map[string]any{"code": acme.Code, "roles": []any{map[string]any{"id": admin.ID, "key": "admin"}}, "permissions": []any{perm("read:reports"), perm("write:reports")}},
				map[string]any{"code": globex.Code, "roles": nil, "permissions": nil},
			},
		}},
		{name: "no organizations", userID: bob.ID, want: map[string]any{
			"id": bob.ID, "email": "bob@example.com", "first_name": "", "last_name": "", "username": nil, "phone": "+61400000000",
			"is_suspended": true, "is_password_reset_requested": false, "organizations": []any{},
		}},
		{name: "unknown user", userID: "kp_nobody", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := srv.WebhookUserData(tt.userID)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("data %v, want an error", data)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(data["user"], tt.want) {
				t.Errorf("user\n%v\nwant\n%v", data["user"], tt.want)
			}
		})
	}
}
