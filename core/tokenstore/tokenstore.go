// Package tokenstore keeps a user's Kinde tokens between runs of a
// command-line tool, and hands out fresh access tokens from them.
//
// Default picks the operating system's keychain where one can be reached
// without extra dependencies (secret-tool from libsecret on Linux and other
// Unix systems with a D-Bus session, the security tool on macOS) and
// otherwise a file readable only by the user, under os.UserConfigDir():
//
//	store, err := tokenstore.Default("my-cli")
//	...
//	da, _ := client.StartDeviceAuth(ctx)        // show da.UserCode and da.VerificationURI
//	tokens, _ := client.PollDeviceToken(ctx, da)
//	err = store.Save(ctx, tokens)
//	...
//	tokens, err = tokenstore.Tokens(ctx, client, store) // refreshed and saved when expired
//	if errors.Is(err, tokenstore.ErrNotSignedIn) { /* ask the user to sign in */ }
//
// The keychain backends run the system's own tools; this package's tests run
// them against stand-in scripts, so real keychains are exercised only on
// machines that have one.
package tokenstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// Store keeps one user's tokens. Implementations must be safe for use by
// one process at a time; writes are atomic, so a reader in another process
// sees either the old tokens or the new ones.
type Store interface {
	// Load returns the stored tokens, or an error matching ErrNotSignedIn
	// when there are none.
	Load(ctx context.Context) (*kinde.Tokens, error)
	// Save replaces the stored tokens.
	Save(ctx context.Context, t *kinde.Tokens) error
	// Delete removes the stored tokens. Deleting nothing is not an error.
	Delete(ctx context.Context) error
	// Backend says where the tokens are kept, for messages to the user,
	// for example "file /home/me/.config/kinde/my-cli.json".
	Backend() string
}

// Errors returned by stores and by Tokens. Compare with errors.Is.
var (
	// ErrNotSignedIn means no usable tokens are stored: nothing was saved,
	// or the stored tokens expired and cannot be refreshed.
	ErrNotSignedIn = errors.New("tokenstore: not signed in: sign in again")
	// ErrCorrupt means stored data could not be read back as tokens.
	// Delete it and sign in again.
	ErrCorrupt = errors.New("tokenstore: stored tokens are unreadable: delete them (sign out) and sign in again")
	// ErrNoKeychain means the operating system has no keychain this package
	// can use; Default then falls back to a file.
	ErrNoKeychain = errors.New("tokenstore: no usable keychain: on Linux install secret-tool (libsecret) and run inside a desktop session, or use NewFile")
)

// maxTokenBytes bounds stored data read back.
const maxTokenBytes = 256 << 10

// probeTimeout bounds Default's check that the keychain answers.
const probeTimeout = 10 * time.Second

// Default returns the keychain store for service when the system has a
// keychain that answers, else NewFile(<os.UserConfigDir()>/kinde/<service>.json).
// service names the tool, for example "my-cli"; it may hold letters, digits,
// '.', '_' and '-'.
func Default(service string) (Store, error) {
	if err := checkService(service); err != nil {
		return nil, err
	}
	if k, err := newKeychain(service, runtime.GOOS, os.Getenv); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		if _, err := k.get(ctx, headerAccount); err == nil || errors.Is(err, errNotFound) {
			return k, nil
		}
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("tokenstore: find a directory for the token file: %w; use NewFile with a path of your choice", err)
	}
	return NewFile(filepath.Join(dir, "kinde", service+".json")), nil
}

func checkService(service string) error {
	if service == "" || len(service) > 128 {
		return fmt.Errorf("tokenstore: service name %q must be 1 to 128 characters, such as \"my-cli\"", service)
	}
	for _, r := range service {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("tokenstore: service name %q may hold only letters, digits, '.', '_' and '-'", service)
		}
	}
	return nil
}

func encodeTokens(t *kinde.Tokens) ([]byte, error) {
	if t == nil || t.AccessToken == "" {
		return nil, errors.New("tokenstore: Save needs tokens with an access token")
	}
	return json.Marshal(t)
}

func decodeTokens(b []byte) (*kinde.Tokens, error) {
	var t kinde.Tokens
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: no access token", ErrCorrupt)
	}
	return &t, nil
}
