package management_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/management"
	"github.com/gokinde/kinde/management/api"
)

// newEmulatorClients returns a management client built each supported way against the emulator.
func newEmulatorClients(t *testing.T, srv *kindetest.Server) map[string]*management.Client {
	t.Helper()
	ctx := context.Background()
	direct, err := management.New(ctx, management.Config{
		Domain:       srv.URL(),
		ClientID:     kindetest.DefaultM2MClientID,
		ClientSecret: kindetest.DefaultM2MClientSecret,
		HTTPClient:   srv.Client(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	kc, err := kinde.New(kinde.Config{
		Domain:                 srv.URL(),
		ClientID:               srv.ClientID(),
		ClientSecret:           srv.ClientSecret(),
		ManagementClientID:     kindetest.DefaultM2MClientID,
		ManagementClientSecret: kindetest.DefaultM2MClientSecret,
		HTTPClient:             srv.Client(),
	})
	if err != nil {
		t.Fatalf("kinde.New: %v", err)
	}
	fromKinde, err := management.NewFromKinde(kc, management.Config{})
	if err != nil {
		t.Fatalf("NewFromKinde: %v", err)
	}
	return map[string]*management.Client{"New": direct, "NewFromKinde": fromKinde}
}

func TestAgainstEmulator(t *testing.T) {
	srv := kindetest.Start(t)
	for name, c := range newEmulatorClients(t, srv) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			srv.ResetRequests()
			role := srv.AddRole(kindetest.Role{Key: "admin-" + name, Name: "Admin"})

			code, err := c.CreateOrganization(ctx, "Acme "+name)
			if err != nil {
				t.Fatalf("CreateOrganization: %v", err)
			}
			var ids []string
			for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				id, err := c.CreateUserWithEmail(ctx, name+"."+email, "Given", "Family")
				if err != nil {
					t.Fatalf("CreateUserWithEmail(%s): %v", email, err)
				}
				ids = append(ids, id)
			}
			users := make([]management.OrgUser, len(ids))
			for i, id := range ids {
				users[i] = management.OrgUser{ID: id, Roles: []string{role.Key}}
			}
			added, err := c.AddOrganizationUsers(ctx, code, users)
			if err != nil {
				t.Fatalf("AddOrganizationUsers: %v", err)
			}
			if !slices.Equal(added, ids) {
				t.Errorf("added %v, want %v", added, ids)
			}

			one := 1
			var members []string
			for u, err := range c.OrganizationUsers(ctx, code, api.GetOrganizationUsersParams{PageSize: &one}) {
				if err != nil {
					t.Fatalf("OrganizationUsers: %v", err)
				}
				members = append(members, *u.ID)
			}
			slices.Sort(members)
			want := slices.Sorted(slices.Values(ids))
			if !slices.Equal(members, want) {
				t.Errorf("members %v, want %v", members, want)
			}

			two := 2
			seen := map[string]bool{}
			for u, err := range c.Users(ctx, api.GetUsersParams{PageSize: &two}) {
				if err != nil {
					t.Fatalf("Users: %v", err)
				}
				seen[*u.ID] = true
			}
			for _, id := range ids {
				if !seen[id] {
					t.Errorf("user %s missing from Users", id)
				}
			}

			var orgFound bool
			for o, err := range c.Organizations(ctx, api.GetOrganizationsParams{PageSize: &one}) {
				if err != nil {
					t.Fatalf("Organizations: %v", err)
				}
				orgFound = orgFound || *o.Code == code
			}
			if !orgFound {
				t.Errorf("organization %s missing from Organizations", code)
			}

			var roleFound bool
			for r, err := range c.Roles(ctx, api.GetRolesParams{PageSize: &one}) {
				if err != nil {
					t.Fatalf("Roles: %v", err)
				}
				roleFound = roleFound || *r.Key == role.Key
			}
			if !roleFound {
				t.Errorf("role %s missing from Roles", role.Key)
			}
			for _, err := range c.Permissions(ctx, api.GetPermissionsParams{}) {
				if err != nil {
					t.Fatalf("Permissions: %v", err)
				}
			}

			_, err = c.API().GetOrganizationWithResponse(ctx, &api.GetOrganizationParams{Code: "org_missing"})
			var apiErr *management.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode == http.StatusOK || len(apiErr.Errors) == 0 {
				t.Errorf("unknown organization: error = %v, want an *APIError with details", err)
			}

			if n := srv.Requests("/oauth2/token"); n != 1 {
				t.Errorf("token endpoint called %d times for many calls, want 1", n)
			}
		})
	}
}

func TestEmulatorRateLimit(t *testing.T) {
	srv := kindetest.Start(t)
	s := &sleeper{}
	c, err := management.New(context.Background(), management.Config{
		Domain:       srv.URL(),
		ClientID:     kindetest.DefaultM2MClientID,
		ClientSecret: kindetest.DefaultM2MClientSecret,
		HTTPClient:   srv.Client(),
		Sleep:        s.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFault("/api/v1/roles", kindetest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"Ratelimit-Reset": {"3"}}, Times: 1})
	for _, err := range c.Roles(context.Background(), api.GetRolesParams{}) {
		if err != nil {
			t.Fatalf("Roles: %v", err)
		}
	}
	if got := s.Delays(); len(got) != 1 || got[0].Seconds() != 3 {
		t.Errorf("delays = %v, want [3s]", got)
	}
	if n := srv.Requests("/api/v1/roles"); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}
