package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	kinde "github.com/gokinde/kinde/core"
)

// fileStore keeps tokens as JSON in one file.
type fileStore struct {
	path string
}

// NewFile returns a store that keeps the tokens as JSON in the file at path.
// The file is written with mode 0600 (its directory, when created, 0700) and
// replaced atomically through a temporary file and a rename. Loading a file
// that other users may read is refused, with a message saying to run
// chmod 600. On Windows the file inherits the ACL of its directory, which
// under the user's profile is private to the user.
func NewFile(path string) Store {
	return &fileStore{path: path}
}

func (f *fileStore) Backend() string { return "file " + f.path }

func (f *fileStore) Load(ctx context.Context) (*kinde.Tokens, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotSignedIn
	}
	if err != nil {
		return nil, fmt.Errorf("tokenstore: open the token file: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("tokenstore: inspect the token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("tokenstore: %s is not a regular file: remove it and sign in again", f.path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("tokenstore: %s may be read by other users (mode %04o): run chmod 600 %s", f.path, fi.Mode().Perm(), f.path)
	}
	b, err := io.ReadAll(io.LimitReader(file, maxTokenBytes+1))
	if err != nil {
		return nil, fmt.Errorf("tokenstore: read the token file: %w", err)
	}
	if len(b) > maxTokenBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, f.path, maxTokenBytes)
	}
	t, err := decodeTokens(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, f.path)
	}
	return t, nil
}

func (f *fileStore) Save(ctx context.Context, t *kinde.Tokens) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := encodeTokens(t)
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tokenstore: create the token directory: %w", err)
	}
	// CreateTemp makes the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("tokenstore: create a temporary token file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("tokenstore: write the token file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("tokenstore: write the token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tokenstore: write the token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("tokenstore: replace the token file: %w", err)
	}
	committed = true
	return nil
}

func (f *fileStore) Delete(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tokenstore: remove the token file: %w", err)
	}
	return nil
}
