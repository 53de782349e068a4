package kinde

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// storeTestForeignNotFound stands for the not-found error of a store in another module,
// which cannot refer to ErrSessionNotFound.
type storeTestForeignNotFound struct{ notFound bool }

func (e storeTestForeignNotFound) Error() string  { return "foreign store: key missing" }
func (e storeTestForeignNotFound) NotFound() bool { return e.notFound }

func TestStoreIsSessionNotFound(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"sentinel", ErrSessionNotFound, true},
		{"wrapped sentinel", fmt.Errorf("load: %w", ErrSessionNotFound), true},
		{"foreign not found", storeTestForeignNotFound{notFound: true}, true},
		{"wrapped foreign not found", fmt.Errorf("load: %w", storeTestForeignNotFound{notFound: true}), true},
		{"foreign other", storeTestForeignNotFound{notFound: false}, false},
		{"unrelated", io.ErrUnexpectedEOF, false},
		{"context canceled", fmt.Errorf("get: %w", context.Canceled), false},
		{"joined", errors.Join(io.EOF, ErrSessionNotFound), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isSessionNotFound(tt.err); got != tt.want {
				t.Errorf("IsSessionNotFound(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestStoreSessionNotFoundHasNotFoundMethod(t *testing.T) {
	var nf interface{ NotFound() bool }
	if !errors.As(fmt.Errorf("x: %w", ErrSessionNotFound), &nf) || !nf.NotFound() {
		t.Fatal("ErrSessionNotFound must have a NotFound() bool method returning true")
	}
}

// The stores of this package satisfy Store.
var _ Store = (*MemoryStore)(nil)

func TestStoreMemoryStoreSatisfiesContract(t *testing.T) {
	// Exercise MemoryStore through the interface, as the session layer will.
	var s Store = NewMemoryStore(MemoryStoreOptions{MaxEntries: 4})
	ctx := context.Background()
	if _, err := s.Get(ctx, "absent"); !isSessionNotFound(err) {
		t.Fatalf("Get(absent) error = %v, want not found", err)
	}
	if err := s.Set(ctx, "id", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := s.Delete(ctx, "id"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, "id"); err != nil {
		t.Fatalf("Delete twice: %v", err)
	}
}
