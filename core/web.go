package kinde

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gokinde/kinde/core/internal/cookie"
)

const (
	// defaultSessionCookie is the name of the session cookie.
	defaultSessionCookie = "kinde_session"
	// defaultIdleTimeout is how long a session lasts without activity
	// (Kinde's default refresh token lifetime, kinde-protocol.md "Default
	// lifetimes").
	defaultIdleTimeout = 15 * 24 * time.Hour
	// defaultSessionMaxAge is how long a session lasts after its sign-in,
	// however active.
	defaultSessionMaxAge = 30 * 24 * time.Hour
	// defaultFlowLifetime is how long a started sign-in may take.
	defaultFlowLifetime = 15 * time.Minute

	flowCookiePrefix = "kinde_flow_"
)

// Paths are the routes of the web layer.
type Paths struct {
	Login, Register, CreateOrg, Callback, Logout, SwitchOrg string
	// Portal sends a signed-in user to Kinde's self-serve portal.
	Portal string
}

// DefaultPaths returns the routes every adapter mounts unless WithPaths
// changes them: /api/auth/login, /api/auth/register, /api/auth/create_org,
// /api/auth/kinde_callback, /api/auth/logout, /api/auth/switch_org and
// /api/auth/portal.
func DefaultPaths() Paths {
	return Paths{Login: "/api/auth/login", Register: "/api/auth/register", CreateOrg: "/api/auth/create_org",
		Callback: "/api/auth/kinde_callback", Logout: "/api/auth/logout", SwitchOrg: "/api/auth/switch_org",
		Portal: "/api/auth/portal"}
}

// WebOption configures a Web.
type WebOption func(*webOptions) error

type webOptions struct {
	cfg            *Config        // from WithConfig, turned into client by NewWeb
	resource       bool           // ResourceServer
	anyAudience    bool           // AnyAudience
	verify         []VerifyOption // RequireBearer's default options
	client         *Client
	store          Store
	cookieName     string
	paths          Paths
	callbackSet    bool
	afterLogin     string
	idleTimeout    time.Duration // SessionOptions
	maxAge         time.Duration
	browserSession bool
	cookieDomain   string
	cacheBytes     int // SessionOptions.CacheBytes; 0: the default
	flowLifetime   time.Duration
	trustedProxies []netip.Prefix
	render         func(x Exchange, p ErrorPage)
	adapter        any          // an adapter's configuration: see WithAdapterConfig
	authDefaults   []AuthOption // WithAuthOptions: first on every sign-in the layer starts
}

// WithClient uses c. Without it, NewWeb builds a client from ConfigFromEnv.
func WithClient(c *Client) WebOption {
	return func(o *webOptions) error { o.client, o.cfg = c, nil; return nil }
}

// WithConfig builds the client from cfg instead of the environment.
func WithConfig(cfg Config) WebOption {
	return func(o *webOptions) error {
		o.client, o.cfg = nil, &cfg
		return nil
	}
}

// ResourceServer makes NewWeb build the layer of an API that only checks
// Kinde access tokens (a resource server): no sign-in routes, no session
// cookies, and no client ID, redirect URL or session secret needed. Its
// configuration is the Kinde domain and the API's audience (KINDE_DOMAIN and
// KINDE_AUDIENCE, or Config.Domain and Config.Audience); NewWeb refuses a
// configuration without an audience unless AnyAudience is given too.
// RequireBearer authenticates requests and the other guards follow it; a
// request without a valid token is answered 401, never redirected.
func ResourceServer() WebOption {
	return func(o *webOptions) error { o.resource = true; return nil }
}

// AnyAudience lets a ResourceServer accept access tokens of every audience
// of the Kinde domain, including tokens Kinde issued for other APIs and other
// applications' machine-to-machine tokens. Use it only when something else
// binds the token to your API; prefer setting the audience.
func AnyAudience() WebOption {
	return func(o *webOptions) error { o.anyAudience = true; return nil }
}

// WithStore keeps sessions server-side in s (kinde.NewMemoryStore,
// redisstore.New, …); the cookie then holds only a random session id.
// Without it the whole session lives in encrypted cookies.
func WithStore(s Store) WebOption {
	return func(o *webOptions) error { o.store = s; return nil }
}

// WithPaths changes the routes. Empty fields keep their defaults; the
// callback path defaults to the path of Config.RedirectURL.
func WithPaths(p Paths) WebOption {
	return func(o *webOptions) error {
		for _, v := range []string{p.Login, p.Register, p.CreateOrg, p.Callback, p.Logout, p.SwitchOrg, p.Portal} {
			if v != "" && !strings.HasPrefix(v, "/") {
				return fmt.Errorf("kinde: route %q must start with /", v)
			}
		}
		o.paths = mergePaths(o.paths, p)
		o.callbackSet = o.callbackSet || p.Callback != ""
		return nil
	}
}

// WithAfterLoginPath sets where users land after signing in when the
// sign-in did not say where to return (default "/").
func WithAfterLoginPath(p string) WebOption {
	return func(o *webOptions) error {
		if _, ok := safeRedirectPath(p, ""); !ok {
			return fmt.Errorf("kinde: after-login path %q must be a path on this site such as /dashboard", p)
		}
		o.afterLogin = p
		return nil
	}
}

// SessionOptions say how long the web layer's sessions last and how their
// cookie is set. Zero fields keep the defaults.
type SessionOptions struct {
	// IdleTimeout ends a session that has had no request for this long
	// (default 15 days, Kinde's default refresh-token lifetime). Activity is
	// recorded at most once per tenth of it, so a session may end up to a
	// tenth earlier than the last request plus IdleTimeout.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after its sign-in, however active
	// (default 30 days); the user then signs in again.
	MaxAge time.Duration
	// BrowserSession makes every session cookie a browser-session cookie,
	// without Max-Age or Expires: the browser drops it when it closes (the
	// timeouts above still apply). Without it the cookie lasts as long as
	// the session, unless Kinde's access token says ksp.persistent=false
	// (the user did not ask to stay signed in): that session's cookie is a
	// browser-session cookie.
	BrowserSession bool
	// Domain shares the session cookie with the subdomains of a domain
	// (e.g. "example.com"). Leave it empty (recommended): the cookie is then
	// host-only and, on https, named with the __Host- prefix, so no other
	// subdomain can plant or overwrite it. With a Domain, any subdomain can
	// (cookie tossing): set it only when every subdomain is yours and trusted.
	Domain string
	// CacheBytes bounds the memory the web layer keeps to make a signed-in
	// user's requests cheap: session records already decoded (two thirds),
	// and refresh results remembered for Kinde's 30 s refresh-token grace so
	// that concurrent requests of one session share one refresh (one
	// third). Default 12 MiB per Web; a negative value keeps none (every
	// request decodes its session, and requests that still carry a replaced
	// refresh token refresh again, which Kinde allows within the grace).
	CacheBytes int
}

// WithSessionOptions sets the session lifetimes and the session cookie's
// browser-session and Domain attributes (see SessionOptions).
func WithSessionOptions(s SessionOptions) WebOption {
	return func(o *webOptions) error {
		if s.IdleTimeout < 0 || s.MaxAge < 0 {
			return errors.New("kinde: session IdleTimeout and MaxAge must not be negative (zero keeps the default)")
		}
		if s.Domain != "" {
			if err := (&http.Cookie{Name: defaultSessionCookie, Value: "x", Domain: s.Domain}).Valid(); err != nil || strings.ContainsAny(s.Domain, "/:") {
				return fmt.Errorf("kinde: session cookie Domain %q is not a domain name such as example.com", s.Domain)
			}
		}
		if s.IdleTimeout > 0 {
			o.idleTimeout = s.IdleTimeout
		}
		if s.MaxAge > 0 {
			o.maxAge = s.MaxAge
		}
		o.browserSession, o.cookieDomain = s.BrowserSession, s.Domain
		if s.CacheBytes != 0 {
			o.cacheBytes = s.CacheBytes
		}
		return nil
	}
}

// WithTrustedProxies lists the proxies (IPs or CIDR prefixes) whose
// X-Forwarded-Proto and X-Forwarded-Host headers are believed. Headers from
// anybody else are ignored.
func WithTrustedProxies(proxies ...string) WebOption {
	return func(o *webOptions) error {
		for _, p := range proxies {
			if !strings.Contains(p, "/") {
				a, err := netip.ParseAddr(p)
				if err != nil {
					return fmt.Errorf("kinde: trusted proxy %q is not an IP address or CIDR prefix", p)
				}
				o.trustedProxies = append(o.trustedProxies, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			pr, err := netip.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("kinde: trusted proxy %q is not an IP address or CIDR prefix", p)
			}
			o.trustedProxies = append(o.trustedProxies, pr.Masked())
		}
		return nil
	}
}

// WithAuthOptions sets app-wide defaults for every sign-in the web layer
// starts: the login, register and create_org routes, switch_org, the portal
// route's sign-in, restarts after an expired sign-in link, and Web.SignIn.
// Any AuthOption may be given: an audience and scopes (WithAudience,
// WithScopes), a prompt, a language, billing choices (WithPlanInterest,
// WithPricingTableKey) and additional parameters (WithParam). Each sign-in
// applies the defaults first, then what the route or the SignIn call sets
// (register's prompt=create, switch_org's prompt=none and org_code), then
// the query parameters the routes accept (see docs/sign-in.md), so those
// win. WithRedirectURL is refused: the callback is Config.RedirectURL. Given
// more than once, the lists are joined.
func WithAuthOptions(opts ...AuthOption) WebOption {
	return func(o *webOptions) error {
		p, err := applyAuthOptions(opts)
		if err != nil {
			return fmt.Errorf("kinde: WithAuthOptions: %w", err)
		}
		if p.redirect != "" {
			return errors.New("kinde: WithAuthOptions: WithRedirectURL cannot be a default: the web layer's callback is Config.RedirectURL")
		}
		o.authDefaults = append(o.authDefaults, opts...)
		return nil
	}
}

// WithErrorPage replaces the built-in HTML page shown when a sign-in step
// fails in the browser.
func WithErrorPage(render func(x Exchange, p ErrorPage)) WebOption {
	return func(o *webOptions) error { o.render = render; return nil }
}

func mergePaths(base, p Paths) Paths {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&base.Login, p.Login)
	set(&base.Register, p.Register)
	set(&base.CreateOrg, p.CreateOrg)
	set(&base.Callback, p.Callback)
	set(&base.Logout, p.Logout)
	set(&base.SwitchOrg, p.SwitchOrg)
	set(&base.Portal, p.Portal)
	return base
}

// Web is everything a web application needs for sign-in, written once and
// used by every adapter: the sign-in, sign-up, create-organization, callback,
// sign-out, switch-organization and portal handlers, the session loader
// (with refresh) and the guards.
type Web struct {
	c         *Client
	codec     *cookie.Codec
	o         webOptions
	log       *slog.Logger
	origin    string
	refreshes *refreshGroup
	budget    atomic.Int64  // bytes of Cookie header the web layer may use, 0: no limit (web_cookies.go)
	records   recordCodec   // session record encoding, with reusable DEFLATE state
	sessions  *sessionCache // decoded session records by the bytes read (session_cache.go)
	storeDown outage        // the session store's failures, for logging

	noAudienceWarning sync.Once
	guardOrderWarning sync.Once
}

// NewWeb returns the web layer. Without WithClient or WithConfig it reads the
// KINDE_* environment variables. Config.RedirectURL is required; without a
// session secret a random one is used and sessions end when the process
// restarts (a warning is logged).
func NewWeb(opts ...WebOption) (*Web, error) {
	o := webOptions{
		cookieName:   defaultSessionCookie,
		afterLogin:   "/",
		idleTimeout:  defaultIdleTimeout,
		maxAge:       defaultSessionMaxAge,
		flowLifetime: defaultFlowLifetime,
		paths:        DefaultPaths(),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.client == nil {
		cfg := ConfigFromEnv()
		if o.cfg != nil {
			cfg = *o.cfg
		}
		c, err := newClient(cfg, !o.resource)
		if err != nil {
			return nil, err
		}
		o.client = c
	}
	cfg := o.client.cfg
	if o.resource {
		return newResourceServer(o)
	}
	if cfg.RedirectURL == "" {
		return nil, &ConfigError{Field: "RedirectURL", Env: envRedirectURL, Reason: "is required for web sign-in: set it to this app's callback URL, e.g. http://localhost:8080/api/auth/kinde_callback, and add it to Allowed callback URLs in Kinde"}
	}
	o.cookieName = sessionCookieName(o.cookieName, cfg.RedirectURL, o.cookieDomain)
	if !o.callbackSet {
		if u, err := url.Parse(cfg.RedirectURL); err == nil && u.Path != "" && u.Path != "/" {
			o.paths.Callback = u.Path
		}
	}
	secrets := append([]string{cfg.SessionSecret}, cfg.PreviousSessionSecrets...)
	if cfg.SessionSecret == "" {
		s, err := GenerateSecret()
		if err != nil {
			return nil, err
		}
		secrets = []string{s}
		cfg.Logger.Warn("kinde: no session secret configured: using a random one, so every session ends when this process restarts and instances cannot share sessions; set KINDE_SESSION_SECRET (at least 32 characters, e.g. from `openssl rand -base64 48`)")
	}
	codec, err := cookie.New(secrets...)
	if err != nil {
		return nil, &ConfigError{Field: "SessionSecret", Env: envSessionSecret, Reason: strings.TrimPrefix(err.Error(), "kinde: ")}
	}
	w := &Web{c: o.client, codec: codec, o: o, log: cfg.Logger, origin: originOf(cfg.RedirectURL), refreshes: newRefreshGroup(cfg.Now, cfg.Logger)}
	switch {
	case o.cacheBytes < 0: // no caches: every request decodes its session
		w.refreshes.maxBytes = 0
	case o.cacheBytes > 0:
		w.sessions = newSessionCache(o.cacheBytes / 3 * 2)
		w.refreshes.maxBytes = o.cacheBytes / 3
	default:
		w.sessions = newSessionCache(sessionCacheBytes)
	}
	w.checkStore()
	return w, nil
}

// newResourceServer finishes NewWeb for ResourceServer.
func newResourceServer(o webOptions) (*Web, error) {
	cfg := o.client.cfg
	if len(cfg.Audience) == 0 && !o.anyAudience {
		return nil, &ConfigError{Field: "Audience", Env: envAudience, Reason: "is required for an API: set it to your API's audience (its identifier under Settings > APIs in Kinde), or pass kinde.AnyAudience() to accept every access token of the domain"}
	}
	if o.store != nil {
		return nil, errors.New("kinde: a ResourceServer keeps no sessions: leave out WithStore")
	}
	if o.anyAudience {
		o.verify = []VerifyOption{SkipAudienceCheck()}
	}
	return &Web{c: o.client, o: o, log: cfg.Logger, refreshes: newRefreshGroup(cfg.Now, cfg.Logger)}, nil
}

// MustNewWeb is NewWeb that panics on error, for main functions.
func MustNewWeb(opts ...WebOption) *Web {
	w, err := NewWeb(opts...)
	if err != nil {
		panic(err)
	}
	return w
}

// Client returns the client the web layer uses.
func (w *Web) Client() *Client { return w.c }

// Route returns the handler for path and true when path is one of the
// web layer's routes. Adapters use it to mount the routes.
func (w *Web) Route(path string) (func(Exchange), bool) {
	if w.o.resource {
		return nil, false
	}
	switch path {
	case w.o.paths.Login:
		return w.login, true
	case w.o.paths.Register:
		return w.register, true
	case w.o.paths.CreateOrg:
		return w.createOrg, true
	case w.o.paths.Callback:
		return w.callback, true
	case w.o.paths.Logout:
		return w.logout, true
	case w.o.paths.SwitchOrg:
		return w.switchOrg, true
	case w.o.paths.Portal:
		return w.portal, true
	}
	return nil, false
}

// Routes lists the web layer's routes (all GET); a ResourceServer has none.
func (w *Web) Routes() []string {
	if w.o.resource {
		return nil
	}
	p := w.o.paths
	return []string{p.Login, p.Register, p.CreateOrg, p.Callback, p.Logout, p.SwitchOrg, p.Portal}
}

// flowState is what a started sign-in needs at the callback. It travels in a
// short-lived encrypted cookie named after the state, so that several tabs
// can sign in at once.
type flowState struct {
	State    string `json:"s"`
	Verifier string `json:"v,omitempty"`
	Nonce    string `json:"n"`
	ReturnTo string `json:"r,omitempty"`
	OrgCode  string `json:"o,omitempty"`
	Redirect string `json:"u"`
	Silent   bool   `json:"q,omitempty"`
	Started  int64  `json:"t,omitempty"` // Unix time the sign-in started: the oldest flow is dropped first
}

const (
	// maxFlows is how many sign-ins a browser may have started and not
	// finished: starting one more drops the flow cookie of the oldest.
	maxFlows = 4
	// maxFlowBytes bounds the Cookie header the flow cookies take at the
	// callback (with a cookie budget, what the session leaves of it).
	maxFlowBytes = 2048
	// maxReturnTo bounds the post-login path a flow cookie stores; a longer
	// one is replaced by the after-login path.
	maxReturnTo = 512
)

func flowCookieName(state string) string {
	if len(state) > 24 {
		state = state[:24]
	}
	return flowCookiePrefix + state
}

var (
	codeParamRE  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	langParamRE  = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	stateParamRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)
)

type loginKind int

const (
	kindLogin loginKind = iota
	kindRegister
	kindCreateOrg
)

// login starts a sign-in. Query parameters it honours: post_login_redirect_url
// (a path on this site), org_code, plan_interest, pricing_table_key, lang,
// login_hint, connection_id, invitation_code and marketing parameters
// (utm_*, gclid, …). Any other parameter, prompt, audience and scope
// included, is ignored: those come from WithAuthOptions or from the app's
// own handler (SignIn).
func (w *Web) login(x Exchange) { w.start(x, kindLogin) }

// register starts a sign-up (Kinde's registration screen).
func (w *Web) register(x Exchange) { w.start(x, kindRegister) }

// createOrg starts a sign-up that creates an organization named by the
// org_name query parameter.
func (w *Web) createOrg(x Exchange) { w.start(x, kindCreateOrg) }

func (w *Web) start(x Exchange, kind loginKind) {
	q, err := url.ParseQuery(x.RawQuery())
	if err != nil {
		w.fail(x, http.StatusBadRequest, "Invalid sign-in link", "The sign-in link has a malformed query string.")
		return
	}
	opts := w.authOpts(withSupportsReauth())
	switch kind {
	case kindRegister:
		opts = append(opts, WithRegistration())
	case kindCreateOrg:
		name := strings.TrimSpace(q.Get("org_name"))
		if len(name) > 200 || strings.ContainsFunc(name, isControl) {
			w.fail(x, http.StatusBadRequest, "Invalid organization name", "The organization name is too long or contains control characters.")
			return
		}
		opts = append(opts, WithCreateOrg(name))
	}
	orgCode := q.Get("org_code")
	for _, p := range []struct {
		name string
		re   *regexp.Regexp
		opt  func(string) AuthOption
	}{
		{"org_code", codeParamRE, WithOrgCode},
		{"connection_id", codeParamRE, WithConnectionID},
		{"lang", langParamRE, WithLang},
		{"invitation_code", codeParamRE, WithInvitationCode},
		{"plan_interest", codeParamRE, WithPlanInterest},
		{"pricing_table_key", codeParamRE, WithPricingTableKey},
	} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if !p.re.MatchString(v) {
			w.fail(x, http.StatusBadRequest, "Invalid sign-in link", fmt.Sprintf("The %s parameter is not valid.", p.name))
			return
		}
		opts = append(opts, p.opt(v))
	}
	if hint := q.Get("login_hint"); hint != "" {
		if len(hint) > 320 || strings.ContainsFunc(hint, isControl) {
			w.fail(x, http.StatusBadRequest, "Invalid sign-in link", "The login_hint parameter is not valid.")
			return
		}
		opts = append(opts, WithLoginHint(hint))
	}
	marketing := map[string]string{}
	for k := range q {
		if isMarketingParam(k) {
			if v := q.Get(k); len(v) <= 256 && !strings.ContainsFunc(v, isControl) {
				marketing[k] = v
			}
		}
	}
	if len(marketing) > 0 {
		opts = append(opts, withMarketing(marketing))
	}
	returnTo := w.returnTo(x, q.Get("post_login_redirect_url"))
	w.redirectToKinde(x, flowState{ReturnTo: returnTo, OrgCode: orgCode}, opts...)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// authOpts returns the app's default sign-in options (WithAuthOptions)
// followed by opts.
func (w *Web) authOpts(opts ...AuthOption) []AuthOption {
	return append(slices.Clip(w.o.authDefaults), opts...)
}

// SignIn starts a sign-in from the application's own handler, with any
// AuthOption on top of the WithAuthOptions defaults: WithPrompt("login")
// for a step-up (the user signs in again), WithAudience or WithScopes for
// another API, WithOrgCode, and so on. It answers x with a redirect to Kinde
// and a flow cookie, so that the sign-in finishes at the callback route like
// the login route's; the browser then lands on returnTo, a path on this site
// ("" for the after-login path). For adapters and net/http handlers:
// adapters offer SignIn(c, returnTo, opts...), and a net/http handler calls
// web.SignIn(kinde.NewHTTPExchange(w, r), …).
//
// It writes nothing and returns an error when the options are not valid,
// when an option sets the redirect URL (the callback is Config.RedirectURL),
// when returnTo is not a path on this site, and on a ResourceServer.
func (w *Web) SignIn(x Exchange, returnTo string, opts ...AuthOption) error {
	if w.o.resource {
		return errors.New("kinde: SignIn: a ResourceServer has no sign-in: build the Web without kinde.ResourceServer()")
	}
	all := w.authOpts(append([]AuthOption{withSupportsReauth()}, opts...)...)
	p, err := applyAuthOptions(all)
	if err != nil {
		return fmt.Errorf("kinde: SignIn: %w", err)
	}
	if p.redirect != "" {
		return errors.New("kinde: SignIn: WithRedirectURL cannot be used here: the sign-in must finish at the callback route (Config.RedirectURL)")
	}
	dest := w.o.afterLogin
	if returnTo != "" {
		var ok bool
		if dest, ok = w.sameSitePath(x, returnTo); !ok {
			return fmt.Errorf("kinde: SignIn: return path %q is not a path on this site, such as /account", truncate(returnTo, 80))
		}
	}
	org := p.q.Get("org_code")
	w.redirectToKinde(x, flowState{ReturnTo: dest, OrgCode: org, Silent: p.q.Get("prompt") == "none"}, all...)
	return nil
}

// validReauthParams applies the login route's rules to the parameters a
// reauth_state restores.
func validReauthParams(v url.Values) bool {
	for name, vals := range v {
		for _, val := range vals {
			switch name {
			case "org_code", "connection_id", "invitation_code":
				if !codeParamRE.MatchString(val) {
					return false
				}
			case "lang":
				if !langParamRE.MatchString(val) {
					return false
				}
			case "prompt":
				if val != "login" && val != "create" {
					return false // never a silent sign-in (prompt=none) from a link
				}
			default:
				if len(val) > 320 || strings.ContainsFunc(val, isControl) {
					return false
				}
			}
		}
	}
	return true
}

// returnTo validates a requested post-login destination; anything that is
// not a path on this site is replaced by the after-login path.
func (w *Web) returnTo(x Exchange, target string) string {
	if target == "" {
		return w.o.afterLogin
	}
	if p, ok := w.sameSitePath(x, target); ok {
		return p
	}
	w.log.InfoContext(x.Context(), "kinde: ignored a post-login redirect that is not a path on this site", "target", truncate(target, 80))
	return w.o.afterLogin
}

// sameSitePath returns target as a path on this site: a path, or an
// absolute URL of the app's origin or of the origin the browser used.
func (w *Web) sameSitePath(x Exchange, target string) (string, bool) {
	if p, ok := safeRedirectPath(target, w.origin); ok {
		return p, true
	}
	if o := w.requestOrigin(x); o != "" && o != w.origin {
		if p, ok := safeRedirectPath(target, o); ok {
			return p, true
		}
	}
	return "", false
}

// redirectToKinde creates a sign-in request, stores its flow cookie and
// sends the browser to Kinde. Flow cookies are bounded: the post-login path
// they store (maxReturnTo), how many a browser keeps (maxFlows) and the
// bytes they add to the callback's Cookie header (see makeRoomForFlow).
func (w *Web) redirectToKinde(x Exchange, flow flowState, opts ...AuthOption) {
	req, err := w.c.AuthURL(opts...)
	if err != nil {
		w.log.ErrorContext(x.Context(), "kinde: cannot build the sign-in URL", "error", err)
		w.fail(x, http.StatusBadRequest, "Cannot start sign-in", "The sign-in request is not valid.")
		return
	}
	if len(flow.ReturnTo) > maxReturnTo {
		w.log.InfoContext(x.Context(), "kinde: the post-login path is too long to keep during sign-in; the user lands on the after-login path instead",
			"length", len(flow.ReturnTo), "max", maxReturnTo, "target", truncate(flow.ReturnTo, 80))
		flow.ReturnTo = "" // the callback sends the browser to the after-login path
	}
	now := w.c.cfg.Now()
	flow.State, flow.Verifier, flow.Nonce, flow.Redirect = req.State, req.CodeVerifier, req.Nonce, req.RedirectURL
	flow.Started = now.Unix()
	b, _ := json.Marshal(flow)
	name := flowCookieName(req.State)
	sealed, err := w.codec.Seal(name, b, now.Add(w.o.flowLifetime))
	if err != nil {
		w.fail(x, http.StatusInternalServerError, "Cannot start sign-in", "The sign-in state could not be stored.")
		return
	}
	w.makeRoomForFlow(x, cookieBytes(name, sealed))
	x.SetCookie(&http.Cookie{Name: name, Value: sealed, Path: w.flowPath(),
		MaxAge: int(w.o.flowLifetime / time.Second), HttpOnly: true, Secure: w.secure(x), SameSite: http.SameSiteLaxMode})
	x.Redirect(http.StatusFound, req.URL)
}

// makeRoomForFlow drops the flow cookies of the oldest unfinished sign-ins
// (unreadable ones first) until a new flow cookie of need bytes is within
// maxFlows and maxFlowBytes and, with a cookie budget (CheckReadBufferSize),
// fits beside the session cookies in the callback's request. When even the
// session and the new flow alone exceed the budget, the session cookies
// are cleared: the callback replaces the session anyway, and a request the
// server cannot read would fail the sign-in.
func (w *Web) makeRoomForFlow(x Exchange, need int) {
	type live struct {
		name    string
		size    int
		started int64
	}
	var flows []live
	session := 0
	now := w.c.cfg.Now()
	for _, c := range w.ownCookies(x) {
		size := cookieBytes(c.name, c.value)
		if !strings.HasPrefix(c.name, flowCookiePrefix) {
			session += size
			continue
		}
		f := live{name: c.name, size: size}
		if b, err := w.codec.Open(c.name, c.value, now); err == nil {
			var fs flowState
			if json.Unmarshal(b, &fs) == nil {
				f.started = max(fs.Started, 1)
			}
		}
		flows = append(flows, f)
	}
	slices.SortStableFunc(flows, func(a, b live) int { return cmp.Compare(a.started, b.started) })
	room := maxFlowBytes
	budget := w.cookieBudget()
	if budget > 0 {
		room = min(room, budget-session)
	}
	total := need
	for _, f := range flows {
		total += f.size
	}
	dropped := 0
	for len(flows) > 0 && (len(flows) >= maxFlows || total > room) {
		w.expireFlow(x, flows[0].name)
		total -= flows[0].size
		flows = flows[1:]
		dropped++
	}
	if dropped > 0 {
		w.c.debug(x.Context(), "dropped the flow cookies of older unfinished sign-ins", "dropped", dropped)
	}
	if budget > 0 && session > 0 && session+need > budget {
		w.log.InfoContext(x.Context(), "kinde: starting a sign-in clears the current session: with it, the callback's cookies would exceed what the server reads back (CheckReadBufferSize)",
			"session_bytes", session, "flow_bytes", need, "cookie_budget", budget)
		w.destroy(x)
	}
}

// readFlow returns the flow cookie of state, or nil.
func (w *Web) readFlow(x Exchange, state string) *flowState {
	if !stateParamRE.MatchString(state) {
		return nil
	}
	v, ok := x.Cookie(flowCookieName(state))
	if !ok {
		return nil
	}
	b, err := w.codec.Open(flowCookieName(state), v, w.c.cfg.Now())
	if err != nil {
		return nil
	}
	var f flowState
	if json.Unmarshal(b, &f) != nil || f.State != state {
		return nil
	}
	return &f
}

func (w *Web) clearFlow(x Exchange, state string) {
	if !stateParamRE.MatchString(state) {
		return
	}
	if _, ok := x.Cookie(flowCookieName(state)); !ok {
		return
	}
	w.expireFlow(x, flowCookieName(state))
}

// callback finishes a sign-in: it checks the state against its flow cookie,
// exchanges the code (PKCE), verifies the tokens, starts a new session (a new
// session id) and sends the browser back to where the sign-in started.
func (w *Web) callback(x Exchange) {
	ctx := x.Context()
	q, err := url.ParseQuery(x.RawQuery())
	if err != nil || len(q["state"]) > 1 || len(q["code"]) > 1 || len(q["iss"]) > 1 {
		w.fail(x, http.StatusBadRequest, "Invalid sign-in response", "The callback URL is malformed.")
		return
	}
	state := q.Get("state")
	if code := q.Get("error"); code != "" {
		w.callbackError(x, q, state)
		return
	}
	flow := w.readFlow(x, state)
	w.clearFlow(x, state)
	if flow == nil {
		w.log.InfoContext(ctx, "kinde: callback without a matching sign-in cookie: the sign-in started on another host name (localhost and 127.0.0.1 do not share cookies), took longer than the flow lifetime, was already completed, or the browser blocked the cookie")
		w.fail(x, http.StatusBadRequest, "Sign-in expired", "This sign-in was not started in this browser, has expired, or was already completed. Please sign in again.")
		return
	}
	if iss := q.Get("iss"); iss != "" && iss != w.c.Issuer() {
		w.log.WarnContext(ctx, "kinde: callback iss does not match the configured domain", "iss", truncate(iss, 100))
		w.fail(x, http.StatusBadRequest, "Invalid sign-in response", "The response came from an unexpected issuer.")
		return
	}
	if code := q.Get("code"); code == "" || len(code) > 2048 {
		w.fail(x, http.StatusBadRequest, "Invalid sign-in response", "The callback has no authorization code.")
		return
	}
	req := &AuthRequest{State: flow.State, CodeVerifier: flow.Verifier, Nonce: flow.Nonce, RedirectURL: flow.Redirect}
	tokens, err := w.c.ExchangeCode(ctx, req, q)
	if err != nil {
		w.exchangeFailed(x, err)
		return
	}
	// A new session (and session id) for every sign-in: never reuse one
	// that existed before authentication (session fixation).
	w.destroy(x)
	if err := w.save(x, w.newRecord(tokens), "", nil); err != nil {
		w.log.ErrorContext(ctx, "kinde: cannot store the session", "error", err)
		w.fail(x, http.StatusInternalServerError, "Cannot store your session", sessionSaveHint(err))
		return
	}
	dest := flow.ReturnTo
	if dest == "" {
		dest = w.o.afterLogin
	}
	x.Redirect(http.StatusFound, dest)
}

func sessionSaveHint(err error) string {
	if isBudgetError(err) {
		return "Your session is too large for this server's request size limit, so you were not signed in. The site owner can keep sessions on the server (kinde.WithStore) or raise the server's read buffer size (ReadBufferSize)."
	}
	if errors.Is(err, ErrSessionTooLarge) {
		return "The session is too large for cookies. The site owner should use a server-side session store."
	}
	return "Please try again."
}

func (w *Web) callbackError(x Exchange, q url.Values, state string) {
	flow := w.readFlow(x, state)
	w.clearFlow(x, state)
	code := q.Get("error")
	returnTo := w.o.afterLogin
	orgCode := ""
	if flow != nil {
		returnTo, orgCode = flow.ReturnTo, flow.OrgCode
	}
	switch code {
	case "login_link_expired":
		// Restart the sign-in only for a flow this browser started, and
		// only with parameters the login route would accept: otherwise a
		// crafted link could start a sign-in with the attacker's choice of
		// organization, prompt or login hint.
		if rs := q.Get("reauth_state"); rs != "" && flow != nil {
			if v, err := decodeReauthState(rs); err == nil && validReauthParams(v) {
				w.redirectToKinde(x, flowState{ReturnTo: returnTo}, w.authOpts(withSupportsReauth(), withReauthState(rs))...)
				return
			}
		}
	case "login_required":
		// A silent sign-in (organization switch) needs the login screen.
		if flow != nil && flow.Silent {
			opts := w.authOpts(withSupportsReauth())
			if orgCode != "" {
				opts = append(opts, WithOrgCode(orgCode))
			}
			w.redirectToKinde(x, flowState{ReturnTo: returnTo, OrgCode: orgCode}, opts...)
			return
		}
	}
	msg := "Kinde did not complete the sign-in."
	switch code {
	case "access_denied":
		msg = "The sign-in was cancelled or access was denied."
	case "login_link_expired":
		msg = "The sign-in link has expired."
	}
	// Kinde's own words only for a sign-in this browser started: otherwise
	// anyone could put text on this site's error page with a crafted link.
	if d := q.Get("error_description"); d != "" && flow != nil {
		msg += " (" + truncate(d, 200) + ")"
	}
	w.log.InfoContext(x.Context(), "kinde: sign-in ended with an error", "error", truncate(code, 64))
	w.fail(x, http.StatusBadRequest, "Sign-in not completed", msg)
}

func (w *Web) exchangeFailed(x Exchange, err error) {
	w.log.WarnContext(x.Context(), "kinde: code exchange failed", "error", err)
	var te *TokenError
	var ve *VerifyError
	switch {
	case errors.As(err, &te) && (te.StatusCode == 0 || te.StatusCode >= 500 || te.StatusCode == 429 || te.Code == "invalid_response"):
		w.fail(x, http.StatusBadGateway, "Kinde is not answering", "Signing in could not be completed because Kinde did not answer correctly. Please try again in a moment.")
	case errors.As(err, &te):
		w.fail(x, http.StatusBadRequest, "Sign-in failed", "This sign-in response was already used, has expired or does not belong to this application. Please sign in again.")
	case errors.Is(err, ErrKeySetUnavailable) || (errors.Is(err, ErrTokenUnknownKey) && w.c.keys.failing.Load()):
		// Kinde's keys could not be fetched (at start, or to learn a
		// rotated key): an outage, not a bad token.
		w.fail(x, http.StatusBadGateway, "Kinde is not answering", "Signing in could not be completed because Kinde's signing keys could not be fetched. Please try again in a moment.")
	case errors.As(err, &ve):
		w.fail(x, http.StatusBadRequest, "Sign-in failed", "The tokens from Kinde could not be verified. Please sign in again.")
	case errors.Is(err, context.DeadlineExceeded) || isNetError(err):
		w.fail(x, http.StatusBadGateway, "Kinde is not answering", "Signing in could not be completed because Kinde could not be reached. Please try again in a moment.")
	default:
		w.fail(x, http.StatusBadRequest, "Sign-in failed", "Please sign in again.")
	}
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// switchOrg signs the current user into another of their organizations
// (org_code query parameter) without showing a login screen (prompt=none);
// when Kinde needs the user to sign in, the normal login screen follows.
func (w *Web) switchOrg(x Exchange) {
	if w.crossSite(x) {
		w.log.InfoContext(x.Context(), "kinde: refused an organization switch started by another site")
		w.fail(x, http.StatusForbidden, "Organization not switched", "This link came from another site, so your organization was not switched. Use this site's own menu to switch.")
		return
	}
	q, err := url.ParseQuery(x.RawQuery())
	org := q.Get("org_code")
	if err != nil || !codeParamRE.MatchString(org) {
		w.fail(x, http.StatusBadRequest, "Invalid organization", "The org_code parameter is missing or not valid.")
		return
	}
	returnTo := w.returnTo(x, q.Get("post_login_redirect_url"))
	w.redirectToKinde(x, flowState{ReturnTo: returnTo, OrgCode: org, Silent: true}, w.authOpts(WithOrgCode(org), WithPrompt("none"))...)
}

// logout ends the session: it revokes the refresh token (best effort),
// deletes the session and every session cookie, and sends the browser to
// Kinde's sign-out, which returns it to Config.PostLogoutRedirectURL.
func (w *Web) logout(x Exchange) {
	ctx := x.Context()
	if w.crossSite(x) {
		w.log.InfoContext(ctx, "kinde: refused a sign-out started by another site")
		w.fail(x, http.StatusForbidden, "Not signed out", "This sign-out link came from another site, so you are still signed in. Use this site's own sign-out button.")
		return
	}
	if rec, _, _, err := w.read(x); err == nil && rec.t.RefreshToken != "" {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		if err := w.c.RevokeToken(rctx, rec.t.RefreshToken, "refresh_token"); err != nil {
			w.log.InfoContext(ctx, "kinde: revoking the refresh token at sign-out failed", "error", err)
		}
		cancel()
	}
	w.destroy(x)
	x.Redirect(http.StatusFound, w.c.LogoutURL())
}

// crossSite reports a request another site made the browser send: a
// navigation or subresource with Sec-Fetch-Site: cross-site, or, from
// browsers that do not send it, an Origin or Referer of another origin.
// Requests without any of these headers (old browsers, curl) are allowed.
// The sign-out and organization-switch routes change state on a GET, so they
// refuse such requests (login CSRF's mirror image).
func (w *Web) crossSite(x Exchange) bool {
	if s := x.Header("Sec-Fetch-Site"); s != "" {
		return s == "cross-site"
	}
	ref := x.Header("Origin")
	if ref == "" || ref == "null" {
		ref = originOf(x.Header("Referer"))
	}
	if ref == "" {
		return false
	}
	return !strings.EqualFold(ref, w.origin) && !strings.EqualFold(ref, w.requestOrigin(x))
}

// requestOrigin returns the origin the browser used, from the Host header or,
// behind a trusted proxy, from X-Forwarded-Proto and X-Forwarded-Host.
func (w *Web) requestOrigin(x Exchange) string {
	host := x.Header("Host")
	scheme := "http"
	if x.IsTLS() {
		scheme = "https"
	}
	if w.fromTrustedProxy(x) {
		if p := strings.TrimSpace(strings.Split(x.Header("X-Forwarded-Proto"), ",")[0]); p == "https" || p == "http" {
			scheme = p
		}
		if h := strings.TrimSpace(strings.Split(x.Header("X-Forwarded-Host"), ",")[0]); h != "" {
			host = h
		}
	}
	if host == "" || strings.ContainsAny(host, "/\\@ ") {
		return ""
	}
	return scheme + "://" + host
}

func (w *Web) fromTrustedProxy(x Exchange) bool {
	if len(w.o.trustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(x.RemoteAddr())
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range w.o.trustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// secure decides the Secure attribute of cookies: on when the app's callback
// URL is https, or when this request arrived over https.
func (w *Web) secure(x Exchange) bool {
	if strings.HasPrefix(w.origin, "https://") || x.IsTLS() {
		return true
	}
	return w.fromTrustedProxy(x) && strings.HasPrefix(x.Header("X-Forwarded-Proto"), "https")
}
