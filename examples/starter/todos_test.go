package starter

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTodosByOrganization(t *testing.T) {
	td := NewTodos()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	td.now = func() time.Time { return now }
	a, err := td.Add("org_a", "kp_1", "  Write tests ", 10)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 1 || a.Title != "Write tests" || a.OrgCode != "org_a" || a.CreatedBy != "kp_1" || !a.CreatedAt.Equal(now) || a.CreatedAt.Location() != time.UTC {
		t.Errorf("Add = %+v", a)
	}
	if _, err := td.Add("org_b", "kp_2", "Other org", 10); err != nil {
		t.Fatal(err)
	}
	if got := td.List("org_a"); len(got) != 1 || got[0] != a {
		t.Errorf("List(org_a) = %+v, want only %+v", got, a)
	}
	if got := td.List("org_none"); got == nil || len(got) != 0 {
		t.Errorf("List(org_none) = %#v, want an empty, non-nil list (JSON [])", got)
	}
}

func TestTodosTitle(t *testing.T) {
	td := NewTodos()
	for _, title := range []string{"", "   ", strings.Repeat("é", MaxTitleLength+1)} {
		if _, err := td.Add("org", "kp", title, 10); !errors.Is(err, ErrTitle) {
			t.Errorf("Add(%q…) error = %v, want ErrTitle", title[:min(len(title), 8)], err)
		}
	}
	if _, err := td.Add("org", "kp", strings.Repeat("é", MaxTitleLength), 10); err != nil {
		t.Errorf("a title of exactly %d characters: %v", MaxTitleLength, err)
	}
}

func TestTodosLimit(t *testing.T) {
	td := NewTodos()
	for i := range 3 {
		if _, err := td.Add("org", "kp", "todo", 3); err != nil {
			t.Fatalf("todo %d: %v", i+1, err)
		}
	}
	if _, err := td.Add("org", "kp", "one too many", 3); !errors.Is(err, ErrLimitReached) {
		t.Errorf("fourth todo with limit 3: %v, want ErrLimitReached", err)
	}
	if _, err := td.Add("other", "kp", "another org", 3); err != nil {
		t.Errorf("the limit is per organization, yet: %v", err)
	}
}
