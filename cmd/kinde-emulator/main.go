// Command kinde-emulator serves the kindetest Kinde emulator on a loopback
// address with demo data, for running the starter templates and examples
// without a Kinde account.
//
// Usage:
//
//	go run ./cmd/kinde-emulator [-addr 127.0.0.1:8787] [-redirect URL]... [-logout URL]...
//		[-api AUDIENCE[=SCOPE,...]]... [-m2m NAME=AUDIENCE[=SCOPE,...]]... [-dev-tokens=false] [-v]
//
// It prints the KINDE_* environment variables that point an app at it. -api
// registers an API (an audience and its scopes) as Settings > APIs does in
// Kinde; -m2m adds a machine-to-machine application authorized for an API
// with the given scopes (all of the API's when none are given; repeat the
// flag with the same name to authorize it for more APIs) and prints its
// client ID and secret, which stay the same across restarts for the same
// name. GET /dev/token?user=EMAIL&audience=AUDIENCE answers a user's access
// token for trying an API with curl; that endpoint exists only in the
// emulator (-dev-tokens=false turns it off).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gokinde/kinde/core/kindetest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// apiSpec is one -api flag: an API and the scopes it defines.
type apiSpec struct {
	audience string
	scopes   []string
}

// m2mSpec is one -m2m flag: an application authorized for an API.
type m2mSpec struct {
	name string
	apiSpec
}

// apiFlag collects -api flags.
type apiFlag []apiSpec

func (l *apiFlag) String() string { return fmt.Sprint(len(*l), " APIs") }
func (l *apiFlag) Set(v string) error {
	a, err := parseAPI(v)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

// m2mFlag collects -m2m flags.
type m2mFlag []m2mSpec

func (l *m2mFlag) String() string { return fmt.Sprint(len(*l), " applications") }
func (l *m2mFlag) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("want NAME=AUDIENCE[=SCOPE,...], for example reporter=https://api.example.com=write:reports")
	}
	a, err := parseAPI(rest)
	if err != nil {
		return err
	}
	*l = append(*l, m2mSpec{name: name, apiSpec: a})
	return nil
}

// parseAPI reads AUDIENCE[=SCOPE,...]. The scopes follow the last '=', so an
// audience that contains '=' needs a scope list, even an empty one.
func parseAPI(v string) (apiSpec, error) {
	aud, list := v, ""
	if i := strings.LastIndexByte(v, '='); i >= 0 {
		aud, list = v[:i], v[i+1:]
	}
	aud = strings.TrimSpace(aud)
	switch {
	case aud == "":
		return apiSpec{}, fmt.Errorf("want AUDIENCE[=SCOPE,...], for example https://api.example.com=read:todos,write:todos")
	case strings.ContainsAny(aud, " \t,"):
		return apiSpec{}, fmt.Errorf("audience %q contains a space or a comma, which separate audiences in KINDE_AUDIENCE", aud)
	}
	a := apiSpec{audience: aud}
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, " \t") {
			return apiSpec{}, fmt.Errorf("scope %q contains a space, which separates scopes in tokens", s)
		}
		if !slices.Contains(a.scopes, s) {
			a.scopes = append(a.scopes, s)
		}
	}
	return a, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kinde-emulator:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	addr              string
	redirects, logout listFlag
	apis              apiFlag
	m2m               m2mFlag
	devTokens         bool
	verbose           bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("kinde-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8787", "loopback address to listen on")
	fs.Var(&o.redirects, "redirect", "allowed callback URL (repeatable; default http://localhost:8080/api/auth/kinde_callback)")
	fs.Var(&o.logout, "logout", "allowed logout redirect URL (repeatable; default http://localhost:8080)")
	fs.Var(&o.apis, "api", "register an API: AUDIENCE[=SCOPE,...] (repeatable), e.g. https://api.example.com=read:todos,write:todos")
	fs.Var(&o.m2m, "m2m", "add a machine-to-machine application authorized for an API: NAME=AUDIENCE[=SCOPE,...] (repeatable; no scopes: all of the API's)")
	fs.BoolVar(&o.devTokens, "dev-tokens", true, "serve GET "+kindetest.DevTokenPath+"?user=EMAIL&audience=AUDIENCE, a user access token without a sign-in (not a Kinde endpoint)")
	fs.BoolVar(&o.verbose, "v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag (see -h)", fs.Arg(0))
	}
	if len(o.redirects) == 0 {
		o.redirects = listFlag{"http://localhost:8080/api/auth/kinde_callback"}
	}
	if len(o.logout) == 0 {
		o.logout = listFlag{"http://localhost:8080"}
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return o, fmt.Errorf("parse -addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return o, fmt.Errorf("-addr %s is not a loopback address", o.addr)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	emu, err := setUp(o, "http://"+ln.Addr().String(), logger, stdout)
	if err != nil {
		ln.Close()
		return err
	}
	defer emu.Close()

	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// setUp builds the emulator for issuer from o and prints how to use it.
func setUp(o options, issuer string, logger *slog.Logger, out io.Writer) (*kindetest.Server, error) {
	emu := kindetest.New(kindetest.WithIssuer(issuer), kindetest.WithLogger(logger), kindetest.WithDevTokens(o.devTokens))
	demo := emu.SeedDemo()
	for _, r := range o.redirects {
		emu.AllowRedirectURI(kindetest.DefaultClientID, r)
	}
	for _, l := range o.logout {
		emu.AllowLogoutURI(kindetest.DefaultClientID, l)
	}
	var apis []string // in the order given, -api first
	for _, a := range o.apis {
		emu.AddAPI(a.audience, a.scopes...)
		if !slices.Contains(apis, a.audience) {
			apis = append(apis, a.audience)
		}
	}
	type app struct {
		client kindetest.Client
		grants []apiSpec
	}
	var apps []*app
	byName := map[string]*app{}
	for _, m := range o.m2m {
		a := byName[m.name]
		if a == nil {
			id, secret := m2mCredentials(m.name)
			a = &app{client: emu.AddClient(kindetest.Client{ID: id, Secret: secret, Name: m.name, Type: "m2m"})}
			byName[m.name] = a
			apps = append(apps, a)
		}
		emu.AddAPI(m.audience) // an API named only here is registered too
		if !slices.Contains(apis, m.audience) {
			apis = append(apis, m.audience)
		}
		if err := emu.AuthorizeM2M(a.client.ID, m.audience, m.scopes...); err != nil {
			emu.Close()
			return nil, fmt.Errorf("-m2m %s: %w", m.name, err)
		}
		a.grants = append(a.grants, m.apiSpec)
	}

	fmt.Fprintf(out, "Kinde emulator listening on %s\n\n", issuer)
	fmt.Fprintf(out, "KINDE_DOMAIN=%s\n", issuer)
	fmt.Fprintf(out, "KINDE_CLIENT_ID=%s\n", kindetest.DefaultClientID)
	fmt.Fprintf(out, "KINDE_CLIENT_SECRET=%s\n", kindetest.DefaultClientSecret)
	fmt.Fprintf(out, "KINDE_REDIRECT_URL=%s\n", o.redirects[0])
	fmt.Fprintf(out, "KINDE_POST_LOGOUT_REDIRECT_URL=%s\n", o.logout[0])
	fmt.Fprintf(out, "KINDE_MANAGEMENT_CLIENT_ID=%s\n", kindetest.DefaultM2MClientID)
	fmt.Fprintf(out, "KINDE_MANAGEMENT_CLIENT_SECRET=%s\n\n", kindetest.DefaultM2MClientSecret)
	fmt.Fprintf(out, "Users: %s (admin of %s, member of %s), %s (member of %s)\n",
		demo.Alice.Email, demo.Acme.Code, demo.Globex.Code, demo.Bob.Email, demo.Acme.Code)
	for _, aud := range apis {
		scopes := "none"
		if sc := emuScopes(o, aud); len(sc) > 0 {
			scopes = strings.Join(sc, " ")
		}
		fmt.Fprintf(out, "\nAPI %s, scopes: %s\n", aud, scopes)
		fmt.Fprintf(out, "  an API that checks its tokens: KINDE_DOMAIN=%s KINDE_AUDIENCE=%s\n", issuer, aud)
		if o.devTokens {
			fmt.Fprintf(out, "  a user access token (%s exists only in the emulator):\n", kindetest.DevTokenPath)
			fmt.Fprintf(out, "    curl -s '%s'\n", emu.DevTokenURL(demo.Alice.Email, aud, ""))
		}
	}
	for _, a := range apps {
		fmt.Fprintf(out, "\nMachine-to-machine application %q, authorized for", a.client.Name)
		for i, g := range a.grants {
			if i > 0 {
				fmt.Fprint(out, ";")
			}
			scopes := "all of the API's"
			if len(g.scopes) > 0 {
				scopes = strings.Join(g.scopes, " ")
			}
			fmt.Fprintf(out, " %s (scopes: %s)", g.audience, scopes)
		}
		fmt.Fprintf(out, "\n  KINDE_MANAGEMENT_CLIENT_ID=%s\n  KINDE_MANAGEMENT_CLIENT_SECRET=%s\n", a.client.ID, a.client.Secret)
		fmt.Fprintf(out, "  a token: curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s -d audience=%s %s/oauth2/token\n",
			a.client.ID, a.client.Secret, a.grants[0].audience, issuer)
	}
	return emu, nil
}

// emuScopes lists the scopes the flags define for aud (-api and -m2m).
func emuScopes(o options, aud string) []string {
	var out []string
	add := func(a apiSpec) {
		if a.audience != aud {
			return
		}
		for _, s := range a.scopes {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for _, a := range o.apis {
		add(a)
	}
	for _, m := range o.m2m {
		add(m.apiSpec)
	}
	return out
}

// m2mCredentials derives an application's client ID and secret from its
// name, so that they stay the same across restarts and scripts keep
// working. They are no secret: the emulator serves loopback only.
func m2mCredentials(name string) (id, secret string) {
	idSum := sha256.Sum256([]byte("kinde-emulator m2m client id\x00" + name))
	secretSum := sha256.Sum256([]byte("kinde-emulator m2m client secret\x00" + name))
	return hex.EncodeToString(idSum[:16]), "emulator-secret-" + hex.EncodeToString(secretSum[:12])
}
