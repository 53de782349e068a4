package kindetest

import (
	"net/url"
	"time"
)

type state struct {
	frozen bool
	base   time.Time
	offset time.Duration

	accessTTL, idTTL, refreshTTL time.Duration

	counts map[string]int
	faults map[string]*Fault

	signInAs      string
	expireNext    bool
	cancelNext    bool
	lastAuthorize url.Values

	clients   map[string]*Client
	apis      map[string]*api
	m2mScopes map[string]map[string][]string // client -> audience -> scopes (nil = all)

	users     map[string]*User
	userOrder []string
	orgs      map[string]*Organization
	orgOrder  []string
	members   map[string]map[string]*membership // org -> user
	userOrgs  map[string][]string               // user -> orgs, first = default
	roles     map[string]*Role                  // by key
	roleOrder []string
	perms     map[string]*Permission // by key
	permOrder []string
	flags     map[string]*flag
	flagOrder []string
	userFlags map[string]map[string]any
	appProps  map[string]any
	ents      map[string]*entitlements

	keys []*signingKey

	pending  map[string]*authRequest
	sso      map[string]*ssoSession
	codes    map[string]*authCode
	grants   map[string]*grant
	refresh  map[string]*refreshToken
	access   map[string]*accessRecord // by jti
	devices  map[string]*deviceAuth   // by device_code
	userCode map[string]string        // user_code -> device_code
	portal   map[string]portalVisit   // portal key -> what the link opens
}

func newState(cfg config) state {
	st := state{
		accessTTL:  DefaultAccessTokenLifetime,
		idTTL:      DefaultIDTokenLifetime,
		refreshTTL: DefaultRefreshTokenLifetime,
		counts:     map[string]int{},
		faults:     map[string]*Fault{},
		clients:    map[string]*Client{},
		apis:       map[string]*api{},
		m2mScopes:  map[string]map[string][]string{},
		users:      map[string]*User{},
		orgs:       map[string]*Organization{},
		members:    map[string]map[string]*membership{},
		userOrgs:   map[string][]string{},
		roles:      map[string]*Role{},
		perms:      map[string]*Permission{},
		flags:      map[string]*flag{},
		userFlags:  map[string]map[string]any{},
		appProps:   map[string]any{},
		ents:       map[string]*entitlements{},
		pending:    map[string]*authRequest{},
		sso:        map[string]*ssoSession{},
		codes:      map[string]*authCode{},
		grants:     map[string]*grant{},
		refresh:    map[string]*refreshToken{},
		access:     map[string]*accessRecord{},
		devices:    map[string]*deviceAuth{},
		userCode:   map[string]string{},
		portal:     map[string]portalVisit{},
	}
	if !cfg.now.IsZero() {
		st.frozen = true
		st.base = cfg.now
	}
	st.clients[DefaultClientID] = &Client{ID: DefaultClientID, Secret: DefaultClientSecret, Name: "Default back-end app", Type: "reg"}
	st.clients[DefaultM2MClientID] = &Client{ID: DefaultM2MClientID, Secret: DefaultM2MClientSecret, Name: "Default M2M app", Type: "m2m"}
	return st
}

func (st *state) now() time.Time {
	if st.frozen {
		return st.base
	}
	return time.Now().Add(st.offset)
}

// managementScopes are the scopes of the management operations the emulator serves.
func managementScopes() []string {
	return []string{
		"read:users", "create:users", "update:users", "delete:users",
		"read:organizations", "create:organizations", "update:organizations", "delete:organizations",
		"read:organization_users", "create:organization_users", "update:organization_users", "delete:organization_users",
		"read:organization_user_roles", "create:organization_user_roles", "delete:organization_user_roles",
		"read:organization_user_permissions",
		"read:roles", "create:roles", "read:permissions", "create:permissions",
		"create:feature_flags", "update:organization_feature_flags",
	}
}

// registerManagement registers the management API audience and authorises
// the default M2M client for it with every scope.
func (s *Server) registerManagement() {
	if s.cfg.issuer == "" {
		return
	}
	aud := s.ManagementAudience()
	s.AddAPI(aud, managementScopes()...)
	if err := s.AuthorizeM2M(DefaultM2MClientID, aud); err != nil {
		panic(err) // both were just registered
	}
}
