package kindetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type mgmtHandler func(w http.ResponseWriter, r *http.Request, p map[string]string)

type mgmtRoute struct {
	method  string
	pattern []string
	scope   string
	h       mgmtHandler
}

func (s *Server) managementRouter() http.Handler {
	def := func(method, pattern, scope string, h mgmtHandler) mgmtRoute {
		return mgmtRoute{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), scope: scope, h: h}
	}
	routes := []mgmtRoute{
		def("GET", "/api/v1/users", "read:users", s.mListUsers),
		def("GET", "/api/v1/user", "read:users", s.mGetUser),
		def("POST", "/api/v1/user", "create:users", s.mCreateUser),
		def("PATCH", "/api/v1/user", "update:users", s.mUpdateUser),
		def("DELETE", "/api/v1/user", "delete:users", s.mDeleteUser),
		def("GET", "/api/v1/organizations", "read:organizations", s.mListOrgs),
		def("GET", "/api/v1/organization", "read:organizations", s.mGetOrg),
		def("POST", "/api/v1/organization", "create:organizations", s.mCreateOrg),
		def("PATCH", "/api/v1/organization/{org_code}", "update:organizations", s.mUpdateOrg),
		def("DELETE", "/api/v1/organization/{org_code}", "delete:organizations", s.mDeleteOrg),
		def("GET", "/api/v1/organizations/{org_code}/users", "read:organization_users", s.mListOrgUsers),
		def("POST", "/api/v1/organizations/{org_code}/users", "create:organization_users", s.mAddOrgUsers),
		def("DELETE", "/api/v1/organizations/{org_code}/users/{user_id}", "delete:organization_users", s.mRemoveOrgUser),
		def("GET", "/api/v1/organizations/{org_code}/users/{user_id}/roles", "read:organization_user_roles", s.mOrgUserRoles),
		def("POST", "/api/v1/organizations/{org_code}/users/{user_id}/roles", "create:organization_user_roles", s.mAddOrgUserRole),
		def("DELETE", "/api/v1/organizations/{org_code}/users/{user_id}/roles/{role_id}", "delete:organization_user_roles", s.mDeleteOrgUserRole),
		def("GET", "/api/v1/organizations/{org_code}/users/{user_id}/permissions", "read:organization_user_permissions", s.mOrgUserPerms),
		def("GET", "/api/v1/roles", "read:roles", s.mListRoles),
		def("POST", "/api/v1/roles", "create:roles", s.mCreateRole),
		def("GET", "/api/v1/permissions", "read:permissions", s.mListPerms),
		def("POST", "/api/v1/permissions", "create:permissions", s.mCreatePerm),
		def("POST", "/api/v1/feature_flags", "create:feature_flags", s.mCreateFlag),
		def("PATCH", "/api/v1/organizations/{org_code}/feature_flags/{feature_flag_key}", "update:organization_feature_flags", s.mOrgFlag),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		for _, rt := range routes {
			p, ok := matchRoute(rt.pattern, segs)
			if !ok || rt.method != r.Method {
				continue
			}
			if !s.mgmtAuthorized(w, r, rt.scope) {
				return
			}
			rt.h(w, r, p)
			return
		}
		notFound(w)
	})
}

func matchRoute(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	p := map[string]string{}
	for i, seg := range pattern {
		if strings.HasPrefix(seg, "{") {
			if segs[i] == "" {
				return nil, false
			}
			p[strings.Trim(seg, "{}")] = segs[i]
			continue
		}
		if seg != segs[i] {
			return nil, false
		}
	}
	return p, true
}

// mgmtAuthorized checks for an M2M token for the management audience that
// carries scope (when the token lists scopes).
func (s *Server) mgmtAuthorized(w http.ResponseWriter, r *http.Request, scope string) bool {
	tok, ok := bearer(r)
	if !ok {
		writeAPIError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Missing bearer token")
		return false
	}
	s.mu.Lock()
	claims, ok := s.checkTokenLocked(tok)
	s.mu.Unlock()
	if !ok || !audContains(claims["aud"], s.ManagementAudience()) || claims["gty"] == nil {
		writeAPIError(w, http.StatusForbidden, "INVALID_CREDENTIALS", "Invalid credentials")
		return false
	}
	if scp, _ := claims["scp"].([]any); len(scp) > 0 && !slices.Contains(scp, any(scope)) {
		writeAPIError(w, http.StatusForbidden, "INSUFFICIENT_SCOPE", "The access token is missing the scope "+scope)
		return false
	}
	return true
}

func audContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}

func success(extra kv) kv {
	out := kv{"code": "OK", "message": "Success"}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// pageToken applies page_size and next_token to n items and returns the
// slice bounds and the next token ("" when done).
// writeListPage answers a next_token listing of keys under name, one item each.
func writeListPage(w http.ResponseWriter, r *http.Request, name string, keys []string, item func(key string) kv) {
	start, end, next, good := pageToken(w, r, len(keys))
	if !good {
		return
	}
	out := []kv{}
	for _, k := range keys[start:end] {
		out = append(out, item(k))
	}
	writeJSON(w, http.StatusOK, withNext(success(kv{name: out}), next))
}

func pageToken(w http.ResponseWriter, r *http.Request, n int) (int, int, string, bool) {
	q := r.URL.Query()
	size := 10
	if v := q.Get("page_size"); v != "" {
		sz, err := strconv.Atoi(v)
		if err != nil || sz < 1 {
			writeAPIError(w, http.StatusBadRequest, "INVALID_PAGE_SIZE", "page_size must be a positive integer")
			return 0, 0, "", false
		}
		if sz > 500 {
			writeAPIError(w, http.StatusBadRequest, "PAGE_SIZE_LIMIT_EXCEEDED", "Page size cannot be greater than 500")
			return 0, 0, "", false
		}
		size = sz
	}
	start := 0
	if t := q.Get("next_token"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		off, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "off:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "off:") || off < 0 {
			writeAPIError(w, http.StatusBadRequest, "INVALID_NEXT_TOKEN", "next_token is invalid")
			return 0, 0, "", false
		}
		start = min(off, n)
	}
	end := min(start+size, n)
	next := ""
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(end)))
	}
	return start, end, next, true
}

func withNext(body kv, next string) kv {
	if next != "" {
		body["next_token"] = next
	}
	return body
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeAPIError(w, http.StatusBadRequest, "INVALID_JSON", "Request body is not valid JSON")
		return false
	}
	return true
}

func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (st *state) userJSON(u *User) kv {
	return kv{
		"id": u.ID, "provided_id": u.ProvidedID, "email": u.Email, "preferred_email": u.Email, "phone": u.Phone,
		"username": u.Username, "last_name": u.FamilyName, "first_name": u.GivenName, "is_suspended": u.Suspended,
		"picture": u.Picture, "total_sign_ins": u.TotalSignIns, "failed_sign_ins": 0,
		"last_signed_in": isoTime(u.LastSignedIn), "created_on": isoTime(u.CreatedOn),
		"organizations": nonNil(st.userOrgs[u.ID]),
	}
}

func (s *Server) mListUsers(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	var ids []string
	for _, id := range s.st.userOrder {
		u := s.st.users[id]
		if (q.Get("email") == "" || strings.EqualFold(u.Email, q.Get("email"))) && (q.Get("user_id") == "" || u.ID == q.Get("user_id")) {
			ids = append(ids, id)
		}
	}
	writeListPage(w, r, "users", ids, func(id string) kv { return s.st.userJSON(s.st.users[id]) })
}

func (s *Server) userParam(w http.ResponseWriter, r *http.Request) (*User, bool) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeAPIError(w, http.StatusBadRequest, "ID_REQUIRED", "ID is required")
		return nil, false
	}
	u, found := s.st.users[id]
	if !found {
		writeAPIError(w, http.StatusBadRequest, "USER_INVALID", "User invalid")
		return nil, false
	}
	return u, true
}

func (s *Server) mGetUser(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, good := s.userParam(w, r); good {
		writeJSON(w, http.StatusOK, s.st.userJSON(u))
	}
}

func (s *Server) mCreateUser(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body struct {
		Profile struct {
			GivenName  string `json:"given_name"`
			FamilyName string `json:"family_name"`
			Picture    string `json:"picture"`
		} `json:"profile"`
		OrganizationCode string `json:"organization_code"`
		ProvidedID       string `json:"provided_id"`
		Identities       []struct {
			Type    string `json:"type"`
			Details struct {
				Email    string `json:"email"`
				Phone    string `json:"phone"`
				Username string `json:"username"`
			} `json:"details"`
		} `json:"identities"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	u := User{GivenName: body.Profile.GivenName, FamilyName: body.Profile.FamilyName, Picture: body.Profile.Picture, ProvidedID: body.ProvidedID}
	idents := []kv{}
	for _, id := range body.Identities {
		switch id.Type {
		case "email":
			u.Email = id.Details.Email
		case "phone":
			u.Phone = id.Details.Phone
		case "username":
			u.Username = id.Details.Username
		default:
			writeAPIError(w, http.StatusBadRequest, "INVALID_IDENTITY_TYPE", "Identity type must be email, phone or username")
			return
		}
		idents = append(idents, kv{"type": id.Type, "result": kv{"created": true}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Email != "" {
		for _, other := range s.st.users {
			if strings.EqualFold(other.Email, u.Email) {
				writeAPIError(w, http.StatusBadRequest, "EMAIL_ALREADY_EXISTS", "A user with this email already exists")
				return
			}
		}
	}
	if c := body.OrganizationCode; c != "" {
		if _, found := s.st.orgs[c]; !found {
			writeJSON(w, http.StatusBadRequest, kv{"errors": []apiError{{Code: "ORGANIZATION_NOT_FOUND", Message: "Organization not found", Field: "organization_code"}}})
			return
		}
	}
	u = s.st.addUser(u)
	if c := body.OrganizationCode; c != "" {
		_ = s.st.addMember(c, u.ID, s.st.defaultRoles()...) // both exist
	}
	writeJSON(w, http.StatusOK, kv{"id": u.ID, "created": true, "identities": idents})
}

func (s *Server) mUpdateUser(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body struct {
		GivenName   *string `json:"given_name"`
		FamilyName  *string `json:"family_name"`
		Picture     *string `json:"picture"`
		IsSuspended *bool   `json:"is_suspended"`
		ProvidedID  *string `json:"provided_id"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, good := s.userParam(w, r)
	if !good {
		return
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.GivenName, body.GivenName)
	set(&u.FamilyName, body.FamilyName)
	set(&u.Picture, body.Picture)
	set(&u.ProvidedID, body.ProvidedID)
	if body.IsSuspended != nil {
		u.Suspended = *body.IsSuspended
	}
	u.UpdatedAt = s.st.now()
	writeJSON(w, http.StatusOK, kv{"id": u.ID, "given_name": u.GivenName, "family_name": u.FamilyName, "email": u.Email,
		"is_suspended": u.Suspended, "is_password_reset_requested": false, "picture": u.Picture})
}

func (s *Server) mDeleteUser(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, good := s.userParam(w, r)
	if !good {
		return
	}
	st := &s.st
	for _, code := range slices.Clone(st.userOrgs[u.ID]) {
		_ = st.removeMember(code, u.ID) // membership exists
	}
	for _, g := range st.grants {
		if g.userID == u.ID {
			st.revokeGrant(g)
		}
	}
	for id, ss := range st.sso {
		if ss.userID == u.ID {
			delete(st.sso, id)
		}
	}
	delete(st.users, u.ID)
	delete(st.userOrgs, u.ID)
	delete(st.userFlags, u.ID)
	st.userOrder = slices.DeleteFunc(st.userOrder, func(id string) bool { return id == u.ID })
	writeJSON(w, http.StatusOK, success(nil))
}

func (st *state) orgJSON(o *Organization) kv {
	return kv{"code": o.Code, "name": o.Name, "handle": nullStr(o.Handle), "is_default": o.IsDefault,
		"external_id": nullStr(o.ExternalID), "is_auto_membership_enabled": false}
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) mListOrgs(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := slices.Clone(s.st.orgOrder)
	switch sort := r.URL.Query().Get("sort"); sort {
	case "", "name_asc", "name_desc":
		if sort != "" {
			slices.SortStableFunc(codes, func(a, b string) int { return strings.Compare(s.st.orgs[a].Name, s.st.orgs[b].Name) })
			if sort == "name_desc" {
				slices.Reverse(codes)
			}
		}
	case "email_asc", "email_desc":
	default:
		writeAPIError(w, http.StatusBadRequest, "INVALID_SORT", "sort must be one of name_asc, name_desc, email_asc, email_desc")
		return
	}
	writeListPage(w, r, "organizations", codes, func(c string) kv { return s.st.orgJSON(s.st.orgs[c]) })
}

func (s *Server) orgOrFail(w http.ResponseWriter, code string) (*Organization, bool) {
	o, found := s.st.orgs[code]
	if !found {
		writeJSON(w, http.StatusBadRequest, kv{"errors": []apiError{{Code: "ORGANIZATION_NOT_FOUND", Message: "Organization not found", Field: "org_code"}}})
		return nil, false
	}
	return o, true
}

func (s *Server) mGetOrg(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := r.URL.Query().Get("code")
	if code == "" {
		for _, c := range s.st.orgOrder {
			if s.st.orgs[c].IsDefault {
				code = c
			}
		}
	}
	if o, good := s.orgOrFail(w, code); good {
		out := s.st.orgJSON(o)
		out["created_on"] = isoTime(o.CreatedOn)
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) mCreateOrg(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body struct {
		Name       string `json:"name"`
		ExternalID string `json:"external_id"`
		Handle     string `json:"handle"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Name) == "" {
		writeJSON(w, http.StatusBadRequest, kv{"errors": []apiError{{Code: "NAME_REQUIRED", Message: "Name is required", Field: "name"}}})
		return
	}
	s.mu.Lock()
	o := s.st.addOrg(Organization{Name: body.Name, ExternalID: body.ExternalID, Handle: body.Handle})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, success(kv{"organization": kv{"code": o.Code}}))
}

func (s *Server) mUpdateOrg(w http.ResponseWriter, r *http.Request, p map[string]string) {
	var body struct {
		Name       *string `json:"name"`
		ExternalID *string `json:"external_id"`
		Handle     *string `json:"handle"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, good := s.orgOrFail(w, p["org_code"])
	if !good {
		return
	}
	if body.Name == nil && body.ExternalID == nil && body.Handle == nil {
		writeAPIError(w, http.StatusBadRequest, "NO_FIELDS_TO_UPDATE", "No fields to update")
		return
	}
	if body.Name != nil {
		o.Name = *body.Name
	}
	if body.ExternalID != nil {
		o.ExternalID = *body.ExternalID
	}
	if body.Handle != nil {
		o.Handle = *body.Handle
	}
	writeJSON(w, http.StatusOK, success(nil))
}

func (s *Server) mDeleteOrg(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, good := s.orgOrFail(w, p["org_code"])
	if !good {
		return
	}
	for uid := range s.st.members[o.Code] {
		_ = s.st.removeMember(o.Code, uid) // membership exists
	}
	delete(s.st.members, o.Code)
	delete(s.st.orgs, o.Code)
	delete(s.st.ents, o.Code)
	s.st.orgOrder = slices.DeleteFunc(s.st.orgOrder, func(c string) bool { return c == o.Code })
	writeJSON(w, http.StatusOK, success(nil))
}

func (s *Server) mListOrgUsers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, good := s.orgOrFail(w, p["org_code"])
	if !good {
		return
	}
	var ids []string
	for _, id := range s.st.userOrder {
		if _, m := s.st.members[o.Code][id]; m {
			ids = append(ids, id)
		}
	}
	writeListPage(w, r, "organization_users", ids, func(id string) kv {
		u, m := s.st.users[id], s.st.members[o.Code][id]
		return kv{"id": u.ID, "email": u.Email, "full_name": u.Name(), "last_name": u.FamilyName,
			"first_name": u.GivenName, "picture": u.Picture, "joined_on": isoTime(m.joinedOn),
			"last_accessed_on": isoTime(u.LastSignedIn), "is_suspended": u.Suspended, "roles": nonNil(m.roles)}
	})
}

func (s *Server) mAddOrgUsers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	var body struct {
		Users []struct {
			ID    string   `json:"id"`
			Roles []string `json:"roles"`
		} `json:"users"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, good := s.orgOrFail(w, p["org_code"])
	if !good {
		return
	}
	if len(body.Users) == 0 || len(body.Users) > 100 {
		writeAPIError(w, http.StatusBadRequest, "INVALID_USERS", "Send between 1 and 100 users")
		return
	}
	for _, u := range body.Users {
		if _, found := s.st.users[u.ID]; !found {
			writeAPIError(w, http.StatusBadRequest, "USER_INVALID", "User invalid: "+u.ID)
			return
		}
		for _, k := range u.Roles {
			if _, found := s.st.roles[k]; !found {
				writeAPIError(w, http.StatusBadRequest, "ROLE_NOT_FOUND", "Role not found: "+k)
				return
			}
		}
	}
	added := []string{}
	for _, u := range body.Users {
		_ = s.st.addMember(o.Code, u.ID, u.Roles...) // validated above
		added = append(added, u.ID)
	}
	writeJSON(w, http.StatusOK, kv{"code": "OK", "message": "Users successfully added", "users_added": added})
}

// memberOrFail resolves org and user path parameters to a membership.
func (s *Server) memberOrFail(w http.ResponseWriter, p map[string]string) (*membership, bool) {
	o, good := s.orgOrFail(w, p["org_code"])
	if !good {
		return nil, false
	}
	m, found := s.st.members[o.Code][p["user_id"]]
	if !found {
		writeAPIError(w, http.StatusBadRequest, "USER_NOT_IN_ORGANIZATION", "User is not a member of the organization")
		return nil, false
	}
	return m, true
}

func (s *Server) mRemoveOrgUser(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, good := s.memberOrFail(w, p); !good {
		return
	}
	_ = s.st.removeMember(p["org_code"], p["user_id"]) // checked above
	writeJSON(w, http.StatusOK, success(nil))
}

func (s *Server) mOrgUserRoles(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, good := s.memberOrFail(w, p)
	if !good {
		return
	}
	out := []kv{}
	for _, k := range m.roles {
		if rl, found := s.st.roles[k]; found {
			out = append(out, kv{"id": rl.ID, "key": rl.Key, "name": rl.Name})
		}
	}
	writeJSON(w, http.StatusOK, success(kv{"roles": out}))
}

func (s *Server) mAddOrgUserRole(w http.ResponseWriter, r *http.Request, p map[string]string) {
	var body struct {
		RoleID string `json:"role_id"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, good := s.memberOrFail(w, p)
	if !good {
		return
	}
	rl, found := s.st.roleByID(body.RoleID)
	if !found {
		writeAPIError(w, http.StatusBadRequest, "ROLE_NOT_FOUND", "Role not found")
		return
	}
	if !slices.Contains(m.roles, rl.Key) {
		m.roles = append(m.roles, rl.Key)
	}
	writeJSON(w, http.StatusOK, success(nil))
}

func (s *Server) mDeleteOrgUserRole(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, good := s.memberOrFail(w, p)
	if !good {
		return
	}
	rl, found := s.st.roleByID(p["role_id"])
	if !found || !slices.Contains(m.roles, rl.Key) {
		writeAPIError(w, http.StatusBadRequest, "ROLE_NOT_FOUND", "Role not found")
		return
	}
	m.roles = slices.DeleteFunc(m.roles, func(k string) bool { return k == rl.Key })
	writeJSON(w, http.StatusOK, success(nil))
}

func (s *Server) mOrgUserPerms(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, good := s.memberOrFail(w, p)
	if !good {
		return
	}
	out := []kv{}
	for _, key := range s.st.userPermissions(p["org_code"], p["user_id"]) {
		perm, found := s.st.perms[key]
		if !found {
			continue
		}
		roles := []kv{}
		for _, rk := range m.roles {
			if rl := s.st.roles[rk]; rl != nil && slices.Contains(rl.Permissions, key) {
				roles = append(roles, kv{"id": rl.ID, "key": rl.Key})
			}
		}
		out = append(out, kv{"id": perm.ID, "key": perm.Key, "name": perm.Name, "description": perm.Description, "roles": roles})
	}
	writeJSON(w, http.StatusOK, success(kv{"permissions": out}))
}

func (s *Server) mListRoles(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeListPage(w, r, "roles", s.st.roleOrder, func(k string) kv {
		rl := s.st.roles[k]
		return kv{"id": rl.ID, "key": rl.Key, "name": rl.Name, "description": rl.Description, "is_default_role": rl.IsDefault}
	})
}

func (s *Server) mCreateRole(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.createKeyed(w, r, "Role", "ROLE", func(b keyedBody) (kv, bool) {
		if _, dup := s.st.roles[b.Key]; dup {
			return nil, false
		}
		rl := s.st.addRole(Role{Key: b.Key, Name: b.Name, Description: b.Description, IsDefault: b.IsDefault})
		return kv{"role": kv{"id": rl.ID}}, true
	})
}

// keyedBody is the request body that creates a role or a permission.
type keyedBody struct {
	Name        string `json:"name"`
	Key         string `json:"key"`
	Description string `json:"description"`
	IsDefault   bool   `json:"is_default_role"`
}

// createKeyed handles the creation of a role or permission: the body must
// name a key and a name, and add must report false for a key already in use.
func (s *Server) createKeyed(w http.ResponseWriter, r *http.Request, what, code string, add func(keyedBody) (kv, bool)) {
	var body keyedBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Key == "" || body.Name == "" {
		writeAPIError(w, http.StatusBadRequest, "KEY_AND_NAME_REQUIRED", what+" name and key are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, ok := add(body)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, code+"_KEY_EXISTS", "A "+strings.ToLower(what)+" with this key already exists")
		return
	}
	writeJSON(w, http.StatusCreated, success(out))
}

func (s *Server) mListPerms(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeListPage(w, r, "permissions", s.st.permOrder, func(k string) kv {
		pm := s.st.perms[k]
		return kv{"id": pm.ID, "key": pm.Key, "name": pm.Name, "description": pm.Description}
	})
}

func (s *Server) mCreatePerm(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.createKeyed(w, r, "Permission", "PERMISSION", func(b keyedBody) (kv, bool) {
		if _, dup := s.st.perms[b.Key]; dup {
			return nil, false
		}
		s.st.addPermission(Permission{Key: b.Key, Name: b.Name, Description: b.Description})
		return nil, true
	})
}

var errFlagValue = errors.New("value does not match the flag type")

// parseFlagValue converts a management API string value to a flag value of
// type typ ("str"/"s", "int"/"i", "bool"/"b").
func parseFlagValue(typ, v string) (string, any, error) {
	switch typ {
	case "str", "s":
		return "s", v, nil
	case "int", "i":
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", nil, errFlagValue
		}
		return "i", n, nil
	case "bool", "b":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", nil, errFlagValue
		}
		return "b", b, nil
	}
	return "", nil, errFlagValue
}

func (s *Server) mCreateFlag(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body struct {
		Name         string `json:"name"`
		Key          string `json:"key"`
		Type         string `json:"type"`
		DefaultValue string `json:"default_value"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Name == "" || body.Key == "" || body.Type == "" {
		writeAPIError(w, http.StatusBadRequest, "FIELDS_REQUIRED", "name, key, type and default_value are required")
		return
	}
	if !slices.Contains([]string{"str", "int", "bool"}, body.Type) {
		writeAPIError(w, http.StatusBadRequest, "INVALID_FLAG_TYPE", "type must be str, int or bool")
		return
	}
	t, v, err := parseFlagValue(body.Type, body.DefaultValue)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "INVALID_DEFAULT_VALUE", "default_value does not match the flag type")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.st.flags[body.Key]; dup {
		writeAPIError(w, http.StatusBadRequest, "FEATURE_FLAG_KEY_EXISTS", "A feature flag with this key already exists")
		return
	}
	s.st.setFlag(body.Key, body.Name, t, v)
	writeJSON(w, http.StatusCreated, success(nil))
}

func (s *Server) mOrgFlag(w http.ResponseWriter, r *http.Request, p map[string]string) {
	val, has := r.URL.Query()["value"]
	if !has {
		writeAPIError(w, http.StatusBadRequest, "VALUE_REQUIRED", "value is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, good := s.orgOrFail(w, p["org_code"])
	if !good {
		return
	}
	f, found := s.st.flags[p["feature_flag_key"]]
	if !found {
		writeAPIError(w, http.StatusBadRequest, "FEATURE_FLAG_NOT_FOUND", "Feature flag not found")
		return
	}
	_, v, err := parseFlagValue(f.typ, val[0])
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "INVALID_VALUE", "value does not match the flag type")
		return
	}
	if o.Flags == nil {
		o.Flags = map[string]any{}
	}
	o.Flags[f.key] = v
	writeJSON(w, http.StatusOK, success(nil))
}
