package kinde

import (
	"encoding/json"
	"math"
	"time"
)

// Organization is the organization the user signed in to.
type Organization struct {
	// Code is the org_code claim (or x-hasura-org-code), e.g. "org_1a2b3c4d5e6f".
	Code string
	// Name is the org_name claim, present when that token customization is on.
	Name string
	// Properties are the organization_properties, values unwrapped from
	// Kinde's {"v": value} form. Never nil.
	Properties map[string]any
}

// OrgRef names an organization the user belongs to.
type OrgRef struct {
	Code string
	Name string // "" unless the ID token carries the organizations claim
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
	ProvidedID    string // the user's ID in your own system, when imported
	UpdatedAt     time.Time
	// Properties are the user_properties, values unwrapped from {"v": value}.
	// Never nil.
	Properties map[string]any
}

// Organization returns the organization of the access token: org_code (or
// x-hasura-org-code), org_name and organization_properties. Code is "" when
// the user signed in without an organization.
func (s *Session) Organization() Organization {
	a, _ := s.snapshot()
	return Organization{
		Code:       stringClaimOf(a, claimOrgCode, claimHasuraOrgCode),
		Name:       stringClaimOf(a, "org_name"),
		Properties: s.OrganizationProperties(),
	}
}

// UserOrganizations returns the organizations the user belongs to: codes
// from the ID token's org_codes (or x-hasura-org-codes, also looked up in
// the access token), names from its organizations claim when present. Never
// nil.
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
	if raw, ok := lookup(id, "organizations"); ok {
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
		ID:         s.UserID(),
		Email:      str("email"),
		GivenName:  str("given_name"),
		FamilyName: str("family_name"),
		Name:       str("name"),
		Picture:    str("picture"),
		Username:   str("preferred_username"),
		ProvidedID: str("provided_id"),
		Properties: s.UserProperties(),
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

// UserProperties returns the user_properties claim of the ID token (else,
// or when that one is not an object, the access token's), values unwrapped from {"v": value}: strings, booleans,
// int64 for whole numbers, float64 for others. Never nil.
func (s *Session) UserProperties() map[string]any {
	a, id := s.snapshot()
	for _, c := range []*Claims{id, a} {
		if raw, ok := lookup(c, "user_properties"); ok {
			if props, ok := properties(raw); ok {
				return props
			}
		}
	}
	return map[string]any{}
}

// OrganizationProperties returns the organization_properties claim of the
// access token, values unwrapped as in UserProperties. Never nil.
func (s *Session) OrganizationProperties() map[string]any {
	a, _ := s.snapshot()
	raw, _ := lookup(a, "organization_properties")
	props, _ := properties(raw)
	return props
}

// ApplicationProperties returns the application_properties claim of the
// access token, values unwrapped as in UserProperties. Never nil.
func (s *Session) ApplicationProperties() map[string]any {
	a, _ := s.snapshot()
	raw, _ := lookup(a, "application_properties")
	props, _ := properties(raw)
	return props
}
