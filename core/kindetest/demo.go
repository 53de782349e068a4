package kindetest

// Demo holds the ids of the data SeedDemo creates.
type Demo struct {
	Alice     User         // admin of Acme and member of Globex
	Bob       User         // member of Acme
	Acme      Organization // default org of both users
	Globex    Organization
	AdminRole Role
	Member    Role
}

// SeedDemo fills the directory with a small demo: users Alice (admin) and
// Bob (member), organizations Acme and Globex, roles admin and member with
// todo permissions, and a boolean, an integer and a string feature flag
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
	d.AdminRole = s.AddRole(Role{Key: "admin", Name: "Admin", Permissions: []string{"create:todos", "read:todos", "update:todos", "delete:todos"}})
	d.Member = s.AddRole(Role{Key: "member", Name: "Member", IsDefault: true, Permissions: []string{"create:todos", "read:todos"}})
	d.Acme = s.AddOrganization(Organization{Name: "Acme", IsDefault: true, Properties: map[string]any{"plan": "pro"}})
	d.Globex = s.AddOrganization(Organization{Name: "Globex", Flags: map[string]any{"theme": "dark", "max_todos": 100}})
	d.Alice = s.AddUser(User{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Admin", Username: "alice",
		Properties: map[string]any{"city": "Sydney"}})
	d.Bob = s.AddUser(User{Email: "bob@example.com", GivenName: "Bob", FamilyName: "Member", Username: "bob"})
	must := func(err error) {
		if err != nil {
			panic(err) // every id above was just created
		}
	}
	must(s.AddMember(d.Acme.Code, d.Alice.ID, "admin"))
	must(s.AddMember(d.Globex.Code, d.Alice.ID, "member"))
	must(s.AddMember(d.Acme.Code, d.Bob.ID, "member"))
	must(s.SetFlag("dark_mode", false))
	must(s.SetFlag("theme", "light"))
	must(s.SetFlag("max_todos", 10))
	return d
}
