// Command kinde-emulator serves the kindetest Kinde emulator on a loopback
// address with demo data, for running the starter templates and examples
// without a Kinde account.
//
// Usage:
//
//	go run ./cmd/kinde-emulator [-addr 127.0.0.1:8787] [-redirect URL]... [-logout URL]...
//
// It prints the KINDE_* environment variables that point an app at it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gokinde/kinde/core/kindetest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kinde-emulator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kinde-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "loopback address to listen on")
	var redirects, logouts listFlag
	fs.Var(&redirects, "redirect", "allowed callback URL (repeatable; default http://localhost:8080/api/auth/kinde_callback)")
	fs.Var(&logouts, "logout", "allowed logout redirect URL (repeatable; default http://localhost:8080)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(redirects) == 0 {
		redirects = listFlag{"http://localhost:8080/api/auth/kinde_callback"}
	}
	if len(logouts) == 0 {
		logouts = listFlag{"http://localhost:8080"}
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("parse -addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %s is not a loopback address", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	issuer := "http://" + ln.Addr().String()
	emu := kindetest.New(kindetest.WithIssuer(issuer), kindetest.WithLogger(logger))
	defer emu.Close()
	demo := emu.SeedDemo()
	for _, r := range redirects {
		emu.AllowRedirectURI(kindetest.DefaultClientID, r)
	}
	for _, l := range logouts {
		emu.AllowLogoutURI(kindetest.DefaultClientID, l)
	}

	fmt.Fprintf(stdout, "Kinde emulator listening on %s\n\n", issuer)
	fmt.Fprintf(stdout, "KINDE_DOMAIN=%s\n", issuer)
	fmt.Fprintf(stdout, "KINDE_CLIENT_ID=%s\n", kindetest.DefaultClientID)
	fmt.Fprintf(stdout, "KINDE_CLIENT_SECRET=%s\n", kindetest.DefaultClientSecret)
	fmt.Fprintf(stdout, "KINDE_REDIRECT_URL=%s\n", redirects[0])
	fmt.Fprintf(stdout, "KINDE_POST_LOGOUT_REDIRECT_URL=%s\n", logouts[0])
	fmt.Fprintf(stdout, "KINDE_MANAGEMENT_CLIENT_ID=%s\n", kindetest.DefaultM2MClientID)
	fmt.Fprintf(stdout, "KINDE_MANAGEMENT_CLIENT_SECRET=%s\n\n", kindetest.DefaultM2MClientSecret)
	fmt.Fprintf(stdout, "Users: %s (admin of %s, member of %s), %s (member of %s)\n",
		demo.Alice.Email, demo.Acme.Code, demo.Globex.Code, demo.Bob.Email, demo.Acme.Code)

	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
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
