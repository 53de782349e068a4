package management

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gokinde/kinde/management/api"
)

// OrganizationOption sets optional fields of a new organization.
type OrganizationOption func(*api.CreateOrganizationJSONRequestBody)

// WithExternalID sets the organization's id in your own system.
func WithExternalID(id string) OrganizationOption {
	return func(b *api.CreateOrganizationJSONRequestBody) { b.ExternalID = &id }
}

// WithHandle sets the organization's unique handle.
func WithHandle(handle string) OrganizationOption {
	return func(b *api.CreateOrganizationJSONRequestBody) { b.Handle = &handle }
}

// CreateOrganization creates an organization and returns its code. For fields without an
// option, write your own OrganizationOption or call API().CreateOrganizationWithResponse.
func (c *Client) CreateOrganization(ctx context.Context, name string, opts ...OrganizationOption) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("kinde management: CreateOrganization needs a non-empty name")
	}
	body := api.CreateOrganizationJSONRequestBody{Name: name}
	for _, o := range opts {
		o(&body)
	}
	res, err := c.api.CreateOrganizationWithResponse(ctx, body)
	out, err := decoded(res, err, func(r *api.CreateOrganizationResult) *api.CreateOrganizationResponse { return r.JSON200 })
	if err != nil {
		return "", err
	}
	if out.Organization == nil || deref(out.Organization.Code) == "" {
		return "", fmt.Errorf("kinde management: create organization %q: the reply holds no organization code", name)
	}
	return *out.Organization.Code, nil
}

// UserOption sets optional fields of a new user.
type UserOption func(*api.CreateUserJSONRequestBody)

// WithOrganizationCode adds the new user to the organization with this code.
func WithOrganizationCode(code string) UserOption {
	return func(b *api.CreateUserJSONRequestBody) { b.OrganizationCode = &code }
}

// WithProvidedID sets the user's id in your own system.
func WithProvidedID(id string) UserOption {
	return func(b *api.CreateUserJSONRequestBody) { b.ProvidedID = &id }
}

// CreateUserWithEmail creates a user whose sign-in identity is email, and returns the new
// user's id. givenName and familyName may be empty.
func (c *Client) CreateUserWithEmail(ctx context.Context, email, givenName, familyName string, opts ...UserOption) (string, error) {
	if strings.TrimSpace(email) == "" {
		return "", errors.New("kinde management: CreateUserWithEmail needs a non-empty email")
	}
	typ := api.CreateUserJSONBodyIdentitiesTypeEmail
	body := api.CreateUserJSONRequestBody{
		Profile: &api.CreateUserJSONBody_Profile{GivenName: nonEmpty(givenName), FamilyName: nonEmpty(familyName)},
		Identities: &[]api.CreateUserJSONBody_Identities{{
			Type:    &typ,
			Details: &api.CreateUserJSONBody_Identities_Details{Email: &email},
		}},
	}
	for _, o := range opts {
		o(&body)
	}
	res, err := c.api.CreateUserWithResponse(ctx, body)
	out, err := decoded(res, err, func(r *api.CreateUserResult) *api.CreateUserResponse { return r.JSON200 })
	if err != nil {
		return "", err
	}
	if deref(out.ID) == "" {
		return "", errors.New("kinde management: create user: the reply holds no user id")
	}
	return *out.ID, nil
}

// OrgUser is a user to add to an organization, with the keys of the roles and permissions to
// grant there.
type OrgUser struct {
	ID          string
	Roles       []string
	Permissions []string
}

// AddOrganizationUsers adds users to the organization orgCode and returns the ids Kinde reports
// as added.
func (c *Client) AddOrganizationUsers(ctx context.Context, orgCode string, users []OrgUser) ([]string, error) {
	if strings.TrimSpace(orgCode) == "" {
		return nil, errors.New("kinde management: AddOrganizationUsers needs an organization code")
	}
	list := make([]api.AddOrganizationUsersJSONBody_Users, 0, len(users))
	for _, u := range users {
		if u.ID == "" {
			return nil, errors.New("kinde management: AddOrganizationUsers: every OrgUser needs an ID")
		}
		entry := api.AddOrganizationUsersJSONBody_Users{ID: &u.ID}
		if len(u.Roles) > 0 {
			entry.Roles = &u.Roles
		}
		if len(u.Permissions) > 0 {
			entry.Permissions = &u.Permissions
		}
		list = append(list, entry)
	}
	res, err := c.api.AddOrganizationUsersWithResponse(ctx, orgCode, api.AddOrganizationUsersJSONRequestBody{Users: &list})
	out, err := decoded(res, err, func(r *api.AddOrganizationUsersResult) *api.AddOrganizationUsersResponse { return r.JSON200 })
	if err != nil {
		return nil, err
	}
	return deref(out.UsersAdded), nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
