package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gokinde/kinde/core/kindetest"
)

// defaultAudience is the API's audience in the emulator. With real Kinde,
// KINDE_AUDIENCE is the audience of your API under Settings > APIs.
const defaultAudience = "https://api.example.com"

// devKinde is the emulator the starter uses when KINDE_DOMAIN is not set.
type devKinde struct {
	*kindetest.Server
	srv      *http.Server
	audience string
	reader   kindetest.User   // has ReadTodos
	stranger kindetest.User   // has no permission
	machine  kindetest.Client // authorized for the API with WriteReports
}

// startDevKinde serves the emulator on a free loopback port with the API
// (audience) registered, Alice who has ReadTodos in Acme, Bob who has no
// permission, and a machine-to-machine application with WriteReports. Its
// dev token endpoint, which Kinde does not have, hands out user tokens.
func startDevKinde(audience string) (*devKinde, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the Kinde emulator: %w", err)
	}
	emu := kindetest.New(kindetest.WithIssuer("http://"+ln.Addr().String()), kindetest.WithDevTokens(true))
	d := &devKinde{Server: emu, audience: audience}
	emu.AddAPI(audience, WriteReports)
	emu.AddPermission(kindetest.Permission{Key: ReadTodos, Name: "Read todos"})
	emu.AddRole(kindetest.Role{Key: "reader", Name: "Reader", Permissions: []string{ReadTodos}})
	acme := emu.AddOrganization(kindetest.Organization{Name: "Acme", IsDefault: true})
	d.reader = emu.AddUser(kindetest.User{Email: "alice@example.com", GivenName: "Alice"})
	d.stranger = emu.AddUser(kindetest.User{Email: "bob@example.com", GivenName: "Bob"})
	d.machine = emu.AddClient(kindetest.Client{Name: "reports job", Type: "m2m"})
	for _, err := range []error{
		emu.AddMember(acme.Code, d.reader.ID, "reader"),
		emu.AddMember(acme.Code, d.stranger.ID),
		emu.AuthorizeM2M(d.machine.ID, audience, WriteReports),
	} {
		if err != nil {
			ln.Close()
			emu.Close()
			return nil, err
		}
	}
	d.srv = &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := d.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "Kinde emulator stopped:", err)
		}
	}()
	return d, nil
}

// printHelp says how to get a token of each kind and call the API at apiURL.
func (d *devKinde) printHelp(w io.Writer, apiURL string) {
	fmt.Fprintf(w, "Kinde: built-in emulator at %s (set KINDE_DOMAIN and KINDE_AUDIENCE to use your Kinde business)\n", d.URL())
	fmt.Fprintf(w, "  API audience: %s\n\n", d.audience)
	fmt.Fprintf(w, "  A user: %s has the permission %s (%s is the emulator's, Kinde has no such endpoint):\n", d.reader.Email, ReadTodos, kindetest.DevTokenPath)
	fmt.Fprintf(w, "    TOKEN=$(curl -s '%s')\n", d.DevTokenURL(d.reader.Email, d.audience, ""))
	fmt.Fprintf(w, "    curl -H \"Authorization: Bearer $TOKEN\" %s/api/todos\n\n", apiURL)
	fmt.Fprintf(w, "  A machine: the machine-to-machine application %q has the scope %s (client credentials, as with Kinde; needs jq):\n", d.machine.Name, WriteReports)
	fmt.Fprintf(w, "    MACHINE_TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s -d audience=%s %s/oauth2/token | jq -r .access_token)\n",
		d.machine.ID, d.machine.Secret, d.audience, d.URL())
	fmt.Fprintf(w, "    curl -H \"Authorization: Bearer $MACHINE_TOKEN\" -H \"Content-Type: application/json\" -d '{\"name\":\"weekly\"}' %s/api/reports\n\n", apiURL)
	fmt.Fprintf(w, "  Each token is refused on the other route (403), and %s's on both.\n", d.stranger.Email)
}

// Close stops the emulator.
func (d *devKinde) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx) // nothing useful to do when it fails at exit
	d.Server.Close()
}
