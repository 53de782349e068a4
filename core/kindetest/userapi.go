package kindetest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// checkTokenLocked verifies a bearer access token issued by the emulator and
// not revoked.
func (s *Server) checkTokenLocked(tok string) (map[string]any, bool) {
	claims, err := s.st.verify(tok, s.URL())
	if err != nil {
		return nil, false
	}
	if jti, _ := claims["jti"].(string); jti != "" {
		if rec, ok := s.st.access[jti]; ok {
			if rec.revoked {
				return nil, false
			}
			if g, ok := s.st.grants[rec.grantID]; ok && g.revoked {
				return nil, false
			}
		}
	}
	return claims, true
}

// userTokenLocked returns the claims of a valid user (not M2M) access token.
func (s *Server) userTokenLocked(r *http.Request) (map[string]any, bool) {
	tok, ok := bearer(r)
	if !ok {
		return nil, false
	}
	claims, ok := s.checkTokenLocked(tok)
	if !ok || claims["gty"] != nil {
		return nil, false
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, false
	}
	return claims, true
}

func strClaim(c map[string]any, name string) string {
	v, _ := c[name].(string)
	return v
}

func (s *Server) handleUserProfile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	claims, ok := s.userTokenLocked(r)
	var u User
	if ok {
		var found *User
		found, ok = s.st.users[strClaim(claims, "sub")]
		if ok {
			u = *found
		}
	}
	s.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid or expired")
		return
	}
	nullable := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                 u.ID,
		"sub":                u.ID,
		"provided_id":        nullable(u.ProvidedID),
		"name":               u.Name(),
		"given_name":         u.GivenName,
		"family_name":        u.FamilyName,
		"updated_at":         u.UpdatedAt.Unix(),
		"email":              u.Email,
		"email_verified":     u.Email != "",
		"picture":            nullable(u.Picture),
		"preferred_username": nullable(u.Username),
	})
}

func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		_, ok = s.checkTokenLocked(tok)
	}
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_token", "A valid bearer token is required.")
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing token.")
		return
	}
	token, hint := r.PostForm.Get("token"), r.PostForm.Get("token_type_hint")
	if hint != "" && hint != "access_token" && hint != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token_type_hint must be access_token or refresh_token.")
		return
	}
	if rt, ok := s.st.refresh[token]; ok {
		g := s.st.grants[rt.grantID]
		now := s.st.now()
		active := !rt.revoked && g != nil && !g.revoked && now.Before(rt.expires) &&
			(rt.rotatedAt.IsZero() || now.Before(rt.rotatedAt.Add(RefreshGracePeriod)))
		if !active {
			writeJSON(w, http.StatusOK, map[string]any{"active": false})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"active": true, "client_id": rt.clientID, "exp": rt.expires.Unix(), "sub": g.userID,
			"scope": strings.Join(g.scopes, " "), "token_type": "refresh_token", "aud": nonNil(g.audiences),
		})
		return
	}
	claims, ok := s.checkTokenLocked(token)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	var scopes []string
	if scp, ok := claims["scp"].([]any); ok {
		for _, v := range scp {
			if sv, ok := v.(string); ok {
				scopes = append(scopes, sv)
			}
		}
	}
	out := map[string]any{
		"active": true, "aud": claims["aud"], "client_id": claims["azp"], "exp": claims["exp"],
		"iat": claims["iat"], "scope": strings.Join(scopes, " "), "token_type": "access_token",
	}
	if sub, ok := claims["sub"]; ok {
		out["sub"] = sub
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body.")
		return
	}
	f := r.PostForm
	if f.Get("token") == "" || f.Get("client_id") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token and client_id are required.")
		return
	}
	if h := f.Get("token_type_hint"); h != "" && h != "access_token" && h != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token_type_hint must be access_token or refresh_token.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.st.authenticateClient(f.Get("client_id"), f.Get("client_secret"))
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", err.(*tokenError).desc)
		return
	}
	token := f.Get("token")
	if rt, ok := s.st.refresh[token]; ok {
		if rt.clientID == c.ID {
			for _, other := range s.st.refresh {
				if other.grantID == rt.grantID {
					other.revoked = true
				}
			}
		}
	} else if jti := unverifiedJTI(token); jti != "" {
		if rec, ok := s.st.access[jti]; ok && rec.clientID == c.ID {
			rec.revoked = true
		}
	}
	w.WriteHeader(http.StatusOK)
}

// unverifiedJTI reads the jti of a JWT without checking it; revocation only
// needs to find the record, which is then matched against the client.
func unverifiedJTI(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.JTI
}

// --- Account API ---

type accountCtx struct {
	userID  string
	orgCode string
}

func (s *Server) accountRouter() http.Handler {
	type handler func(http.ResponseWriter, *http.Request, accountCtx, string)
	routes := map[string]handler{
		"entitlements":  s.accEntitlements,
		"entitlement":   s.accEntitlement,
		"feature_flags": s.accFlags,
		"permissions":   s.accPermissions,
		"permission":    s.accPermission,
		"roles":         s.accRoles,
		"properties":    s.accProperties,
		"portal_link":   s.accPortalLink,
	}
	keyed := map[string]bool{"entitlement": true, "permission": true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/account_api/v1/")
		name, key, hasKey := strings.Cut(rest, "/")
		h, found := routes[name]
		if !ok || !found || r.Method != http.MethodGet || hasKey != keyed[name] || (hasKey && (key == "" || strings.Contains(key, "/"))) {
			notFound(w)
			return
		}
		if hasKey {
			k, err := url.PathUnescape(key)
			if err != nil {
				notFound(w)
				return
			}
			key = k
		}
		if _, ok := bearer(r); !ok {
			writeAPIError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Missing bearer token")
			return
		}
		s.mu.Lock()
		claims, ok := s.userTokenLocked(r)
		s.mu.Unlock()
		if !ok {
			writeAPIError(w, http.StatusForbidden, "INVALID_CREDENTIALS", "Invalid credentials")
			return
		}
		org := strClaim(claims, "org_code")
		if org == "" {
			org = strClaim(claims, "x-hasura-org-code")
		}
		h(w, r, accountCtx{userID: strClaim(claims, "sub"), orgCode: org}, key)
	})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"errors": map[string]string{
		"code": "ROUTE_NOT_FOUND", "message": "The requested API route does not exist",
	}})
}

// pageAfter applies page_size and starting_after to items.
func pageAfter[T any](w http.ResponseWriter, r *http.Request, items []T, id func(T) string) ([]T, map[string]any, bool) {
	q := r.URL.Query()
	size := 10
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeAPIError(w, http.StatusBadRequest, "INVALID_PAGE_SIZE", "page_size must be an integer between 1 and 500")
			return nil, nil, false
		}
		size = n
	}
	start := 0
	if after := q.Get("starting_after"); after != "" {
		i := slices.IndexFunc(items, func(t T) bool { return id(t) == after })
		if i < 0 {
			writeAPIError(w, http.StatusBadRequest, "INVALID_STARTING_AFTER", "starting_after does not match an item")
			return nil, nil, false
		}
		start = i + 1
	}
	end := min(start+size, len(items))
	page := items[start:end]
	meta := map[string]any{"has_more": end < len(items)}
	if len(page) > 0 {
		meta["next_page_starting_after"] = id(page[len(page)-1])
	}
	return page, meta, true
}

type kv = map[string]any

func (s *Server) accEntitlements(w http.ResponseWriter, r *http.Request, a accountCtx, _ string) {
	s.mu.Lock()
	var plans []Plan
	var ents []Entitlement
	if e := s.st.ents[a.orgCode]; e != nil {
		plans, ents = slices.Clone(e.plans), slices.Clone(e.ents)
	}
	s.mu.Unlock()
	page, meta, ok := pageAfter(w, r, ents, func(e Entitlement) string { return e.ID })
	if !ok {
		return
	}
	pl := []kv{}
	for _, p := range plans {
		pl = append(pl, kv{"key": p.Key, "name": p.Name, "subscribed_on": p.SubscribedOn.UTC().Format("2006-01-02T15:04:05Z")})
	}
	es := []kv{}
	for _, e := range page {
		es = append(es, entitlementJSON(e))
	}
	writeJSON(w, http.StatusOK, kv{"data": kv{"org_code": a.orgCode, "plans": pl, "entitlements": es}, "metadata": meta})
}

func entitlementJSON(e Entitlement) kv {
	return kv{"id": e.ID, "fixed_charge": e.FixedCharge, "price_name": e.PriceName, "unit_amount": e.UnitAmount,
		"feature_key": e.FeatureKey, "feature_name": e.FeatureName,
		"entitlement_limit_max": e.EntitlementLimitMax, "entitlement_limit_min": e.EntitlementLimitMin}
}

func (s *Server) accEntitlement(w http.ResponseWriter, _ *http.Request, a accountCtx, key string) {
	s.mu.Lock()
	var found *Entitlement
	if e := s.st.ents[a.orgCode]; e != nil {
		for i := range e.ents {
			if e.ents[i].FeatureKey == key {
				cp := e.ents[i]
				found = &cp
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeAPIError(w, http.StatusNotFound, "ENTITLEMENT_NOT_FOUND", "No entitlement with that key")
		return
	}
	writeJSON(w, http.StatusOK, kv{"data": kv{"org_code": a.orgCode, "entitlement": entitlementJSON(*found)}, "metadata": kv{}})
}

func (s *Server) accFlags(w http.ResponseWriter, r *http.Request, a accountCtx, _ string) {
	s.mu.Lock()
	fvs := s.st.effectiveFlags(a.orgCode, a.userID)
	s.mu.Unlock()
	page, meta, ok := pageAfter(w, r, fvs, func(f flagValue) string { return f.f.id })
	if !ok {
		return
	}
	// The Account API spells flag types out; js-utils getFlags.ts types them
	// as "string" | "boolean" | "integer" | "object".
	names := map[string]string{"b": "boolean", "i": "integer", "s": "string", "j": "object", "o": "object"}
	out := []kv{}
	for _, f := range page {
		out = append(out, kv{"id": f.f.id, "name": f.f.name, "key": f.f.key, "type": names[f.typ], "value": f.value})
	}
	writeJSON(w, http.StatusOK, kv{"data": kv{"feature_flags": out}, "metadata": meta})
}

func (s *Server) accPermissions(w http.ResponseWriter, r *http.Request, a accountCtx, _ string) {
	s.mu.Lock()
	var perms []Permission
	for _, k := range s.st.userPermissions(a.orgCode, a.userID) {
		if p, ok := s.st.perms[k]; ok {
			perms = append(perms, *p)
		}
	}
	s.mu.Unlock()
	page, meta, ok := pageAfter(w, r, perms, func(p Permission) string { return p.ID })
	if !ok {
		return
	}
	out := []kv{}
	for _, p := range page {
		out = append(out, kv{"id": p.ID, "name": p.Name, "key": p.Key})
	}
	writeJSON(w, http.StatusOK, kv{"data": kv{"org_code": a.orgCode, "permissions": out}, "metadata": meta})
}

// accPermission answers GET /account_api/v1/permission/{key}. The route is
// not in Kinde's Account API spec; its reply shape is what the official
// clients read: js-utils lib/utils/token/getPermission.ts returns the reply
// as PermissionAccess {permissionKey, orgCode (string or null), isGranted},
// the shape its getPermission.test.ts mocks for forceApi.
func (s *Server) accPermission(w http.ResponseWriter, _ *http.Request, a accountCtx, key string) {
	s.mu.Lock()
	granted := slices.Contains(s.st.userPermissions(a.orgCode, a.userID), key)
	s.mu.Unlock()
	var org any
	if a.orgCode != "" {
		org = a.orgCode
	}
	writeJSON(w, http.StatusOK, kv{"permissionKey": key, "orgCode": org, "isGranted": granted})
}

func (s *Server) accRoles(w http.ResponseWriter, r *http.Request, a accountCtx, _ string) {
	s.mu.Lock()
	var roles []Role
	for _, rl := range s.st.userRoles(a.orgCode, a.userID) {
		roles = append(roles, *rl)
	}
	s.mu.Unlock()
	page, meta, ok := pageAfter(w, r, roles, func(r Role) string { return r.ID })
	if !ok {
		return
	}
	out := []kv{}
	for _, rl := range page {
		out = append(out, kv{"id": rl.ID, "name": rl.Name, "key": rl.Key})
	}
	writeJSON(w, http.StatusOK, kv{"data": kv{"org_code": a.orgCode, "roles": out}, "metadata": meta})
}

type propItem struct {
	key   string
	value any
}

func (s *Server) accProperties(w http.ResponseWriter, r *http.Request, a accountCtx, _ string) {
	s.mu.Lock()
	var items []propItem
	if u, ok := s.st.users[a.userID]; ok {
		for _, k := range slices.Sorted(maps.Keys(u.Properties)) {
			items = append(items, propItem{k, u.Properties[k]})
		}
	}
	s.mu.Unlock()
	id := func(p propItem) string { return "prop_" + p.key }
	page, meta, ok := pageAfter(w, r, items, id)
	if !ok {
		return
	}
	out := []kv{}
	for _, p := range page {
		out = append(out, kv{"id": id(p), "name": p.key, "key": p.key, "value": p.value})
	}
	writeJSON(w, http.StatusOK, kv{"data": kv{"properties": out}, "metadata": meta})
}

// portalSubnavs are the portal pages: the Account API spec's subnav enum
// (specs/kinde-account-api.yaml lines 334-347, GetPortalLink) plus
// organization_members and organization_plan_details, which js-utils
// lib/types.ts PortalPage (and the Python SDK's PortalPage) also list.
func portalSubnavs() []string {
	return []string{"profile", "organization_details", "organization_payment_details", "organization_plan_selection",
		"payment_details", "plan_details", "plan_selection", "organization_members", "organization_plan_details"}
}

// validReturnURL is the emulator's check of portal_link's return_url: an
// absolute https URL, or http on a loopback host. The spec (lines 348-355)
// types it only as a nullable string "to redirect the user to after they
// have completed their actions in the portal"; refusing what a browser
// could not be sent back to keeps applications honest.
func validReturnURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}

// portalVisit is what a portal link opens: the user, the page (subnav) and
// the way back (return_url).
type portalVisit struct {
	userID, subnav, returnURL string
}

// accPortalLink is GET /account_api/v1/portal_link (Account API spec,
// specs/kinde-account-api.yaml lines 322-368, operation GetPortalLink): a
// user access token as Bearer (security kindeBearerAuth, lines 367-368; a
// token Kinde does not accept is refused by accountRouter with 403 "Invalid
// credentials", lines 363-364), optional query parameters subnav (an enum,
// lines 334-347) and return_url (lines 348-355), and a 200 reply of the
// portal_link schema (lines 357-362 and 532-539): {"url": …}, whose example
// is https://<subdomain>.kinde.com/portal_redirect?key=… . Each parameter
// is given at most once.
func (s *Server) accPortalLink(w http.ResponseWriter, r *http.Request, a accountCtx, _ string) {
	q := r.URL.Query()
	if len(q["subnav"]) > 1 || len(q["return_url"]) > 1 {
		writeAPIError(w, http.StatusBadRequest, "INVALID_REQUEST", "subnav and return_url may be given once each")
		return
	}
	subnav := q.Get("subnav")
	if subnav != "" && !slices.Contains(portalSubnavs(), subnav) {
		writeAPIError(w, http.StatusBadRequest, "INVALID_SUBNAV", "subnav is not a valid portal page")
		return
	}
	ret := q.Get("return_url")
	if ret != "" && !validReturnURL(ret) {
		writeAPIError(w, http.StatusBadRequest, "INVALID_RETURN_URL", "return_url must be an absolute https URL (or http on loopback)")
		return
	}
	key := randHex(24)
	s.mu.Lock()
	s.st.portal[key] = portalVisit{userID: a.userID, subnav: subnav, returnURL: ret}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, kv{"url": s.URL() + "/portal_redirect?key=" + key})
}

// handlePortalRedirect is the portal a portal link opens: a page naming the
// user and the page, with a link back to the return URL (when one was
// given; Kinde then uses the return URL set in its portal settings).
func (s *Server) handlePortalRedirect(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v, ok := s.st.portal[r.URL.Query().Get("key")]
	email := ""
	if u, found := s.st.users[v.userID]; ok && found {
		email = u.Email
	}
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusBadRequest, "invalid_key", "Unknown portal key.")
		return
	}
	page := v.subnav
	if page == "" {
		page = "profile"
	}
	d := pageData{Title: "Self-serve portal", Message: "Signed in as " + email + ". Page: " + page + "."}
	if v.returnURL != "" {
		d.Link = &pageLink{ID: "portal-return", Href: v.returnURL, Text: "Return to " + v.returnURL}
	}
	writePage(w, http.StatusOK, d)
}
