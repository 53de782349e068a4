package kindetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const ssoCookie = "kinde_emulator_sso"

type authRequest struct {
	id          string
	clientID    string
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      []string
	audiences   []string
	orgCode     string
	prompt      string
	isCreateOrg bool
	orgName     string
	params      url.Values
	requestedAt time.Time
	expires     time.Time
}

type ssoSession struct {
	userID   string
	authTime time.Time
}

func (s *Server) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.URL()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth2/auth",
		"token_endpoint":                        iss + "/oauth2/token",
		"jwks_uri":                              iss + "/.well-known/jwks",
		"userinfo_endpoint":                     iss + "/oauth2/v2/user_profile",
		"end_session_endpoint":                  iss + "/logout",
		"revocation_endpoint":                   iss + "/oauth2/revoke",
		"introspection_endpoint":                iss + "/oauth2/introspect",
		"device_authorization_endpoint":         iss + "/oauth2/device/auth",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials", deviceGrant},
		"subject_types_supported":               []string{"public"},
		"code_challenge_methods_supported":      []string{"S256"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
		"claims_supported": []string{"aud", "azp", "auth_time", "email", "email_verified", "exp", "family_name",
			"given_name", "iat", "iss", "jti", "name", "nonce", "org_codes", "picture", "sub", "updated_at"},
		"authorization_response_iss_parameter_supported": s.cfg.issParam,
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	keys := []map[string]any{}
	for i := len(s.st.keys) - 1; i >= 0; i-- {
		if k := s.st.keys[i]; k.published {
			keys = append(keys, jwk(k))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// knownParams lists the authorize parameters that must not be repeated.
func singleParams() []string {
	return []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "prompt", "org_code", "org_name", "is_create_org"}
}

func validPKCEString(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.st.lastAuthorize = cloneValues(q)
	var client Client
	c, ok := s.st.clients[q.Get("client_id")]
	if ok {
		client = *c
	}
	s.mu.Unlock()
	if q.Get("client_id") == "" || !ok {
		errorPage(w, http.StatusBadRequest, "invalid_client", "Unknown or missing client_id.")
		return
	}
	if client.Type == "m2m" {
		errorPage(w, http.StatusBadRequest, "unauthorized_client", "Machine-to-machine applications cannot sign users in.")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || len(q["redirect_uri"]) > 1 || !slices.Contains(client.RedirectURIs, redirect) {
		errorPage(w, http.StatusBadRequest, "invalid_redirect_uri", fmt.Sprintf("The redirect_uri %q is not an allowed callback URL of this application: add it to the application's callback URLs (with the emulator: AllowRedirectURI, or kinde-emulator -redirect %s).", truncateURL(redirect), truncateURL(redirect)))
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) { s.redirectError(w, r, redirect, state, code, desc, nil) }
	for _, p := range singleParams() {
		if len(q[p]) > 1 {
			fail("invalid_request", "Parameter "+p+" must not be repeated.")
			return
		}
	}
	if rt := q.Get("response_type"); rt != "code" {
		if rt == "" {
			fail("invalid_request", "Missing response_type.")
		} else {
			fail("unsupported_response_type", "Only response_type=code is supported.")
		}
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256.")
		return
	case challenge != "" && !validPKCEString(challenge):
		fail("invalid_request", "Malformed code_challenge.")
		return
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge_method sent without code_challenge.")
		return
	case challenge == "" && client.Type == "spa":
		fail("invalid_request", "PKCE (code_challenge with S256) is required for this application.")
		return
	}
	prompt := q.Get("prompt")
	if !slices.Contains([]string{"", "login", "create", "none"}, prompt) {
		fail("invalid_request", "Unsupported prompt value.")
		return
	}
	if v := q.Get("is_create_org"); v != "" && v != "true" && v != "false" {
		fail("invalid_request", "is_create_org must be true or false.")
		return
	}
	req := &authRequest{
		id:          randHex(16),
		clientID:    client.ID,
		redirectURI: redirect,
		state:       state,
		nonce:       q.Get("nonce"),
		challenge:   challenge,
		prompt:      prompt,
		orgCode:     q.Get("org_code"),
		isCreateOrg: q.Get("is_create_org") == "true",
		orgName:     q.Get("org_name"),
		params:      cloneValues(q),
	}
	for _, a := range q["audience"] {
		for f := range strings.FieldsSeq(a) {
			if !slices.Contains(req.audiences, f) {
				req.audiences = append(req.audiences, f)
			}
		}
	}

	s.mu.Lock()
	now := s.st.now()
	req.requestedAt = now
	req.expires = now.Add(30 * time.Minute)
	req.scopes = s.st.grantableScopes(strings.Fields(q.Get("scope")), req.audiences)
	if req.orgCode != "" && !req.isCreateOrg {
		if _, ok := s.st.orgs[req.orgCode]; !ok {
			s.mu.Unlock()
			fail("invalid_request", "Unknown organization code.")
			return
		}
	}
	if s.st.expireNext {
		s.st.expireNext = false
		s.mu.Unlock()
		s.redirectError(w, r, redirect, state, "login_link_expired", "The login link has expired.",
			url.Values{"reauth_state": {reauthState(q)}})
		return
	}
	if s.st.cancelNext {
		s.st.cancelNext = false
		s.mu.Unlock()
		fail("access_denied", "The user cancelled the sign-in.")
		return
	}
	var sess *ssoSession
	if ck, err := r.Cookie(ssoCookie); err == nil {
		if ss, ok := s.st.sso[ck.Value]; ok {
			if _, ok := s.st.users[ss.userID]; ok {
				sess = ss
			}
		}
	}
	signInAs := s.st.signInAs
	s.mu.Unlock()

	switch {
	case prompt == "none":
		if sess == nil {
			fail("login_required", "User authentication is required")
			return
		}
		s.completeSignIn(w, r, req, sess.userID, sess.authTime)
	case signInAs != "":
		s.completeSignIn(w, r, req, signInAs, time.Time{})
	case sess != nil && prompt == "":
		s.completeSignIn(w, r, req, sess.userID, sess.authTime)
	default:
		s.showSignIn(w, req)
	}
}

// grantableScopes keeps the OpenID scopes Kinde knows and the scopes of
// requested APIs; anything else (such as offline_access) is dropped silently,
// as Kinde does.
func (st *state) grantableScopes(requested, audiences []string) []string {
	out := []string{}
	for _, sc := range requested {
		ok := slices.Contains([]string{"openid", "profile", "email", "offline"}, sc)
		for _, aud := range audiences {
			if a, found := st.apis[aud]; found && slices.Contains(a.scopes, sc) {
				ok = true
			}
		}
		if ok && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// reauthState encodes the original authorize parameters as base64 JSON with
// camelCase keys, the way Kinde hands them back for a re-authentication.
func reauthState(q url.Values) string {
	m := map[string]any{}
	for k, v := range q {
		if len(v) == 1 {
			m[camel(k)] = v[0]
		} else {
			m[camel(k)] = v
		}
	}
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, desc string, extra url.Values) {
	v := url.Values{"error": {code}, "error_description": {desc}}
	if state != "" {
		v.Set("state", state)
	}
	if s.cfg.issParam {
		v.Set("iss", s.URL())
	}
	for k, vs := range extra {
		v[k] = vs
	}
	http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
}

func withQuery(base string, v url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) showSignIn(w http.ResponseWriter, req *authRequest) {
	s.mu.Lock()
	s.st.pending[req.id] = req
	var users []pageUser
	for _, id := range s.st.userOrder {
		u := s.st.users[id]
		if u.Suspended {
			continue
		}
		label := u.Name()
		if label == "" {
			label = u.Email
		} else if u.Email != "" {
			label += " <" + u.Email + ">"
		}
		users = append(users, pageUser{ID: u.ID, Email: u.Email, Label: label})
	}
	s.mu.Unlock()
	title, newLabel := "Sign in", "Sign up"
	if req.prompt == "create" || req.params.Get("start_page") == "registration" {
		title = "Create your account"
	}
	if req.isCreateOrg {
		title = "Create your organization"
	}
	writePage(w, http.StatusOK, pageData{
		Title:   title,
		Message: "Choose a user to continue.",
		Form: &pageForm{
			Action:   "/oauth2/auth/approve",
			Hidden:   map[string]string{"request": req.id},
			Users:    users,
			AllowNew: true,
			NewLabel: newLabel,
		},
	})
}

func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "invalid_request", "Malformed form.")
		return
	}
	s.mu.Lock()
	req, ok := s.st.pending[r.PostForm.Get("request")]
	if ok {
		delete(s.st.pending, req.id)
	}
	expired := ok && !s.st.now().Before(req.expires)
	s.mu.Unlock()
	if !ok || expired {
		errorPage(w, http.StatusBadRequest, "invalid_request", "This sign-in request is unknown or has expired. Start again from the application.")
		return
	}
	userID := r.PostForm.Get("user")
	switch r.PostForm.Get("action") {
	case "cancel":
		s.redirectError(w, r, req.redirectURI, req.state, "access_denied", "The user cancelled the sign-in.", nil)
		return
	case "register":
		email := strings.TrimSpace(r.PostForm.Get("new_email"))
		if email == "" {
			s.redirectError(w, r, req.redirectURI, req.state, "access_denied", "No email given for the new user.", nil)
			return
		}
		s.mu.Lock()
		u := s.st.addUser(User{Email: email})
		s.mu.Unlock()
		userID = u.ID
	}
	s.completeSignIn(w, r, req, userID, time.Time{})
}

// completeSignIn signs userID in for req and redirects back with a code.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, req *authRequest, userID string, authTime time.Time) {
	s.mu.Lock()
	st := &s.st
	u, ok := st.users[userID]
	if !ok || u.Suspended {
		s.mu.Unlock()
		s.redirectError(w, r, req.redirectURI, req.state, "access_denied", "The user cannot sign in.", nil)
		return
	}
	now := st.now()
	if authTime.IsZero() {
		authTime = now
	}
	orgCode := req.orgCode
	switch {
	case req.isCreateOrg:
		name := req.orgName
		if name == "" {
			name = "My organization"
		}
		o := st.addOrg(Organization{Name: name})
		orgCode = o.Code
		var roles []string
		if _, ok := st.roles["admin"]; ok {
			roles = append(roles, "admin")
		}
		_ = st.addMember(orgCode, userID, roles...) // org and user exist
	case orgCode != "":
		if _, member := st.members[orgCode][userID]; !member {
			if req.prompt != "create" {
				s.mu.Unlock()
				s.redirectError(w, r, req.redirectURI, req.state, "access_denied", "The user is not a member of the requested organization.", nil)
				return
			}
			_ = st.addMember(orgCode, userID, st.defaultRoles()...) // org and user exist
		}
	default:
		if orgs := st.userOrgs[userID]; len(orgs) > 0 {
			orgCode = orgs[0]
		}
	}
	u.TotalSignIns++
	u.LastSignedIn = now
	ssoID := randHex(16)
	st.sso[ssoID] = &ssoSession{userID: userID, authTime: authTime}
	code := randHex(24)
	st.codes[code] = &authCode{
		req:      req,
		userID:   userID,
		orgCode:  orgCode,
		authTime: authTime,
		expires:  now.Add(s.cfg.codeLifetime),
	}
	s.mu.Unlock()

	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: ssoID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.URL(), "https://")})
	v := url.Values{"code": {code}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	if s.cfg.issParam {
		v.Set("iss", s.URL())
	}
	http.Redirect(w, r, withQuery(req.redirectURI, v), http.StatusFound)
}

func (st *state) defaultRoles() []string {
	var out []string
	for _, k := range st.roleOrder {
		if st.roles[k].IsDefault {
			out = append(out, k)
		}
	}
	return out
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	redirect := r.URL.Query().Get("redirect")
	s.mu.Lock()
	if ck, err := r.Cookie(ssoCookie); err == nil {
		delete(s.st.sso, ck.Value)
	}
	allowed := false
	for _, c := range s.st.clients {
		if slices.Contains(c.LogoutURIs, redirect) {
			allowed = true
		}
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	switch {
	case redirect == "":
		writePage(w, http.StatusOK, pageData{Title: "Signed out", Message: "You have been signed out."})
	case !allowed:
		errorPage(w, http.StatusBadRequest, "invalid_redirect", "The redirect URL is not an allowed logout URL of any application.")
	default:
		http.Redirect(w, r, redirect, http.StatusFound)
	}
}

// truncateURL shortens a user-supplied URL for an error page.
func truncateURL(u string) string {
	if len(u) > 200 {
		return u[:200] + "…"
	}
	return u
}
