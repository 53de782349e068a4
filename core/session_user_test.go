package kinde_test

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func TestOrganization(t *testing.T) {
	f := newSessionFixture(t)
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true))
	tests := []struct {
		name    string
		session *kinde.Session
		want    kinde.Organization
	}{
		{"emulator token", f.session(t), kinde.Organization{Code: f.org.Code, Name: "Acme", Properties: map[string]any{"tier": "gold"}}},
		{"Hasura org code", hasura.session(t), kinde.Organization{Code: hasura.org.Code, Name: "Acme", Properties: map[string]any{"tier": "gold"}}},
		{"no organization", f.claimsSession(t, func(c map[string]any) {
			delete(c, "org_code")
			delete(c, "org_name")
			delete(c, "organization_properties")
		}), kinde.Organization{Properties: map[string]any{}}},
		{"wrong types", f.claimsSession(t, func(c map[string]any) {
			c["org_code"] = []string{"org_x"}
			c["org_name"] = 3
			c["organization_properties"] = "gold"
		}), kinde.Organization{Properties: map[string]any{}}},
		{"property shapes", f.claimsSession(t, func(c map[string]any) {
			c["organization_properties"] = map[string]any{
				"wrapped": map[string]any{"v": 12}, "float": map[string]any{"v": 1.5}, "empty": map[string]any{},
				"bare": "x", "flag": map[string]any{"v": true},
			}
		}), kinde.Organization{Code: f.org.Code, Name: "Acme", Properties: map[string]any{
			"wrapped": int64(12), "float": 1.5, "empty": nil, "bare": "x", "flag": true,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.Organization()
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Organization() = %#v; want %#v", got, tt.want)
			}
		})
	}
}

func TestUserOrganizations(t *testing.T) {
	f := newSessionFixture(t)
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true))
	accessOnly, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: f.tokens(t, kindetest.IssueOptions{}).AccessToken})
	must(t, err)
	hasuraAccessOnly, err := hasura.client.Session(context.Background(), &kinde.Tokens{AccessToken: hasura.tokens(t, kindetest.IssueOptions{}).AccessToken})
	must(t, err)
	tests := []struct {
		name    string
		session *kinde.Session
		want    []kinde.OrgRef
	}{
		{"ID token with names", f.session(t), []kinde.OrgRef{{f.org.Code, "Acme"}, {f.org2.Code, "Globex"}}},
		{"Hasura ID token", hasura.session(t), []kinde.OrgRef{{hasura.org.Code, "Acme"}, {hasura.org2.Code, "Globex"}}},
		{"no ID token", accessOnly, []kinde.OrgRef{}},
		{"Hasura access token only", hasuraAccessOnly, []kinde.OrgRef{{hasura.org.Code, ""}, {hasura.org2.Code, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.UserOrganizations()
			if got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("UserOrganizations() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

// idSession signs a hand-made ID token (from claims) next to a real access token.
func (f *sessionFixture) idSession(t *testing.T, idClaims map[string]any) *kinde.Session {
	t.Helper()
	tok := f.tokens(t, kindetest.IssueOptions{})
	now := time.Now()
	base := map[string]any{"iss": f.srv.URL(), "aud": []string{f.srv.ClientID()}, "sub": f.user.ID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	maps.Copy(base, idClaims)
	s, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: tok.AccessToken, IDToken: f.srv.Sign(base, kindetest.Header{})})
	must(t, err)
	return s
}

func TestUserOrganizationsShapes(t *testing.T) {
	f := newSessionFixture(t)
	tests := []struct {
		name string
		id   map[string]any
		want []kinde.OrgRef
	}{
		{"codes only", map[string]any{"org_codes": []string{"org_a", "org_b"}}, []kinde.OrgRef{{"org_a", ""}, {"org_b", ""}}},
		{"organizations only", map[string]any{"organizations": []any{map[string]any{"id": "org_a", "name": "A"}}}, []kinde.OrgRef{{"org_a", "A"}}},
		{"duplicates and blanks dropped", map[string]any{"org_codes": []string{"org_a", "", "org_a"}}, []kinde.OrgRef{{"org_a", ""}}},
		{"string instead of array", map[string]any{"org_codes": "org_a", "organizations": "org_a"}, []kinde.OrgRef{}},
		{"junk organizations", map[string]any{"org_codes": []string{"org_a"}, "organizations": []any{1, "x", map[string]any{"name": "no id"}, map[string]any{"id": "org_a", "name": "A"}}},
			[]kinde.OrgRef{{"org_a", "A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.idSession(t, tt.id).UserOrganizations()
			if got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("UserOrganizations() = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestUser(t *testing.T) {
	f := newSessionFixture(t)
	full := f.session(t)
	updated := time.Unix(f.user.UpdatedAt.Unix(), 0)
	accessOnly, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: full.AccessToken()})
	must(t, err)
	props := map[string]any{"city": "Berlin", "seats": int64(3)}
	tests := []struct {
		name    string
		session *kinde.Session
		want    kinde.User
	}{
		{"from the ID token", full, kinde.User{
			ID: f.user.ID, Email: "jane@example.com", EmailVerified: true, GivenName: "Jane", FamilyName: "Smith",
			Name: "Jane Smith", Picture: "https://example.com/jane.png", Username: "jane", ProvidedID: "ext-42",
			UpdatedAt: updated, Properties: props,
		}},
		{"access token fallback", accessOnly, kinde.User{ID: f.user.ID, Email: "jane@example.com", Properties: props}},
		{"wrong types in the ID token", f.idSession(t, map[string]any{
			"email": 1, "email_verified": "yes", "given_name": []string{"J"}, "updated_at": "soon", "user_properties": "x",
		}), kinde.User{ID: f.user.ID, Email: "jane@example.com", Properties: props}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.session.User()
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("User() =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestPropertyHelpers(t *testing.T) {
	f := newSessionFixture(t)
	s := f.session(t)
	bare := f.claimsSession(t, func(c map[string]any) {
		delete(c, "user_properties")
		delete(c, "organization_properties")
		delete(c, "application_properties")
	})
	tests := []struct {
		name string
		got  map[string]any
		want map[string]any
	}{
		{"user", s.UserProperties(), map[string]any{"city": "Berlin", "seats": int64(3)}},
		{"organization", s.OrganizationProperties(), map[string]any{"tier": "gold"}},
		{"application", s.ApplicationProperties(), map[string]any{"region": "eu"}},
		{"user absent", bare.UserProperties(), map[string]any{}},
		{"organization absent", bare.OrganizationProperties(), map[string]any{}},
		{"application absent", bare.ApplicationProperties(), map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got == nil || !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %#v; want %#v", tt.got, tt.want)
			}
		})
	}
}
