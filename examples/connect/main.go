// Command connect is a Connect (connectrpc.com/connect) service protected by
// Kinde access tokens with core's net/http guards: an API whose whole Kinde
// configuration is the domain and the API's audience.
//
//	go run ./examples/connect
//
// With KINDE_DOMAIN and KINDE_AUDIENCE set it accepts access tokens of your
// Kinde business for that audience. Without KINDE_DOMAIN it starts the SDK's
// emulator on loopback with the API registered and a machine-to-machine
// application allowed to call it, and prints how to get a token and call
// the service. See README.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// devAudience is the API's audience with the emulator.
const devAudience = "https://todos.example.com"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:"+cmp.Or(os.Getenv("PORT"), "8080"))
	if err == nil {
		err = run(ctx, ln, os.Getenv, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
}

// run serves the service on ln until ctx is done.
func run(ctx context.Context, ln net.Listener, getenv func(string) string, out io.Writer) error {
	defer ln.Close()
	cfg := kinde.Config{Domain: getenv("KINDE_DOMAIN"), Audience: []string{getenv("KINDE_AUDIENCE")}}
	if cfg.Audience[0] == "" {
		cfg.Audience = nil // NewWeb names KINDE_AUDIENCE
	}
	var emu *emulator
	if cfg.Domain == "" {
		var err error
		if emu, err = startEmulator(); err != nil {
			return err
		}
		defer emu.Close()
		cfg = kinde.Config{Domain: emu.URL(), Audience: []string{devAudience}}
	}
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(cfg))
	if err != nil {
		return err
	}

	srv := newServer(newHandler(web))
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "todo.v1.TodoService on %s (Kinde %s, audience %s)\n", base, cfg.Domain, cfg.Audience)
	if emu != nil {
		emu.printHelp(out, base)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newServer is the HTTP server: HTTP/1.1 for Connect's own protocol and
// curl, and HTTP/2 without TLS (h2c) for gRPC clients, with timeouts so
// that slow or idle connections are closed.
func newServer(h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv
}

// emulator is the SDK's Kinde emulator served on loopback, with the API and
// a machine-to-machine application that may call it.
type emulator struct {
	*kindetest.Server
	srv    *http.Server
	worker kindetest.Client
}

func startEmulator() (*emulator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the Kinde emulator: %w", err)
	}
	emu := &emulator{Server: kindetest.New(kindetest.WithIssuer("http://" + ln.Addr().String()))}
	emu.SeedDemo() // users alice@example.com and bob@example.com with todo permissions
	emu.AddAPI(devAudience, ReadTodos, CreateTodos)
	emu.worker = emu.AddClient(kindetest.Client{Type: "m2m", Name: "todo worker"})
	if err := emu.AuthorizeM2M(emu.worker.ID, devAudience, ReadTodos, CreateTodos); err != nil {
		ln.Close()
		return nil, err
	}
	emu.srv = &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = emu.srv.Serve(ln) }()
	return emu, nil
}

// Close stops the emulator.
func (e *emulator) Close() {
	_ = e.srv.Close()
	e.Server.Close()
}

// printHelp says how to get a machine-to-machine token from the emulator
// and call the service with it.
func (e *emulator) printHelp(w io.Writer, base string) {
	fmt.Fprintf(w, `Kinde: built-in emulator at %[1]s (set KINDE_DOMAIN and KINDE_AUDIENCE to use your Kinde business)
  machine-to-machine application: client ID %[2]s, client secret %[3]s
  scopes: %[4]s %[5]s for audience %[6]s

Get a token and call the service:
  TOKEN=$(curl -s %[1]s/oauth2/token -d grant_type=client_credentials \
    -d client_id=%[2]s -d client_secret=%[3]s -d audience=%[6]s | jq -r .access_token)
  curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '{"title":"Ship it"}' %[7]s%[8]s
  curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '{}' %[7]s%[9]s
`, e.URL(), e.worker.ID, e.worker.Secret, ReadTodos, CreateTodos, devAudience, base, AddTodoProcedure, ListTodosProcedure)
}
