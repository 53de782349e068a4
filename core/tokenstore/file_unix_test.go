//go:build unix

package tokenstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokinde/kinde/core/tokenstore"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFilePermissions(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "kinde")
	path := filepath.Join(dir, "cli.json")
	s := tokenstore.NewFile(path)
	if err := s.Save(ctx, sampleTokens("a")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("created directory mode = %04o, want 0700", m)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("file mode = %04o, want 0600", m)
	}

	for _, m := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606} {
		if err := os.Chmod(path, m); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(ctx)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("Load of a %04o file = %v, want an error saying chmod 600", m, err)
		}
	}
	// Saving replaces the file with a private one.
	if err := s.Save(ctx, sampleTokens("b")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("file mode after Save = %04o, want 0600", m)
	}
	if _, err := s.Load(ctx); err != nil {
		t.Errorf("Load after Save: %v", err)
	}
}

func TestFileExistingDirectoryKept(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tokenstore.NewFile(filepath.Join(dir, "t.json")).Save(context.Background(), sampleTokens("a")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o755 {
		t.Errorf("existing directory mode changed to %04o", m)
	}
}

// TestFileAtomicReplace shows that Save swaps in a new file rather than
// rewriting the old one: a reader holding the old file still reads whole
// old tokens.
func TestFileAtomicReplace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.json")
	s := tokenstore.NewFile(path)
	if err := s.Save(ctx, sampleTokens("old")); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := s.Save(ctx, sampleTokens("new")); err != nil {
		t.Fatal(err)
	}
	old := make([]byte, 4096)
	n, _ := reader.Read(old)
	if !strings.Contains(string(old[:n]), `"access_token":"old"`) {
		t.Errorf("the open file now reads %q, want the old tokens", old[:n])
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "new" {
		t.Errorf("Load = %q, want new", got.AccessToken)
	}
}
