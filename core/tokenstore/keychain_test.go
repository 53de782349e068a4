//go:build unix

package tokenstore

// These tests run the keychain backends against stand-in scripts for
// secret-tool and security, placed first on PATH: real programs started the
// way the real tools are, keeping entries as files. The real keychains are
// exercised only on machines that have one.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

const fakeSecretTool = `#!/bin/sh
# Stand-in for libsecret's secret-tool: entries are files in $FAKE_KEYRING.
PATH=/usr/bin:/bin
echo "secret-tool $*" >> "$FAKE_KEYRING.log"
if [ -n "${FAKE_FAIL:-}" ]; then echo "$FAKE_FAIL" >&2; exit 3; fi
cmd=$1; shift
if [ "$cmd" = store ]; then
	case $1 in --label=*) shift ;; *) echo "store needs --label" >&2; exit 2 ;; esac
fi
if [ "$1" != service ] || [ "$3" != account ] || [ $# -ne 4 ]; then
	echo "unexpected attributes: $*" >&2; exit 2
fi
f="$FAKE_KEYRING/$2__$4"
case $cmd in
store) cat > "$f" ;;
lookup) [ -f "$f" ] || exit 1; cat "$f" ;;
clear) rm -f "$f" ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
`

const fakeSecurity = `#!/bin/sh
# Stand-in for macOS's security tool: entries are files in $FAKE_KEYRING.
PATH=/usr/bin:/bin
set -f
echo "security $*" >> "$FAKE_KEYRING.log"
if [ -n "${FAKE_FAIL:-}" ]; then echo "$FAKE_FAIL" >&2; exit 3; fi
if [ "$1" = -i ]; then
	read -r line
	set -- $line
fi
cmd=$1; shift
svc=; acct=; val=
while [ $# -gt 0 ]; do
	case $1 in
	-s) svc=$2; shift 2 ;;
	-a) acct=$2; shift 2 ;;
	-l) shift 2 ;;
	-U) shift ;;
	-w) if [ $# -ge 2 ]; then val=$2; shift 2; else shift; fi ;;
	*) echo "security: unknown option $1" >&2; exit 2 ;;
	esac
done
f="$FAKE_KEYRING/${svc}__${acct}"
missing() { echo "security: The specified item could not be found in the keychain." >&2; exit 44; }
case $cmd in
add-generic-password) printf '%s' "$val" > "$f" ;;
find-generic-password) [ -f "$f" ] || missing; cat "$f"; echo ;;
delete-generic-password) [ -f "$f" ] || missing; rm -f "$f" ;;
*) echo "security: unknown command $cmd" >&2; exit 2 ;;
esac
`

// fakeKeyring installs both stand-in tools in a directory that becomes the
// whole PATH, and returns the directory that holds the entries.
func fakeKeyring(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	for name, script := range map[string]string{"secret-tool": fakeSecretTool, "security": fakeSecurity} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ring := filepath.Join(t.TempDir(), "ring")
	if err := os.Mkdir(ring, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("FAKE_KEYRING", ring)
	t.Setenv("FAKE_FAIL", "")
	return ring
}

func entries(t *testing.T, ring string) []string {
	t.Helper()
	des, err := os.ReadDir(ring)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func withBus(k string) string {
	if k == "DBUS_SESSION_BUS_ADDRESS" {
		return "unix:path=/run/user/1000/bus"
	}
	return ""
}

var backends = []struct {
	goos    string
	backend string
}{
	{"linux", "keychain (secret-tool), service kinde-test"},
	{"darwin", "macOS keychain (security), service kinde-test"},
}

func tokensOfSize(n int) *kinde.Tokens {
	return &kinde.Tokens{AccessToken: strings.Repeat("A", n), IDToken: "id", RefreshToken: "secret-refresh",
		ExpiresAt: time.Unix(1_900_000_000, 0), TokenType: "bearer"}
}

func TestKeychainRoundTrip(t *testing.T) {
	for _, b := range backends {
		t.Run(b.goos, func(t *testing.T) {
			ring := fakeKeyring(t)
			ctx := context.Background()
			k, err := newKeychain("kinde-test", b.goos, withBus)
			if err != nil {
				t.Fatal(err)
			}
			if k.Backend() != b.backend {
				t.Errorf("Backend() = %q, want %q", k.Backend(), b.backend)
			}
			if _, err := k.Load(ctx); !errors.Is(err, ErrNotSignedIn) {
				t.Fatalf("Load of nothing = %v, want ErrNotSignedIn", err)
			}
			// 5000 bytes of JSON take 7 chunks of base64; 10 bytes take one.
			for _, tc := range []struct {
				size    int
				entries int
			}{{5000, 8}, {10, 2}, {3000, 6}} {
				want := tokensOfSize(tc.size)
				if err := k.Save(ctx, want); err != nil {
					t.Fatal(err)
				}
				got, err := k.Load(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken || !got.ExpiresAt.Equal(want.ExpiresAt) {
					t.Errorf("size %d: tokens differ after the round trip", tc.size)
				}
				if n := len(entries(t, ring)); n != tc.entries {
					t.Errorf("size %d: %d keychain entries %v, want %d", tc.size, n, entries(t, ring), tc.entries)
				}
			}
			log, err := os.ReadFile(ring + ".log")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(log), "secret-refresh") || strings.Contains(string(log), "AAAA") {
				t.Error("a secret appeared on the tool's command line")
			}
			if err := k.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			if n := entries(t, ring); len(n) != 0 {
				t.Errorf("entries left after Delete: %v", n)
			}
			if err := k.Delete(ctx); err != nil {
				t.Errorf("second Delete: %v", err)
			}
			if _, err := k.Load(ctx); !errors.Is(err, ErrNotSignedIn) {
				t.Errorf("Load after Delete = %v, want ErrNotSignedIn", err)
			}
		})
	}
}

func TestKeychainCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(ring string) error
	}{
		{"chunk changed", func(ring string) error {
			return os.WriteFile(filepath.Join(ring, "kinde-test__tokens.1"), []byte("QUFB"), 0o600)
		}},
		{"chunk missing", func(ring string) error { return os.Remove(filepath.Join(ring, "kinde-test__tokens.2")) }},
		{"unknown header", func(ring string) error {
			return os.WriteFile(filepath.Join(ring, "kinde-test__tokens"), []byte("v2:1:00"), 0o600)
		}},
		{"too many chunks", func(ring string) error {
			return os.WriteFile(filepath.Join(ring, "kinde-test__tokens"), []byte("v1:65:"+strings.Repeat("0", 64)), 0o600)
		}},
		{"bad checksum", func(ring string) error {
			return os.WriteFile(filepath.Join(ring, "kinde-test__tokens"), []byte("v1:3:xyz"), 0o600)
		}},
	}
	for _, b := range backends {
		for _, tt := range tests {
			t.Run(b.goos+"/"+tt.name, func(t *testing.T) {
				ring := fakeKeyring(t)
				ctx := context.Background()
				k, err := newKeychain("kinde-test", b.goos, withBus)
				if err != nil {
					t.Fatal(err)
				}
				if err := k.Save(ctx, tokensOfSize(3000)); err != nil {
					t.Fatal(err)
				}
				if err := tt.tamper(ring); err != nil {
					t.Fatal(err)
				}
				if _, err := k.Load(ctx); !errors.Is(err, ErrCorrupt) {
					t.Errorf("Load = %v, want ErrCorrupt", err)
				}
				if err := k.Delete(ctx); err != nil {
					t.Fatal(err)
				}
				if n := entries(t, ring); len(n) != 0 {
					t.Errorf("entries left after Delete: %v", n)
				}
			})
		}
	}
}

func TestKeychainToolFails(t *testing.T) {
	for _, b := range backends {
		t.Run(b.goos, func(t *testing.T) {
			fakeKeyring(t)
			ctx := context.Background()
			k, err := newKeychain("kinde-test", b.goos, withBus)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("FAKE_FAIL", "the keyring is locked")
			_, err = k.Load(ctx)
			if err == nil || errors.Is(err, ErrNotSignedIn) || !strings.Contains(err.Error(), "the keyring is locked") {
				t.Errorf("Load = %v, want the tool's message", err)
			}
			if err := k.Save(ctx, tokensOfSize(10)); err == nil || !strings.Contains(err.Error(), "the keyring is locked") {
				t.Errorf("Save = %v, want the tool's message", err)
			}
			if err := k.Delete(ctx); err == nil {
				t.Error("Delete succeeded with a failing tool")
			}
		})
	}
}

func TestNewKeychainUnavailable(t *testing.T) {
	fakeKeyring(t)
	noBus := func(string) string { return "" }
	tests := []struct {
		name    string
		service string
		goos    string
		getenv  func(string) string
		path    string
	}{
		{name: "windows", service: "cli", goos: "windows", getenv: withBus},
		{name: "no session bus", service: "cli", goos: "linux", getenv: noBus},
		{name: "no secret-tool", service: "cli", goos: "linux", getenv: withBus, path: t.TempDir()},
		{name: "no security", service: "cli", goos: "darwin", getenv: withBus, path: t.TempDir()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			if _, err := newKeychain(tt.service, tt.goos, tt.getenv); !errors.Is(err, ErrNoKeychain) {
				t.Errorf("newKeychain = %v, want ErrNoKeychain", err)
			}
		})
	}
	for _, bad := range []string{"", "has space", "semi;colon", "a/b", strings.Repeat("x", 129)} {
		if _, err := newKeychain(bad, "linux", withBus); err == nil || errors.Is(err, ErrNoKeychain) {
			t.Errorf("service %q: err = %v, want a naming error", bad, err)
		}
	}
}

func TestSessionBusSocket(t *testing.T) {
	dir := t.TempDir()
	getenv := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return dir
		}
		return ""
	}
	if hasSessionBus(getenv) {
		t.Error("no bus socket, yet hasSessionBus")
	}
	if err := os.WriteFile(filepath.Join(dir, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if hasSessionBus(getenv) {
		t.Error("a regular file taken for the bus socket")
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name        string
		tools       bool
		fail        string
		bus         string
		wantKeyring bool
	}{
		{name: "keychain", tools: true, bus: "unix:path=/tmp/bus", wantKeyring: true},
		{name: "no tools", bus: "unix:path=/tmp/bus"},
		{name: "keychain fails", tools: true, fail: "no secret service", bus: "unix:path=/tmp/bus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeKeyring(t)
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
			t.Setenv("XDG_RUNTIME_DIR", "")
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", tt.bus)
			t.Setenv("FAKE_FAIL", tt.fail)
			if !tt.tools {
				t.Setenv("PATH", t.TempDir())
			}
			s, err := Default("kinde-test")
			if err != nil {
				t.Fatal(err)
			}
			_, isKeychain := s.(*keychain)
			if isKeychain != tt.wantKeyring {
				t.Errorf("Default() = %s, keychain %t, want %t", s.Backend(), isKeychain, tt.wantKeyring)
			}
			if !tt.wantKeyring {
				dir, err := os.UserConfigDir()
				if err != nil {
					t.Fatal(err)
				}
				if want := "file " + filepath.Join(dir, "kinde", "kinde-test.json"); s.Backend() != want || !strings.HasPrefix(dir, home) {
					t.Errorf("Backend() = %q, want %q", s.Backend(), want)
				}
			}
		})
	}
	if _, err := Default("bad name"); err == nil {
		t.Error("Default accepted a service name with a space")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add("v1:3:" + strings.Repeat("ab", 32))
	f.Add("v1:0:")
	f.Add("v1:-1:zz")
	f.Add("v1:99999999999999999999:00")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHeader(s)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if h.chunks < 1 || h.chunks > maxChunks || len(h.sum) != 64 {
			t.Fatalf("accepted header %q as %+v", s, h)
		}
		if back, err := parseHeader(h.String()); err != nil || back != h {
			t.Fatalf("header %+v does not survive a round trip: %v", h, err)
		}
	})
}
