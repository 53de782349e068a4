package kindetest

import "strings"

// Demo holds the ids of the data SeedDemo creates.
type Demo struct {
	Alice User // admin of Acme and member of Globex
	Bob   User // member of Acme
	// Olivia is the owner of Acme: her role grants 62 permissions, the
	// size of a real application's permission list. She is there to
	// measure session cookie sizes and to test that large sessions work.
	Olivia    User
	Acme      Organization // default org of both users
	Globex    Organization
	AdminRole Role
	Member    Role
	Owner     Role // Olivia's role in Acme: OwnerPermissions
}

// ownerResources are the resources of OwnerPermissions: with the four
// actions each, 64 keys less the two the list leaves out.
var ownerResources = [...]string{"todos", "projects", "tasks", "comments", "documents", "invoices", "customers",
	"reports", "teams", "members", "billing", "settings", "webhooks", "api_keys", "integrations", "audit_logs"}

// OwnerPermissions returns the 62 permission keys of the demo's owner role:
// create, read, update and delete of 16 resources, except deleting billing
// and audit logs.
func OwnerPermissions() []string {
	keys := make([]string, 0, 62)
	for _, r := range ownerResources {
		for _, a := range [...]string{"create", "read", "update", "delete"} {
			if a == "delete" && (r == "billing" || r == "audit_logs") {
				continue
			}
			keys = append(keys, a+":"+r)
		}
	}
	return keys
}

// SeedDemo fills the directory with a small demo: users Alice (admin), Bob
// (member) and Olivia (owner, 62 permissions), organizations Acme and
// Globex, roles admin and member with todo permissions and owner with
// OwnerPermissions, and a boolean, an integer and a string feature flag
// (with overrides for Globex).
//
// The demo is an application whose dashboard (examples/starter, the browser
// tests, the emulator command) shows roles and organization names, so
// SeedDemo also turns on what its token customization in Kinde would: the
// access token's roles and org_name, and the ID token's organizations (see
// TokenCustomization). Other claims keep Kinde's defaults.
func (s *Server) SeedDemo() Demo {
	s.mu.Lock()
	s.cfg.tokens = s.cfg.tokens.or(TokenCustomization{Roles: true, OrgName: true, Organizations: true})
	s.mu.Unlock()
	var d Demo
	for _, p := range []Permission{
		{Key: "create:todos", Name: "Create todos"},
		{Key: "read:todos", Name: "Read todos"},
		{Key: "update:todos", Name: "Update todos"},
		{Key: "delete:todos", Name: "Delete todos"},
	} {
		s.AddPermission(p)
	}
	for _, k := range OwnerPermissions()[4:] { // the todo permissions come first
		verb, res, _ := strings.Cut(k, ":")
		s.AddPermission(Permission{Key: k, Name: strings.ToUpper(verb[:1]) + verb[1:] + " " + strings.ReplaceAll(res, "_", " ")})
	}
	d.AdminRole = s.AddRole(Role{Key: "admin", Name: "Admin", Permissions: []string{"create:todos", "read:todos", "update:todos", "delete:todos"}})
	d.Member = s.AddRole(Role{Key: "member", Name: "Member", IsDefault: true, Permissions: []string{"create:todos", "read:todos"}})
	d.Owner = s.AddRole(Role{Key: "owner", Name: "Owner", Permissions: OwnerPermissions()})
	d.Acme = s.AddOrganization(Organization{Name: "Acme", IsDefault: true, Properties: map[string]any{"plan": "pro"}})
	d.Globex = s.AddOrganization(Organization{Name: "Globex", Flags: map[string]any{"theme": "dark", "max_todos": 100}})
	d.Alice = s.AddUser(User{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Admin", Username: "alice",
		Properties: map[string]any{"city": "Sydney"}})
	d.Bob = s.AddUser(User{Email: "bob@example.com", GivenName: "Bob", FamilyName: "Member", Username: "bob"})
	d.Olivia = s.AddUser(User{Email: "olivia@example.com", GivenName: "Olivia", FamilyName: "Owner", Username: "olivia"})
	must := func(err error) {
		if err != nil {
			panic(err) // every id above was just created
		}
	}
	must(s.AddMember(d.Acme.Code, d.Alice.ID, "admin"))
	must(s.AddMember(d.Globex.Code, d.Alice.ID, "member"))
	must(s.AddMember(d.Acme.Code, d.Bob.ID, "member"))
	must(s.AddMember(d.Acme.Code, d.Olivia.ID, "owner"))
	must(s.SetFlag("dark_mode", false))
	must(s.SetFlag("theme", "light"))
	must(s.SetFlag("max_todos", 10))
	return d
}
