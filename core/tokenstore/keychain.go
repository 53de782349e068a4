package tokenstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	kinde "github.com/gokinde/kinde/core"
)

// Keychain layout: the tokens' JSON is base64-encoded and split into chunks
// of chunkSize characters, stored under the accounts "tokens.0", "tokens.1",
// …; the account "tokens" holds "v1:<chunks>:<sha256 of the base64 text>" and
// is written last, so a reader sees whole tokens or the previous ones.
const (
	headerAccount = "tokens"
	chunkSize     = 1024
	maxChunks     = 64
)

type keychainKind int

const (
	secretTool    keychainKind = iota + 1 // libsecret's secret-tool
	macOSSecurity                         // macOS /usr/bin/security
)

// keychain stores tokens in the operating system's keychain by running its
// command-line tool.
type keychain struct {
	service string
	kind    keychainKind
	tool    string // absolute path of the tool
}

// NewKeychain returns a store in the operating system's keychain under
// service (letters, digits, '.', '_' and '-'). On macOS it runs the security
// tool; on Linux and other Unix systems it runs secret-tool (libsecret) and
// needs a D-Bus session (DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus).
// Where neither is available it returns an error matching ErrNoKeychain.
// Secrets go to the tools on standard input, never on their command line.
func NewKeychain(service string) (Store, error) {
	return newKeychain(service, runtime.GOOS, os.Getenv)
}

func newKeychain(service, goos string, getenv func(string) string) (*keychain, error) {
	if err := checkService(service); err != nil {
		return nil, err
	}
	switch goos {
	case "windows", "plan9", "js", "wasip1", "android", "ios":
		return nil, fmt.Errorf("%w (%s is not supported)", ErrNoKeychain, goos)
	case "darwin":
		path, err := exec.LookPath("security")
		if err != nil {
			return nil, fmt.Errorf("%w: the security tool is not on PATH", ErrNoKeychain)
		}
		return &keychain{service: service, kind: macOSSecurity, tool: path}, nil
	}
	path, err := exec.LookPath("secret-tool")
	if err != nil {
		return nil, fmt.Errorf("%w: secret-tool is not on PATH", ErrNoKeychain)
	}
	if !hasSessionBus(getenv) {
		return nil, fmt.Errorf("%w: no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)", ErrNoKeychain)
	}
	return &keychain{service: service, kind: secretTool, tool: path}, nil
}

func hasSessionBus(getenv func(string) string) bool {
	if getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		if fi, err := os.Stat(filepath.Join(dir, "bus")); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return true
		}
	}
	return false
}

func (k *keychain) Backend() string {
	if k.kind == macOSSecurity {
		return "macOS keychain (security), service " + k.service
	}
	return "keychain (secret-tool), service " + k.service
}

// errNotFound is what get returns when an entry is absent.
var errNotFound = errors.New("tokenstore: keychain entry not found")

// run runs the keychain tool with stdin and returns its standard output.
func (k *keychain) run(ctx context.Context, stdin string, args ...string) (string, *exec.ExitError, error) {
	cmd := exec.CommandContext(ctx, k.tool, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", nil, ctxErr
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		exit.Stderr = stderr.Bytes()
		return stdout.String(), exit, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("tokenstore: run %s: %w", filepath.Base(k.tool), err)
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" && k.kind == macOSSecurity {
		// security -i reports failures of its commands on stderr only.
		return "", nil, fmt.Errorf("tokenstore: %s: %s", filepath.Base(k.tool), msg)
	}
	return stdout.String(), nil, nil
}

func toolError(tool string, op string, exit *exec.ExitError) error {
	msg := strings.TrimSpace(string(exit.Stderr))
	if msg == "" {
		msg = exit.Error()
	}
	return fmt.Errorf("tokenstore: %s could not %s the keychain entry: %s", filepath.Base(tool), op, msg)
}

func (k *keychain) get(ctx context.Context, account string) (string, error) {
	var out string
	var exit *exec.ExitError
	var err error
	switch k.kind {
	case macOSSecurity:
		out, exit, err = k.run(ctx, "", "find-generic-password", "-s", k.service, "-a", account, "-w")
		if exit != nil && exit.ExitCode() == 44 { // errSecItemNotFound
			return "", errNotFound
		}
	default:
		out, exit, err = k.run(ctx, "", "lookup", "service", k.service, "account", account)
		if exit != nil && exit.ExitCode() == 1 && len(bytes.TrimSpace(exit.Stderr)) == 0 {
			return "", errNotFound
		}
	}
	if err != nil {
		return "", err
	}
	if exit != nil {
		return "", toolError(k.tool, "read", exit)
	}
	return strings.TrimRight(out, "\r\n"), nil
}

func (k *keychain) set(ctx context.Context, account, value string) error {
	var exit *exec.ExitError
	var err error
	switch k.kind {
	case macOSSecurity:
		// In interactive mode the secret travels on stdin, not in argv.
		line := fmt.Sprintf("add-generic-password -U -s %s -a %s -l %s -w %s\n", k.service, account, k.service, value)
		_, exit, err = k.run(ctx, line, "-i")
	default:
		_, exit, err = k.run(ctx, value, "store", "--label="+k.service+" (Kinde tokens)", "service", k.service, "account", account)
	}
	if err != nil {
		return err
	}
	if exit != nil {
		return toolError(k.tool, "write", exit)
	}
	return nil
}

func (k *keychain) del(ctx context.Context, account string) error {
	var exit *exec.ExitError
	var err error
	switch k.kind {
	case macOSSecurity:
		_, exit, err = k.run(ctx, "", "delete-generic-password", "-s", k.service, "-a", account)
		if exit != nil && exit.ExitCode() == 44 {
			return nil
		}
	default:
		_, exit, err = k.run(ctx, "", "clear", "service", k.service, "account", account)
		if exit != nil && len(bytes.TrimSpace(exit.Stderr)) == 0 {
			return nil // nothing to clear
		}
	}
	if err != nil {
		return err
	}
	if exit != nil {
		return toolError(k.tool, "delete", exit)
	}
	return nil
}

func chunkAccount(i int) string { return headerAccount + "." + strconv.Itoa(i) }

// header is the content of the "tokens" entry.
type header struct {
	chunks int
	sum    string
}

// String is the header's stored form. It holds no spaces, so that it passes
// unquoted through the interactive mode of security.
func (h header) String() string { return fmt.Sprintf("v1:%d:%s", h.chunks, h.sum) }

func parseHeader(s string) (header, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 || f[0] != "v1" {
		return header{}, fmt.Errorf("%w: unknown keychain layout", ErrCorrupt)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 || n > maxChunks {
		return header{}, fmt.Errorf("%w: chunk count %q", ErrCorrupt, f[1])
	}
	if b, err := hex.DecodeString(f[2]); err != nil || len(b) != sha256.Size {
		return header{}, fmt.Errorf("%w: checksum %q", ErrCorrupt, f[2])
	}
	return header{chunks: n, sum: f[2]}, nil
}

func checksum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// split cuts the base64 text into chunks.
func split(s string) []string {
	var out []string
	for len(s) > chunkSize {
		out = append(out, s[:chunkSize])
		s = s[chunkSize:]
	}
	return append(out, s)
}

// assemble joins chunks read back and checks them against h.
func assemble(h header, chunks []string) (*kinde.Tokens, error) {
	text := strings.Join(chunks, "")
	if checksum(text) != h.sum {
		return nil, fmt.Errorf("%w: the keychain entries do not match their checksum", ErrCorrupt)
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return decodeTokens(b)
}

func (k *keychain) Load(ctx context.Context) (*kinde.Tokens, error) {
	hs, err := k.get(ctx, headerAccount)
	if errors.Is(err, errNotFound) {
		return nil, ErrNotSignedIn
	}
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(hs)
	if err != nil {
		return nil, err
	}
	chunks := make([]string, h.chunks)
	for i := range chunks {
		c, err := k.get(ctx, chunkAccount(i))
		if errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("%w: keychain entry %s is missing", ErrCorrupt, chunkAccount(i))
		}
		if err != nil {
			return nil, err
		}
		chunks[i] = c
	}
	return assemble(h, chunks)
}

func (k *keychain) Save(ctx context.Context, t *kinde.Tokens) error {
	b, err := encodeTokens(t)
	if err != nil {
		return err
	}
	text := base64.StdEncoding.EncodeToString(b)
	chunks := split(text)
	if len(chunks) > maxChunks {
		return fmt.Errorf("tokenstore: the tokens are %d bytes, more than the keychain store takes; use NewFile", len(b))
	}
	old := 0
	if hs, err := k.get(ctx, headerAccount); err == nil {
		if h, err := parseHeader(hs); err == nil {
			old = h.chunks
		}
	}
	for i, c := range chunks {
		if err := k.set(ctx, chunkAccount(i), c); err != nil {
			return err
		}
	}
	if err := k.set(ctx, headerAccount, header{chunks: len(chunks), sum: checksum(text)}.String()); err != nil {
		return err
	}
	for i := len(chunks); i < old; i++ {
		if err := k.del(ctx, chunkAccount(i)); err != nil {
			return err
		}
	}
	return nil
}

func (k *keychain) Delete(ctx context.Context) error {
	n := maxChunks
	if hs, err := k.get(ctx, headerAccount); errors.Is(err, errNotFound) {
		n = 0
	} else if err != nil {
		return err
	} else if h, err := parseHeader(hs); err == nil {
		n = h.chunks
	}
	if err := k.del(ctx, headerAccount); err != nil {
		return err
	}
	for i := range n {
		if err := k.del(ctx, chunkAccount(i)); err != nil {
			return err
		}
	}
	return nil
}
