package starter

import (
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Todo is an item of the todo API. Todos belong to the organization the
// user signed in to, so members of one organization share them.
type Todo struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	OrgCode   string    `json:"org_code,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Limits of the todo store.
const (
	// MaxTitleLength is the longest title, in characters.
	MaxTitleLength = 200
	// DefaultMaxTodos is the per-organization limit when the user's token
	// has no max_todos feature flag.
	DefaultMaxTodos = 100
	// maxStored bounds the whole store, whatever the flags say.
	maxStored = 10000
)

// Errors of Todos.Add.
var (
	ErrTitle        = errors.New("the title must be 1 to 200 characters")
	ErrLimitReached = errors.New("the organization has reached its todo limit (feature flag max_todos)")
)

// Todos is an in-memory todo store, safe for concurrent use. It forgets
// everything when the process stops: replace it with your database.
type Todos struct {
	mu    sync.Mutex
	next  int64
	items []Todo
	now   func() time.Time
}

// NewTodos returns an empty store.
func NewTodos() *Todos { return &Todos{now: time.Now} }

// List returns the todos of the organization org, oldest first.
func (t *Todos) List(org string) []Todo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []Todo{}
	for _, td := range t.items {
		if td.OrgCode == org {
			out = append(out, td)
		}
	}
	return out
}

// Add stores a todo of org created by user, unless org already has limit
// todos or the title is empty or too long.
func (t *Todos) Add(org, user, title string, limit int64) (Todo, error) {
	title = strings.TrimSpace(title)
	if title == "" || utf8.RuneCountInString(title) > MaxTitleLength {
		return Todo{}, ErrTitle
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, td := range t.items {
		if td.OrgCode == org {
			n++
		}
	}
	if n >= limit || len(t.items) >= maxStored {
		return Todo{}, ErrLimitReached
	}
	t.next++
	td := Todo{ID: t.next, Title: title, OrgCode: org, CreatedBy: user, CreatedAt: t.now().UTC()}
	t.items = append(t.items, td)
	return td, nil
}
