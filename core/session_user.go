package kinde

import (
	"encoding/json"
	"maps"
	"math"
	"time"
)

// Organization is the organization the user signed in to.
type Organization struct {
	// Code is the org_code claim (or x-hasura-org-code), e.g. "org_1a2b3c4d5e6f".
	Code string
	// Name is the org_name claim (or x-hasura-org-name). Kinde sends it only
	// when the application's token customization turns it on; without it
	// Name is "" (UserOrganizations may name the organization instead).
	Name string
	// ExternalID is the organization's ID in your own systems: the
	// external_organization_id claim (or external_org_id), present when the
	// token customization turns it on.
	ExternalID string
	// Properties are the organization_properties of the ID token and the
	// access token (or their x-hasura-organization_properties), the access
	// token's winning, values unwrapped from Kinde's {"v": value} form; a
	// property without a value maps to nil. Kinde sends them only for the
	// properties the token customization selects. Never nil.
	Properties map[string]any
}

// OrgRef names an organization the user belongs to.
type OrgRef struct {
	Code string
	// Name is "" unless the ID token carries the organizations claim, which
	// Kinde adds only when the token customization turns it on.
	Name string
}

// User holds the user's details from the ID token; claims the ID token lacks
// are taken from the access token.
type User struct {
	ID            string // sub
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Name          string
	Picture       string
	Username      string // preferred_username
	PhoneNumber   string // phone_number, when the user has one
	ProvidedID    string // the user's ID in your own system, when imported
	UpdatedAt     time.Time
	// Properties are the user_properties of the ID token and the access
	// token (or their x-hasura-user_properties), the access token's winning,
	// values unwrapped from {"v": value}; a property without a value maps to
	// nil. Never nil.
	Properties map[string]any
}

// Organization returns the organization of the access token: org_code (or
// x-hasura-org-code), org_name (or x-hasura-org-name), the external ID and
// the organization properties of both tokens. Code is "" when the user
// signed in without an organization; Name and ExternalID are "" unless the
// token customization adds them.
func (s *Session) Organization() Organization {
	a, id := s.snapshot()
	return Organization{
		Code:       stringClaimOf(a, claimOrgCode, claimHasuraOrgCode),
		Name:       stringClaimOf(a, "org_name", "x-hasura-org-name"),
		ExternalID: stringClaimOf(a, "external_organization_id", "external_org_id"),
		Properties: mergedProperties(id, a, "organization_properties", "x-hasura-organization_properties"),
	}
}

// UserOrganizations returns the organizations the user belongs to: codes
// from the ID token's org_codes (or x-hasura-org-codes, also looked up in
// the access token), names from its organizations claim (or
// x-hasura-organizations), which Kinde adds only when the token
// customization turns it on. Never nil.
func (s *Session) UserOrganizations() []OrgRef {
	a, id := s.snapshot()
	var codes []string
	for _, c := range []*Claims{id, a} {
		if raw, ok := lookup(c, "org_codes", "x-hasura-org-codes"); ok {
			if codes = stringList(raw); codes != nil {
				break
			}
		}
	}
	type namedOrg struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var named []namedOrg
	if raw, ok := lookup(id, "organizations", "x-hasura-organizations"); ok {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			for _, it := range items {
				var o namedOrg
				if json.Unmarshal(it, &o) == nil && o.ID != "" {
					named = append(named, o)
				}
			}
		}
	}
	out := make([]OrgRef, 0, len(codes))
	seen := map[string]bool{}
	for _, code := range codes {
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		ref := OrgRef{Code: code}
		for _, o := range named {
			if o.ID == code {
				ref.Name = o.Name
				break
			}
		}
		out = append(out, ref)
	}
	for _, o := range named {
		if !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, OrgRef{Code: o.ID, Name: o.Name})
		}
	}
	return out
}

// User returns the user's details from the ID token, falling back claim by
// claim to the access token (for sessions kept without an ID token).
func (s *Session) User() User {
	a, id := s.snapshot()
	str := func(name string) string {
		if v := stringClaimOf(id, name); v != "" {
			return v
		}
		return stringClaimOf(a, name)
	}
	u := User{
		ID:          s.UserID(),
		Email:       str("email"),
		GivenName:   str("given_name"),
		FamilyName:  str("family_name"),
		Name:        str("name"),
		Picture:     str("picture"),
		Username:    str("preferred_username"),
		PhoneNumber: str("phone_number"),
		ProvidedID:  str("provided_id"),
		Properties:  mergedProperties(id, a, "user_properties", "x-hasura-user_properties"),
	}
	for _, c := range []*Claims{id, a} {
		if raw, ok := lookup(c, "email_verified"); ok {
			if json.Unmarshal(raw, &u.EmailVerified) == nil {
				break
			}
		}
	}
	for _, c := range []*Claims{id, a} {
		if raw, ok := lookup(c, "updated_at"); ok {
			var f float64
			if json.Unmarshal(raw, &f) == nil && f > 0 && f < math.MaxInt32*100 {
				u.UpdatedAt = time.Unix(int64(f), 0)
				break
			}
		}
	}
	return u
}

// mergedProperties reads the properties claim (the first of names present)
// of the ID token, then of the access token, whose entries win. Never nil.
func mergedProperties(id, access *Claims, names ...string) map[string]any {
	out := map[string]any{}
	for _, c := range []*Claims{id, access} {
		if raw, ok := lookup(c, names...); ok {
			props, _ := properties(raw)
			maps.Copy(out, props)
		}
	}
	return out
}

// ApplicationProperties returns the application_properties claim of the
// access token, values unwrapped from {"v": value} as in User.Properties.
// Never nil.
func (s *Session) ApplicationProperties() map[string]any {
	a, _ := s.snapshot()
	raw, _ := lookup(a, "application_properties")
	props, _ := properties(raw)
	return props
}
