// Command kinde-cli shows how a command-line tool signs users in to Kinde
// with the device authorization flow, keeps their tokens in the system
// keychain (or a private file) and calls an API with them.
//
//	kinde-cli login [-demo-approve]   sign in: prints a code and the page to enter it
//	kinde-cli whoami                  print the signed-in user
//	kinde-cli call [URL]              GET URL with the user's access token
//	kinde-cli logout                  revoke the refresh token and forget the tokens
//
// With KINDE_DOMAIN and KINDE_CLIENT_ID (of a Kinde application of type
// "device") set, it talks to your Kinde business. Without KINDE_DOMAIN it
// starts the SDK's emulator on a loopback port, with demo users, and keeps
// the emulator's address and signing key next to the tokens so that the
// commands work one after another. Nobody approves a sign-in in a headless
// run: open the printed page and pick a demo user, or pass -demo-approve to
// approve as the demo admin, Alice, after a second.
//
// The program opens no browser: it prints what to open.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/tokenstore"
	"golang.org/x/oauth2"
)

// service names the tool in the keychain and the token file name.
const service = "kinde-cli"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, approveDelay: time.Second}
	os.Exit(c.run(ctx, os.Args[1:]))
}

// cli holds what the commands need from the outside world, so that tests
// can replace it.
type cli struct {
	stdout, stderr io.Writer
	// approveDelay is how long -demo-approve waits before approving.
	approveDelay time.Duration
	// pollInterval, when set, replaces the wait between device polls that
	// Kinde asked for (tests use a short one).
	pollInterval time.Duration
}

const usage = `usage: kinde-cli <command>

commands:
  login [-demo-approve]  sign in with a code shown here and approved in a browser
  whoami                 print the signed-in user
  call [URL]             GET URL with the access token (default with the emulator: its demo API)
  logout                 sign out: revoke the refresh token and delete the stored tokens

Set KINDE_DOMAIN and KINDE_CLIENT_ID (a Kinde application of type "device") to use
your Kinde business; without KINDE_DOMAIN a built-in emulator with demo users is used.
`

// run runs one command and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("kinde-cli "+cmd, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	approve := false
	if cmd == "login" {
		fs.BoolVar(&approve, "demo-approve", false, "with the built-in emulator: approve the sign-in as the demo admin after a second")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	switch cmd {
	case "login", "whoami", "call", "logout":
		err = c.withKinde(ctx, func(k *kindeEnv) error {
			switch cmd {
			case "login":
				return c.login(ctx, k, approve)
			case "whoami":
				return c.whoami(ctx, k)
			case "call":
				return c.call(ctx, k, fs.Args())
			default:
				return c.logout(ctx, k)
			}
		})
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, usage)
		return 0
	default:
		fmt.Fprintf(c.stderr, "kinde-cli: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(c.stderr, "kinde-cli:", err)
		if errors.Is(err, tokenstore.ErrNotSignedIn) {
			fmt.Fprintln(c.stderr, "run: kinde-cli login")
		}
		return 1
	}
	return 0
}

// kindeEnv is the Kinde the commands talk to, and the token store.
type kindeEnv struct {
	client *kinde.Client
	store  tokenstore.Store
	demo   *demoKinde // nil with real Kinde
}

// withKinde sets up the client and the store, runs f, and stops the
// emulator, if one was started.
func (c *cli) withKinde(ctx context.Context, f func(*kindeEnv) error) error {
	store, err := tokenstore.Default(service)
	if err != nil {
		return err
	}
	k := &kindeEnv{store: store}
	if cfg := kinde.ConfigFromEnv(); cfg.Domain != "" {
		k.client, err = kinde.New(cfg)
		if err != nil {
			return err
		}
		return f(k)
	}
	k.demo, err = startDemo(ctx, c.pollInterval)
	if err != nil {
		return err
	}
	defer k.demo.Close()
	k.client = k.demo.client
	return f(k)
}

func (c *cli) login(ctx context.Context, k *kindeEnv, approve bool) error {
	if approve && k.demo == nil {
		return errors.New("-demo-approve works only with the built-in emulator (KINDE_DOMAIN unset)")
	}
	da, err := k.client.StartDeviceAuth(ctx)
	if err != nil {
		return fmt.Errorf("start the sign-in: %w", err)
	}
	if c.pollInterval > 0 {
		da.Interval = c.pollInterval
	}
	fmt.Fprintf(c.stdout, "To sign in, open %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(c.stdout, "(or open %s)\n", da.VerificationURIComplete)
	}
	if k.demo != nil {
		fmt.Fprintf(c.stdout, "This is the built-in emulator: on that page, pick a demo user (%s is the admin).\n", k.demo.demo.Alice.Email)
		if approve {
			stop := k.demo.approveAfter(ctx, c.approveDelay, da.UserCode, c.stderr)
			defer stop()
		}
	}
	if !da.ExpiresAt.IsZero() {
		fmt.Fprintf(c.stdout, "Waiting for approval (the code expires at %s)...\n", da.ExpiresAt.Format(time.Kitchen))
	}
	tokens, err := k.client.PollDeviceToken(ctx, da)
	if err != nil {
		return fmt.Errorf("sign-in: %w", err)
	}
	if err := k.store.Save(ctx, tokens); err != nil {
		return err
	}
	sess, err := k.client.Session(ctx, tokens)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Signed in as %s. Tokens kept in the %s.\n", describe(sess.User()), k.store.Backend())
	return nil
}

func (c *cli) whoami(ctx context.Context, k *kindeEnv) error {
	tokens, err := tokenstore.Tokens(ctx, k.client, k.store)
	if err != nil {
		return err
	}
	sess, err := k.client.Session(ctx, tokens)
	if err != nil {
		return fmt.Errorf("read the stored tokens (sign in again if this persists): %w", err)
	}
	u := sess.User()
	fmt.Fprintf(c.stdout, "%s\n  id:           %s\n", describe(u), u.ID)
	if org := sess.Organization(); org.Code != "" {
		fmt.Fprintf(c.stdout, "  organization: %s\n", org.Code)
	}
	if p := sess.Permissions(); len(p.Keys) > 0 {
		fmt.Fprintf(c.stdout, "  permissions:  %s\n", strings.Join(p.Keys, " "))
	}
	fmt.Fprintf(c.stdout, "  token expires %s; stored in the %s\n", tokens.ExpiresAt.Format(time.RFC3339), k.store.Backend())
	return nil
}

// maxReplyBytes bounds what call prints.
const maxReplyBytes = 1 << 20

func (c *cli) call(ctx context.Context, k *kindeEnv, args []string) error {
	var target string
	switch {
	case len(args) == 1:
		target = args[0]
	case len(args) == 0 && k.demo != nil:
		target = k.demo.apiURL()
	default:
		return errors.New("call needs one URL, for example: kinde-cli call https://api.example.com/me")
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", target)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("refusing to send the access token over plain http to %s: use https", u.Host)
	}
	// The first token is fetched here so that "not signed in" is reported
	// as such rather than as a failed request.
	ts := tokenstore.TokenSource(ctx, k.client, k.store)
	if _, err := ts.Token(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	// oauth2.NewClient sends through the HTTP client found in ctx.
	hc := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, k.client.Config().HTTPClient), ts)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return fmt.Errorf("read the reply of %s: %w", target, err)
	}
	fmt.Fprintf(c.stdout, "%s\n%s\n", resp.Status, strings.TrimRight(string(body), "\n"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return nil
}

func (c *cli) logout(ctx context.Context, k *kindeEnv) error {
	tokens, err := k.store.Load(ctx)
	switch {
	case errors.Is(err, tokenstore.ErrNotSignedIn):
		fmt.Fprintln(c.stdout, "Not signed in.")
		return nil
	case err != nil && !errors.Is(err, tokenstore.ErrCorrupt):
		return err
	case err == nil && tokens.RefreshToken != "":
		if err := k.client.RevokeToken(ctx, tokens.RefreshToken, "refresh_token"); err != nil {
			fmt.Fprintln(c.stderr, "kinde-cli: warning: Kinde did not revoke the refresh token:", err)
		}
	}
	if err := k.store.Delete(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Signed out; tokens removed from the %s.\n", k.store.Backend())
	return nil
}

func describe(u kinde.User) string {
	name := u.Name
	if name == "" {
		name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	switch {
	case name != "" && u.Email != "":
		return name + " <" + u.Email + ">"
	case u.Email != "":
		return u.Email
	case name != "":
		return name
	}
	return u.ID
}
