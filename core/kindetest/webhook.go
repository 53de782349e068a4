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
// emulator's clock).
func WebhookTimestamp(t time.Time) WebhookOption {
	return func(p *webhookParams) { p.timestamp = t }
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
// payload holds data, event_id, event_timestamp, source, timestamp (RFC 3339,
// UTC, milliseconds) and type, and no registered claims (no iss, exp or
// iat), signed RS256 with the current key.
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
		p.timestamp = s.Now()
	}
	ts := p.timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	claims := map[string]any{
		"data":            data,
		"event_id":        p.eventID,
		"event_timestamp": ts,
		"source":          p.source,
		"timestamp":       ts,
		"type":            eventType,
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
