package management

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/management/api"
	"golang.org/x/oauth2"
)

// Environment variables read by New when the matching Config field is empty.
const (
	EnvDomain       = "KINDE_DOMAIN"
	EnvClientID     = "KINDE_MANAGEMENT_CLIENT_ID"
	EnvClientSecret = "KINDE_MANAGEMENT_CLIENT_SECRET"
)

// Defaults applied by New and NewFromKinde.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMaxRetries = 3
)

// Config configures a Client.
type Config struct {
	// Domain is the Kinde business domain, for example "https://yourbusiness.kinde.com" or
	// "yourbusiness.kinde.com". Use the kinde.com domain even if you have a custom domain.
	// Plain http is accepted only for loopback hosts. Env: KINDE_DOMAIN.
	Domain string
	// ClientID and ClientSecret identify a machine-to-machine application authorized for the
	// Management API. Env: KINDE_MANAGEMENT_CLIENT_ID, KINDE_MANAGEMENT_CLIENT_SECRET. They are
	// not needed when TokenSource is set.
	ClientID     string
	ClientSecret string
	// TokenSource, when set, supplies the bearer tokens instead of the client-credentials flow.
	TokenSource oauth2.TokenSource
	// HTTPClient sends the requests. Default: a new http.Client; timeouts come from Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP request to the Management API (each attempt, when a call is
	// retried); the context passed to a call bounds the call as a whole. Default 30 s;
	// a negative value means no timeout.
	Timeout time.Duration
	// MaxRetries is how many times a failed request is tried again. Replies with status 429
	// are retried for every method, after the delay in the RateLimit-Reset header when Kinde
	// sends it; 5xx replies, connection errors and timeouts are retried only for GET, HEAD,
	// PUT, DELETE and OPTIONS. Other delays grow exponentially with jitter. Default 3; a
	// negative value disables retries.
	MaxRetries int
	// Logger receives debug logs about retries. Default slog.Default().
	Logger *slog.Logger
	// Sleep waits between retries. Default: a timer that stops early when ctx ends. Tests
	// may replace it to avoid real waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls Kinde's Management API. It is safe for concurrent use.
type Client struct {
	api *api.ClientWithResponses
}

// New returns a Client for the Management API. Empty Domain, ClientID and ClientSecret fall back
// to KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET; a missing setting
// is reported as a *kinde.ConfigError naming the field and its variable. New makes no network
// call: the first token is fetched by the first request. ctx is not retained.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Domain == "" {
		cfg.Domain = os.Getenv(EnvDomain)
	}
	base, err := normalizeDomain(cfg.Domain)
	if err != nil {
		return nil, err
	}
	if cfg.TokenSource == nil {
		if cfg.ClientID == "" {
			cfg.ClientID = os.Getenv(EnvClientID)
		}
		if cfg.ClientSecret == "" {
			cfg.ClientSecret = os.Getenv(EnvClientSecret)
		}
		if strings.TrimSpace(cfg.ClientID) == "" {
			return nil, &kinde.ConfigError{Field: "ClientID", Env: EnvClientID, Reason: "is required: copy it from a machine-to-machine application authorized for the Management API in the Kinde dashboard"}
		}
		if strings.TrimSpace(cfg.ClientSecret) == "" {
			return nil, &kinde.ConfigError{Field: "ClientSecret", Env: EnvClientSecret, Reason: "is required: copy it from a machine-to-machine application authorized for the Management API in the Kinde dashboard"}
		}
		kc, err := kinde.New(kinde.Config{
			Domain:                 base,
			ClientID:               cfg.ClientID,
			ClientSecret:           cfg.ClientSecret,
			ManagementClientID:     cfg.ClientID,
			ManagementClientSecret: cfg.ClientSecret,
			HTTPClient:             cfg.HTTPClient,
			Logger:                 cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("kinde management: %w", err)
		}
		cfg.TokenSource = kc.ClientCredentialsTokenSource(kc.Config().ManagementAudience)
	}
	return newClient(base, cfg)
}

// NewFromKinde returns a Client that reuses kc's domain, HTTP client and cached
// client-credentials token (ManagementClientID/Secret of kc's Config, else its ClientID/Secret).
// Fields of cfg that are set take precedence; Domain, ClientID and ClientSecret are ignored when
// TokenSource is nil, because the token then comes from kc.
func NewFromKinde(kc *kinde.Client, cfg Config) (*Client, error) {
	if kc == nil {
		return nil, errors.New("kinde management: NewFromKinde needs a *kinde.Client: create one with kinde.New")
	}
	kcfg := kc.Config()
	if cfg.TokenSource == nil {
		cfg.TokenSource = kc.ClientCredentialsTokenSource(kc.Config().ManagementAudience)
		cfg.Domain = ""
	}
	if cfg.Domain == "" {
		cfg.Domain = kcfg.Domain
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = kcfg.HTTPClient
	}
	if cfg.Logger == nil {
		cfg.Logger = kcfg.Logger
	}
	base, err := normalizeDomain(cfg.Domain)
	if err != nil {
		return nil, err
	}
	return newClient(base, cfg)
}

func newClient(base string, cfg Config) (*Client, error) {
	d := &doer{
		hc:      cfg.HTTPClient,
		tokens:  cfg.TokenSource,
		retries: cfg.MaxRetries,
		timeout: cfg.Timeout,
		sleep:   cfg.Sleep,
		log:     cfg.Logger,
	}
	if d.hc == nil {
		d.hc = &http.Client{}
	}
	switch {
	case d.retries == 0:
		d.retries = DefaultMaxRetries
	case d.retries < 0:
		d.retries = 0
	}
	switch {
	case d.timeout == 0:
		d.timeout = DefaultTimeout
	case d.timeout < 0:
		d.timeout = 0
	}
	if d.sleep == nil {
		d.sleep = sleepContext
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	c, err := api.NewClientWithResponses(base, api.WithHTTPClient(d))
	if err != nil {
		return nil, fmt.Errorf("kinde management: %w", err)
	}
	return &Client{api: c}, nil
}

// API returns the generated client, which has one method per Management API operation. Its
// calls share the Client's token, retries and timeouts, and report non-2xx replies as *APIError,
// so a nil error means the reply's JSON200 (or JSON201) field holds the decoded body.
func (c *Client) API() *api.ClientWithResponses { return c.api }

// normalizeDomain turns a domain setting into a base URL such as "https://acme.kinde.com".
func normalizeDomain(domain string) (string, error) {
	d := strings.TrimSpace(domain)
	if d == "" {
		return "", &kinde.ConfigError{Field: "Domain", Env: EnvDomain, Reason: "is required: set it to your Kinde domain, for example https://yourbusiness.kinde.com"}
	}
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	u, err := url.Parse(d)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return "", &kinde.ConfigError{Field: "Domain", Env: EnvDomain, Reason: fmt.Sprintf("%q is not a valid domain: use a bare origin such as https://yourbusiness.kinde.com", domain)}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", &kinde.ConfigError{Field: "Domain", Env: EnvDomain, Reason: fmt.Sprintf("%q uses plain http, which is allowed only for loopback hosts: use https", domain)}
		}
	default:
		return "", &kinde.ConfigError{Field: "Domain", Env: EnvDomain, Reason: fmt.Sprintf("%q must use https", domain)}
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
