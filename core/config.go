package kinde

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Default values used when the matching Config field is left empty.
const (
	defaultAuthorizePath   = "/oauth2/auth"
	defaultTokenPath       = "/oauth2/token"
	defaultJWKSPath        = "/.well-known/jwks"
	defaultLogoutPath      = "/logout"
	defaultUserProfilePath = "/oauth2/v2/user_profile"
	defaultRevokePath      = "/oauth2/revoke"
	defaultIntrospectPath  = "/oauth2/introspect"
	defaultDeviceAuthPath  = "/oauth2/device/auth"

	// defaultLeeway is the clock skew tolerated when checking exp, nbf and iat.
	defaultLeeway = 30 * time.Second
	// defaultJWKSRefreshInterval is the minimum time between two JWKS fetches
	// caused by tokens signed with a key id the cache does not know.
	defaultJWKSRefreshInterval = time.Minute
	// defaultJWKSMaxAge is how long a fetched key set is used before it is
	// refreshed in the background.
	defaultJWKSMaxAge = time.Hour
	// defaultHTTPTimeout bounds every request the SDK makes to Kinde when the
	// caller supplies no HTTP client of its own.
	defaultHTTPTimeout = 10 * time.Second
	// defaultTokenCacheSize is the number of verified tokens kept in memory.
	defaultTokenCacheSize = 10000
	// defaultTokenCacheBytes is the memory budget of the verified-token cache.
	defaultTokenCacheBytes = 16 << 20
)

// defaultScopes returns the scopes requested at sign-in when Config.Scopes
// is empty. Kinde uses "offline" (not "offline_access") to issue refresh
// tokens.
func defaultScopes() []string { return []string{"openid", "offline", "email", "profile"} }

// Config holds everything the SDK needs to talk to one Kinde business (or
// environment). Only Domain and ClientID are always required; a web
// application also needs ClientSecret and RedirectURL.
//
// Fields that are paths (AuthorizePath, TokenPath, …) may also be absolute
// URLs, which lets the SDK talk to a standard OpenID provider whose endpoints
// live elsewhere.
type Config struct {
	// Domain is the Kinde domain: "https://acme.kinde.com", "acme.kinde.com",
	// a regional domain such as "acme.eu.kinde.com" or a custom domain.
	// Plain http is accepted only for loopback hosts. Env: KINDE_DOMAIN.
	Domain string
	// ClientID of the Kinde application. Env: KINDE_CLIENT_ID.
	ClientID string
	// ClientSecret of a back-end application. Env: KINDE_CLIENT_SECRET.
	ClientSecret string
	// RedirectURL is the callback URL registered in Kinde, for example
	// "http://localhost:8080/api/auth/kinde_callback". Env: KINDE_REDIRECT_URL.
	RedirectURL string
	// PostLogoutRedirectURL is where Kinde sends the browser after sign-out.
	// Env: KINDE_POST_LOGOUT_REDIRECT_URL.
	PostLogoutRedirectURL string
	// Scopes requested at sign-in. Default: openid offline email profile.
	// Env: KINDE_SCOPE (space separated).
	Scopes []string
	// Audience lists the API audiences requested at sign-in and accepted in
	// bearer tokens. Env: KINDE_AUDIENCE (space or comma separated).
	Audience []string
	// DisablePKCE turns PKCE off. PKCE (S256) is on by default and should stay on.
	DisablePKCE bool
	// DisableAutoRefresh stops the web layer from refreshing access tokens
	// that are about to expire, and Client.Session from refreshing tokens
	// whose access token has expired. Auto-refresh is on by default.
	DisableAutoRefresh bool

	// Issuer is the expected "iss" of tokens. Default: the domain URL.
	Issuer string
	// AuthorizePath of the authorization endpoint. Default "/oauth2/auth".
	AuthorizePath string
	// TokenPath of the token endpoint. Default "/oauth2/token".
	TokenPath string
	// JWKSPath of the key set. Default "/.well-known/jwks".
	JWKSPath string
	// LogoutPath of Kinde's logout endpoint. Default "/logout".
	LogoutPath string
	// UserProfilePath of the user profile endpoint. Default "/oauth2/v2/user_profile".
	UserProfilePath string
	// RevokePath of the revocation endpoint. Default "/oauth2/revoke".
	RevokePath string
	// IntrospectPath of the introspection endpoint. Default "/oauth2/introspect".
	IntrospectPath string
	// DeviceAuthPath of the device authorization endpoint. Default "/oauth2/device/auth".
	DeviceAuthPath string
	// SkipAccessTokenVerification accepts access tokens from the token
	// endpoint without verifying them as JWTs. Kinde's access tokens are JWTs;
	// set this only for providers that issue opaque access tokens.
	SkipAccessTokenVerification bool

	// ManagementClientID and ManagementClientSecret identify a
	// machine-to-machine application for the Management API.
	// Env: KINDE_MANAGEMENT_CLIENT_ID, KINDE_MANAGEMENT_CLIENT_SECRET.
	ManagementClientID     string
	ManagementClientSecret string
	// ManagementAudience overrides the Management API audience, which
	// defaults to "https://<domain>/api" (Client.Config reports the one in
	// use).
	ManagementAudience string

	// SessionSecret encrypts session cookies (at least 32 characters). The
	// first secret encrypts; PreviousSessionSecrets still decrypt, which
	// allows rotation. Env: KINDE_SESSION_SECRET (comma separated: current
	// first, then previous ones).
	SessionSecret          string
	PreviousSessionSecrets []string

	// HTTPClient is used for every call to Kinde. Default: a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// Leeway is the tolerated clock skew for exp, nbf and iat. Default 30 s.
	// A negative value means no leeway.
	Leeway time.Duration
	// JWKSRefreshInterval limits refetches of the key set caused by unknown
	// key ids in tokens anyone can send (bearer tokens, webhooks). Default
	// one minute. Tokens from Kinde's token endpoint and from sessions this
	// server stored have a separate budget of one refetch per 5 s (or this
	// interval, if shorter), which bearer tokens cannot spend.
	JWKSRefreshInterval time.Duration
	// JWKSMaxAge is how long a key set is trusted before a background refresh.
	// Default one hour.
	JWKSMaxAge time.Duration
	// TokenCacheSize bounds the number of tokens in the verified-token
	// cache. Default 10000; a negative value disables the cache.
	TokenCacheSize int
	// TokenCacheBytes bounds the memory of the verified-token cache: each
	// token is charged an estimate of what it keeps alive (the token, its
	// decoded claims and the lists decoded from them, the cache's own
	// overhead; docs/performance.md gives the figures). Default 16 MiB; a
	// negative value disables the cache. Whichever of TokenCacheSize and
	// TokenCacheBytes is reached first bounds the cache.
	TokenCacheBytes int

	// Debug logs requests and decisions at debug level (never secrets or
	// whole tokens). Env: KINDE_DEBUG=true.
	Debug bool
	// Logger receives the SDK's logs. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now. Tests may replace it.
	Now func() time.Time
	// UserAgent is sent as the Kinde-SDK header. Default "Go/<version>".
	UserAgent string
}

// Environment variables read by ConfigFromEnv.
const (
	envDomain                 = "KINDE_DOMAIN"
	envClientID               = "KINDE_CLIENT_ID"
	envClientSecret           = "KINDE_CLIENT_SECRET"
	envRedirectURL            = "KINDE_REDIRECT_URL"
	envPostLogoutRedirectURL  = "KINDE_POST_LOGOUT_REDIRECT_URL"
	envAudience               = "KINDE_AUDIENCE"
	envScope                  = "KINDE_SCOPE"
	envManagementClientID     = "KINDE_MANAGEMENT_CLIENT_ID"
	envManagementClientSecret = "KINDE_MANAGEMENT_CLIENT_SECRET"
	envSessionSecret          = "KINDE_SESSION_SECRET"
	envDebug                  = "KINDE_DEBUG"
)

// ConfigFromEnv returns a Config filled from the KINDE_* environment
// variables. It does not validate; kinde.New does, and its errors name the
// variable to set.
func ConfigFromEnv() Config {
	return configFromLookup(os.LookupEnv)
}

func configFromLookup(lookup func(string) (string, bool)) Config {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	cfg := Config{
		Domain:                 get(envDomain),
		ClientID:               get(envClientID),
		ClientSecret:           get(envClientSecret),
		RedirectURL:            get(envRedirectURL),
		PostLogoutRedirectURL:  get(envPostLogoutRedirectURL),
		ManagementClientID:     get(envManagementClientID),
		ManagementClientSecret: get(envManagementClientSecret),
	}
	if s := get(envScope); s != "" {
		cfg.Scopes = strings.Fields(s)
	}
	if a := get(envAudience); a != "" {
		cfg.Audience = splitList(a)
	}
	if s := get(envSessionSecret); s != "" {
		secrets := strings.Split(s, ",")
		cfg.SessionSecret = strings.TrimSpace(secrets[0])
		for _, p := range secrets[1:] {
			if p = strings.TrimSpace(p); p != "" {
				cfg.PreviousSessionSecrets = append(cfg.PreviousSessionSecrets, p)
			}
		}
	}
	switch strings.ToLower(get(envDebug)) {
	case "1", "true", "yes", "on":
		cfg.Debug = true
	}
	return cfg
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// endpoints holds the resolved absolute URLs of a configuration.
type endpoints struct {
	base       *url.URL
	issuer     string
	authorize  string
	token      string
	jwks       string
	logout     string
	profile    string
	revoke     string
	introspect string
	deviceAuth string
}

// normalizeDomain turns the accepted domain spellings into a base URL.
func normalizeDomain(domain string) (*url.URL, error) {
	d := strings.TrimSpace(domain)
	if d == "" {
		return nil, &ConfigError{Field: "Domain", Env: envDomain, Reason: "is required: set it to your Kinde domain, for example https://yourbusiness.kinde.com"}
	}
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	u, err := url.Parse(d)
	if err != nil || u.Host == "" {
		return nil, &ConfigError{Field: "Domain", Env: envDomain, Reason: fmt.Sprintf("%q is not a valid domain: use a form like https://yourbusiness.kinde.com", domain)}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, &ConfigError{Field: "Domain", Env: envDomain, Reason: fmt.Sprintf("%q uses plain http, which is allowed only for loopback hosts (localhost, 127.0.0.1, ::1): use https", domain)}
		}
	default:
		return nil, &ConfigError{Field: "Domain", Env: envDomain, Reason: fmt.Sprintf("%q must use https", domain)}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &ConfigError{Field: "Domain", Env: envDomain, Reason: fmt.Sprintf("%q must be a bare origin such as https://yourbusiness.kinde.com (no user, query or fragment)", domain)}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// isLoopbackHost reports whether host names the local machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func resolveEndpoint(base *url.URL, value, def, field string) (string, error) {
	if value == "" {
		value = def
	}
	if strings.Contains(value, "://") {
		u, err := url.Parse(value)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			return "", &ConfigError{Field: field, Reason: fmt.Sprintf("%q must be a path such as %s or an https URL", value, def)}
		}
		return u.String(), nil
	}
	if !strings.HasPrefix(value, "/") {
		value = "/" + value
	}
	return base.String() + value, nil
}

func (cfg *Config) endpoints() (endpoints, error) {
	base, err := normalizeDomain(cfg.Domain)
	if err != nil {
		return endpoints{}, err
	}
	// An explicit issuer is compared verbatim (some providers end it with
	// "/"); the default is the domain without a trailing slash, as Kinde's.
	e := endpoints{base: base, issuer: strings.TrimSpace(cfg.Issuer)}
	if e.issuer == "" {
		e.issuer = base.String()
	}
	for _, f := range []struct {
		dst      *string
		val, def string
		name     string
	}{
		{&e.authorize, cfg.AuthorizePath, defaultAuthorizePath, "AuthorizePath"},
		{&e.token, cfg.TokenPath, defaultTokenPath, "TokenPath"},
		{&e.jwks, cfg.JWKSPath, defaultJWKSPath, "JWKSPath"},
		{&e.logout, cfg.LogoutPath, defaultLogoutPath, "LogoutPath"},
		{&e.profile, cfg.UserProfilePath, defaultUserProfilePath, "UserProfilePath"},
		{&e.revoke, cfg.RevokePath, defaultRevokePath, "RevokePath"},
		{&e.introspect, cfg.IntrospectPath, defaultIntrospectPath, "IntrospectPath"},
		{&e.deviceAuth, cfg.DeviceAuthPath, defaultDeviceAuthPath, "DeviceAuthPath"},
	} {
		if *f.dst, err = resolveEndpoint(base, f.val, f.def, f.name); err != nil {
			return endpoints{}, err
		}
	}
	return e, nil
}

// validateAbsoluteURL checks a URL the browser will be sent to.
func validateAbsoluteURL(raw, field, env string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &ConfigError{Field: field, Env: env, Reason: fmt.Sprintf("%q must be an absolute http(s) URL registered in Kinde, for example http://localhost:8080/api/auth/kinde_callback", raw)}
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return &ConfigError{Field: field, Env: env, Reason: fmt.Sprintf("%q uses plain http, which is allowed only for loopback hosts: use https", raw)}
	}
	if u.Fragment != "" {
		return &ConfigError{Field: field, Env: env, Reason: fmt.Sprintf("%q must not contain a fragment", raw)}
	}
	return nil
}

// validate checks the configuration and fills defaults in place.
func (cfg *Config) validate(needClientID bool) (endpoints, error) {
	e, err := cfg.endpoints()
	if err != nil {
		return e, err
	}
	// A client with only machine-to-machine credentials gets tokens with
	// client credentials and needs no sign-in client ID.
	if needClientID && strings.TrimSpace(cfg.ClientID) == "" && strings.TrimSpace(cfg.ManagementClientID) == "" {
		return e, &ConfigError{Field: "ClientID", Env: envClientID, Reason: "is required: copy it from your application's details in the Kinde dashboard (a program that only gets machine-to-machine tokens may set KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET instead; an API that only checks tokens uses kinde.ResourceServer)"}
	}
	if err := validateAbsoluteURL(cfg.RedirectURL, "RedirectURL", envRedirectURL); err != nil {
		return e, err
	}
	if err := validateAbsoluteURL(cfg.PostLogoutRedirectURL, "PostLogoutRedirectURL", envPostLogoutRedirectURL); err != nil {
		return e, err
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = defaultScopes()
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n\"\\") {
			return e, &ConfigError{Field: "Scopes", Env: envScope, Reason: fmt.Sprintf("scope %q is not valid: scopes are single words such as openid or offline", s)}
		}
	}
	for _, a := range cfg.Audience {
		if strings.TrimSpace(a) == "" {
			return e, &ConfigError{Field: "Audience", Env: envAudience, Reason: "contains an empty audience"}
		}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = defaultLeeway
	} else if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.JWKSRefreshInterval <= 0 {
		cfg.JWKSRefreshInterval = defaultJWKSRefreshInterval
	}
	if cfg.JWKSMaxAge <= 0 {
		cfg.JWKSMaxAge = defaultJWKSMaxAge
	}
	if cfg.TokenCacheBytes == 0 {
		cfg.TokenCacheBytes = defaultTokenCacheBytes
	}
	if cfg.TokenCacheSize == 0 {
		cfg.TokenCacheSize = defaultTokenCacheSize
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Go/" + Version
	}
	if cfg.ManagementAudience == "" {
		cfg.ManagementAudience = e.base.String() + "/api"
	}
	return e, nil
}

// Version is the version of this SDK, sent to Kinde in the Kinde-SDK header.
const Version = "0.1.0"
