package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// sessionSecret encrypts the sessions of the application under test.
const sessionSecret = "conformance-session-secret-0123456789abcdef"

// fixture is one scenario's world: an emulator with a small directory and
// the application under test, listening on a loopback port.
type fixture struct {
	t     *testing.T
	srv   *kindetest.Server
	base  string // the application's URL, without a trailing slash
	paths kinde.Paths
	cfg   kinde.Config

	alice kindetest.User // admin of Acme, member of Globex, flag on
	bob   kindetest.User // member of Acme
	carol kindetest.User // in Acme without a role

	// API-only scenarios (setupAPI): machine-to-machine applications
	// authorized for Audience, and what the application logs.
	reader kindetest.Client // scope APIPermission
	writer kindetest.Client // scopes APIPermission and Scope
	logs   *logBuffer
}

// setup starts the emulator and the application. paths are the routes of
// the web layer (kinde.Paths{} for the defaults); with fromEnv the
// application is configured from KINDE_* variables instead of options.
// mods change the App the application is asked for.
func setup(t *testing.T, start Start, paths kinde.Paths, fromEnv bool, mods ...func(*App)) *fixture {
	t.Helper()
	// The application under test turns on, in Kinde's token customization,
	// the roles its RequireRole guard reads and the access token's email its
	// bearer-only requests report; Kinde sends neither by default.
	claims := kindetest.TokenCustomization{Roles: true, Email: true}
	f := &fixture{t: t, srv: kindetest.Start(t, kindetest.WithSigningKey(signingKey()), kindetest.WithTokenCustomization(claims))}
	f.seed()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f.base = "http://" + ln.Addr().String()
	f.paths = paths
	if f.paths.Login == "" {
		f.paths = kinde.Paths{Login: kinde.DefaultPaths().Login, Register: kinde.DefaultPaths().Register,
			CreateOrg: kinde.DefaultPaths().CreateOrg, Callback: kinde.DefaultPaths().Callback,
			Logout: kinde.DefaultPaths().Logout, SwitchOrg: kinde.DefaultPaths().SwitchOrg, Portal: kinde.DefaultPaths().Portal}
	}
	f.cfg = Config(f.srv, f.base+f.paths.Callback)
	f.cfg.Audience = []string{Audience}
	if fromEnv {
		for k, v := range map[string]string{
			"KINDE_DOMAIN": f.cfg.Domain, "KINDE_CLIENT_ID": f.cfg.ClientID, "KINDE_CLIENT_SECRET": f.cfg.ClientSecret,
			"KINDE_REDIRECT_URL": f.cfg.RedirectURL, "KINDE_POST_LOGOUT_REDIRECT_URL": f.cfg.PostLogoutRedirectURL,
			"KINDE_SESSION_SECRET": sessionSecret, "KINDE_AUDIENCE": Audience,
		} {
			t.Setenv(k, v)
		}
		start(t, f.app(ln, nil, mods))
		return f
	}
	opts := []kinde.WebOption{kinde.WithConfig(f.cfg)}
	if paths.Login != "" {
		opts = append(opts, kinde.WithPaths(paths))
	}
	start(t, f.app(ln, opts, mods))
	return f
}

// app is the App a scenario asks for.
func (f *fixture) app(ln net.Listener, opts []kinde.WebOption, mods []func(*App)) App {
	a := App{Listener: ln, Options: opts}
	for _, m := range mods {
		m(&a)
	}
	return a
}

func (f *fixture) seed() {
	s := f.srv
	s.AddPermission(kindetest.Permission{Key: Permission, Name: "Read the admin area"})
	s.AddPermission(kindetest.Permission{Key: APIPermission, Name: "Read todos"})
	s.AddRole(kindetest.Role{Key: Role, Name: "Admin", Permissions: []string{Permission, APIPermission}})
	s.AddRole(kindetest.Role{Key: "member", Name: "Member", Permissions: []string{APIPermission}})
	s.AddOrganization(kindetest.Organization{Code: OrgCode, Name: "Acme"})
	s.AddOrganization(kindetest.Organization{Code: "org_globex000001", Name: "Globex"})
	f.alice = s.AddUser(kindetest.User{Email: "alice@acme.test", GivenName: "Alice"})
	f.bob = s.AddUser(kindetest.User{Email: "bob@example.test", GivenName: "Bob"})
	f.carol = s.AddUser(kindetest.User{Email: "carol@example.test", GivenName: "Carol"})
	for _, err := range []error{
		s.AddMember(OrgCode, f.alice.ID, Role),
		s.AddMember("org_globex000001", f.alice.ID, "member"),
		s.AddMember(OrgCode, f.bob.ID, "member"),
		s.AddMember(OrgCode, f.carol.ID),
		s.SetFlag(Flag, false),
		s.SetUserFlag(f.alice.ID, Flag, true),
	} {
		if err != nil {
			f.t.Fatalf("seed the emulator: %v", err)
		}
	}
}

// Config returns the configuration of an application whose sign-in
// callback is callbackURL (e.g. "http://127.0.0.1:8080/api/auth/kinde_callback")
// for the emulator srv, and registers its callback and home page with srv.
// It shares srv's clock and discards the SDK's logs. Tests and examples of
// front ends use it.
func Config(srv *kindetest.Server, callbackURL string) kinde.Config {
	u, err := url.Parse(callbackURL)
	if err != nil {
		panic(err)
	}
	home := u.Scheme + "://" + u.Host + "/"
	srv.AllowRedirectURI(srv.ClientID(), callbackURL)
	srv.AllowLogoutURI(srv.ClientID(), home)
	return kinde.Config{
		Domain:                srv.URL(),
		ClientID:              srv.ClientID(),
		ClientSecret:          srv.ClientSecret(),
		RedirectURL:           callbackURL,
		PostLogoutRedirectURL: home,
		SessionSecret:         sessionSecret,
		Now:                   srv.Now,
		Logger:                slog.New(slog.DiscardHandler),
	}
}

// realm is the WWW-Authenticate challenge of the web layer.
func (f *fixture) realm() string { return `Bearer realm="` + f.srv.Issuer() + `"` }

// kind says what sort of request a browser sends.
type kind int

const (
	navigation kind = iota // a page load: Accept text/html, Sec-Fetch-Mode navigate
	api                    // a fetch: Accept application/json
)

// browser is a user agent with its own cookie jar that does not follow
// redirects.
type browser struct {
	f *fixture
	c *http.Client
}

func (f *fixture) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	tr := &http.Transport{}
	f.t.Cleanup(tr.CloseIdleConnections)
	return &browser{f: f, c: &http.Client{
		Transport:     tr,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) location() string { return r.header.Get("Location") }

// get requests target (a path of the application or an absolute URL).
// Extra headers come in name, value pairs.
func (b *browser) get(target string, k kind, headers ...string) *response {
	b.f.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.f.base + target
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if k == navigation {
		req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.f.t.Fatalf("GET %s: read body: %v", target, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}
}

// signIn signs the browser in as userID through the login route, with
// query added to it, and returns the callback's answer.
func (b *browser) signIn(userID, query string) *response {
	b.f.t.Helper()
	return b.signInFrom(b.f.paths.Login+query, userID)
}

// signInFrom starts a sign-in at the login URL start and follows it through
// Kinde to the callback, whose answer it returns.
func (b *browser) signInFrom(start, userID string) *response {
	f := b.f
	f.t.Helper()
	f.srv.SignInAs(userID)
	r := b.get(start, navigation)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.srv.URL()+"/oauth2/auth?") {
		f.t.Fatalf("GET %s: got %d to %q, want 302 to Kinde", start, r.status, r.location())
	}
	r = b.get(r.location(), navigation)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location(), f.cfg.RedirectURL+"?") {
		f.t.Fatalf("Kinde answered %d to %q, want 302 to the callback: %s", r.status, r.location(), r.body)
	}
	return b.get(r.location(), navigation)
}

// user returns a browser signed in as userID (query is added to the login
// route, e.g. "?org_code=…").
func (f *fixture) user(userID, query string) *browser {
	f.t.Helper()
	b := f.browser()
	if r := b.signIn(userID, query); r.status != http.StatusFound {
		f.t.Fatalf("sign-in as %s: callback answered %d: %s", userID, r.status, r.body)
	}
	return b
}

// jsonError is the body of the web layer's JSON errors.
func jsonError(code, desc string) []byte {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return b
}

// wantError checks a JSON error answer to the byte, with its
// WWW-Authenticate challenge ("" for none).
func (f *fixture) wantError(r *response, status int, challenge, code, desc string) {
	f.t.Helper()
	if r.status != status {
		f.t.Errorf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		f.t.Errorf("Content-Type %q, want application/json; charset=utf-8", got)
	}
	if got := r.header.Get("WWW-Authenticate"); got != challenge {
		f.t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
	}
	if want := jsonError(code, desc); !bytes.Equal(bytes.TrimSpace(r.body), want) {
		f.t.Errorf("body\n%s\nwant\n%s", r.body, want)
	}
}

// wantMe checks a 200 answer whose body is want.
func (f *fixture) wantMe(r *response, want Me) {
	f.t.Helper()
	if r.status != http.StatusOK {
		f.t.Fatalf("status %d, want 200; Location %q; body %s", r.status, r.location(), r.body)
	}
	var got Me
	if err := json.Unmarshal(r.body, &got); err != nil {
		f.t.Fatalf("body %s: %v", r.body, err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		f.t.Errorf("me = %s, want %s", gb, wb)
	}
}

// wantRedirect checks a 302 to location.
func (f *fixture) wantRedirect(r *response, location string) {
	f.t.Helper()
	if r.status != http.StatusFound || r.location() != location {
		f.t.Errorf("got %d to %q, want 302 to %q; body %s", r.status, r.location(), location, r.body)
	}
}

// cookies parses the response's Set-Cookie headers.
func (r *response) cookies(t *testing.T) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

// loginURL is the login route with a post-login destination.
func (f *fixture) loginURL(dest string) string {
	return f.paths.Login + "?" + url.Values{"post_login_redirect_url": {dest}}.Encode()
}
