package starter

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`^Test starter listening on (http://127\.0\.0\.1:\d+)$`)

func TestRunServesUntilCancelled(t *testing.T) {
	clearKindeEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var built *App
	go func() {
		done <- Run(ctx, "Test", "127.0.0.1:0", pw, func(app *App) (Server, error) {
			built = app
			return HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				app.Site.Home(nil).Send(w)
			})), nil
		})
		pw.Close()
	}()

	var appURL string
	var output strings.Builder
	sc := bufio.NewScanner(pr)
	for appURL == "" && sc.Scan() {
		output.WriteString(sc.Text() + "\n")
		if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
			appURL = m[1]
		}
	}
	if appURL == "" {
		t.Fatalf("no listening line; output:\n%s\nRun: %v", output.String(), <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.Contains(output.String(), "alice@example.com") {
		t.Errorf("Run did not say how to sign in:\n%s", output.String())
	}
	if built.URL != appURL || built.Name != "Test" || !built.Kinde.Emulated() || len(built.WebOptions()) == 0 {
		t.Errorf("app = %+v, URL %s", built, appURL)
	}

	resp, err := http.Get(appURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="sign-in"`) {
		t.Errorf("GET /: %d\n%s", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if _, err := http.Get(appURL + "/"); err == nil {
		t.Error("the app still answers after Run returned")
	}
}

func TestRunReturnsBuildErrors(t *testing.T) {
	clearKindeEnv(t)
	errBuild := errors.New("no routes today")
	err := Run(t.Context(), "Test", "127.0.0.1:0", io.Discard, func(*App) (Server, error) { return nil, errBuild })
	if !errors.Is(err, errBuild) {
		t.Errorf("Run = %v, want %v", err, errBuild)
	}
}

func TestRunPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(t.Context(), "Test", ln.Addr().String(), io.Discard, func(*App) (Server, error) {
		t.Error("build called although the port is taken")
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "set PORT") {
		t.Errorf("Run on a taken port = %v, want an error that suggests PORT", err)
	}
}

// TestHTTPServerTimeouts: the server of every net/http-based starter (Gin,
// Echo, net/http) closes connections whose headers or body never finish,
// and idle keep-alive connections (DECISIONS: Starters).
func TestHTTPServerTimeouts(t *testing.T) {
	srv, ok := HTTPServer(http.NotFoundHandler()).(*http.Server)
	if !ok {
		t.Fatalf("HTTPServer returned %T, want *http.Server", srv)
	}
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s is %v, want a bound", name, d)
		}
	}
}
