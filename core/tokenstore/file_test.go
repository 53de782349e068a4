package tokenstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/tokenstore"
)

func sampleTokens(access string) *kinde.Tokens {
	return &kinde.Tokens{
		AccessToken:  access,
		IDToken:      "id." + access,
		RefreshToken: "refresh." + access,
		ExpiresAt:    time.Unix(1_900_000_000, 0),
		Scope:        "openid offline",
		TokenType:    "bearer",
		ExpiresIn:    86400,
	}
}

func sameTokens(t *testing.T, got, want *kinde.Tokens) {
	t.Helper()
	if got.AccessToken != want.AccessToken || got.IDToken != want.IDToken || got.RefreshToken != want.RefreshToken ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || got.Scope != want.Scope || got.TokenType != want.TokenType || got.ExpiresIn != want.ExpiresIn {
		t.Errorf("tokens = %+v, want %+v", got, want)
	}
}

func TestFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "tokens.json")
	s := tokenstore.NewFile(path)
	if got := s.Backend(); got != "file "+path {
		t.Errorf("Backend() = %q", got)
	}
	if _, err := s.Load(ctx); !errors.Is(err, tokenstore.ErrNotSignedIn) {
		t.Fatalf("Load of nothing = %v, want ErrNotSignedIn", err)
	}
	for _, access := range []string{"first", strings.Repeat("x", 20_000)} {
		want := sampleTokens(access)
		if err := s.Save(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sameTokens(t, got, want)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "tokens.json" {
		t.Errorf("directory holds %v, want only tokens.json (no temporary files)", entries)
	}
	for range 2 {
		if err := s.Delete(ctx); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if _, err := s.Load(ctx); !errors.Is(err, tokenstore.ErrNotSignedIn) {
		t.Errorf("Load after Delete = %v, want ErrNotSignedIn", err)
	}
}

func TestFileCorrupt(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"not JSON", "access_token=abc"},
		{"truncated", `{"access_token":"abc`},
		{"no access token", `{"refresh_token":"r"}`},
		{"JSON null", `null`},
		{"wrong type", `{"access_token":42}`},
		{"empty", ``},
		{"too large", `{"access_token":"` + strings.Repeat("a", 300<<10) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := tokenstore.NewFile(path).Load(context.Background())
			if !errors.Is(err, tokenstore.ErrCorrupt) || !strings.Contains(err.Error(), "sign in again") {
				t.Errorf("Load = %v, want ErrCorrupt saying to sign in again", err)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := tokenstore.NewFile(dir).Load(ctx); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a directory = %v", err)
	}
	s := tokenstore.NewFile(filepath.Join(dir, "t.json"))
	for _, tok := range []*kinde.Tokens{nil, {RefreshToken: "r"}} {
		if err := s.Save(ctx, tok); err == nil {
			t.Errorf("Save(%+v) succeeded", tok)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Save(cancelled, sampleTokens("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled context = %v", err)
	}
	if _, err := s.Load(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context = %v", err)
	}
	if err := s.Delete(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled context = %v", err)
	}
	// A file where the parent directory should be.
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tokenstore.NewFile(filepath.Join(blocker, "t.json")).Save(ctx, sampleTokens("a")); err == nil {
		t.Error("Save below a regular file succeeded")
	}
}
