// Command m2m is the machine-to-machine starter: it creates an organization
// and a user with Kinde's Management API, adds the user to the organization
// with a role, and lists the organization's users.
//
// With KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID and
// KINDE_MANAGEMENT_CLIENT_SECRET set it talks to your Kinde business (the
// machine-to-machine application must be authorized for the Kinde
// Management API with the create:organizations, create:users,
// create:organization_users and read:organization_users scopes). Without
// KINDE_DOMAIN it starts the kindetest emulator on loopback, with demo roles.
//
//	go run ./examples/m2m [-org "Acme Labs"] [-email ada@example.com] [-role admin]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/management"
	"github.com/gokinde/kinde/management/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "m2m:", err)
		os.Exit(1)
	}
}

// run parses args, connects to Kinde (or the emulator) and does the work.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("m2m", flag.ContinueOnError)
	fs.SetOutput(out)
	orgName := fs.String("org", "Acme Labs", "name of the organization to create")
	email := fs.String("email", "ada@example.com", "email of the user to create")
	role := fs.String("role", "admin", "key of the role to give the user in the organization")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg := management.Config{Domain: getenv(management.EnvDomain), ClientID: getenv(management.EnvClientID), ClientSecret: getenv(management.EnvClientSecret)}
	if cfg.Domain == "" {
		emu, err := startEmulator()
		if err != nil {
			return err
		}
		defer emu.Close()
		cfg = management.Config{Domain: emu.URL(), ClientID: kindetest.DefaultM2MClientID, ClientSecret: kindetest.DefaultM2MClientSecret}
		fmt.Fprintf(out, "Kinde: built-in emulator at %s (set KINDE_DOMAIN, KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET to use your Kinde business)\n", emu.URL())
	}
	c, err := management.New(ctx, cfg)
	if err != nil {
		return err
	}
	return provision(ctx, c, *orgName, *email, *role, out)
}

// provision is the starter's work: it creates an organization and a user,
// adds the user to the organization with a role, and lists its users.
func provision(ctx context.Context, c *management.Client, orgName, email, role string, out io.Writer) error {
	code, err := c.CreateOrganization(ctx, orgName)
	if err != nil {
		return fmt.Errorf("create organization: %w", err)
	}
	fmt.Fprintf(out, "created organization %q: %s\n", orgName, code)

	id, err := c.CreateUserWithEmail(ctx, email, "Ada", "Lovelace", management.WithOrganizationCode(code))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Fprintf(out, "created user %s: %s\n", email, id)

	if _, err := c.AddOrganizationUsers(ctx, code, []management.OrgUser{{ID: id, Roles: []string{role}}}); err != nil {
		var apiErr *management.APIError
		if errors.As(err, &apiErr) {
			return fmt.Errorf("add user to organization (HTTP %d): %w", apiErr.StatusCode, err)
		}
		return fmt.Errorf("add user to organization: %w", err)
	}
	fmt.Fprintf(out, "added %s to %s with role %s\n", email, code, role)

	fmt.Fprintf(out, "users of %s:\n", code)
	for u, err := range c.OrganizationUsers(ctx, code, api.GetOrganizationUsersParams{}) {
		if err != nil {
			return fmt.Errorf("list organization users: %w", err)
		}
		roles := []string{}
		if u.Roles != nil {
			roles = *u.Roles
		}
		fmt.Fprintf(out, "  %s  %s  roles %v\n", deref(u.ID), deref(u.Email), roles)
	}
	return nil
}

// startEmulator serves kindetest on a loopback port with the demo roles.
func startEmulator() (*emulator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	emu := kindetest.New(kindetest.WithIssuer("http://" + ln.Addr().String()))
	emu.SeedDemo()
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return &emulator{Server: emu, srv: srv}, nil
}

type emulator struct {
	*kindetest.Server
	srv *http.Server
}

// Close stops the HTTP server and the emulator.
func (e *emulator) Close() {
	_ = e.srv.Close()
	e.Server.Close()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
