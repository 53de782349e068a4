// Command api is the starter for an API service protected by Kinde: it
// signs nobody in, it checks the Kinde access token of every request.
//
//	GET  /api/todos    needs a user's permission read:todos
//	POST /api/reports  needs a machine's scope write:reports
//
// Its whole Kinde configuration is the domain and the API's audience
// (KINDE_DOMAIN and KINDE_AUDIENCE, read by kinde.ResourceServer): no client
// ID, secret, redirect URL or session secret. Without KINDE_DOMAIN it starts
// the SDK's emulator on a loopback port with the API registered, a user who
// has the permission and a machine-to-machine application that has the
// scope, and prints how to get a token for each.
//
//	go run ./examples/api     # PORT=3000 picks another port than 8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// What the routes require. With real Kinde, create the permission under
// Settings > Permissions and give it to a role; define the scope on your API
// (Settings > APIs > your API > Scopes) and grant it to the
// machine-to-machine application that calls it.
const (
	ReadTodos    = "read:todos"    // a user permission
	WriteReports = "write:reports" // a machine-to-machine scope
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	err := run(ctx, net.JoinHostPort("127.0.0.1", port), os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// run serves the API on addr until ctx ends, against Kinde when KINDE_DOMAIN
// is set and against the emulator otherwise. It writes how to call the API
// and the line "API starter listening on <URL>" to out once it accepts
// requests.
func run(ctx context.Context, addr string, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w (set PORT to use another port)", err)
	}
	defer ln.Close()
	apiURL := "http://" + ln.Addr().String()

	opts := []kinde.WebOption{kinde.ResourceServer()} // reads KINDE_DOMAIN and KINDE_AUDIENCE
	if os.Getenv("KINDE_DOMAIN") == "" {
		dev, err := startDevKinde(defaultAudience)
		if err != nil {
			return err
		}
		defer dev.Close()
		opts = append(opts, kinde.WithConfig(kinde.Config{Domain: dev.URL(), Audience: []string{dev.audience}}))
		dev.printHelp(out, apiURL)
	}
	web, err := kinde.NewWeb(opts...)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(web),
		ReadHeaderTimeout: 5 * time.Second,  // a client that never finishes its headers
		ReadTimeout:       10 * time.Second, // or its body
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second, // keep-alive connections left open
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "API starter listening on %s\n", apiURL)
	select {
	case err := <-served:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler routes the API. RequireBearer answers 401 to a request without
// a valid access token for the audience (expired, for another API, an ID or
// refresh token); the guard after it answers 403 insufficient_scope.
func newHandler(web *kinde.Web) http.Handler {
	api := &api{}
	mux := http.NewServeMux()
	mux.Handle("GET /api/todos", web.RequireBearer()(web.RequirePermission(ReadTodos)(http.HandlerFunc(api.listTodos))))
	mux.Handle("POST /api/reports", web.RequireBearer()(web.RequireScope(WriteReports)(http.HandlerFunc(api.createReport))))
	return mux
}

// api is the service's own logic; replace it with yours.
type api struct {
	mu      sync.Mutex
	reports int
}

// listTodos answers the caller's todos. The session is the access token's:
// the user, their organization and permissions.
func (a *api) listTodos(w http.ResponseWriter, r *http.Request) {
	sess := kinde.SessionFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"user":     sess.UserID(),
		"org_code": sess.Organization().Code,
		"todos":    []map[string]any{{"id": 1, "title": "Call the API with a user token", "done": true}},
	})
}

// createReport takes {"name": "…"} from a machine caller. A
// machine-to-machine token has no user: its azp claim names the calling
// application.
func (a *api) createReport(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": `send a JSON object such as {"name": "weekly"}`})
		return
	}
	a.mu.Lock()
	a.reports++
	id := a.reports
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"id":           id,
		"name":         in.Name,
		"requested_by": kinde.SessionFrom(r.Context()).AccessClaims().AuthorizedParty,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
