package starter

import (
	"slices"
	"testing"
)

func TestNewViewSignedOut(t *testing.T) {
	if v := NewView(nil); v.SignedIn || v.IsAdmin || v.User.Email != "" {
		t.Errorf("NewView(nil) = %+v, want the signed-out view", v)
	}
}

func TestNewViewAdmin(t *testing.T) {
	d := newDemo(t)
	v := NewView(d.session(t, d.Alice, ""))
	if !v.SignedIn || !v.IsAdmin {
		t.Errorf("Alice: SignedIn %v, IsAdmin %v; want both", v.SignedIn, v.IsAdmin)
	}
	if v.User.Email != "alice@example.com" || v.User.Name != "Alice Admin" || v.User.Initials != "AA" || v.User.ID != d.Alice.ID {
		t.Errorf("user = %+v", v.User)
	}
	if v.Org != (OrgView{Code: d.Acme.Code, Name: "Acme", Current: true}) {
		t.Errorf("org = %+v, want Acme", v.Org)
	}
	if want := []string{"create:todos", "delete:todos", "read:todos", "update:todos"}; !slices.Equal(v.Permissions, want) {
		t.Errorf("permissions = %q, want %q", v.Permissions, want)
	}
	if len(v.Roles) != 1 || v.Roles[0].Key != "admin" || v.Roles[0].Name == "" {
		t.Errorf("roles = %+v, want admin", v.Roles)
	}
	want := []FlagView{{"dark_mode", "boolean", "false"}, {"max_todos", "integer", "10"}, {"theme", "string", "light"}}
	if !slices.Equal(v.Flags, want) {
		t.Errorf("flags = %+v, want %+v", v.Flags, want)
	}
	var current []string
	for _, o := range v.Orgs {
		if o.Current {
			current = append(current, o.Code)
		}
	}
	if len(v.Orgs) != 2 || !slices.Equal(current, []string{d.Acme.Code}) {
		t.Errorf("orgs = %+v, want Acme (current) and Globex", v.Orgs)
	}
}

func TestNewViewMemberInOtherOrg(t *testing.T) {
	d := newDemo(t)
	v := NewView(d.session(t, d.Alice, d.Globex.Code))
	if v.IsAdmin {
		t.Error("Alice is only a member of Globex, yet IsAdmin")
	}
	if v.Org.Name != "Globex" {
		t.Errorf("org = %+v, want Globex", v.Org)
	}
	flags := map[string]string{}
	for _, f := range v.Flags {
		flags[f.Code] = f.Value
	}
	if flags["theme"] != "dark" || flags["max_todos"] != "100" {
		t.Errorf("flags = %v, want Globex's overrides theme=dark max_todos=100", flags)
	}
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{
		"Alice Admin":         "AA",
		"bob":                 "B",
		"élise de la tour":    "ÉD",
		"  spaced   out  ":    "SO",
		"":                    "",
		"kp_0123456789abcdef": "K",
	} {
		if got := initials(name); got != want {
			t.Errorf("initials(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestFlagText(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{true, "true"},
		{int64(42), "42"},
		{"dark", "dark"},
		{map[string]any{"a": 1.0}, `{"a":1}`},
		{[]any{"x", 2.0}, `["x",2]`},
	} {
		if got := flagText(tc.in); got != tc.want {
			t.Errorf("flagText(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
