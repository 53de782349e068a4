package kinde

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// Claim names read by the permission and role helpers; the x-hasura-*
// variants are used when the plain claim is absent (Kinde's Hasura token
// integration renames them).
const (
	claimPermissions       = "permissions"
	claimHasuraPermissions = "x-hasura-permissions"
	claimRoles             = "roles"
	claimHasuraRoles       = "x-hasura-roles"
	claimOrgCode           = "org_code"
	claimHasuraOrgCode     = "x-hasura-org-code"
	claimScp               = "scp"
	claimScope             = "scope"
)

// Permissions are the permission keys the user holds in the organization
// they signed in to.
type Permissions struct {
	// OrgCode is the organization the permissions apply to ("" without one).
	OrgCode string
	// Keys are the permission keys, e.g. "create:todos". Never nil.
	Keys []string
}

// PermissionResult says whether the user holds one permission.
type PermissionResult struct {
	Key     string
	OrgCode string
	Granted bool
}

// claimLists holds the list claims of one Claims, each decoded on first use.
// Claims are immutable and shared (the verified-token cache hands the same
// Claims to every request with the token), so each list is decoded once per
// token, not once per request; callers outside this file get copies.
type claimLists struct {
	permsOnce  sync.Once
	perms      Permissions
	rolesOnce  sync.Once
	roles      []Role
	scopesOnce sync.Once
	scopes     []string
}

// permissions returns the decoded permissions of c, shared: never modify.
func (c *Claims) permissions() *Permissions {
	if c == nil {
		return &Permissions{Keys: []string{}}
	}
	l := &c.lists
	l.permsOnce.Do(func() {
		l.perms = Permissions{OrgCode: stringClaimOf(c, claimOrgCode, claimHasuraOrgCode), Keys: []string{}}
		if raw, ok := lookup(c, claimPermissions, claimHasuraPermissions); ok {
			if keys := stringList(raw); keys != nil {
				l.perms.Keys = slices.Clip(keys)
			}
		}
	})
	return &l.perms
}

// rolesList returns the decoded roles of c, shared: never modify.
func (c *Claims) rolesList() []Role {
	if c == nil {
		return []Role{}
	}
	l := &c.lists
	l.rolesOnce.Do(func() { l.roles = slices.Clip(decodeRoles(c)) })
	return l.roles
}

// scopeList returns the decoded scopes of c, shared: never modify.
func (c *Claims) scopeList() []string {
	if c == nil {
		return []string{}
	}
	l := &c.lists
	l.scopesOnce.Do(func() { l.scopes = slices.Clip(tokenScopes(c)) })
	return l.scopes
}

// Permissions returns the permissions of the access token's permissions
// claim (or x-hasura-permissions) and its org_code (or x-hasura-org-code).
// A missing or malformed claim gives no keys; it never panics. The claim is
// decoded once per token; Keys is a copy the caller may modify.
func (s *Session) Permissions() Permissions {
	a, _ := s.snapshot()
	p := *a.permissions()
	p.Keys = slices.Clone(p.Keys)
	return p
}

// Permission reports whether the access token grants the permission key
// (exact match).
func (s *Session) Permission(key string) PermissionResult {
	a, _ := s.snapshot()
	p := a.permissions()
	return PermissionResult{Key: key, OrgCode: p.OrgCode, Granted: key != "" && slices.Contains(p.Keys, key)}
}

// HasPermissions reports whether the user holds every one of keys. With no
// keys it reports true.
func (s *Session) HasPermissions(keys ...string) bool {
	a, _ := s.snapshot()
	have := a.permissions().Keys
	for _, k := range keys {
		if k == "" || !slices.Contains(have, k) {
			return false
		}
	}
	return true
}

// Role is a role the user holds in the organization they signed in to.
type Role struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Roles returns the roles of the access token's roles claim (or
// x-hasura-roles). Entries may be objects {id, key, name} or plain strings
// (taken as the key); others are skipped.
//
// Kinde adds the roles claim only when the application's token
// customization turns it on (Settings > Applications > Tokens > Token
// customization > access token > roles). Without it, and for a malformed
// claim, Roles returns an empty slice and HasRoles is false for any key:
// turn the claim on, or ask Kinde's Account API with package account
// (account.Client.Roles, or RolesFromTokenOrAPI, which reads the claim when
// present and calls the Account API otherwise), an explicit network call.
//
// The claim is decoded once per token; the slice is a copy the caller may
// modify.
func (s *Session) Roles() []Role {
	a, _ := s.snapshot()
	return slices.Clone(a.rolesList())
}

func decodeRoles(a *Claims) []Role {
	out := []Role{}
	raw, ok := lookup(a, claimRoles, claimHasuraRoles)
	if !ok {
		return out
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return out
	}
	for _, it := range items {
		var key string
		if json.Unmarshal(it, &key) == nil {
			if key != "" {
				out = append(out, Role{Key: key})
			}
			continue
		}
		var r Role
		if json.Unmarshal(it, &r) == nil && r.Key != "" {
			out = append(out, r)
		}
	}
	return out
}

// HasRoles reports whether the user holds every one of the role keys. With
// no keys it reports true. It reads Roles, so without the roles claim (see
// Roles) it is false for any key.
//
// Every key is required. For any-of semantics, call HasRoles once per key.
func (s *Session) HasRoles(keys ...string) bool {
	a, _ := s.snapshot()
	roles := a.rolesList()
	for _, k := range keys {
		if k == "" || !slices.ContainsFunc(roles, func(r Role) bool { return r.Key == k }) {
			return false
		}
	}
	return true
}

// Scopes returns the scopes granted to the access token: its scp claim (an
// array, in user and M2M tokens), or else its scope claim (a space-separated
// string, in M2M tokens). Duplicates and empty entries are dropped. Never nil.
// The claim is decoded once per token; the slice is a copy the caller may
// modify.
func (s *Session) Scopes() []string {
	a, _ := s.snapshot()
	return slices.Clone(a.scopeList())
}

func tokenScopes(c *Claims) []string {
	var list []string
	if raw, ok := lookup(c, claimScp); ok {
		list = stringList(raw)
	}
	if list == nil {
		if str := stringClaimOf(c, claimScope); str != "" {
			list = strings.Fields(str)
		}
	}
	out := make([]string, 0, len(list))
	for _, sc := range list {
		if sc != "" && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// HasScopes reports whether the access token grants every one of scopes
// (exact match, see Scopes). With no scopes it reports true.
func (s *Session) HasScopes(scopes ...string) bool {
	if len(scopes) == 0 {
		return true
	}
	a, _ := s.snapshot()
	have := a.scopeList()
	for _, sc := range scopes {
		if sc == "" || !slices.Contains(have, sc) {
			return false
		}
	}
	return true
}
