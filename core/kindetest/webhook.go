package kindetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Webhook is one signed webhook delivery, as Kinde POSTs it: Token is the
// body (Content-Type application/jwt) and ID the webhook-id header.
type Webhook struct {
	// ID is the webhook-id header, the same for every retry of the delivery.
	ID string
	// EventID is the payload's event_id.
	EventID string
	// Token is the request body, a compact JWS.
	Token string
}

// WebhookOption changes a webhook made by NewWebhook, WebhookToken or
// SendWebhook.
type WebhookOption func(*webhookParams)

type webhookParams struct {
	header    Header
	id        string
	eventID   string
	source    string
	ip        string
	timestamp time.Time
	claims    map[string]any
}

// WebhookHeader signs the webhook under h (wrong key, another alg, no kid,
// …) instead of the current key.
func WebhookHeader(h Header) WebhookOption {
	return func(p *webhookParams) { p.header = h }
}

// WebhookID sets the webhook-id header (default: random).
func WebhookID(id string) WebhookOption { return func(p *webhookParams) { p.id = id } }

// WebhookEventID sets event_id (default: "event_" and random hex).
func WebhookEventID(id string) WebhookOption { return func(p *webhookParams) { p.eventID = id } }

// WebhookSource sets source (default "admin").
func WebhookSource(source string) WebhookOption {
	return func(p *webhookParams) { p.source = source }
}

// WebhookTimestamp sets timestamp and event_timestamp (default: the
// emulator's clock, in UTC). They are written with microseconds and t's own
// offset, as Kinde does ("2024-05-01T17:41:45.592145+10:00" in the test
// token of kinde-oss/webhook, lib/main.test.ts).
func WebhookTimestamp(t time.Time) WebhookOption {
	return func(p *webhookParams) { p.timestamp = t }
}

// DefaultWebhookIPAddress is the ip_address of the sign-in events
// (user.authenticated, user.authentication_failed) unless WebhookIPAddress
// sets another.
const DefaultWebhookIPAddress = "203.0.113.7"

// WebhookIPAddress sets the top-level ip_address member, which Kinde sends
// with user.authenticated and user.authentication_failed (kinde-oss/webhook,
// lib/types.ts). For other event types it adds the member.
func WebhookIPAddress(ip string) WebhookOption {
	return func(p *webhookParams) { p.ip = ip }
}

// WebhookClaim sets a payload member, adding one Kinde does not send (iss,
// exp) or replacing one it does (type, timestamp, data, …).
func WebhookClaim(name string, value any) WebhookOption {
	return func(p *webhookParams) {
		if p.claims == nil {
			p.claims = map[string]any{}
		}
		p.claims[name] = value
	}
}

// NewWebhook signs an event of eventType carrying data like Kinde does: the
// payload holds data, event_id, event_timestamp, source, timestamp and type
// (plus ip_address for the sign-in events), and no registered claims (no
// iss, exp or iat), signed RS256 with the current key.
//
// When data is nil, the event carries sample data of the shape Kinde sends
// for its type (see WebhookSampleData); WebhookUserData builds the data of
// a user event from the emulator's directory.
func (s *Server) NewWebhook(eventType string, data any, opts ...WebhookOption) (Webhook, error) {
	p := webhookParams{source: "admin"}
	for _, o := range opts {
		if o != nil {
			o(&p)
		}
	}
	if p.id == "" {
		p.id = "msg_" + randHex(16)
	}
	if p.eventID == "" {
		p.eventID = "event_" + randHex(16)
	}
	if p.timestamp.IsZero() {
		p.timestamp = s.Now().UTC()
	}
	if data == nil {
		data = WebhookSampleData(eventType)
	}
	ts := p.timestamp.Format(webhookTimeLayout)
	claims := map[string]any{
		"data":            data,
		"event_id":        p.eventID,
		"event_timestamp": ts,
		"source":          p.source,
		"timestamp":       ts,
		"type":            eventType,
	}
	switch {
	case p.ip != "":
		claims["ip_address"] = p.ip
	case eventType == "user.authenticated" || eventType == "user.authentication_failed":
		claims["ip_address"] = DefaultWebhookIPAddress
	}
	for k, v := range p.claims {
		claims[k] = v
	}
	s.mu.Lock()
	cur := s.st.currentKey()
	s.mu.Unlock()
	tok, err := encodeJWT(claims, p.header, cur)
	if err != nil {
		return Webhook{}, err
	}
	return Webhook{ID: p.id, EventID: p.eventID, Token: tok}, nil
}

// webhookTimeLayout writes times as Kinde's webhooks do: microseconds and
// the time's offset ("Z" in UTC).
const webhookTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// WebhookUserData returns the data of a user.created or user.updated event
// for a user of the directory, in Kinde's shape (kinde-oss/webhook,
// lib/types.ts; docs.kinde.com/integrate/webhooks/about-webhooks): the
// user's details, with phone and username null when empty, and one entry
// per organization with the roles ({id, key}) and permissions ({id, key})
// the user holds there, each null when there are none.
func (s *Server) WebhookUserData(userID string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[userID]
	if !ok {
		return nil, fmt.Errorf("kindetest: unknown user %q", userID)
	}
	orgs := []any{}
	for _, code := range s.st.userOrgs[userID] {
		var roles, perms []any
		for _, r := range s.st.userRoles(code, userID) {
			roles = append(roles, map[string]any{"id": r.ID, "key": r.Key})
		}
		for _, k := range s.st.userPermissions(code, userID) {
			if p, ok := s.st.perms[k]; ok {
				perms = append(perms, map[string]any{"id": p.ID, "key": p.Key})
			}
		}
		orgs = append(orgs, map[string]any{"code": code, "roles": nullIfEmpty(roles), "permissions": nullIfEmpty(perms)})
	}
	return map[string]any{"user": map[string]any{
		"id":                          u.ID,
		"email":                       u.Email,
		"first_name":                  u.GivenName,
		"last_name":                   u.FamilyName,
		"username":                    nullIfBlank(u.Username),
		"phone":                       nullIfBlank(u.Phone),
		"is_suspended":                u.Suspended,
		"is_password_reset_requested": false,
		"organizations":               orgs,
	}}, nil
}

func nullIfEmpty(v []any) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

func nullIfBlank(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// WebhookSampleData returns sample data of the shape Kinde sends with
// events of eventType (kinde-oss/webhook, lib/types.ts, for the user,
// organization, role, permission, subscriber and access request events):
// a user who belongs to one organization with one role and one permission,
// deletions and sign-ins carrying only an id, and so on. Kinde does not
// document the data of the passkey and billing events, nor of types it adds
// later: those get an empty object.
func WebhookSampleData(eventType string) map[string]any {
	const (
		userID = "kp_0123456789abcdef0123456789abcdef"
		orgID  = "org_0123456789ab"
		roleID = "role_0123456789abcdef0123456789abcdef"
		permID = "perm_0123456789abcdef0123456789abcdef"
	)
	switch eventType {
	case "user.created", "user.updated":
		return map[string]any{"user": map[string]any{
			"id": userID, "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe",
			"username": "jane", "phone": nil, "is_suspended": false, "is_password_reset_requested": false,
			"organizations": []any{map[string]any{
				"code":        orgID,
				"roles":       []any{map[string]any{"id": roleID, "key": "admin"}},
				"permissions": []any{map[string]any{"id": permID, "key": "read:reports"}},
			}},
		}}
	case "user.deleted", "user.authenticated", "user.authentication_failed":
		return map[string]any{"user": map[string]any{"id": userID}}
	case "organization.created":
		return map[string]any{"organization": map[string]any{"code": orgID, "name": "Acme", "handle": "acme", "external_id": nil}}
	case "organization.updated":
		return map[string]any{"organization": map[string]any{"code": orgID, "name": "Acme", "handle": "acme", "external_id": nil, "is_allow_registrations": true}}
	case "organization.deleted":
		return map[string]any{"organization": map[string]any{"code": orgID}}
	case "role.created", "role.updated":
		return map[string]any{"role": map[string]any{"id": roleID, "key": "admin", "name": "Admin", "description": "Manages the account", "is_default_role": false}}
	case "role.deleted":
		return map[string]any{"role": map[string]any{"id": roleID}}
	case "permission.created", "permission.updated":
		return map[string]any{"permission": map[string]any{"id": permID, "key": "read:reports", "name": "Read reports", "description": "See the reports"}}
	case "permission.deleted":
		return map[string]any{"permission": map[string]any{"id": permID}}
	case "subscriber.created":
		return map[string]any{"subscriber": map[string]any{"id": "subscriber_0123456789ab", "user_id": userID, "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}}
	case "access_request.created":
		return map[string]any{"access_request": map[string]any{"user_id": userID, "email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}}
	}
	return map[string]any{}
}

// WebhookToken returns the body of a webhook made as NewWebhook does.
func (s *Server) WebhookToken(eventType string, data any, opts ...WebhookOption) (string, error) {
	wh, err := s.NewWebhook(eventType, data, opts...)
	return wh.Token, err
}

// SendWebhook makes a webhook as NewWebhook does and POSTs it to url; it
// returns the status of the answer. Unlike Kinde it does not retry.
func (s *Server) SendWebhook(ctx context.Context, url, eventType string, data any, opts ...WebhookOption) (int, error) {
	wh, err := s.NewWebhook(eventType, data, opts...)
	if err != nil {
		return 0, err
	}
	return PostWebhook(ctx, url, wh)
}

// PostWebhook POSTs wh to url as Kinde does (Content-Type application/jwt,
// webhook-id header) and returns the status of the answer. Posting the same
// Webhook twice is how Kinde retries, or how an attacker replays.
func PostWebhook(ctx context.Context, url string, wh Webhook) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(wh.Token))
	if err != nil {
		return 0, fmt.Errorf("kindetest: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/jwt")
	req.Header.Set("webhook-id", wh.ID)
	// A transport of its own without keep-alives leaves no idle connection
	// (or goroutine) behind in the test binary.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("kindetest: POST webhook to %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
