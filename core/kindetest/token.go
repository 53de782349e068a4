package kindetest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// TokenResponse is the JSON body of a successful token request.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
}

// IssueOptions shape tokens minted with IssueTokens and AccessTokenClaims.
type IssueOptions struct {
	OrgCode  string   // org to sign in to; default the user's first org
	Audience []string // access token aud
	Scopes   []string // default openid profile email offline
	Nonce    string   // ID token nonce
	ClientID string   // default DefaultClientID
}

// TokenCustomization is an application's token customization in Kinde
// (Settings > Applications > Tokens > Token customization): the claims Kinde
// adds to tokens only when they are turned on there. The zero value is
// Kinde's default, which the emulator issues unless a test turns claims on
// with WithTokenCustomization. Sources, in kinde-oss/documentation:
// build/tokens/token-customization.mdx ("Add claims to access tokens":
// org_name, roles, email, external_organization_id; "Add claims to ID
// tokens": the user's organizations and social identity; properties: "Only
// the properties you explicitly toggle on will be included") and
// properties/work-with-properties/properties-in-tokens.mdx (properties are
// chosen per token type). A property claim carries every property of the
// user, organization or application; one without a value is {}.
type TokenCustomization struct {
	// Access token claims.

	// Roles adds roles, [{"id","key","name"}] of the signed-in organization.
	Roles bool
	// OrgName adds org_name, the signed-in organization's name.
	OrgName bool
	// Email adds email; the ID token carries it without customization.
	Email bool
	// ExternalOrgID adds external_organization_id when the signed-in
	// organization has an ExternalID.
	ExternalOrgID bool
	// OrgProperties adds organization_properties of the signed-in
	// organization.
	OrgProperties bool
	// UserProperties adds user_properties.
	UserProperties bool
	// AppProperties adds application_properties (see SetProperty).
	AppProperties bool

	// ID token claims.

	// Organizations adds organizations, [{"id","name"}] of every
	// organization of the user, next to the default org_codes.
	Organizations bool
	// IDOrgProperties adds organization_properties of the signed-in
	// organization.
	IDOrgProperties bool
	// IDUserProperties adds user_properties.
	IDUserProperties bool
}

// or returns the claims turned on in c or d.
func (c TokenCustomization) or(d TokenCustomization) TokenCustomization {
	return TokenCustomization{
		Roles: c.Roles || d.Roles, OrgName: c.OrgName || d.OrgName, Email: c.Email || d.Email,
		ExternalOrgID: c.ExternalOrgID || d.ExternalOrgID, OrgProperties: c.OrgProperties || d.OrgProperties,
		UserProperties: c.UserProperties || d.UserProperties, AppProperties: c.AppProperties || d.AppProperties,
		Organizations: c.Organizations || d.Organizations, IDOrgProperties: c.IDOrgProperties || d.IDOrgProperties,
		IDUserProperties: c.IDUserProperties || d.IDUserProperties,
	}
}

// WithTokenCustomization turns on the claims of tc in the tokens the
// emulator issues, as an application's token customization does in Kinde.
// Without it the emulator issues Kinde's default tokens. Options add up.
func WithTokenCustomization(tc TokenCustomization) Option {
	return func(c *config) { c.tokens = c.tokens.or(tc) }
}

type authCode struct {
	req      *authRequest
	userID   string
	orgCode  string
	authTime time.Time
	expires  time.Time
	used     bool
	grantID  string
}

// grant is one sign-in of a user to a client; refresh tokens and access
// tokens hang off it.
type grant struct {
	id          string
	clientID    string
	userID      string
	orgCode     string
	scopes      []string
	audiences   []string
	nonce       string
	authTime    time.Time
	requestedAt time.Time
	revoked     bool
	accessToken string
	accessJTI   string
	accessExp   time.Time
}

type refreshToken struct {
	grantID   string
	clientID  string
	expires   time.Time
	rotatedAt time.Time
	revoked   bool
}

type accessRecord struct {
	grantID  string
	clientID string
	revoked  bool
}

type tokenError struct {
	status int
	code   string
	desc   string
}

func (e *tokenError) Error() string { return e.code + ": " + e.desc }

func terr(code, desc string) *tokenError {
	st := http.StatusBadRequest
	if code == "invalid_client" {
		st = http.StatusUnauthorized
	}
	return &tokenError{status: st, code: code, desc: desc}
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint accepts POST only.")
		return
	}
	resp, err := s.token(r)
	if err != nil {
		var te *tokenError
		if !errors.As(err, &te) {
			te = &tokenError{status: http.StatusInternalServerError, code: "server_error", desc: err.Error()}
		}
		oauthError(w, te.status, te.code, te.desc)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) token(r *http.Request) (TokenResponse, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return TokenResponse{}, terr("invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
	}
	if err := r.ParseForm(); err != nil {
		return TokenResponse{}, terr("invalid_request", "Malformed form body.")
	}
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Basic") {
		return TokenResponse{}, terr("invalid_client", "Client authentication failed: send client_id and client_secret in the request body (client_secret_post).")
	}
	f := r.PostForm
	for k, v := range f {
		if len(v) > 1 && k != "audience" {
			return TokenResponse{}, terr("invalid_request", "Parameter "+k+" must not be repeated.")
		}
	}
	gt := f.Get("grant_type")
	if gt == "" {
		return TokenResponse{}, terr("invalid_request", "Missing grant_type.")
	}
	if !slices.Contains([]string{"authorization_code", "refresh_token", "client_credentials", deviceGrant}, gt) {
		return TokenResponse{}, terr("unsupported_grant_type", "Unsupported grant_type "+gt+".")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	client, err := s.st.authenticateClient(f.Get("client_id"), f.Get("client_secret"))
	if err != nil {
		return TokenResponse{}, err
	}
	switch gt {
	case "authorization_code":
		return s.codeGrantLocked(client, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
	case "refresh_token":
		return s.refreshGrantLocked(client, f.Get("refresh_token"))
	case "client_credentials":
		var auds []string
		for _, a := range f["audience"] {
			auds = append(auds, strings.Fields(a)...)
		}
		return s.clientCredentialsLocked(client, auds, strings.Fields(f.Get("scope")))
	default:
		return s.deviceGrantLocked(client, f.Get("device_code"))
	}
}

func (st *state) authenticateClient(id, secret string) (*Client, error) {
	if id == "" {
		return nil, terr("invalid_client", "Client authentication failed: missing client_id.")
	}
	c, ok := st.clients[id]
	if !ok {
		return nil, terr("invalid_client", "Client authentication failed: unknown client.")
	}
	if c.Type == "reg" || c.Type == "m2m" {
		if secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
			return nil, terr("invalid_client", "Client authentication failed: invalid client_secret.")
		}
	}
	return c, nil
}

func (s *Server) codeGrantLocked(c *Client, code, redirect, verifier string) (TokenResponse, error) {
	st := &s.st
	if c.Type == "m2m" || c.Type == "device" {
		return TokenResponse{}, terr("unauthorized_client", "This application cannot use the authorization_code grant.")
	}
	if code == "" {
		return TokenResponse{}, terr("invalid_request", "Missing code.")
	}
	if redirect == "" {
		return TokenResponse{}, terr("invalid_request", "Missing redirect_uri.")
	}
	ac, ok := st.codes[code]
	if !ok {
		return TokenResponse{}, terr("invalid_grant", "The authorization code is invalid.")
	}
	if ac.used {
		if g, ok := st.grants[ac.grantID]; ok {
			st.revokeGrant(g)
		}
		return TokenResponse{}, terr("invalid_grant", "The authorization code has already been used.")
	}
	ac.used = true
	now := st.now()
	switch {
	case !now.Before(ac.expires):
		return TokenResponse{}, terr("invalid_grant", "The authorization code has expired.")
	case ac.req.clientID != c.ID:
		return TokenResponse{}, terr("invalid_grant", "The authorization code was issued to another client.")
	case ac.req.redirectURI != redirect:
		return TokenResponse{}, terr("invalid_grant", "redirect_uri does not match the authorization request.")
	case ac.req.challenge != "" && verifier == "":
		return TokenResponse{}, terr("invalid_grant", "code_verifier is required.")
	case ac.req.challenge == "" && verifier != "":
		return TokenResponse{}, terr("invalid_grant", "code_verifier sent but the authorization request had no code_challenge.")
	case ac.req.challenge != "":
		sum := sha256.Sum256([]byte(verifier))
		if !validPKCEString(verifier) || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.req.challenge)) != 1 {
			return TokenResponse{}, terr("invalid_grant", "code_verifier does not match code_challenge.")
		}
	}
	if _, ok := st.users[ac.userID]; !ok {
		return TokenResponse{}, terr("invalid_grant", "The user no longer exists.")
	}
	g := &grant{
		id:          randHex(16),
		clientID:    c.ID,
		userID:      ac.userID,
		orgCode:     ac.orgCode,
		scopes:      ac.req.scopes,
		audiences:   ac.req.audiences,
		nonce:       ac.req.nonce,
		authTime:    ac.authTime,
		requestedAt: ac.req.requestedAt,
	}
	st.grants[g.id] = g
	ac.grantID = g.id
	return s.mintLocked(g, false), nil
}

func (st *state) revokeGrant(g *grant) {
	g.revoked = true
	for _, rt := range st.refresh {
		if rt.grantID == g.id {
			rt.revoked = true
		}
	}
	for _, a := range st.access {
		if a.grantID == g.id {
			a.revoked = true
		}
	}
}

func (s *Server) refreshGrantLocked(c *Client, token string) (TokenResponse, error) {
	st := &s.st
	if token == "" {
		return TokenResponse{}, terr("invalid_request", "Missing refresh_token.")
	}
	rt, ok := st.refresh[token]
	if !ok || rt.clientID != c.ID {
		return TokenResponse{}, terr("invalid_grant", "The refresh token is invalid.")
	}
	g := st.grants[rt.grantID]
	now := st.now()
	switch {
	case rt.revoked || g == nil || g.revoked:
		return TokenResponse{}, terr("invalid_grant", "The refresh token has been revoked.")
	case !now.Before(rt.expires):
		return TokenResponse{}, terr("invalid_grant", "The refresh token has expired.")
	case !rt.rotatedAt.IsZero() && !now.Before(rt.rotatedAt.Add(RefreshGracePeriod)):
		return TokenResponse{}, terr("invalid_grant", "The refresh token has been rotated.")
	}
	if _, ok := st.users[g.userID]; !ok {
		return TokenResponse{}, terr("invalid_grant", "The user no longer exists.")
	}
	if rt.rotatedAt.IsZero() {
		rt.rotatedAt = now
	}
	return s.mintLocked(g, !s.cfg.freshOnRefresh), nil
}

func (s *Server) clientCredentialsLocked(c *Client, auds, scopes []string) (TokenResponse, error) {
	st := &s.st
	if c.Type != "m2m" {
		return TokenResponse{}, terr("unauthorized_client", "Only machine-to-machine applications can use client_credentials.")
	}
	allowed := []string{}
	for _, aud := range auds {
		a, ok := st.apis[aud]
		if !ok || !slices.Contains(c.Audiences, aud) {
			return TokenResponse{}, terr("unauthorized_client", fmt.Sprintf("The application is not authorized for the audience %q.", aud))
		}
		granted, explicit := st.m2mScopes[c.ID][aud]
		if !explicit || len(granted) == 0 {
			granted = a.scopes
		}
		for _, sc := range granted {
			if !slices.Contains(allowed, sc) {
				allowed = append(allowed, sc)
			}
		}
	}
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return TokenResponse{}, terr("invalid_scope", fmt.Sprintf("The scope %q is not granted to this application.", sc))
		}
	}
	if len(scopes) == 0 {
		scopes = allowed
	}
	now := st.now()
	exp := now.Add(st.accessTTL)
	jti := newUUID()
	claims := map[string]any{
		"aud":   nonNil(auds),
		"azp":   c.ID,
		"exp":   exp.Unix(),
		"gty":   []string{"client_credentials"},
		"iat":   now.Unix(),
		"iss":   s.URL(),
		"jti":   jti,
		"scope": strings.Join(scopes, " "),
		"scp":   nonNil(scopes),
		"v":     "2",
	}
	if c.OrgCode != "" {
		claims["org_code"] = c.OrgCode
	}
	tok := st.sign(claims)
	st.access[jti] = &accessRecord{clientID: c.ID}
	return TokenResponse{AccessToken: tok, ExpiresIn: int64(st.accessTTL / time.Second), Scope: strings.Join(scopes, " "), TokenType: "bearer"}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// mintLocked issues tokens for g. With reuse, an unexpired, unrevoked access
// token already issued for g is returned again.
func (s *Server) mintLocked(g *grant, reuse bool) TokenResponse {
	st := &s.st
	now := st.now()
	resp := TokenResponse{Scope: strings.Join(g.scopes, " "), TokenType: "bearer"}
	rec := st.access[g.accessJTI]
	if reuse && g.accessToken != "" && rec != nil && !rec.revoked && now.Before(g.accessExp) {
		resp.AccessToken = g.accessToken
		resp.ExpiresIn = int64(g.accessExp.Sub(now) / time.Second)
	} else {
		jti := newUUID()
		exp := now.Add(st.accessTTL)
		g.accessToken = st.sign(s.accessClaimsLocked(g, jti, now, exp))
		g.accessJTI = jti
		g.accessExp = exp
		st.access[jti] = &accessRecord{grantID: g.id, clientID: g.clientID}
		resp.AccessToken = g.accessToken
		resp.ExpiresIn = int64(st.accessTTL / time.Second)
	}
	if slices.Contains(g.scopes, "openid") {
		resp.IDToken = st.sign(s.idClaimsLocked(g, resp.AccessToken, now))
	}
	if slices.Contains(g.scopes, "offline") {
		resp.RefreshToken = randHex(32)
		st.refresh[resp.RefreshToken] = &refreshToken{grantID: g.id, clientID: g.clientID, expires: now.Add(st.refreshTTL)}
	}
	return resp
}

// props encodes properties as Kinde does, {"key":{"v":value}}; a property
// without a value is {} (nextjs-sdk.mdx shows "user_properties":{"kp_usr_city":{}}).
func props(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v == nil {
			out[k] = map[string]any{}
		} else {
			out[k] = map[string]any{"v": v}
		}
	}
	return out
}

func (s *Server) claimName(plain, hasura string) string {
	if s.cfg.hasura {
		return hasura
	}
	return plain
}

// accessClaimsLocked builds a user access token: Kinde's default claims
// (about-access-tokens.mdx: aud, azp, exp, iat, iss, jti, scp, sub,
// permissions, feature_flags, org_code) and the claims the token
// customization turns on.
// With Hasura mapping the claims carry the x-hasura-* names Kinde's SDKs read
// (js-utils getPermissions.ts, getRoles.ts, getFlag.ts,
// getCurrentOrganization.ts; kinde-auth-nextjs generateOrganizationObject.ts
// and generateUserObject.ts for org name and properties).
func (s *Server) accessClaimsLocked(g *grant, jti string, iat, exp time.Time) map[string]any {
	st := &s.st
	tc := s.cfg.tokens
	c := map[string]any{
		"aud": nonNil(g.audiences),
		"azp": g.clientID,
		"exp": exp.Unix(),
		"iat": iat.Unix(),
		"iss": s.URL(),
		"jti": jti,
		"scp": nonNil(g.scopes),
		"sub": g.userID,
	}
	flags := map[string]any{}
	for _, fv := range st.effectiveFlags(g.orgCode, g.userID) {
		flags[fv.f.key] = map[string]any{"t": fv.typ, "v": fv.value}
	}
	c[s.claimName("permissions", "x-hasura-permissions")] = st.userPermissions(g.orgCode, g.userID)
	c[s.claimName("feature_flags", "x-hasura-feature-flags")] = flags
	if tc.Roles {
		roles := []map[string]string{}
		for _, r := range st.userRoles(g.orgCode, g.userID) {
			roles = append(roles, map[string]string{"id": r.ID, "key": r.Key, "name": r.Name})
		}
		c[s.claimName("roles", "x-hasura-roles")] = roles
	}
	if g.orgCode != "" {
		c[s.claimName("org_code", "x-hasura-org-code")] = g.orgCode
		if o, ok := st.orgs[g.orgCode]; ok {
			if tc.OrgName {
				c[s.claimName("org_name", "x-hasura-org-name")] = o.Name
			}
			if tc.OrgProperties {
				c[s.claimName("organization_properties", "x-hasura-organization_properties")] = props(o.Properties)
			}
			if o.NonPersistentSessions {
				c["ksp"] = map[string]any{"persistent": false}
			}
			if tc.ExternalOrgID && o.ExternalID != "" {
				c["external_organization_id"] = o.ExternalID
			}
		}
	}
	if s.cfg.hasura {
		c["x-hasura-org-codes"] = nonNil(st.userOrgs[g.userID])
	}
	if u, ok := st.users[g.userID]; ok {
		if tc.UserProperties {
			c[s.claimName("user_properties", "x-hasura-user_properties")] = props(u.Properties)
		}
		if tc.Email && u.Email != "" {
			c["email"] = u.Email
		}
	}
	if tc.AppProperties {
		c["application_properties"] = props(st.appProps)
	}
	return c
}

// idClaimsLocked builds an ID token: Kinde's default claims
// (about-id-tokens.mdx) plus the claims the token customization turns on.
func (s *Server) idClaimsLocked(g *grant, accessToken string, now time.Time) map[string]any {
	st := &s.st
	tc := s.cfg.tokens
	sum := sha256.Sum256([]byte(accessToken))
	c := map[string]any{
		"at_hash":   base64.RawURLEncoding.EncodeToString(sum[:16]),
		"aud":       []string{g.clientID},
		"azp":       g.clientID,
		"auth_time": g.authTime.Unix(),
		"exp":       now.Add(st.idTTL).Unix(),
		"iat":       now.Unix(),
		"iss":       s.URL(),
		"jti":       newUUID(),
		"sub":       g.userID,
		"rat":       g.requestedAt.Unix(),
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	orgCodes := nonNil(st.userOrgs[g.userID])
	c[s.claimName("org_codes", "x-hasura-org-codes")] = orgCodes
	if tc.Organizations {
		orgs := []map[string]string{}
		for _, code := range orgCodes {
			if o, ok := st.orgs[code]; ok {
				orgs = append(orgs, map[string]string{"id": o.Code, "name": o.Name})
			}
		}
		c[s.claimName("organizations", "x-hasura-organizations")] = orgs
	}
	if o, ok := st.orgs[g.orgCode]; ok && tc.IDOrgProperties {
		c[s.claimName("organization_properties", "x-hasura-organization_properties")] = props(o.Properties)
	}
	if u, ok := st.users[g.userID]; ok {
		c["email"] = u.Email
		c["email_verified"] = u.Email != ""
		c["given_name"] = u.GivenName
		c["family_name"] = u.FamilyName
		c["name"] = u.Name()
		c["picture"] = u.Picture
		c["updated_at"] = u.UpdatedAt.Unix()
		if tc.IDUserProperties {
			c[s.claimName("user_properties", "x-hasura-user_properties")] = props(u.Properties)
		}
		if u.Username != "" {
			c["preferred_username"] = u.Username
		}
		if u.ProvidedID != "" {
			c["provided_id"] = u.ProvidedID
		}
		if u.Phone != "" {
			// Optional in kinde-auth-nextjs's KindeIdToken type (src/types.ts).
			c["phone_number"] = u.Phone
		}
	}
	return c
}

func (st *state) resolveIssue(userID string, o IssueOptions) (*grant, error) {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if _, ok := st.clients[o.ClientID]; !ok {
		return nil, fmt.Errorf("kindetest: unknown client %q", o.ClientID)
	}
	org := o.OrgCode
	if org != "" {
		if _, ok := st.members[org][userID]; !ok {
			return nil, fmt.Errorf("kindetest: user %q is not a member of organization %q", userID, org)
		}
	} else if orgs := st.userOrgs[userID]; len(orgs) > 0 {
		org = orgs[0]
	}
	scopes := o.Scopes
	if scopes == nil {
		scopes = []string{"openid", "profile", "email", "offline"}
	}
	now := st.now()
	return &grant{
		id:          randHex(16),
		clientID:    o.ClientID,
		userID:      userID,
		orgCode:     org,
		scopes:      slices.Clone(scopes),
		audiences:   slices.Clone(o.Audience),
		nonce:       o.Nonce,
		authTime:    now,
		requestedAt: now,
	}, nil
}

// IssueTokens mints tokens for userID as the token endpoint would after a
// sign-in, without a browser. The refresh token (with scope offline) is
// registered and can be used at the token endpoint.
func (s *Server) IssueTokens(userID string, opts IssueOptions) (TokenResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.users[userID]; !ok {
		return TokenResponse{}, fmt.Errorf("kindetest: unknown user %q", userID)
	}
	g, err := s.st.resolveIssue(userID, opts)
	if err != nil {
		return TokenResponse{}, err
	}
	s.st.grants[g.id] = g
	return s.mintLocked(g, false), nil
}

// IssueM2MToken mints a client_credentials token for the m2m client
// clientID, with the same rules as the token endpoint.
func (s *Server) IssueM2MToken(clientID string, audience ...string) (TokenResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.clients[clientID]
	if !ok {
		return TokenResponse{}, fmt.Errorf("kindetest: unknown client %q", clientID)
	}
	resp, err := s.clientCredentialsLocked(c, audience, nil)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("kindetest: client credentials: %w", err)
	}
	return resp, nil
}

// AccessTokenClaims returns the claims of a user access token for userID as
// the emulator would issue it now, as a baseline to tamper with before Sign.
// An unknown user or org yields claims without directory data.
func (s *Server) AccessTokenClaims(userID string, opts IssueOptions) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.st.resolveIssue(userID, opts)
	if err != nil {
		g = &grant{clientID: opts.ClientID, userID: userID, orgCode: opts.OrgCode, scopes: opts.Scopes, audiences: opts.Audience}
		if g.clientID == "" {
			g.clientID = DefaultClientID
		}
	}
	now := s.st.now()
	return s.accessClaimsLocked(g, newUUID(), now, now.Add(s.st.accessTTL))
}
