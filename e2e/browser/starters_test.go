package browser

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// starter is one app of examples/ and what its pages say it is built with.
type starter struct {
	dir, framework string
}

var starters = []starter{
	{"nethttp", "net/http"},
	{"gin", "Gin"},
	{"echo", "Echo"},
	{"echov5", "Echo v5"},
	{"fiber", "Fiber"},
	{"fiberv3", "Fiber v3"},
}

// TestStarters runs every starter and checks it end to end: the todo API
// with access tokens, then the browser journeys of an admin and a member.
func TestStarters(t *testing.T) {
	chromium := findChromium(t)
	root := repoRoot(t)
	bin := t.TempDir()
	for _, s := range starters {
		t.Run(s.dir, func(t *testing.T) {
			app := startStarter(t, root, bin, s)
			todo := checkTodoAPI(t, app)
			b := newBrowser(t, chromium)
			checkAdminJourney(t, b, app, todo)
			checkMemberJourney(t, b, app)
		})
	}
}

// runningApp is a started starter.
type runningApp struct {
	starter
	url      string // http://127.0.0.1:PORT
	emulator string // the emulator's issuer URL
	audience string // the todo API's audience, which its tokens need
}

// repoRoot returns the repository root (the folder with go.work).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("no go.work in %s: run the tests from e2e/browser of the repository: %v", root, err)
	}
	return root
}

var (
	listeningRE = regexp.MustCompile(`starter listening on (http://127\.0\.0\.1:\d+)`)
	emulatorRE  = regexp.MustCompile(`built-in emulator at (http://127\.0\.0\.1:\d+)`)
	audienceRE  = regexp.MustCompile(`API audience: ([^;\s]+)`)
)

// startStarter builds examples/<dir> into bin, as `go run ./examples/<dir>`
// would, and runs it with PORT=0 and no KINDE_* variables, so it starts its
// emulator. The app is interrupted at cleanup and must exit cleanly.
func startStarter(t *testing.T, root, bin string, s starter) *runningApp {
	t.Helper()
	exe := filepath.Join(bin, s.dir)
	build := exec.Command("go", "build", "-o", exe, "./examples/"+s.dir)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", s.dir, err, out)
	}

	cmd := exec.Command(exe)
	cmd.Dir = root
	cmd.Env = append(environWithoutKinde(), "PORT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	var output lockedBuffer
	ready := make(chan *runningApp, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		readOutput(stdout, &output, s, ready)
	}()
	exited := make(chan error, 1)
	go func() {
		<-copied
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // fails only when it has exited already
		if err := <-exited; err != nil {
			t.Errorf("%s did not exit cleanly on interrupt: %v\nstdout:\n%s\nstderr:\n%s", s.dir, err, output.String(), stderr.String())
		}
	})

	select {
	case app := <-ready:
		t.Logf("%s starter at %s, emulator at %s", s.dir, app.url, app.emulator)
		return app
	case err := <-exited:
		exited <- err // for the cleanup
		t.Fatalf("%s exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", s.dir, err, output.String(), stderr.String())
	case <-time.After(time.Minute):
		t.Fatalf("%s printed no 'listening on' line within a minute\nstdout:\n%s\nstderr:\n%s", s.dir, output.String(), stderr.String())
	}
	return nil
}

// readOutput copies the app's stdout into out and sends the app to ready
// once it has printed both the emulator's URL and its own.
func readOutput(r io.Reader, out *lockedBuffer, s starter, ready chan<- *runningApp) {
	app := &runningApp{starter: s}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if m := emulatorRE.FindStringSubmatch(line); m != nil {
			app.emulator = m[1]
		}
		if m := audienceRE.FindStringSubmatch(line); m != nil {
			app.audience = m[1]
		}
		if m := listeningRE.FindStringSubmatch(line); m != nil && app.emulator != "" {
			app.url = m[1]
			ready <- app
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// environWithoutKinde is the environment minus KINDE_* variables, which
// would make a starter use a real Kinde business.
func environWithoutKinde() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KINDE_") && !strings.HasPrefix(kv, "PORT=") {
			env = append(env, kv)
		}
	}
	return env
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
