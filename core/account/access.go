package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gokinde/kinde/core/internal/jsonvalue"
	"math"
	"net/url"

	kinde "github.com/gokinde/kinde/core"
)

// The methods below ask the Account API for what the token helpers of
// *kinde.Session read from the claims. The API sees changes made since
// sign-in, at the cost of a request (or one per page).

type idKeyName struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Permissions returns the user's permissions in their current organization
// (GET /account_api/v1/permissions, every page).
func (c *Client) Permissions(ctx context.Context, opts ...Option) (kinde.Permissions, error) {
	out := kinde.Permissions{Keys: []string{}}
	err := paginate(ctx, c, "permissions", options(opts), func(d struct {
		OrgCode     string      `json:"org_code"`
		Permissions []idKeyName `json:"permissions"`
	}) bool {
		if out.OrgCode == "" {
			out.OrgCode = d.OrgCode
		}
		for _, p := range d.Permissions {
			if p.Key != "" {
				out.Keys = append(out.Keys, p.Key)
			}
		}
		return true
	})
	if err != nil {
		return kinde.Permissions{}, err
	}
	return out, nil
}

// permissionReply reads both shapes of GET /account_api/v1/permission/{key}.
// js-utils' getPermission returns the reply as {permissionKey, orgCode,
// isGranted} at the top level (its test mocks that shape); a reply wrapped
// in "data", in camelCase or snake_case, is read too.
type permissionReply struct {
	Key       *string `json:"permissionKey"`
	KeySnake  *string `json:"permission_key"`
	Org       *string `json:"orgCode"`
	OrgSnake  *string `json:"org_code"`
	Granted   *bool   `json:"isGranted"`
	GrantedSn *bool   `json:"is_granted"`
}

func (r permissionReply) result() (key, org string, granted, ok bool) {
	first := func(vs ...*string) string {
		for _, v := range vs {
			if v != nil {
				return *v
			}
		}
		return ""
	}
	switch {
	case r.Granted != nil:
		granted, ok = *r.Granted, true
	case r.GrantedSn != nil:
		granted, ok = *r.GrantedSn, true
	}
	return first(r.Key, r.KeySnake), first(r.Org, r.OrgSnake), granted, ok
}

// Permission asks the Account API whether the user holds the permission key
// in their current organization (GET /account_api/v1/permission/{key}). A
// reply that does not say whether the permission is granted, or that
// answers for another key, is an error.
func (c *Client) Permission(ctx context.Context, key string) (kinde.PermissionResult, error) {
	if key == "" {
		return kinde.PermissionResult{}, errors.New("account: Permission needs a permission key")
	}
	var body struct {
		permissionReply
		Data *permissionReply `json:"data"`
	}
	route := "permission/" + url.PathEscape(key)
	if err := c.get(ctx, route, nil, &body); err != nil {
		return kinde.PermissionResult{}, err
	}
	replyKey, org, granted, ok := body.permissionReply.result()
	if !ok && body.Data != nil {
		replyKey, org, granted, ok = body.Data.result()
	}
	if !ok {
		return kinde.PermissionResult{}, fmt.Errorf("account: GET /account_api/v1/%s: the reply does not say whether the permission is granted (no isGranted)", route)
	}
	if replyKey != "" && replyKey != key {
		return kinde.PermissionResult{}, fmt.Errorf("account: GET /account_api/v1/%s: the reply is for permission %q, not %q", route, clip(replyKey, 100), key)
	}
	return kinde.PermissionResult{Key: key, OrgCode: org, Granted: granted}, nil
}

// Roles returns the user's roles in their current organization from the
// Account API (GET /account_api/v1/roles, every page). Use it when the
// access token has no roles claim: Kinde adds that claim only when the
// application's token customization turns it on.
func (c *Client) Roles(ctx context.Context, opts ...Option) ([]kinde.Role, error) {
	out := []kinde.Role{}
	err := paginate(ctx, c, "roles", options(opts), func(d struct {
		Roles []idKeyName `json:"roles"`
	}) bool {
		for _, r := range d.Roles {
			if r.Key != "" {
				out = append(out, kinde.Role{ID: r.ID, Key: r.Key, Name: r.Name})
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RolesFromTokenOrAPI returns the roles of the access token's roles claim
// (or x-hasura-roles) when the token has one, as kinde.Session.Roles reads
// them, and otherwise asks the Account API (Roles), as js-utils' getRoles
// does. Only the second case makes a request.
func (c *Client) RolesFromTokenOrAPI(ctx context.Context, opts ...Option) ([]kinde.Role, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	for _, name := range []string{"roles", "x-hasura-roles"} {
		if v := c.s.Claim(name); v.Present && !v.IsNull() {
			return c.s.Roles(), nil
		}
	}
	return c.Roles(ctx, opts...)
}

// Flags returns the user's feature flags from the Account API (GET
// /account_api/v1/feature_flags, every page), by key. Entries of an unknown
// type, or whose value does not fit their type, are skipped.
func (c *Client) Flags(ctx context.Context, opts ...Option) (map[string]kinde.FlagValue, error) {
	out := map[string]kinde.FlagValue{}
	err := paginate(ctx, c, "feature_flags", options(opts), func(d struct {
		Flags []struct {
			Key   string          `json:"key"`
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"feature_flags"`
	}) bool {
		for _, f := range d.Flags {
			if f.Key == "" {
				continue
			}
			if fv, ok := parseFlag(f.Key, f.Type, f.Value); ok {
				out[f.Key] = fv
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseFlag reads a flag of the Account API, whose type is spelled out
// ("boolean", "integer", "string", "object"); the token's short codes are
// accepted too.
func parseFlag(code, typ string, raw json.RawMessage) (kinde.FlagValue, bool) {
	fv := kinde.FlagValue{Code: code}
	if len(raw) == 0 {
		return fv, false
	}
	switch typ {
	case "b", "boolean":
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return fv, false
		}
		fv.Type, fv.Value = kinde.FlagBoolean, b
	case "i", "integer":
		i, ok := wholeInt(raw)
		if !ok {
			return fv, false
		}
		fv.Type, fv.Value = kinde.FlagInteger, i
	case "s", "string":
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fv, false
		}
		fv.Type, fv.Value = kinde.FlagString, s
	case "o", "j", "json", "object":
		if !json.Valid(raw) {
			return fv, false
		}
		// As in the token: a JSON flag's value is its JSON.
		fv.Type, fv.Value = kinde.FlagJSON, json.RawMessage(bytes.Clone(raw))
	default:
		return fv, false
	}
	return fv, true
}

// wholeInt reads a JSON number holding a whole value (12 or 12.0).
func wholeInt(raw json.RawMessage) (int64, bool) {
	v, err := jsonvalue.Decode(raw)
	switch x := v.(type) {
	case int64:
		return x, err == nil
	case float64:
		if err == nil && x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Properties returns the user's properties from the Account API (GET
// /account_api/v1/properties, every page), by key. Values are decoded as
// kinde.Session.UserProperties decodes them: whole numbers as int64.
func (c *Client) Properties(ctx context.Context, opts ...Option) (map[string]any, error) {
	out := map[string]any{}
	err := paginate(ctx, c, "properties", options(opts), func(d struct {
		Properties []struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	}) bool {
		for _, p := range d.Properties {
			if p.Key == "" {
				continue
			}
			v, err := jsonvalue.Decode(p.Value)
			if err != nil {
				v = nil
			}
			out[p.Key] = v
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
