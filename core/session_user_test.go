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

// everyTokenClaim turns on every claim of Kinde's token customization.
func everyTokenClaim() kindetest.TokenCustomization {
	return kindetest.TokenCustomization{Roles: true, OrgName: true, Email: true, ExternalOrgID: true,
		OrgProperties: true, UserProperties: true, AppProperties: true,
		Organizations: true, IDOrgProperties: true, IDUserProperties: true}
}

// newIdentityFixture is the session fixture whose user has a phone number
// and a property without a value, and whose organization Acme has an
// external ID and a property without a value.
func newIdentityFixture(t *testing.T, opts ...kindetest.Option) *sessionFixture {
	t.Helper()
	f := newSessionFixture(t, opts...)
	f.user.Phone = "+61400000000"
	f.user.Properties = map[string]any{"city": "Berlin", "seats": 3, "postcode": nil}
	f.user = f.srv.AddUser(f.user)
	f.org.ExternalID = "acme-ext"
	f.org.Properties = map[string]any{"tier": "gold", "region": nil}
	f.org = f.srv.AddOrganization(f.org)
	return f
}

func TestOrganization(t *testing.T) {
	f := newIdentityFixture(t, kindetest.WithTokenCustomization(everyTokenClaim()))
	hasura := newIdentityFixture(t, kindetest.WithHasuraClaims(true), kindetest.WithTokenCustomization(everyTokenClaim()))
	kindeDefault := newIdentityFixture(t)
	idOnly := newIdentityFixture(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{IDOrgProperties: true}))
	tests := []struct {
		name    string
		session *kinde.Session
		want    kinde.Organization
	}{
		{"emulator token", f.session(t), kinde.Organization{Code: f.org.Code, Name: "Acme", ExternalID: "acme-ext", Properties: map[string]any{"tier": "gold", "region": nil}}},
		{"Hasura claims", hasura.session(t), kinde.Organization{Code: hasura.org.Code, Name: "Acme", ExternalID: "acme-ext", Properties: map[string]any{"tier": "gold", "region": nil}}},
		{"Kinde's default token: code only", kindeDefault.session(t), kinde.Organization{Code: kindeDefault.org.Code, Properties: map[string]any{}}},
		{"properties in the ID token only", idOnly.session(t), kinde.Organization{Code: idOnly.org.Code, Properties: map[string]any{"tier": "gold", "region": nil}}},
		{"no organization", f.claimsSession(t, func(c map[string]any) {
			delete(c, "org_code")
			delete(c, "org_name")
			delete(c, "external_organization_id")
			delete(c, "organization_properties")
		}), kinde.Organization{Properties: map[string]any{}}},
		{"wrong types", f.claimsSession(t, func(c map[string]any) {
			c["org_code"] = []string{"org_x"}
			c["org_name"] = 3
			c["external_organization_id"] = true
			c["organization_properties"] = "gold"
		}), kinde.Organization{Properties: map[string]any{}}},
		{"Hasura org name, external_org_id", f.claimsSession(t, func(c map[string]any) {
			delete(c, "org_name")
			delete(c, "external_organization_id")
			c["x-hasura-org-name"] = "Acme H"
			c["external_org_id"] = "ext-2"
		}), kinde.Organization{Code: f.org.Code, Name: "Acme H", ExternalID: "ext-2", Properties: map[string]any{"tier": "gold", "region": nil}}},
		{"property shapes", f.claimsSession(t, func(c map[string]any) {
			c["organization_properties"] = map[string]any{
				"wrapped": map[string]any{"v": 12}, "float": map[string]any{"v": 1.5}, "empty": map[string]any{},
				"bare": "x", "flag": map[string]any{"v": true},
			}
		}), kinde.Organization{Code: f.org.Code, Name: "Acme", ExternalID: "acme-ext", Properties: map[string]any{
			"wrapped": int64(12), "float": 1.5, "empty": nil, "bare": "x", "flag": true,
		}}},
		{"properties of both tokens, the access token's winning", f.idSession(t, map[string]any{
			"organization_properties": map[string]any{"tier": map[string]any{"v": "silver"}, "seats": map[string]any{"v": 9}},
		}), kinde.Organization{Code: f.org.Code, Name: "Acme", ExternalID: "acme-ext", Properties: map[string]any{
			"tier": "gold", "region": nil, "seats": int64(9),
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
	f := newSessionFixture(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{Organizations: true}))
	hasura := newSessionFixture(t, kindetest.WithHasuraClaims(true), kindetest.WithTokenCustomization(kindetest.TokenCustomization{Organizations: true}))
	kindeDefault := newSessionFixture(t)
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
		{"Kinde's default ID token: codes without names", kindeDefault.session(t), []kinde.OrgRef{{kindeDefault.org.Code, ""}, {kindeDefault.org2.Code, ""}}},
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
		{"Hasura organizations", map[string]any{"x-hasura-org-codes": []string{"org_a"}, "x-hasura-organizations": []any{map[string]any{"id": "org_a", "name": "A"}}}, []kinde.OrgRef{{"org_a", "A"}}},
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
	f := newIdentityFixture(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{UserProperties: true, IDUserProperties: true}))
	full := f.session(t)
	updated := time.Unix(f.user.UpdatedAt.Unix(), 0)
	accessOnly, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: full.AccessToken()})
	must(t, err)
	withEmail := newIdentityFixture(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{Email: true}))
	accessWithEmail, err := withEmail.client.Session(context.Background(), &kinde.Tokens{AccessToken: withEmail.tokens(t, kindetest.IssueOptions{}).AccessToken})
	must(t, err)
	kindeDefault := newIdentityFixture(t)
	props := map[string]any{"city": "Berlin", "seats": int64(3), "postcode": nil}
	jane := kinde.User{
		ID: f.user.ID, Email: "jane@example.com", EmailVerified: true, GivenName: "Jane", FamilyName: "Smith",
		Name: "Jane Smith", Picture: "https://example.com/jane.png", Username: "jane", PhoneNumber: "+61400000000",
		ProvidedID: "ext-42", UpdatedAt: updated, Properties: props,
	}
	janeByDefault := jane
	janeByDefault.ID, janeByDefault.UpdatedAt = kindeDefault.user.ID, time.Unix(kindeDefault.user.UpdatedAt.Unix(), 0)
	janeByDefault.Properties = map[string]any{}
	tests := []struct {
		name    string
		session *kinde.Session
		want    kinde.User
	}{
		{"from the ID token", full, jane},
		// Kinde's default tokens carry no properties: the token
		// customization adds them.
		{"Kinde's default tokens", kindeDefault.session(t), janeByDefault},
		// Kinde's default access token has no email either.
		{"access token only", accessOnly, kinde.User{ID: f.user.ID, Properties: props}},
		{"access token with the email claim", accessWithEmail, kinde.User{ID: withEmail.user.ID, Email: "jane@example.com", Properties: map[string]any{}}},
		{"wrong types in the ID token", f.idSession(t, map[string]any{
			"email": 1, "email_verified": "yes", "given_name": []string{"J"}, "updated_at": "soon", "user_properties": "x", "phone_number": 5,
		}), kinde.User{ID: f.user.ID, Properties: props}},
		{"properties of both tokens, the access token's winning", f.idSession(t, map[string]any{
			"user_properties": map[string]any{"city": map[string]any{"v": "Paris"}, "job": map[string]any{"v": "pilot"}},
		}), kinde.User{ID: f.user.ID, Properties: map[string]any{"city": "Berlin", "seats": int64(3), "postcode": nil, "job": "pilot"}}},
		{"Hasura user properties", f.idSession(t, map[string]any{
			"x-hasura-user_properties": map[string]any{"job": map[string]any{"v": "pilot"}},
		}), kinde.User{ID: f.user.ID, Properties: map[string]any{"city": "Berlin", "seats": int64(3), "postcode": nil, "job": "pilot"}}},
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

func TestApplicationProperties(t *testing.T) {
	f := newSessionFixture(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{AppProperties: true}))
	s := f.session(t)
	if got := newSessionFixture(t).session(t).ApplicationProperties(); got == nil || len(got) != 0 {
		t.Fatalf("ApplicationProperties() of Kinde's default token = %#v; want an empty map", got)
	}
	bare := f.claimsSession(t, func(c map[string]any) { delete(c, "application_properties") })
	if got := s.ApplicationProperties(); !reflect.DeepEqual(got, map[string]any{"region": "eu"}) {
		t.Fatalf("ApplicationProperties() = %#v", got)
	}
	if got := bare.ApplicationProperties(); got == nil || len(got) != 0 {
		t.Fatalf("ApplicationProperties() without the claim = %#v; want an empty map", got)
	}
}
