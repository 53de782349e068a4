package kinde_test

import (
	"slices"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func TestPermissions(t *testing.T) {
	f := newSessionFixture(t)
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true))
	tests := []struct {
		name     string
		session  *kinde.Session
		wantOrg  string
		wantKeys []string
	}{
		{"emulator token", f.session(t), f.org.Code, []string{"create:todos", "delete:todos", "read:todos"}},
		{"Hasura claims only", hasura.session(t), hasura.org.Code, []string{"create:todos", "delete:todos", "read:todos"}},
		{"absent claims", f.claimsSession(t, func(c map[string]any) {
			delete(c, "permissions")
			delete(c, "org_code")
		}), "", []string{}},
		{"string instead of array", f.claimsSession(t, func(c map[string]any) { c["permissions"] = "create:todos" }), f.org.Code, []string{}},
		{"object instead of array", f.claimsSession(t, func(c map[string]any) { c["permissions"] = map[string]any{"create:todos": true} }), f.org.Code, []string{}},
		{"mixed array keeps strings", f.claimsSession(t, func(c map[string]any) { c["permissions"] = []any{"a", 1, nil, "b"} }), f.org.Code, []string{"a", "b"}},
		{"null falls back to Hasura", f.claimsSession(t, func(c map[string]any) {
			c["permissions"] = nil
			c["x-hasura-permissions"] = []string{"h"}
			c["org_code"] = 5
		}), "", []string{"h"}},
		{"plain claim wins over Hasura", f.claimsSession(t, func(c map[string]any) {
			c["permissions"] = []string{"p"}
			c["x-hasura-permissions"] = []string{"h"}
			c["x-hasura-org-code"] = "org_hasura"
		}), f.org.Code, []string{"p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.Permissions()
			if got.OrgCode != tt.wantOrg || !slices.Equal(got.Keys, tt.wantKeys) || got.Keys == nil {
				t.Fatalf("Permissions() = %+v; want org %q keys %q", got, tt.wantOrg, tt.wantKeys)
			}
		})
	}
}

func TestPermissionChecks(t *testing.T) {
	f := newSessionFixture(t)
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true))
	bad := f.claimsSession(t, func(c map[string]any) { c["permissions"] = "create:todos" })
	tests := []struct {
		name    string
		session *kinde.Session
		keys    []string
		want    bool
	}{
		{"granted", f.session(t), []string{"create:todos"}, true},
		{"not granted", f.session(t), []string{"manage:billing"}, false},
		{"prefix is not a match", f.session(t), []string{"create"}, false},
		{"empty key", f.session(t), []string{""}, false},
		{"all of several", f.session(t), []string{"create:todos", "read:todos"}, true},
		{"one of several missing", f.session(t), []string{"create:todos", "manage:billing"}, false},
		{"Hasura claims", hasura.session(t), []string{"delete:todos"}, true},
		{"malformed claim", bad, []string{"create:todos"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.session.HasPermissions(tt.keys...); got != tt.want {
				t.Fatalf("HasPermissions(%q) = %v; want %v", tt.keys, got, tt.want)
			}
			if len(tt.keys) == 1 {
				k := tt.keys[0]
				r := tt.session.Permission(k)
				if r.Key != k || r.Granted != tt.want || r.OrgCode != tt.session.Organization().Code {
					t.Fatalf("Permission(%q) = %+v", k, r)
				}
			}
		})
	}
	if !f.session(t).HasPermissions() {
		t.Fatal("HasPermissions() with no keys = false; want true")
	}
}

func TestRoles(t *testing.T) {
	f := newSessionFixture(t, kindetest.WithTokenCustomization(everyTokenClaim()))
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true), kindetest.WithTokenCustomization(everyTokenClaim()))
	kindeDefault := newSessionFixture(t)
	admin := kinde.Role{Key: "admin", Name: "Admin"}
	viewer := kinde.Role{Key: "viewer", Name: "Viewer"}
	tests := []struct {
		name    string
		session *kinde.Session
		want    []kinde.Role // IDs are not compared
	}{
		{"emulator token", f.session(t), []kinde.Role{admin, viewer}},
		{"Hasura claims only", hasura.session(t), []kinde.Role{admin, viewer}},
		{"Kinde's default token has no roles", kindeDefault.session(t), []kinde.Role{}},
		{"absent claim", f.claimsSession(t, func(c map[string]any) { delete(c, "roles") }), []kinde.Role{}},
		{"string roles", f.claimsSession(t, func(c map[string]any) { c["roles"] = []string{"admin", "", "owner"} }),
			[]kinde.Role{{Key: "admin"}, {Key: "owner"}}},
		{"string instead of array", f.claimsSession(t, func(c map[string]any) { c["roles"] = "admin" }), []kinde.Role{}},
		{"number instead of array", f.claimsSession(t, func(c map[string]any) { c["roles"] = 3 }), []kinde.Role{}},
		{"junk entries skipped", f.claimsSession(t, func(c map[string]any) {
			c["roles"] = []any{map[string]any{"id": "r1", "key": "admin", "name": "Admin"}, 7, map[string]any{"name": "no key"}, []any{}}
		}), []kinde.Role{admin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.Roles()
			if got == nil {
				t.Fatal("Roles() = nil; want a slice")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Roles() = %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i].Key || got[i].Name != tt.want[i].Name {
					t.Fatalf("Roles()[%d] = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if r := f.session(t).Roles(); r[0].ID == "" {
		t.Fatalf("role from the emulator has no ID: %+v", r[0])
	}
}

func TestHasRoles(t *testing.T) {
	f := newSessionFixture(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{Roles: true}))
	s := f.session(t)
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true), kindetest.WithTokenCustomization(kindetest.TokenCustomization{Roles: true})).session(t)
	kindeDefault := newSessionFixture(t).session(t)
	strs := f.claimsSession(t, func(c map[string]any) { c["roles"] = []string{"admin"} })
	bad := f.claimsSession(t, func(c map[string]any) { c["roles"] = "admin" })
	tests := []struct {
		name    string
		session *kinde.Session
		keys    []string
		want    bool
	}{
		{"no keys", s, nil, true},
		{"one held", s, []string{"admin"}, true},
		{"all held", s, []string{"admin", "viewer"}, true},
		{"all required, one missing", s, []string{"admin", "owner"}, false},
		{"none held", s, []string{"owner"}, false},
		{"empty key", s, []string{""}, false},
		{"Hasura claims", hasura, []string{"viewer"}, true},
		{"string roles", strs, []string{"admin"}, true},
		{"malformed claim", bad, []string{"admin"}, false},
		{"Kinde's default token: no role is held", kindeDefault, []string{"admin"}, false},
		{"Kinde's default token: no keys", kindeDefault, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.session.HasRoles(tt.keys...); got != tt.want {
				t.Fatalf("HasRoles(%q) = %v; want %v", tt.keys, got, tt.want)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	f := newSessionFixture(t)
	m2m := f.srv.AddClient(kindetest.Client{Type: "m2m", Audiences: []string{"https://api.example.com"}})
	f.srv.AddAPI("https://api.example.com", "read:users", "write:flags")
	must(t, f.srv.AuthorizeM2M(m2m.ID, "https://api.example.com", "read:users", "write:flags"))
	tok, err := f.srv.IssueM2MToken(m2m.ID, "https://api.example.com")
	must(t, err)
	machine, err := f.client.Session(t.Context(), &kinde.Tokens{AccessToken: tok.AccessToken})
	must(t, err)
	tests := []struct {
		name    string
		session *kinde.Session
		want    []string
	}{
		{"user token scp", f.session(t), []string{"openid", "profile", "email", "offline"}},
		{"M2M token scp and scope", machine, []string{"read:users", "write:flags"}},
		{"scope string only", f.claimsSession(t, func(c map[string]any) {
			delete(c, "scp")
			c["scope"] = " read:users  write:flags read:users "
		}), []string{"read:users", "write:flags"}},
		{"scp wins over scope", f.claimsSession(t, func(c map[string]any) {
			c["scp"] = []string{"a"}
			c["scope"] = "b"
		}), []string{"a"}},
		{"null scp falls back to scope", f.claimsSession(t, func(c map[string]any) {
			c["scp"] = nil
			c["scope"] = "b"
		}), []string{"b"}},
		{"junk in scp", f.claimsSession(t, func(c map[string]any) { c["scp"] = []any{"a", 1, "", "a", nil, "b"} }), []string{"a", "b"}},
		{"wrong types", f.claimsSession(t, func(c map[string]any) {
			c["scp"] = "openid"
			c["scope"] = []string{"x"}
		}), []string{}},
		{"no scope claims", f.claimsSession(t, func(c map[string]any) { delete(c, "scp") }), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.Scopes()
			if got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Scopes() = %q; want %q", got, tt.want)
			}
		})
	}
	checks := []struct {
		scopes []string
		want   bool
	}{
		{nil, true},
		{[]string{"read:users"}, true},
		{[]string{"read:users", "write:flags"}, true},
		{[]string{"read:users", "delete:users"}, false},
		{[]string{""}, false},
		{[]string{"read"}, false},
	}
	for _, c := range checks {
		if got := machine.HasScopes(c.scopes...); got != c.want {
			t.Errorf("HasScopes(%q) = %v; want %v", c.scopes, got, c.want)
		}
	}
}
