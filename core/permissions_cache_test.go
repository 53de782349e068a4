package kinde_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// permsFixture is a user with 62 permissions and roles in their token (the
// size issue 18 measured), and the access token a bearer request sends.
type permsFixture struct {
	client *kinde.Client
	token  string
}

func newPermsFixture(tb testing.TB) *permsFixture {
	tb.Helper()
	srv := kindetest.Start(tb, kindetest.WithTokenCustomization(kindetest.TokenCustomization{Roles: true}))
	user := srv.AddUser(kindetest.User{Email: "perms@example.com", GivenName: "Perms"})
	org := srv.AddOrganization(kindetest.Organization{Name: "Acme"})
	perms := []string{"read:todos", "create:todos"}
	for i := range 60 {
		perms = append(perms, fmt.Sprintf("read:resource_%02d", i))
	}
	srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: perms})
	if err := srv.AddMember(org.Code, user.ID, "admin"); err != nil {
		tb.Fatal(err)
	}
	c, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), Now: srv.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return &permsFixture{client: c, token: tok.AccessToken}
}

// request is what a guard sees on one bearer request: a session built from
// the verified (and, after the first request, cached) claims.
func (f *permsFixture) request(tb testing.TB) *kinde.Session {
	tb.Helper()
	s, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: f.token})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Issue 18 (RequireBearer with 62 permissions): every permission, role and
// scope check decoded its claim again, about 50 µs per request. The decoded
// lists are kept with the token's cached claims: after the first request
// with a token, checks on later requests' sessions allocate nothing.
func TestClaimListsDecodedOncePerToken(t *testing.T) {
	f := newPermsFixture(t)
	first := f.request(t)
	if !first.HasPermissions("read:todos", "read:resource_59") || !first.HasRoles("admin") || !first.HasScopes("openid") {
		t.Fatalf("fixture: permissions %v, roles %v, scopes %v", first.Permissions().Keys, first.Roles(), first.Scopes())
	}
	checks := []struct {
		name string
		fn   func(s *kinde.Session) bool
	}{
		{"HasPermissions", func(s *kinde.Session) bool { return s.HasPermissions("read:todos", "read:resource_59") }},
		{"Permission", func(s *kinde.Session) bool { return s.Permission("create:todos").Granted }},
		{"HasRoles", func(s *kinde.Session) bool { return s.HasRoles("admin") }},
		{"HasScopes", func(s *kinde.Session) bool { return s.HasScopes("openid", "offline") }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			s := f.request(t) // a later request: same token, new Session
			ok := true
			allocs := testing.AllocsPerRun(100, func() { ok = ok && c.fn(s) })
			if !ok {
				t.Fatal("check failed")
			}
			if allocs != 0 {
				t.Fatalf("%s allocates %.0f times per call on a later request with the same token; the claim must be decoded once per token", c.name, allocs)
			}
		})
	}
	// The copies handed out are the caller's own.
	p := first.Permissions()
	p.Keys[0] = "changed"
	r := first.Roles()
	r[0].Key = "changed"
	sc := first.Scopes()
	sc[0] = "changed"
	later := f.request(t)
	if slices.Contains(later.Permissions().Keys, "changed") || later.Roles()[0].Key == "changed" || slices.Contains(later.Scopes(), "changed") {
		t.Fatal("modifying a returned list changed the token's cached claims")
	}
}

// BenchmarkClaimLists is a permission, role and scope check on a bearer
// request whose token was verified before (RequireBearer's hot path), with
// a user holding 62 permissions.
func BenchmarkClaimLists(b *testing.B) {
	f := newPermsFixture(b)
	f.request(b)
	for _, c := range []struct {
		name string
		fn   func(s *kinde.Session) bool
	}{
		{"HasPermissions", func(s *kinde.Session) bool { return s.HasPermissions("read:resource_59") }},
		{"Permissions", func(s *kinde.Session) bool { return len(s.Permissions().Keys) == 62 }},
		{"HasRoles", func(s *kinde.Session) bool { return s.HasRoles("admin") }},
		{"HasScopes", func(s *kinde.Session) bool { return s.HasScopes("openid") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := f.request(b)
			b.ReportAllocs()
			for b.Loop() {
				if !c.fn(s) {
					b.Fatal("check failed")
				}
			}
		})
	}
}
