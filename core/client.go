package kinde

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to one Kinde domain: it builds sign-in and sign-out URLs,
// exchanges and refreshes tokens, and verifies tokens against Kinde's keys.
// A Client is safe for concurrent use and meant to be created once and shared.
type Client struct {
	cfg      Config
	ep       endpoints
	log      *slog.Logger
	keys     *keySet
	verified *tokenCache
}

// New validates cfg and returns a Client. An invalid or missing setting is
// reported as a *ConfigError that names the field and its KINDE_* variable.
func New(cfg Config) (*Client, error) { return newClient(cfg, true) }

// newClient is New; a resource server's client needs no client ID.
func newClient(cfg Config, needClientID bool) (*Client, error) {
	ep, err := cfg.validate(needClientID)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, ep: ep, log: cfg.Logger}
	c.keys = newKeySet(c.fetchJWKS, cfg.Now, cfg.JWKSRefreshInterval, cfg.JWKSMaxAge, c.log)
	if cfg.TokenCacheSize > 0 && cfg.TokenCacheBytes > 0 {
		c.verified = newTokenCache(cfg.TokenCacheSize, cfg.TokenCacheBytes)
	}
	return c, nil
}

// MustNew is like New but panics on an invalid configuration. Use it in
// main functions and tests, never with configuration from users.
func MustNew(cfg Config) *Client {
	c, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// Config returns a copy of the client's configuration, with defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// Issuer returns the expected issuer of Kinde's tokens, e.g. "https://acme.kinde.com".
func (c *Client) Issuer() string { return c.ep.issuer }

// LogoutURL returns Kinde's sign-out URL. The browser is sent back to redirect
// when given, else to Config.PostLogoutRedirectURL. The URL must be registered
// as an allowed logout redirect in Kinde.
func (c *Client) LogoutURL(redirect ...string) string {
	target := c.cfg.PostLogoutRedirectURL
	if len(redirect) > 0 && redirect[0] != "" {
		target = redirect[0]
	}
	if target == "" {
		return c.ep.logout
	}
	return withQuery(c.ep.logout, url.Values{"redirect": {target}})
}

// withQuery appends q to endpoint, keeping the parameters endpoint already
// has (an absolute endpoint URL such as …/authorize?p=policy) unless q sets
// the same name.
func withQuery(endpoint string, q url.Values) string {
	base, raw, found := strings.Cut(endpoint, "?")
	if !found || raw == "" {
		return base + "?" + q.Encode()
	}
	own, err := url.ParseQuery(raw)
	if err != nil {
		return base + "?" + raw + "&" + q.Encode()
	}
	for k, v := range own {
		if _, set := q[k]; !set {
			q[k] = v
		}
	}
	return base + "?" + q.Encode()
}

func (c *Client) debug(ctx context.Context, msg string, args ...any) {
	if c.cfg.Debug {
		c.log.DebugContext(ctx, "kinde: "+msg, args...)
	}
}

// maxBodyBytes bounds what the SDK reads from any Kinde reply.
const maxBodyBytes = 1 << 20

// postForm sends a form to an OAuth endpoint and decodes a JSON reply into out.
// Non-2xx replies become *TokenError.
func (c *Client) postForm(ctx context.Context, endpoint, name string, form url.Values, bearer string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("kinde: build %s request: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Kinde-SDK", c.cfg.UserAgent)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("kinde: %s request to %s: %w", name, endpoint, err)
		}
		return fmt.Errorf("kinde: %s request to %s failed: %w (%w)", name, endpoint, err, ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("kinde: read %s reply: %w", name, err)
	}
	c.debug(ctx, "oauth reply", "endpoint", name, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseTokenError(name, resp, body)
	}
	if out == nil {
		return nil
	}
	if !isJSON(resp.Header.Get("Content-Type")) && !json.Valid(body) {
		return &TokenError{Endpoint: name, StatusCode: resp.StatusCode, Code: "invalid_response", Description: "Kinde replied with something that is not JSON; check that KINDE_DOMAIN points at your Kinde domain"}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &TokenError{Endpoint: name, StatusCode: resp.StatusCode, Code: "invalid_response", Description: "Kinde's reply is not valid JSON: " + err.Error()}
	}
	return nil
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func parseTokenError(name string, resp *http.Response, body []byte) error {
	te := &TokenError{Endpoint: name, StatusCode: resp.StatusCode}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		te.Code, te.Description = e.Error, e.Description
		return te
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		te.Code = "rate_limited"
	case resp.StatusCode >= 500:
		te.Code = "server_error"
	default:
		te.Code = "invalid_response"
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		te.Description = fmt.Sprintf("HTTP %d with a non-JSON body", resp.StatusCode)
	}
	return te
}
