package starter

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// Kinde is the Kinde a starter signs in with: your Kinde business, configured
// by the KINDE_* environment variables, or, when KINDE_DOMAIN is not set, the
// SDK's emulator started inside the app with demo users.
type Kinde struct {
	// Config is what kinde.NewWeb is given.
	Config kinde.Config

	emulator *kindetest.Server // nil with real Kinde
	server   Server
	demo     kindetest.Demo
}

// DemoAudience is the audience of the todo API in the emulator: the app asks
// for it at sign-in and /api/todos accepts only access tokens issued for it.
// With real Kinde, KINDE_AUDIENCE names your API (Settings > APIs).
const DemoAudience = "https://api.example.com"

// DemoUser is a user of the emulator's demo data, listed on the home page.
type DemoUser struct {
	Email, Name, Role, Can string
}

// DevKinde returns the Kinde for an app served at appURL (for example
// http://127.0.0.1:8080).
//
// With KINDE_DOMAIN set it reads the KINDE_* variables; KINDE_REDIRECT_URL
// defaults to appURL + /api/auth/kinde_callback and
// KINDE_POST_LOGOUT_REDIRECT_URL to appURL + /. Register both in Kinde.
//
// Without KINDE_DOMAIN it starts the emulator on a free loopback port, fills
// it with the demo data (Alice is an admin, Bob a member), registers the todo
// API (DemoAudience, unless KINDE_AUDIENCE names another), allows the app's
// callback and sign-out URLs, and configures the SDK for it. Its dev token
// endpoint, which Kinde does not have, hands out access tokens for the API
// (see TokenURL). Close stops it.
func DevKinde(appURL string) (*Kinde, error) {
	cfg := kinde.ConfigFromEnv()
	if cfg.RedirectURL == "" {
		cfg.RedirectURL = appURL + kinde.DefaultPaths().Callback
	}
	if cfg.PostLogoutRedirectURL == "" {
		cfg.PostLogoutRedirectURL = appURL + "/"
	}
	if cfg.Domain != "" {
		return &Kinde{Config: cfg}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the Kinde emulator: %w", err)
	}
	emu := kindetest.New(kindetest.WithIssuer("http://"+ln.Addr().String()), kindetest.WithDevTokens(true))
	k := &Kinde{emulator: emu, demo: emu.SeedDemo()}
	if len(cfg.Audience) == 0 {
		cfg.Audience = []string{DemoAudience}
	}
	for _, aud := range cfg.Audience {
		emu.AddAPI(aud)
	}
	emu.AllowRedirectURI(kindetest.DefaultClientID, cfg.RedirectURL)
	emu.AllowLogoutURI(kindetest.DefaultClientID, cfg.PostLogoutRedirectURL)
	cfg.Domain = emu.URL()
	cfg.ClientID = kindetest.DefaultClientID
	cfg.ClientSecret = kindetest.DefaultClientSecret
	if cfg.SessionSecret == "" {
		// The emulator forgets its users when the app stops, so sessions
		// need not outlive the process either.
		if cfg.SessionSecret, err = kinde.GenerateSecret(); err != nil {
			ln.Close()
			return nil, err
		}
	}
	k.Config = cfg
	// The emulator stands for Kinde: its pages post forms and redirect
	// to the app, so the app's security headers are not its own.
	k.server = &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := serve(k.server, ln); err != nil {
			fmt.Fprintln(os.Stderr, "Kinde emulator stopped:", err)
		}
	}()
	return k, nil
}

// Emulated reports whether the built-in emulator stands in for Kinde.
func (k *Kinde) Emulated() bool { return k.emulator != nil }

// DemoUsers lists the users to sign in as; nil with real Kinde.
func (k *Kinde) DemoUsers() []DemoUser {
	if !k.Emulated() {
		return nil
	}
	return []DemoUser{
		{Email: k.demo.Alice.Email, Name: k.demo.Alice.Name(), Role: "admin of " + k.demo.Acme.Name,
			Can: "every todo permission and the admin page"},
		{Email: k.demo.Bob.Email, Name: k.demo.Bob.Name(), Role: "member of " + k.demo.Acme.Name,
			Can: "read and create todos; the admin page is refused"},
	}
}

// Audience returns the API audience the app's access tokens are issued for
// and /api/todos accepts; "" when none is configured (then every access token
// of the Kinde domain passes).
func (k *Kinde) Audience() string {
	if len(k.Config.Audience) == 0 {
		return ""
	}
	return k.Config.Audience[0]
}

// TokenURL returns the URL of the emulator's dev token endpoint for the user
// with email, signed in to orgCode ("" for the default), and Audience: a GET
// answers an access token for the todo API. It exists only in the emulator:
// "" with real Kinde.
func (k *Kinde) TokenURL(email, orgCode string) string {
	if !k.Emulated() {
		return ""
	}
	return k.emulator.DevTokenURL(email, k.Audience(), orgCode)
}

// PrintHelp writes which Kinde is used and how to sign in.
func (k *Kinde) PrintHelp(w io.Writer, appURL string) {
	if !k.Emulated() {
		fmt.Fprintf(w, "Kinde: %s (client %s)\n", k.Config.Domain, k.Config.ClientID)
		fmt.Fprintf(w, "  allowed callback URL in Kinde: %s\n", k.Config.RedirectURL)
		fmt.Fprintf(w, "  allowed logout redirect URL:   %s\n", k.Config.PostLogoutRedirectURL)
		if u, err := url.Parse(k.Config.RedirectURL); err == nil && u.Scheme+"://"+u.Host != appURL {
			fmt.Fprintf(w, "  open the app at %s://%s (the callback's origin) so its cookies reach the callback\n", u.Scheme, u.Host)
		}
		if aud := k.Audience(); aud != "" {
			fmt.Fprintf(w, "  API audience: %s (/api/todos accepts access tokens issued for it)\n", aud)
		} else {
			fmt.Fprintf(w, "  /api/todos accepts every access token of %s: set KINDE_AUDIENCE to your API's audience (Settings > APIs in Kinde)\n", k.Config.Domain)
		}
		return
	}
	fmt.Fprintf(w, "Kinde: built-in emulator at %s (set KINDE_DOMAIN and the other KINDE_* variables to use your Kinde business)\n", k.Config.Domain)
	fmt.Fprintf(w, "  open %s and sign in as one of:\n", appURL)
	for _, u := range k.DemoUsers() {
		fmt.Fprintf(w, "    %-18s %s: %s\n", u.Email, u.Role, u.Can)
	}
	fmt.Fprintf(w, "  API audience: %s; an access token for it from the emulator (%s exists only there):\n", k.Audience(), kindetest.DevTokenPath)
	fmt.Fprintf(w, "    TOKEN=$(curl -s '%s')\n", k.TokenURL(k.demo.Alice.Email, ""))
	fmt.Fprintf(w, "    curl -H \"Authorization: Bearer $TOKEN\" %s/api/todos\n", appURL)
}

// Close stops the emulator, if one runs.
func (k *Kinde) Close() {
	if k.server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = k.server.Shutdown(ctx) // nothing useful to do when it fails at exit
	k.emulator.Close()
}
