package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// demoClientID is the emulator's device application. It stays the same
// from run to run, as the ID tokens' audience must.
const demoClientID = "0000000000000000000000000dec11e0"

// demoKinde is the SDK's emulator serving on a loopback port, plus a small
// API that accepts its access tokens.
type demoKinde struct {
	emu  *kindetest.Server
	demo kindetest.Demo
	// transport carries the requests to the emulator; Close drops its
	// connections.
	transport *http.Transport
	client    *kinde.Client
	srv       *http.Server
	served    chan struct{}
}

// demoState is what the emulator keeps between runs, so that tokens issued
// by one command verify in the next: its address (the tokens' issuer) and
// its signing key.
type demoState struct {
	Addr string `json:"addr"`
	Key  string `json:"key"` // PKCS #8, PEM
}

// startDemo starts the emulator with the state of the previous run, if there
// is one, filled with the demo users and the device application.
func startDemo(ctx context.Context, pollInterval time.Duration) (*demoKinde, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("find the configuration directory for the emulator's state: %w", err)
	}
	path := filepath.Join(dir, "kinde", service+"-demo.json")
	st, key := loadDemoState(path)
	if key == nil {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("create the emulator's signing key: %w", err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", st.Addr)
	if err != nil || st.Addr == "" {
		// First run, or the old port is taken: tokens of earlier runs
		// will not verify any more, and whoami will ask to sign in.
		if ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start the Kinde emulator: %w", err)
		}
	}
	if st.Addr != ln.Addr().String() || st.Key == "" {
		if err := saveDemoState(path, ln.Addr().String(), key); err != nil {
			ln.Close()
			return nil, err
		}
	}
	emu := kindetest.New(kindetest.WithIssuer("http://"+ln.Addr().String()), kindetest.WithSigningKey(key),
		kindetest.WithDeviceInterval(pollInterval))
	d := &demoKinde{emu: emu, demo: emu.SeedDemo(), served: make(chan struct{}), transport: &http.Transport{}}
	emu.AddClient(kindetest.Client{ID: demoClientID, Name: "kinde-cli", Type: "device"})
	d.client, err = kinde.New(kinde.Config{Domain: emu.URL(), ClientID: demoClientID,
		HTTPClient: &http.Client{Transport: d.transport, Timeout: (10 * time.Second)}})
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo-api/me", d.serveMe)
	mux.Handle("/", emu.Handler())
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.served)
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "kinde-cli: the emulator stopped:", err)
		}
	}()
	return d, nil
}

// loadDemoState reads the state of the previous run; a missing or unusable
// file gives an empty state.
func loadDemoState(path string) (demoState, *rsa.PrivateKey) {
	b, err := os.ReadFile(path)
	if err != nil {
		return demoState{}, nil
	}
	var st demoState
	if json.Unmarshal(b, &st) != nil {
		return demoState{}, nil
	}
	block, _ := pem.Decode([]byte(st.Key))
	if block == nil {
		return demoState{Addr: st.Addr}, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return demoState{Addr: st.Addr}, nil
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return demoState{Addr: st.Addr}, nil
	}
	return st, key
}

func saveDemoState(path, addr string, key *rsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode the emulator's signing key: %w", err)
	}
	b, err := json.Marshal(demoState{Addr: addr, Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save the emulator's state: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("save the emulator's state: %w", err)
	}
	return nil
}

// Close stops the emulator.
func (d *demoKinde) Close() {
	d.srv.Close()
	<-d.served
	d.emu.Close()
	d.transport.CloseIdleConnections()
}

// apiURL is the demo API that call uses by default.
func (d *demoKinde) apiURL() string { return d.emu.URL() + "/demo-api/me" }

// serveMe is a tiny API: it verifies the bearer token and says who sent it.
func (d *demoKinde) serveMe(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="demo-api"`)
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "send an access token: Authorization: Bearer <token>"})
		return
	}
	claims, err := d.client.VerifyAccessToken(r.Context(), token)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="demo-api", error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{
		"message": "the demo API accepted your access token",
		"sub":     claims.Subject,
	})
}

// approveAfter approves the device sign-in as the demo admin after delay
// (at once when delay is zero). The returned function waits for that to
// be done or abandoned.
func (d *demoKinde) approveAfter(ctx context.Context, delay time.Duration, userCode string, w io.Writer) (wait func()) {
	if delay <= 0 {
		d.approve(userCode, w)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			d.approve(userCode, w)
		}
	}()
	return func() { cancel(); <-done }
}

func (d *demoKinde) approve(userCode string, w io.Writer) {
	if err := d.emu.ApproveDevice(userCode, d.demo.Alice.ID); err != nil {
		fmt.Fprintln(w, "kinde-cli: the demo approval failed:", err)
		return
	}
	fmt.Fprintf(w, "(demo) approved as %s\n", d.demo.Alice.Email)
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
