package interop

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// providerPackage is the OpenID provider the tests run: zitadel/oidc's
// example server, at the version the root go.mod's tool directive pins
// (go get -tool providerPackage@version to change it).
const providerPackage = "github.com/zitadel/oidc/v3/example/server"

// exampleProvider is what the example server offers: fixed demo clients and
// users (its storage package), a redirect URL from REDIRECT_URI.
var exampleProvider = provider{
	clientID:        "web",
	clientSecret:    "secret",
	redirectURL:     "http://localhost:3000/api/auth/kinde_callback",
	scopes:          []string{"openid", "profile", "email", "offline_access"},
	username:        "test-user2",
	password:        "verysecure",
	subject:         "id2",
	m2mClientID:     "sid1",
	m2mClientSecret: "verysecret",
}

// provider is the OpenID provider the tests run against.
type provider struct {
	issuer          string
	clientID        string
	clientSecret    string
	redirectURL     string
	scopes          []string
	username        string
	password        string
	subject         string
	m2mClientID     string
	m2mClientSecret string
}

// theProvider is set by TestMain before any test runs.
var theProvider provider

// testProvider returns the provider of this test binary.
func testProvider(t *testing.T) provider {
	t.Helper()
	if theProvider.issuer == "" {
		t.Fatal("no OpenID provider: TestMain did not start one")
	}
	return theProvider
}

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if os.Getenv("INTEROP_OIDC_ISSUER") != "" {
		p, err := providerFromEnv()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
			return 1
		}
		theProvider = p
		return m.Run()
	}
	op, err := startProvider()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the interop tests need their OpenID provider: %v\n", err)
		return 1
	}
	defer op.stop()
	theProvider = op.provider
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "the OpenID provider's log ended with:\n%s\n", op.logTail())
	}
	return code
}

// providerFromEnv reads a provider that runs elsewhere from INTEROP_OIDC_*
// variables; INTEROP_OIDC_ISSUER being set means all of them are.
func providerFromEnv() (provider, error) {
	var missing []string
	get := func(name string) string {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	p := provider{
		issuer:          get("INTEROP_OIDC_ISSUER"),
		clientID:        get("INTEROP_OIDC_CLIENT_ID"),
		clientSecret:    get("INTEROP_OIDC_CLIENT_SECRET"),
		redirectURL:     get("INTEROP_OIDC_REDIRECT_URL"),
		scopes:          strings.Fields(get("INTEROP_OIDC_SCOPES")),
		username:        get("INTEROP_OIDC_USERNAME"),
		password:        get("INTEROP_OIDC_PASSWORD"),
		subject:         get("INTEROP_OIDC_SUBJECT"),
		m2mClientID:     get("INTEROP_OIDC_M2M_CLIENT_ID"),
		m2mClientSecret: get("INTEROP_OIDC_M2M_CLIENT_SECRET"),
	}
	if len(missing) > 0 {
		return provider{}, fmt.Errorf("INTEROP_OIDC_ISSUER is set, so the tests use that provider, but these are not: %s; unset INTEROP_OIDC_ISSUER to let the tests start their own",
			strings.Join(missing, ", "))
	}
	return p, nil
}

// runningProvider is an example server started by startProvider.
type runningProvider struct {
	provider
	dir  string // holds the binary and the log
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// startProvider builds the example server into a temporary folder and starts
// it on a free port, with the demo users and the redirect URL of
// exampleProvider. It listens on every interface (the example server chooses
// that) under the issuer http://localhost:PORT/.
func startProvider() (*runningProvider, error) {
	dir, err := os.MkdirTemp("", "kinde-interop-op-")
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the go command is not on PATH: %w", err)
	}
	exe := filepath.Join(dir, "interop-oidc-op")
	build := exec.Command(goBin, "build", "-o", exe, providerPackage)
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("go build %s (a tool of the root go.mod; go get -tool %s@VERSION pins it): %v\n%s",
			providerPackage, providerPackage, err, out)
	}
	var lastErr error
	for range 3 { // the port may be taken between choosing and binding it
		op, err := runProvider(dir, exe)
		if err == nil {
			return op, nil
		}
		lastErr = err
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func runProvider(dir, exe string) (*runningProvider, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "provider.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close() // the process has its own descriptor
	cmd := exec.Command(exe)
	cmd.Env = append(withoutEnv(os.Environ(), "USERS_FILE"),
		"PORT="+strconv.Itoa(port),
		"REDIRECT_URI="+exampleProvider.redirectURL,
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	op := &runningProvider{provider: exampleProvider, dir: dir, cmd: cmd, done: make(chan struct{})}
	op.issuer = "http://localhost:" + strconv.Itoa(port) + "/"
	go func() {
		_ = cmd.Wait()
		close(op.done)
	}()
	if err := op.waitReady(30 * time.Second); err != nil {
		op.kill()
		return nil, fmt.Errorf("%v; its log:\n%s", err, op.logTail())
	}
	return op, nil
}

// waitReady waits until the provider serves its OpenID configuration.
func (op *runningProvider) waitReady(limit time.Duration) error {
	u := op.issuer + ".well-known/openid-configuration"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-op.done:
			return fmt.Errorf("the OpenID provider exited before it served %s", u)
		default:
		}
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the OpenID provider did not serve %s within %v: %w", u, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process and waits for it.
func (op *runningProvider) kill() {
	_ = op.cmd.Process.Kill()
	<-op.done
}

// stop ends the process and removes its folder.
func (op *runningProvider) stop() {
	op.kill()
	os.RemoveAll(op.dir)
}

// logTail returns the end of the provider's log.
func (op *runningProvider) logTail() string {
	data, err := os.ReadFile(filepath.Join(op.dir, "provider.log"))
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePort returns a TCP port that nothing listens on at the moment.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			kept = append(kept, kv)
		}
	}
	return kept
}
