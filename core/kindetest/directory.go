package kindetest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"reflect"
	"slices"
	"time"
)

// Client is an application registered with the emulator.
type Client struct {
	ID     string // 32 hex characters; generated when empty
	Secret string // required at the token endpoint for "reg" and "m2m" clients; generated when empty for them
	Name   string
	// Type is "reg" (back-end web app), "spa", "m2m" or "device". Default "reg".
	Type         string
	RedirectURIs []string // allowed callback URLs, matched exactly
	LogoutURIs   []string // allowed logout redirect URLs, matched exactly
	// Audiences lists the APIs an m2m client may request tokens for. Scopes
	// for them are granted with AuthorizeM2M.
	Audiences []string
	// OrgCode makes an m2m client organization-scoped: its tokens carry org_code.
	OrgCode string
}

// User is a user in the emulator's directory.
type User struct {
	ID         string // kp_ + 32 hex; generated when empty
	Email      string
	GivenName  string
	FamilyName string
	Picture    string
	Username   string
	ProvidedID string
	Phone      string
	// Properties are user properties, exposed as user_properties {key:{v:…}}
	// (a nil value as {}) when the token customization adds them.
	Properties map[string]any
	Suspended  bool
	// TotalSignIns and LastSignedIn are updated by each sign-in.
	TotalSignIns int
	LastSignedIn time.Time
	CreatedOn    time.Time
	UpdatedAt    time.Time
}

// Name returns "GivenName FamilyName" trimmed.
func (u User) Name() string {
	switch {
	case u.GivenName == "":
		return u.FamilyName
	case u.FamilyName == "":
		return u.GivenName
	}
	return u.GivenName + " " + u.FamilyName
}

// Organization is an organization in the emulator's directory.
type Organization struct {
	Code       string // org_ + 12 hex; generated when empty
	Name       string
	Handle     string
	ExternalID string
	// Properties are organization properties, exposed as
	// organization_properties when the token customization adds them.
	Properties map[string]any
	// Flags overrides feature flag values for members signed in to this org.
	Flags map[string]any
	// IsDefault marks the environment's default organization.
	IsDefault bool
	// NonPersistentSessions is the organization's session setting
	// sso_session_persistence_mode=non_persistent (management API,
	// UpdateOrganizationSessions): access tokens of its members carry
	// "ksp":{"persistent":false}, which Kinde's SDKs read to keep the
	// session cookie only for the browser session (kinde-typescript-sdk
	// lib/sdk/utilities/token-utils.ts). Otherwise tokens carry no ksp and
	// the SDKs treat the session as persistent.
	NonPersistentSessions bool
	CreatedOn             time.Time
}

// Role is an environment role.
type Role struct {
	ID          string // role_ + hex; generated when empty
	Key         string
	Name        string
	Description string
	IsDefault   bool
	// Permissions are permission keys; unknown keys are created.
	Permissions []string
}

// Permission is an environment permission.
type Permission struct {
	ID          string // perm_ + hex; generated when empty
	Key         string
	Name        string
	Description string
}

// Plan is a billing plan an organization is subscribed to.
type Plan struct {
	Key          string
	Name         string
	SubscribedOn time.Time
}

// Entitlement is a billing entitlement of an organization.
type Entitlement struct {
	ID                  string // entitlement_ + hex; generated when empty
	FixedCharge         *int
	PriceName           string
	UnitAmount          *int
	FeatureKey          string
	FeatureName         string
	EntitlementLimitMax *int
	EntitlementLimitMin *int
}

type flag struct {
	id    string
	key   string
	name  string
	typ   string // "b", "i", "s" or "j"
	value any
}

type api struct {
	audience string
	scopes   []string
}

type membership struct {
	roles    []string // role keys
	joinedOn time.Time
}

type entitlements struct {
	plans []Plan
	ents  []Entitlement
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("kindetest: crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("kindetest: crypto/rand failed: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newJar() http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		panic(fmt.Sprintf("kindetest: cookie jar: %v", err))
	}
	return j
}

// flagType gives the type code Kinde puts in tokens for a flag value (b, s,
// i, or j for JSON: kinde-auth-nextjs src/types.ts KindeFlagTypeCode) and the
// value to send: JSON values (maps, slices, structs, json.RawMessage) are
// encoded once and sent as they are.
func flagType(v any) (string, any, error) {
	switch x := v.(type) {
	case bool:
		return "b", x, nil
	case string:
		return "s", x, nil
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return "i", x, nil
	case json.RawMessage:
		if !json.Valid(x) {
			return "", nil, fmt.Errorf("kindetest: flag value %q is not valid JSON", x)
		}
		return "j", slices.Clone(x), nil
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		raw, err := json.Marshal(v)
		if err != nil {
			return "", nil, fmt.Errorf("kindetest: flag value %T does not encode as JSON: %w", v, err)
		}
		return "j", json.RawMessage(raw), nil
	}
	return "", nil, fmt.Errorf("kindetest: flag value %v (%T): want bool, integer, string or a JSON value (map, slice, struct, json.RawMessage)", v, v)
}

// AddClient registers an application, replacing one with the same ID, and
// returns it with generated fields filled in.
func (s *Server) AddClient(c Client) Client {
	if c.Type == "" {
		c.Type = "reg"
	}
	if c.ID == "" {
		c.ID = randHex(16)
	}
	if c.Secret == "" && (c.Type == "reg" || c.Type == "m2m") {
		c.Secret = randHex(24)
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.LogoutURIs = slices.Clone(c.LogoutURIs)
	c.Audiences = slices.Clone(c.Audiences)
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := c
	s.st.clients[c.ID] = &cp
	return c
}

// AllowRedirectURI adds uri to the callback URLs of clientID. It reports
// whether the client exists.
func (s *Server) AllowRedirectURI(clientID, uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.clients[clientID]
	if ok && !slices.Contains(c.RedirectURIs, uri) {
		c.RedirectURIs = append(c.RedirectURIs, uri)
	}
	return ok
}

// AllowLogoutURI adds uri to the logout redirect URLs of clientID. It reports
// whether the client exists.
func (s *Server) AllowLogoutURI(clientID, uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.clients[clientID]
	if ok && !slices.Contains(c.LogoutURIs, uri) {
		c.LogoutURIs = append(c.LogoutURIs, uri)
	}
	return ok
}

// AddAPI registers an API audience and the scopes it defines. Registering an
// existing audience adds the scopes.
func (s *Server) AddAPI(audience string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.apis[audience]
	if !ok {
		a = &api{audience: audience}
		s.st.apis[audience] = a
	}
	for _, sc := range scopes {
		if !slices.Contains(a.scopes, sc) {
			a.scopes = append(a.scopes, sc)
		}
	}
}

// AuthorizeM2M lets the m2m client clientID request tokens for audience with
// the given scopes (which are added to the API). It fails for an unknown
// client or API.
func (s *Server) AuthorizeM2M(clientID, audience string, scopes ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.clients[clientID]
	if !ok {
		return fmt.Errorf("kindetest: unknown client %q", clientID)
	}
	a, ok := s.st.apis[audience]
	if !ok {
		return fmt.Errorf("kindetest: unknown API %q: register it with AddAPI", audience)
	}
	if !slices.Contains(c.Audiences, audience) {
		c.Audiences = append(c.Audiences, audience)
	}
	grant := s.st.m2mScopes[c.ID]
	if grant == nil {
		grant = map[string][]string{}
		s.st.m2mScopes[c.ID] = grant
	}
	for _, sc := range scopes {
		if !slices.Contains(a.scopes, sc) {
			a.scopes = append(a.scopes, sc)
		}
		if !slices.Contains(grant[audience], sc) {
			grant[audience] = append(grant[audience], sc)
		}
	}
	return nil
}

// AddUser adds or replaces a user and returns it with generated fields set.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addUser(u)
}

// User returns the user with the given id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Users returns all users in insertion order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.st.userOrder))
	for _, id := range s.st.userOrder {
		out = append(out, *s.st.users[id])
	}
	return out
}

// AddOrganization adds or replaces an organization and returns it with
// generated fields set.
func (s *Server) AddOrganization(o Organization) Organization {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addOrg(o)
}

// Organization returns the organization with the given code.
func (s *Server) Organization(code string) (Organization, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.orgs[code]
	if !ok {
		return Organization{}, false
	}
	return *o, true
}

// AddRole adds or replaces (by key) a role and returns it.
func (s *Server) AddRole(r Role) Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addRole(r)
}

// AddPermission adds or replaces (by key) a permission and returns it.
func (s *Server) AddPermission(p Permission) Permission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addPermission(p)
}

// AddMember makes userID a member of orgCode with the given role keys (added
// to any roles the user already has there).
func (s *Server) AddMember(orgCode, userID string, roleKeys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addMember(orgCode, userID, roleKeys...)
}

// RemoveMember removes userID from orgCode.
func (s *Server) RemoveMember(orgCode, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.removeMember(orgCode, userID)
}

// SetFlag defines (or redefines) an environment feature flag. The value's
// type gives the flag type: bool "b", integer "i", string "s", and "j" (JSON)
// for a map, slice, struct or json.RawMessage.
func (s *Server) SetFlag(code string, value any) error {
	t, v, err := flagType(value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.setFlag(code, code, t, v)
	return nil
}

// SetOrgFlag overrides a flag for members signed in to orgCode.
func (s *Server) SetOrgFlag(orgCode, code string, value any) error {
	if _, _, err := flagType(value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.orgs[orgCode]
	if !ok {
		return fmt.Errorf("kindetest: unknown organization %q", orgCode)
	}
	if o.Flags == nil {
		o.Flags = map[string]any{}
	}
	o.Flags[code] = value
	return nil
}

// SetUserFlag overrides a flag for one user; it wins over org overrides.
func (s *Server) SetUserFlag(userID, code string, value any) error {
	if _, _, err := flagType(value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.users[userID]; !ok {
		return fmt.Errorf("kindetest: unknown user %q", userID)
	}
	m := s.st.userFlags[userID]
	if m == nil {
		m = map[string]any{}
		s.st.userFlags[userID] = m
	}
	m[code] = value
	return nil
}

// SetProperty sets an application property, exposed as
// application_properties when the token customization adds it
// (TokenCustomization.AppProperties).
func (s *Server) SetProperty(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.appProps[key] = value
}

// SetEntitlements sets the billing plans and entitlements of an organization,
// served by the Account API.
func (s *Server) SetEntitlements(orgCode string, plans []Plan, ents []Entitlement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.orgs[orgCode]; !ok {
		return fmt.Errorf("kindetest: unknown organization %q", orgCode)
	}
	e := &entitlements{plans: slices.Clone(plans), ents: slices.Clone(ents)}
	for i := range e.ents {
		if e.ents[i].ID == "" {
			e.ents[i].ID = "entitlement_" + randHex(16)
		}
	}
	s.st.ents[orgCode] = e
	return nil
}

// --- state helpers; callers hold s.mu ---

func (st *state) addUser(u User) User {
	if u.ID == "" {
		u.ID = "kp_" + randHex(16)
	}
	now := st.now()
	if u.CreatedOn.IsZero() {
		u.CreatedOn = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = now
	}
	u.Properties = maps.Clone(u.Properties)
	if _, ok := st.users[u.ID]; !ok {
		st.userOrder = append(st.userOrder, u.ID)
	}
	cp := u
	st.users[u.ID] = &cp
	return u
}

func (st *state) addOrg(o Organization) Organization {
	if o.Code == "" {
		o.Code = "org_" + randHex(6)
	}
	if o.CreatedOn.IsZero() {
		o.CreatedOn = st.now()
	}
	o.Properties = maps.Clone(o.Properties)
	o.Flags = maps.Clone(o.Flags)
	if _, ok := st.orgs[o.Code]; !ok {
		st.orgOrder = append(st.orgOrder, o.Code)
		st.members[o.Code] = map[string]*membership{}
	}
	cp := o
	st.orgs[o.Code] = &cp
	return o
}

func (st *state) addPermission(p Permission) Permission {
	if old, ok := st.perms[p.Key]; ok && p.ID == "" {
		p.ID = old.ID
	}
	if p.ID == "" {
		p.ID = "perm_" + randHex(16)
	}
	if p.Name == "" {
		p.Name = p.Key
	}
	if _, ok := st.perms[p.Key]; !ok {
		st.permOrder = append(st.permOrder, p.Key)
	}
	cp := p
	st.perms[p.Key] = &cp
	return p
}

func (st *state) addRole(r Role) Role {
	if old, ok := st.roles[r.Key]; ok && r.ID == "" {
		r.ID = old.ID
	}
	if r.ID == "" {
		r.ID = "role_" + randHex(16)
	}
	if r.Name == "" {
		r.Name = r.Key
	}
	r.Permissions = slices.Clone(r.Permissions)
	for _, k := range r.Permissions {
		if _, ok := st.perms[k]; !ok {
			st.addPermission(Permission{Key: k})
		}
	}
	if _, ok := st.roles[r.Key]; !ok {
		st.roleOrder = append(st.roleOrder, r.Key)
	}
	cp := r
	st.roles[r.Key] = &cp
	return r
}

func (st *state) roleByID(id string) (*Role, bool) {
	for _, r := range st.roles {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

func (st *state) addMember(orgCode, userID string, roleKeys ...string) error {
	if _, ok := st.orgs[orgCode]; !ok {
		return fmt.Errorf("kindetest: unknown organization %q", orgCode)
	}
	if _, ok := st.users[userID]; !ok {
		return fmt.Errorf("kindetest: unknown user %q", userID)
	}
	for _, k := range roleKeys {
		if _, ok := st.roles[k]; !ok {
			return fmt.Errorf("kindetest: unknown role %q", k)
		}
	}
	m, ok := st.members[orgCode][userID]
	if !ok {
		m = &membership{joinedOn: st.now()}
		st.members[orgCode][userID] = m
		st.userOrgs[userID] = append(st.userOrgs[userID], orgCode)
	}
	for _, k := range roleKeys {
		if !slices.Contains(m.roles, k) {
			m.roles = append(m.roles, k)
		}
	}
	return nil
}

func (st *state) removeMember(orgCode, userID string) error {
	mm, ok := st.members[orgCode]
	if !ok {
		return fmt.Errorf("kindetest: unknown organization %q", orgCode)
	}
	if _, ok := mm[userID]; !ok {
		return fmt.Errorf("kindetest: user %q is not a member of %q", userID, orgCode)
	}
	delete(mm, userID)
	st.userOrgs[userID] = slices.DeleteFunc(st.userOrgs[userID], func(c string) bool { return c == orgCode })
	return nil
}

func (st *state) setFlag(key, name, typ string, v any) {
	if f, ok := st.flags[key]; ok {
		f.typ, f.value, f.name = typ, v, name
		return
	}
	st.flags[key] = &flag{id: "flag_" + randHex(16), key: key, name: name, typ: typ, value: v}
	st.flagOrder = append(st.flagOrder, key)
}

// userPermissions returns the sorted union of permission keys of the user's
// roles in orgCode.
func (st *state) userPermissions(orgCode, userID string) []string {
	m, ok := st.members[orgCode][userID]
	if !ok {
		return []string{}
	}
	set := map[string]bool{}
	for _, rk := range m.roles {
		if r, ok := st.roles[rk]; ok {
			for _, p := range r.Permissions {
				set[p] = true
			}
		}
	}
	out := slices.Sorted(maps.Keys(set))
	if out == nil {
		out = []string{}
	}
	return out
}

func (st *state) userRoles(orgCode, userID string) []*Role {
	m, ok := st.members[orgCode][userID]
	if !ok {
		return nil
	}
	var out []*Role
	for _, rk := range m.roles {
		if r, ok := st.roles[rk]; ok {
			out = append(out, r)
		}
	}
	return out
}

type flagValue struct {
	f     *flag
	value any
	typ   string
}

// effectiveFlags resolves every flag for a user in an org: user override,
// then org override, then environment value.
func (st *state) effectiveFlags(orgCode, userID string) []flagValue {
	var out []flagValue
	seen := map[string]bool{}
	org := st.orgs[orgCode]
	resolve := func(key string, f *flag) {
		var v any
		var t string
		if f != nil {
			v, t = f.value, f.typ
		}
		if org != nil {
			if ov, ok := org.Flags[key]; ok {
				if tt, vv, err := flagType(ov); err == nil {
					v, t = vv, tt
				}
			}
		}
		if ov, ok := st.userFlags[userID][key]; ok {
			if tt, vv, err := flagType(ov); err == nil {
				v, t = vv, tt
			}
		}
		if t == "" {
			return
		}
		seen[key] = true
		if f == nil {
			f = &flag{id: "flag_" + key, key: key, name: key, typ: t}
		}
		out = append(out, flagValue{f: f, value: v, typ: t})
	}
	for _, k := range st.flagOrder {
		resolve(k, st.flags[k])
	}
	var extra []string
	if org != nil {
		for k := range org.Flags {
			if !seen[k] {
				extra = append(extra, k)
			}
		}
	}
	for k := range st.userFlags[userID] {
		if !seen[k] && !slices.Contains(extra, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		resolve(k, nil)
	}
	return out
}
