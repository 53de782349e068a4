package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/internal/cookie"
	"github.com/gokinde/kinde/core/kindetest"
)

// Session lifetimes and session cookie attributes (docs/sessions.md,
// "Lifetimes and cookies"), and cookie tossing (security review, finding 8).
func init() {
	scenarios = append(scenarios,
		scenario{"session: idle timeout counts from the last request", testIdleTimeout},
		scenario{"session: maximum age ends an active session", testMaxAge},
		scenario{"session: browser-session cookie option", testBrowserSessionCookie},
		scenario{"session: ksp.persistent=false makes a browser-session cookie", testKSPNotPersistent},
		scenario{"session: __Host- cookie on https", testHostPrefix},
		scenario{"session: a cookie Domain drops the __Host- prefix", testCookieDomain},
		scenario{"attack: cookie tossing from a sibling subdomain", testCookieTossing},
	)
}

// kioskOrg is an organization whose sessions Kinde does not persist
// (sso_session_persistence_mode=non_persistent).
const kioskOrg = "org_kiosk0000001"

// setupSessions is setup with opts added to the web layer's options, and
// tokens that outlive the scenario's clock moves (access 24 h, refresh
// 60 days), so that only the session's own lifetimes end it.
func setupSessions(t *testing.T, start Start, opts ...kinde.WebOption) *fixture {
	t.Helper()
	f := setup(t, start, kinde.Paths{}, false, func(a *App) { a.Options = append(a.Options, opts...) })
	f.srv.SetTokenLifetimes(24*time.Hour, 24*time.Hour, 60*24*time.Hour)
	return f
}

// copyOf returns a new browser holding b's session cookies as they are now.
func (b *browser) copyOf() *browser { return b.f.withSession(b.sessionCookies()) }

func testIdleTimeout(t *testing.T, start Start) {
	const idle = time.Hour
	f := setupSessions(t, start, kinde.WithSessionOptions(kinde.SessionOptions{IdleTimeout: idle, MaxAge: 10 * idle}))
	bob := f.me(f.bob, OrgCode, []string{APIPermission}, "member")
	active := f.user(f.bob.ID, "")
	idleCopy := active.copyOf() // the same session, never used again

	f.srv.Advance(idle - time.Second)
	f.wantMe(active.get(PathMe, api), bob) // a request just before the timeout records activity
	f.srv.Advance(time.Second)
	f.wantMe(idleCopy.get(PathMe, api), Me{}) // idle for exactly the timeout: ended
	f.wantMe(active.get(PathMe, api), bob)    // active a second ago: still signed in

	// Activity within a tenth of the timeout is not recorded again, so the
	// session ends at most a tenth early, never late.
	f.srv.Advance(idle - time.Second)
	f.wantMe(active.get(PathMe, api), Me{})
}

func testMaxAge(t *testing.T, start Start) {
	const idle, maxAge = time.Hour, 2 * time.Hour
	f := setupSessions(t, start, kinde.WithSessionOptions(kinde.SessionOptions{IdleTimeout: idle, MaxAge: maxAge}))
	bob := f.me(f.bob, OrgCode, []string{APIPermission}, "member")
	b := f.user(f.bob.ID, "")
	for _, step := range []time.Duration{50 * time.Minute, 50 * time.Minute, 20*time.Minute - time.Second} {
		f.srv.Advance(step)
		f.wantMe(b.get(PathMe, api), bob)
	}
	f.srv.Advance(time.Second) // exactly the maximum age after sign-in
	f.wantMe(b.get(PathMe, api), Me{})
	f.wantRedirect(b.get(PathProtected, navigation), f.loginURL(PathProtected))
}

// sessionSetCookies returns the session cookies r sets (not deletions).
func (f *fixture) sessionSetCookies(r *response) []*http.Cookie {
	f.t.Helper()
	var out []*http.Cookie
	for _, c := range r.cookies(f.t) {
		if strings.Contains(c.Name, "kinde_session") && c.Value != "" && c.MaxAge >= 0 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		f.t.Fatalf("the answer (%d) sets no session cookie", r.status)
	}
	return out
}

// wantBrowserSession checks that cookies last only as long as the browser
// session (no Max-Age, no Expires), or, with persistent, that they have both.
func (f *fixture) wantBrowserSession(cookies []*http.Cookie, persistent bool) {
	f.t.Helper()
	for _, c := range cookies {
		if got := c.MaxAge > 0 && c.RawExpires != ""; got != persistent {
			f.t.Errorf("cookie %s: Max-Age %d, Expires %q; want persistent %v", c.Name, c.MaxAge, c.RawExpires, persistent)
		}
		if !persistent && (c.MaxAge != 0 || c.RawExpires != "") {
			f.t.Errorf("browser-session cookie %s has Max-Age %d, Expires %q", c.Name, c.MaxAge, c.RawExpires)
		}
	}
}

func testBrowserSessionCookie(t *testing.T, start Start) {
	f := setupSessions(t, start, kinde.WithSessionOptions(kinde.SessionOptions{BrowserSession: true, IdleTimeout: time.Hour}))
	b := f.browser()
	f.wantBrowserSession(f.sessionSetCookies(b.signIn(f.bob.ID, "")), false)
	f.wantMe(b.get(PathMe, api), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
	// Activity is recorded with the same attributes.
	f.srv.Advance(10 * time.Minute)
	f.wantBrowserSession(f.sessionSetCookies(b.get(PathMe, api)), false)
}

func testKSPNotPersistent(t *testing.T, start Start) {
	f := setupSessions(t, start)
	f.srv.AddOrganization(kindetest.Organization{Code: kioskOrg, Name: "Kiosk", NonPersistentSessions: true})
	if err := f.srv.AddMember(kioskOrg, f.bob.ID, "member"); err != nil {
		t.Fatal(err)
	}
	// Signed in to Acme, Kinde sends no ksp: the cookie persists.
	f.wantBrowserSession(f.sessionSetCookies(f.browser().signIn(f.bob.ID, "")), true)
	// Signed in to the kiosk organization, ksp.persistent is false.
	b := f.browser()
	f.wantBrowserSession(f.sessionSetCookies(b.signIn(f.bob.ID, "?org_code="+kioskOrg)), false)
	f.wantMe(b.get(PathMe, api), f.me(f.bob, kioskOrg, []string{APIPermission}, "member"))
	// After a refresh the session is still not persistent.
	f.srv.Advance(25 * time.Hour)
	r := b.get(PathMe, api)
	f.wantMe(r, f.me(f.bob, kioskOrg, []string{APIPermission}, "member"))
	f.wantBrowserSession(f.sessionSetCookies(r), false)
}

// setupTLS starts the application on https (a self-signed certificate the
// scenario's browsers trust) with opts added to its web layer's options.
func setupTLS(t *testing.T, start Start, opts ...kinde.WebOption) (*fixture, func() *browser) {
	t.Helper()
	claims := kindetest.TokenCustomization{Roles: true, Email: true}
	f := &fixture{t: t, srv: kindetest.Start(t, kindetest.WithSigningKey(signingKey()), kindetest.WithTokenCustomization(claims))}
	f.seed()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cert, roots := selfSigned(t)
	f.base = "https://" + ln.Addr().String()
	d := kinde.DefaultPaths()
	f.paths = kinde.Paths{Login: d.Login, Register: d.Register, CreateOrg: d.CreateOrg, Callback: d.Callback, Logout: d.Logout, SwitchOrg: d.SwitchOrg}
	f.cfg = Config(f.srv, f.base+f.paths.Callback)
	f.cfg.Audience = []string{Audience}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	start(t, f.app(tln, append([]kinde.WebOption{kinde.WithConfig(f.cfg)}, opts...), nil))
	return f, func() *browser {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
		t.Cleanup(tr.CloseIdleConnections)
		return &browser{f: f, c: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
}

// selfSigned returns a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "conformance"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func testHostPrefix(t *testing.T, start Start) {
	f, newBrowser := setupTLS(t, start)
	b := newBrowser()
	cookies := f.sessionSetCookies(b.signIn(f.bob.ID, ""))
	for _, c := range cookies {
		// RFC 6265bis "The __Host- Prefix": Secure, Path=/, no Domain.
		if !strings.HasPrefix(c.Name, "__Host-kinde_session") || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("session cookie %s (Secure %v, Path %q, Domain %q), want __Host-kinde_session…, Secure, Path=/ and no Domain",
				c.Name, c.Secure, c.Path, c.Domain)
		}
	}
	f.wantMe(b.get(PathMe, api), f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
}

func testCookieDomain(t *testing.T, start Start) {
	f, newBrowser := setupTLS(t, start, kinde.WithSessionOptions(kinde.SessionOptions{Domain: "example.test"}))
	r := newBrowser().signIn(f.bob.ID, "")
	for _, c := range f.sessionSetCookies(r) {
		if !strings.HasPrefix(c.Name, "kinde_session") || c.Domain != "example.test" {
			t.Errorf("session cookie %s with Domain %q, want kinde_session… with Domain example.test", c.Name, c.Domain)
		}
	}
}

// testCookieTossing plants, as a sibling subdomain could (Domain=the parent
// domain, so without the __Host- prefix), a genuine session of the
// attacker's before the victim's own in the Cookie header: the attacker's
// session is sealed for the unprefixed name, so the planted cookie is
// valid in every respect except where it comes from. It must not win, and
// must not sign a victim without a session into the attacker's account.
func testCookieTossing(t *testing.T, start Start) {
	f, newBrowser := setupTLS(t, start)
	victim := newBrowser()
	if r := victim.signIn(f.bob.ID, ""); r.status != http.StatusFound {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	attacker := newBrowser()
	if r := attacker.signIn(f.carol.ID, ""); r.status != http.StatusFound {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	planted := f.reseal(attacker.sessionCookies())
	header := func(cookies ...[]*http.Cookie) string {
		var parts []string
		for _, cs := range cookies {
			for _, c := range cs {
				parts = append(parts, c.Name+"="+c.Value)
			}
		}
		return strings.Join(parts, "; ")
	}
	bob := f.me(f.bob, OrgCode, []string{APIPermission}, "member")
	// A browser with no cookies of its own, so that the header is exactly ours.
	f.wantMe(newBrowser().get(PathMe, api, "Cookie", header(planted, victim.sessionCookies())), bob)
	f.wantMe(newBrowser().get(PathMe, api, "Cookie", header(planted)), Me{})
	f.wantMe(victim.get(PathMe, api), bob)
}

// reseal returns cookies as a sibling subdomain would plant them: the same
// session, named without the __Host- prefix and sealed for that name.
func (f *fixture) reseal(cookies []*http.Cookie) []*http.Cookie {
	f.t.Helper()
	codec, err := cookie.New(sessionSecret)
	if err != nil {
		f.t.Fatal(err)
	}
	get := func(name string) (string, bool) {
		for _, c := range cookies {
			if c.Name == name {
				return c.Value, true
			}
		}
		return "", false
	}
	var name string
	for _, c := range cookies {
		if !strings.Contains(c.Name, ".") {
			name = c.Name
		}
	}
	now := f.srv.Now()
	plain, err := codec.Decode(name, get, now)
	if err != nil {
		f.t.Fatalf("open the attacker's own session: %v", err)
	}
	out, err := codec.Encode(strings.TrimPrefix(name, "__Host-"), plain, cookie.Options{MaxAge: time.Hour}, now)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}
