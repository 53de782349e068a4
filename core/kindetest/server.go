package kindetest

import (
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixed credentials of the clients every emulator registers at start.
const (
	// DefaultClientID is the client_id of the default back-end ("reg") application.
	DefaultClientID = "8d1f6c2e4b7a49e0a3c5d9f17b2e6a40"
	// DefaultClientSecret is the client_secret of the default back-end application.
	DefaultClientSecret = "emulator-secret-reg-3b9f0c7d1e5a48f2b6c4"
	// DefaultM2MClientID is the client_id of the default machine-to-machine
	// application, authorised for the management API with every scope.
	DefaultM2MClientID = "f2a4c6e8b0d14f3a9c7e5b1d3f6a8c02"
	// DefaultM2MClientSecret is the client_secret of the default M2M application.
	DefaultM2MClientSecret = "emulator-secret-m2m-7c1e9a3f5b2d40e8a6c0"
)

// Default token lifetimes, matching Kinde's defaults.
const (
	DefaultAccessTokenLifetime  = 86400 * time.Second
	DefaultIDTokenLifetime      = 3600 * time.Second
	DefaultRefreshTokenLifetime = 15 * 24 * time.Hour
	// DefaultCodeLifetime is how long an authorization code can be exchanged.
	DefaultCodeLifetime = 10 * time.Minute
	// RefreshGracePeriod is how long a rotated refresh token keeps working.
	RefreshGracePeriod = 30 * time.Second
)

// Option configures a Server.
type Option func(*config)

type config struct {
	issuer         string
	issParam       bool
	freshOnRefresh bool
	hasura         bool
	tokens         TokenCustomization // claims turned on as in Kinde's token customization (token.go)
	codeLifetime   time.Duration
	signingKey     *rsa.PrivateKey
	logger         *slog.Logger
	now            time.Time
	deviceInterval time.Duration
	devTokens      bool // WithDevTokens
}

// WithDeviceInterval sets the polling interval the device authorization
// endpoint asks for (RFC 8628 §3.2; default 5 s, as Kinde). Polls closer
// together than it are answered slow_down. Tests of device sign-ins use a
// short one so that they need not wait.
func WithDeviceInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.deviceInterval = d
		}
	}
}

// WithIssuer sets the issuer URL (used in tokens, discovery and links). It is
// required when the handler is mounted elsewhere (see New); with NewServer the
// default is the test server's own URL.
func WithIssuer(issuer string) Option {
	return func(c *config) { c.issuer = strings.TrimRight(issuer, "/") }
}

// WithIssuerResponseParam adds the RFC 9207 iss parameter to authorization
// responses.
func WithIssuerResponseParam(on bool) Option {
	return func(c *config) { c.issParam = on }
}

// WithFreshAccessTokenOnRefresh makes every refresh_token grant mint a new
// access token. By default, like Kinde, the current access token is returned
// again while it has not expired or been revoked.
func WithFreshAccessTokenOnRefresh(on bool) Option {
	return func(c *config) { c.freshOnRefresh = on }
}

// WithHasuraClaims names the permission, organization, role and flag claims
// with their x-hasura-* variants, as Kinde's Hasura token integration does.
func WithHasuraClaims(on bool) Option {
	return func(c *config) { c.hasura = on }
}

// WithCodeLifetime sets how long authorization codes stay exchangeable.
func WithCodeLifetime(d time.Duration) Option {
	return func(c *config) { c.codeLifetime = d }
}

// WithSigningKey makes the emulator sign with key instead of generating a
// fresh RSA key, which saves time when many servers are started.
func WithSigningKey(key *rsa.PrivateKey) Option {
	return func(c *config) { c.signingKey = key }
}

// WithLogger sets the logger for request and error logs. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithNow freezes the emulator clock at t from the start (see SetNow).
func WithNow(t time.Time) Option {
	return func(c *config) { c.now = t }
}

// Server is an in-process Kinde emulator. All methods are safe for
// concurrent use.
type Server struct {
	cfg     config
	ts      *httptest.Server
	handler http.Handler
	done    chan struct{}
	closeMu sync.Once

	mu sync.Mutex
	st state
}

// NewServer starts an emulator on a loopback httptest server. Call Close when done.
func NewServer(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = httptest.NewServer(s.handler)
	if s.cfg.issuer == "" {
		s.cfg.issuer = s.ts.URL
	}
	s.registerManagement()
	return s
}

// New returns an emulator that is not listening; serve Handler() yourself and
// pass WithIssuer with the public URL under which it is mounted.
func New(opts ...Option) *Server {
	s := newServer(opts)
	s.registerManagement()
	return s
}

// Start is NewServer plus tb.Cleanup(s.Close).
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := NewServer(opts...)
	tb.Cleanup(s.Close)
	return s
}

func newServer(opts []Option) *Server {
	cfg := config{codeLifetime: DefaultCodeLifetime, deviceInterval: deviceInterval}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, done: make(chan struct{})}
	s.st = newState(cfg)
	k, err := newSigningKey(cfg.signingKey)
	if err != nil {
		panic(err)
	}
	s.st.keys = []*signingKey{k}
	s.handler = s.routes()
	return s
}

// Close shuts the test server down (if NewServer started one) and ends any
// injected delays.
func (s *Server) Close() {
	s.closeMu.Do(func() {
		close(s.done)
		if s.ts != nil {
			s.ts.CloseClientConnections()
			s.ts.Close()
		}
	})
}

// URL returns the issuer, without a trailing slash. It is the base URL of
// every endpoint.
func (s *Server) URL() string { return s.cfg.issuer }

// Issuer is the same as URL.
func (s *Server) Issuer() string { return s.cfg.issuer }

// ManagementAudience returns the audience of the management API, issuer + "/api".
func (s *Server) ManagementAudience() string { return s.cfg.issuer + "/api" }

// Handler returns the emulator's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Client returns an *http.Client for the test server that does not follow
// redirects, so tests can inspect Location headers. It has a cookie jar, so
// the emulator's single sign-on session works across requests.
func (s *Server) Client() *http.Client {
	var base http.RoundTripper = http.DefaultTransport
	if s.ts != nil {
		base = s.ts.Client().Transport
	}
	jar := newJar()
	return &http.Client{
		Transport: base,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
}

// ClientID returns DefaultClientID.
func (s *Server) ClientID() string { return DefaultClientID }

// ClientSecret returns DefaultClientSecret.
func (s *Server) ClientSecret() string { return DefaultClientSecret }

// Now returns the emulator's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.now()
}

// SetNow freezes the emulator clock at t.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.frozen = true
	s.st.base = t
}

// Advance moves the emulator clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.frozen {
		s.st.base = s.st.base.Add(d)
		return
	}
	s.st.offset += d
}

// SetTokenLifetimes sets the lifetimes of tokens issued from now on. A zero
// duration keeps the current value.
func (s *Server) SetTokenLifetimes(access, id, refresh time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if access > 0 {
		s.st.accessTTL = access
	}
	if id > 0 {
		s.st.idTTL = id
	}
	if refresh > 0 {
		s.st.refreshTTL = refresh
	}
}

// Requests returns how many requests reached path (for example
// "/oauth2/token" or "/.well-known/jwks"), including faulted ones.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.counts[path]
}

// ResetRequests sets every request counter to zero.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.st.counts)
}

// SignInAs makes every interactive sign-in complete at once as userID,
// without showing the sign-in page. It stays in force until SignInAs("").
func (s *Server) SignInAs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.signInAs = userID
}

// ExpireNextLoginLink makes the next authorization request fail with
// error=login_link_expired and a reauth_state holding the original parameters.
func (s *Server) ExpireNextLoginLink() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.expireNext = true
}

// CancelNextLogin makes the next authorization request end as if the user
// cancelled: error=access_denied.
func (s *Server) CancelNextLogin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.cancelNext = true
}

// LastAuthorizeParams returns a copy of the query of the last request to
// /oauth2/auth, or nil if there was none.
func (s *Server) LastAuthorizeParams() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.lastAuthorize == nil {
		return nil
	}
	out := make(url.Values, len(s.st.lastAuthorize))
	for k, v := range s.st.lastAuthorize {
		out[k] = append([]string(nil), v...)
	}
	return out
}
