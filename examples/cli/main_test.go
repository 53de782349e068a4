package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// testCLI runs commands against the built-in emulator, with the
// configuration directory, the tokens and the emulator's state in a
// temporary home and no keychain tool on PATH, so the tokens go to a file.
type testCLI struct {
	approveDelay time.Duration
	home         string
}

func newTestCLI(t *testing.T) *testCLI {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("PATH", t.TempDir())
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("KINDE_DOMAIN", "")
	return &testCLI{home: home}
}

func (tc *testCLI) run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	c := &cli{
		stdout: &out, stderr: &errOut,
		approveDelay: tc.approveDelay,
		// The embedded emulator asks for a short polling interval in
		// tests, so that nothing waits seconds.
		pollInterval: 20 * time.Millisecond,
	}
	code = c.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	tc := newTestCLI(t)
	steps := []struct {
		args       []string
		approve    time.Duration
		wantCode   int
		wantOut    []string
		wantErrOut []string
	}{
		{args: []string{"whoami"}, wantCode: 1, wantErrOut: []string{"not signed in", "run: kinde-cli login"}},
		{args: []string{"call"}, wantCode: 1, wantErrOut: []string{"not signed in"}},
		{args: []string{"login", "-demo-approve"}, wantOut: []string{
			"/device\nand enter the code ", "?user_code=", "pick a demo user",
			"Signed in as Alice Admin <alice@example.com>. Tokens kept in the file ",
		}, wantErrOut: []string{"(demo) approved as alice@example.com"}},
		{args: []string{"whoami"}, wantOut: []string{"Alice Admin <alice@example.com>", "id:           kp_", "permissions:  create:todos", "organization: org_"}},
		{args: []string{"call"}, wantOut: []string{"200 OK", "the demo API accepted your access token"}},
		{args: []string{"call", "http://example.com/me"}, wantCode: 1, wantErrOut: []string{"plain http"}},
		{args: []string{"call", "a", "b"}, wantCode: 1, wantErrOut: []string{"call needs one URL"}},
		{args: []string{"logout"}, wantOut: []string{"Signed out; tokens removed from the file "}},
		{args: []string{"whoami"}, wantCode: 1, wantErrOut: []string{"not signed in"}},
		{args: []string{"logout"}, wantOut: []string{"Not signed in."}},
		// Approval after a delay, while the poller waits.
		{args: []string{"login", "-demo-approve"}, approve: 20 * time.Millisecond, wantOut: []string{"Signed in as Alice Admin"}},
		{args: []string{"whoami"}, wantOut: []string{"alice@example.com"}},
		{args: []string{"logout"}, wantOut: []string{"Signed out"}},
		{args: []string{"frobnicate"}, wantCode: 2, wantErrOut: []string{`unknown command "frobnicate"`, "usage:"}},
		{args: nil, wantCode: 2, wantErrOut: []string{"usage:"}},
		{args: []string{"login", "-no-such-flag"}, wantCode: 2, wantErrOut: []string{"-no-such-flag"}},
		{args: []string{"help"}, wantOut: []string{"commands:"}},
	}
	for _, st := range steps {
		tc.approveDelay = st.approve
		code, out, errOut := tc.run(st.args...)
		if code != st.wantCode {
			t.Errorf("kinde-cli %v: exit %d, want %d\nstdout: %s\nstderr: %s", st.args, code, st.wantCode, out, errOut)
		}
		for _, w := range st.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("kinde-cli %v: stdout lacks %q:\n%s", st.args, w, out)
			}
		}
		for _, w := range st.wantErrOut {
			if !strings.Contains(errOut, w) {
				t.Errorf("kinde-cli %v: stderr lacks %q:\n%s", st.args, w, errOut)
			}
		}
	}
	goleak.VerifyNone(t, ignore)
}

func TestTokenFileIsPrivate(t *testing.T) {
	tc := newTestCLI(t)
	if code, out, errOut := tc.run("login", "-demo-approve"); code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kinde-cli.json", "kinde-cli-demo.json"} {
		fi, err := os.Stat(filepath.Join(dir, "kinde", name))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, fi.Mode().Perm())
		}
	}
	// Without the emulator's state the tokens no longer verify: sign in again.
	if err := os.Remove(filepath.Join(dir, "kinde", "kinde-cli-demo.json")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := tc.run("whoami"); code != 1 || !strings.Contains(errOut, "sign in again") {
		t.Errorf("whoami against a new emulator: exit %d, stderr %s", code, errOut)
	}
}

func TestRealKindeNeedsNoDemoFlag(t *testing.T) {
	tc := newTestCLI(t)
	t.Setenv("KINDE_DOMAIN", "https://acme.kinde.com")
	t.Setenv("KINDE_CLIENT_ID", "device-app")
	if code, _, errOut := tc.run("login", "-demo-approve"); code != 1 || !strings.Contains(errOut, "only with the built-in emulator") {
		t.Errorf("login -demo-approve with KINDE_DOMAIN: exit %d, stderr %s", code, errOut)
	}
	if code, _, errOut := tc.run("call"); code != 1 || !strings.Contains(errOut, "call needs one URL") {
		t.Errorf("call without URL against real Kinde: exit %d, stderr %s", code, errOut)
	}
}
