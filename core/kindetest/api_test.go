package kindetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestAccountAPI(t *testing.T) {
	f := newFixture(t)
	max := 5
	if err := f.srv.SetEntitlements(f.demo.Acme.Code, []Plan{{Key: "pro", Name: "Pro"}}, []Entitlement{
		{FeatureKey: "seats", FeatureName: "Seats", EntitlementLimitMax: &max},
		{FeatureKey: "api", FeatureName: "API"},
		{FeatureKey: "sso", FeatureName: "SSO"},
	}); err != nil {
		t.Fatal(err)
	}
	tok := f.login(t, f.alice.ID, nil)["access_token"].(string)

	// Paginate permissions two at a time.
	var keys []string
	after := ""
	for range 5 {
		q := url.Values{"page_size": {"2"}}
		if after != "" {
			q.Set("starting_after", after)
		}
		status, b := f.bearerGet(t, "/account_api/v1/permissions?"+q.Encode(), tok)
		if status != 200 {
			t.Fatalf("permissions: %d %v", status, b)
		}
		data, meta := b["data"].(map[string]any), b["metadata"].(map[string]any)
		if data["org_code"] != f.demo.Acme.Code {
			t.Errorf("org_code %v", data["org_code"])
		}
		for _, p := range data["permissions"].([]any) {
			keys = append(keys, p.(map[string]any)["key"].(string))
		}
		if meta["has_more"] != true {
			break
		}
		after = meta["next_page_starting_after"].(string)
	}
	if !slices.Equal(keys, []string{"create:todos", "delete:todos", "read:todos", "update:todos"}) {
		t.Errorf("paginated permissions %v", keys)
	}

	tests := []struct {
		path   string
		status int
		check  func(map[string]any) bool
	}{
		{"/account_api/v1/entitlements?page_size=2", 200, func(b map[string]any) bool {
			d := b["data"].(map[string]any)
			return len(d["entitlements"].([]any)) == 2 && len(d["plans"].([]any)) == 1 && b["metadata"].(map[string]any)["has_more"] == true
		}},
		{"/account_api/v1/entitlement/seats", 200, func(b map[string]any) bool {
			return b["data"].(map[string]any)["entitlement"].(map[string]any)["entitlement_limit_max"].(float64) == 5
		}},
		{"/account_api/v1/entitlement/nope", 404, func(b map[string]any) bool { return apiCode(b) == "ENTITLEMENT_NOT_FOUND" }},
		{"/account_api/v1/feature_flags", 200, func(b map[string]any) bool {
			return len(b["data"].(map[string]any)["feature_flags"].([]any)) == 3
		}},
		{"/account_api/v1/roles", 200, func(b map[string]any) bool {
			r := b["data"].(map[string]any)["roles"].([]any)
			return len(r) == 1 && r[0].(map[string]any)["key"] == "admin"
		}},
		{"/account_api/v1/properties", 200, func(b map[string]any) bool {
			p := b["data"].(map[string]any)["properties"].([]any)
			return len(p) == 1 && p[0].(map[string]any)["value"] == "Sydney"
		}},
		// js-utils getPermission.test.ts: {permissionKey, orgCode, isGranted} at the top level.
		{"/account_api/v1/permission/delete:todos", 200, func(b map[string]any) bool {
			return b["isGranted"] == true && b["permissionKey"] == "delete:todos" && b["orgCode"] == f.demo.Acme.Code && b["data"] == nil
		}},
		{"/account_api/v1/permission/fly:planes", 200, func(b map[string]any) bool { return b["isGranted"] == false }},
		{"/account_api/v1/permission/view%20reports%2Fadvanced", 200, func(b map[string]any) bool {
			return b["isGranted"] == false && b["permissionKey"] == "view reports/advanced"
		}},
		{"/account_api/v1/portal_link?subnav=organization_plan_details&return_url=https%3A%2F%2Fapp.example%2F", 200, func(b map[string]any) bool { return b["url"] != nil }},
		{"/account_api/v1/portal_link?subnav=profile&return_url=https%3A%2F%2Fapp.example%2F", 200, func(b map[string]any) bool {
			u, err := url.Parse(b["url"].(string))
			return err == nil && u.Path == "/portal_redirect" && u.Query().Get("key") != ""
		}},
		{"/account_api/v1/portal_link?return_url=http%3A%2F%2F127.0.0.1%3A3000%2F", 200, func(b map[string]any) bool { return b["url"] != nil }},
		{"/account_api/v1/portal_link?subnav=nope", 400, func(b map[string]any) bool { return apiCode(b) == "INVALID_SUBNAV" }},
		// The spec (specs/kinde-account-api.yaml lines 334-355) types subnav and return_url as single strings.
		{"/account_api/v1/portal_link?subnav=profile&subnav=plan_details", 400, func(b map[string]any) bool { return apiCode(b) == "INVALID_REQUEST" }},
		{"/account_api/v1/portal_link?return_url=http%3A%2F%2Fapp.example%2F", 400, func(b map[string]any) bool { return apiCode(b) == "INVALID_RETURN_URL" }},
		{"/account_api/v1/permissions?page_size=0", 400, func(b map[string]any) bool { return apiCode(b) == "INVALID_PAGE_SIZE" }},
		{"/account_api/v1/permissions?starting_after=perm_nope", 400, func(b map[string]any) bool { return apiCode(b) == "INVALID_STARTING_AFTER" }},
		{"/account_api/v1/nothing", 404, func(b map[string]any) bool {
			e, ok := b["errors"].(map[string]any)
			return ok && e["code"] == "ROUTE_NOT_FOUND"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, b := f.bearerGet(t, tt.path, tok)
			if status != tt.status || !tt.check(b) {
				t.Fatalf("got %d %v, want %d", status, b, tt.status)
			}
		})
	}

	// js-utils getPermission.ts PermissionAccess: orgCode is null without an organization.
	loner := f.srv.AddUser(User{Email: "loner@example.com"})
	lonerTok, err := f.srv.IssueTokens(loner.ID, IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if status, b := f.bearerGet(t, "/account_api/v1/permission/read:todos", lonerTok.AccessToken); status != 200 ||
		b["orgCode"] != nil || b["isGranted"] != false || b["permissionKey"] != "read:todos" {
		t.Errorf("permission without an organization: %d %v", status, b)
	}

	m2m, err := f.srv.IssueM2MToken(DefaultM2MClientID, f.srv.ManagementAudience())
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		tok    string
		status int
	}{"missing": {"", 401}, "garbage": {"abc", 403}, "m2m": {m2m.AccessToken, 403}} {
		if status, b := f.bearerGet(t, "/account_api/v1/roles", c.tok); status != c.status || apiCode(b) == "" {
			t.Errorf("%s token: %d %v", name, status, b)
		}
	}
}

func TestFaultsAndCounters(t *testing.T) {
	f := newFixture(t)
	tok := f.login(t, f.alice.ID, nil)["access_token"].(string)
	f.srv.ResetRequests()

	f.srv.SetFault("/account_api/v1/roles", Fault{Status: http.StatusTooManyRequests, Times: 1})
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL()+"/account_api/v1/roles", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("RateLimit-Reset") == "" {
		t.Fatalf("429 fault: %d reset=%q", resp.StatusCode, resp.Header.Get("RateLimit-Reset"))
	}
	if status, b := f.bearerGet(t, "/account_api/v1/roles", tok); status != 200 {
		t.Fatalf("fault with Times=1 still active: %d %v", status, b)
	}
	if n := f.srv.Requests("/account_api/v1/roles"); n != 2 {
		t.Errorf("Requests = %d, want 2", n)
	}

	f.srv.SetFault("/oauth2/token", Fault{Status: 503, Header: http.Header{"Retry-After": {"7"}}})
	status, b := f.post(t, "/oauth2/token", refreshForm("x"), nil)
	if status != 503 || errCode(b) != "temporarily_unavailable" {
		t.Errorf("503 fault: %d %v", status, b)
	}
	f.srv.SetFault("/oauth2/token", Fault{Status: 500, Body: `{"custom":true}`})
	if status, b := f.post(t, "/oauth2/token", refreshForm("x"), nil); status != 500 || b["custom"] != true {
		t.Errorf("custom body fault: %d %v", status, b)
	}
	f.srv.ClearFaults()
	if status, b := f.post(t, "/oauth2/token", refreshForm("x"), nil); status != 400 || errCode(b) != "invalid_grant" {
		t.Errorf("after ClearFaults: %d %v", status, b)
	}
	if n := f.srv.Requests("/oauth2/token"); n != 3 {
		t.Errorf("token Requests = %d, want 3", n)
	}

	f.srv.SetFault("/.well-known/jwks", Fault{Drop: true})
	if resp, err := f.c.Get(f.srv.URL() + "/.well-known/jwks"); err == nil {
		resp.Body.Close()
		t.Errorf("dropped connection returned %d", resp.StatusCode)
	}

	f.srv.SetFault("/.well-known/openid-configuration", Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL()+"/.well-known/openid-configuration", nil)
	if resp, err := f.c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("delayed request: err %v, want deadline exceeded", err)
	}
}

func TestManagementAPI(t *testing.T) {
	f := newFixture(t)
	for i := range 12 {
		f.srv.AddUser(User{Email: fmt.Sprintf("user%02d@example.com", i)})
	}
	m2m, err := f.srv.IssueM2MToken(DefaultM2MClientID, f.srv.ManagementAudience())
	if err != nil {
		t.Fatal(err)
	}
	tok := m2m.AccessToken

	// Users paginate with next_token.
	var ids []string
	next := ""
	for range 10 {
		path := "/api/v1/users?page_size=5"
		if next != "" {
			path += "&next_token=" + next
		}
		status, b := f.bearerGet(t, path, tok)
		if status != 200 || b["code"] != "OK" {
			t.Fatalf("users: %d %v", status, b)
		}
		for _, u := range b["users"].([]any) {
			ids = append(ids, u.(map[string]any)["id"].(string))
		}
		n, _ := b["next_token"].(string)
		if n == "" {
			break
		}
		next = n
	}
	if len(ids) != 15 { // the demo's three and twelve more
		t.Errorf("paginated %d users, want 15", len(ids))
	}

	// Create an org, a user in it and give the user a role: the next token carries it.
	status, b := f.bearerJSON(t, "POST", "/api/v1/organization", tok, map[string]any{"name": "Initech"})
	if status != 200 {
		t.Fatalf("create org: %d %v", status, b)
	}
	org := b["organization"].(map[string]any)["code"].(string)
	status, b = f.bearerJSON(t, "POST", "/api/v1/user", tok, map[string]any{
		"profile":    map[string]any{"given_name": "Peter", "family_name": "Gibbons"},
		"identities": []any{map[string]any{"type": "email", "details": map[string]any{"email": "peter@initech.example"}}},
	})
	if status != 200 || b["created"] != true {
		t.Fatalf("create user: %d %v", status, b)
	}
	peter := b["id"].(string)
	if status, b := f.bearerJSON(t, "POST", "/api/v1/organizations/"+org+"/users", tok, map[string]any{"users": []any{map[string]any{"id": peter}}}); status != 200 {
		t.Fatalf("add org user: %d %v", status, b)
	}
	if status, b := f.bearerJSON(t, "POST", "/api/v1/organizations/"+org+"/users/"+peter+"/roles", tok, map[string]any{"role_id": f.demo.AdminRole.ID}); status != 200 {
		t.Fatalf("add role: %d %v", status, b)
	}
	tr, err := f.srv.IssueTokens(peter, IssueOptions{OrgCode: org})
	if err != nil {
		t.Fatal(err)
	}
	if perms := strs(claimsOf(t, tr.AccessToken)["permissions"]); !slices.Contains(perms, "delete:todos") {
		t.Errorf("permissions after role grant: %v", perms)
	}
	if status, b := f.bearerJSON(t, "PATCH", "/api/v1/organizations/"+org+"/feature_flags/theme?value=blue", tok, nil); status != 200 {
		t.Fatalf("org flag: %d %v", status, b)
	}
	tr, _ = f.srv.IssueTokens(peter, IssueOptions{OrgCode: org})
	if fl := claimsOf(t, tr.AccessToken)["feature_flags"].(map[string]any)["theme"].(map[string]any); fl["v"] != "blue" {
		t.Errorf("org flag override: %v", fl)
	}

	tests := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/api/v1/user?id=" + peter, nil, 200, ""},
		{"GET", "/api/v1/user", nil, 400, "ID_REQUIRED"},
		{"GET", "/api/v1/user?id=kp_nope", nil, 400, "USER_INVALID"},
		{"PATCH", "/api/v1/user?id=" + peter, map[string]any{"given_name": "Pete"}, 200, ""},
		{"POST", "/api/v1/user", map[string]any{"identities": []any{map[string]any{"type": "email", "details": map[string]any{"email": "peter@initech.example"}}}}, 400, "EMAIL_ALREADY_EXISTS"},
		{"GET", "/api/v1/organizations?page_size=1", nil, 200, ""},
		{"GET", "/api/v1/organizations?page_size=501", nil, 400, "PAGE_SIZE_LIMIT_EXCEEDED"},
		{"GET", "/api/v1/organizations?next_token=garbage", nil, 400, "INVALID_NEXT_TOKEN"},
		{"GET", "/api/v1/organization?code=" + org, nil, 200, ""},
		{"GET", "/api/v1/organization?code=org_nope", nil, 400, "ORGANIZATION_NOT_FOUND"},
		{"POST", "/api/v1/organization", map[string]any{}, 400, "NAME_REQUIRED"},
		{"PATCH", "/api/v1/organization/" + org, map[string]any{"name": "Initrode"}, 200, ""},
		{"PATCH", "/api/v1/organization/" + org, map[string]any{}, 400, "NO_FIELDS_TO_UPDATE"},
		{"GET", "/api/v1/organizations/" + org + "/users", nil, 200, ""},
		{"GET", "/api/v1/organizations/" + org + "/users/" + peter + "/roles", nil, 200, ""},
		{"GET", "/api/v1/organizations/" + org + "/users/" + peter + "/permissions", nil, 200, ""},
		{"DELETE", "/api/v1/organizations/" + org + "/users/" + peter + "/roles/" + f.demo.AdminRole.ID, nil, 200, ""},
		{"POST", "/api/v1/organizations/" + org + "/users/" + peter + "/roles", map[string]any{"role_id": "role_nope"}, 400, "ROLE_NOT_FOUND"},
		{"GET", "/api/v1/roles", nil, 200, ""},
		{"POST", "/api/v1/roles", map[string]any{"name": "Viewer", "key": "viewer"}, 201, ""},
		{"POST", "/api/v1/roles", map[string]any{"name": "Viewer", "key": "viewer"}, 400, "ROLE_KEY_EXISTS"},
		{"GET", "/api/v1/permissions", nil, 200, ""},
		{"POST", "/api/v1/roles", map[string]any{"key": "nameless"}, 400, "KEY_AND_NAME_REQUIRED"},
		{"POST", "/api/v1/permissions", map[string]any{"name": "Export", "key": "export:todos"}, 201, ""},
		{"POST", "/api/v1/permissions", map[string]any{"name": "Export", "key": "export:todos"}, 400, "PERMISSION_KEY_EXISTS"},
		{"POST", "/api/v1/permissions", map[string]any{"name": "Keyless"}, 400, "KEY_AND_NAME_REQUIRED"},
		{"POST", "/api/v1/feature_flags", map[string]any{"name": "Beta", "key": "beta", "type": "bool", "default_value": "true"}, 201, ""},
		{"POST", "/api/v1/feature_flags", map[string]any{"name": "Bad", "key": "bad", "type": "int", "default_value": "x"}, 400, "INVALID_DEFAULT_VALUE"},
		{"PATCH", "/api/v1/organizations/" + org + "/feature_flags/nope?value=1", nil, 400, "FEATURE_FLAG_NOT_FOUND"},
		{"DELETE", "/api/v1/organizations/" + org + "/users/" + peter, nil, 200, ""},
		{"DELETE", "/api/v1/organizations/" + org + "/users/" + peter, nil, 400, "USER_NOT_IN_ORGANIZATION"},
		{"DELETE", "/api/v1/user?id=" + peter, nil, 200, ""},
		{"DELETE", "/api/v1/organization/" + org, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, b := f.bearerJSON(t, tt.method, tt.path, tok, tt.body)
			if status != tt.status || apiCode(b) != tt.code {
				t.Fatalf("got %d %v, want %d %s", status, b, tt.status, tt.code)
			}
		})
	}

	t.Run("unknown route", func(t *testing.T) {
		for _, p := range []string{"/api/v1/nothing", "/api/v2/users"} {
			status, b := f.bearerGet(t, p, tok)
			e, ok := b["errors"].(map[string]any)
			if status != 404 || !ok || e["code"] != "ROUTE_NOT_FOUND" {
				t.Errorf("%s: %d %v", p, status, b)
			}
		}
	})

	t.Run("auth", func(t *testing.T) {
		readOnly := f.srv.AddClient(Client{Type: "m2m"})
		if err := f.srv.AuthorizeM2M(readOnly.ID, f.srv.ManagementAudience(), "read:users"); err != nil {
			t.Fatal(err)
		}
		ro, err := f.srv.IssueM2MToken(readOnly.ID, f.srv.ManagementAudience())
		if err != nil {
			t.Fatal(err)
		}
		f.srv.AddAPI("other")
		if err := f.srv.AuthorizeM2M(DefaultM2MClientID, "other"); err != nil {
			t.Fatal(err)
		}
		otherAud, err := f.srv.IssueM2MToken(DefaultM2MClientID, "other")
		if err != nil {
			t.Fatal(err)
		}
		user := f.login(t, f.alice.ID, url.Values{"audience": {f.srv.ManagementAudience()}})["access_token"].(string)
		cases := []struct {
			name, tok, path string
			status          int
			code            string
		}{
			{"read scope ok", ro.AccessToken, "/api/v1/users", 200, ""},
			{"missing scope", ro.AccessToken, "/api/v1/roles", 403, "INSUFFICIENT_SCOPE"},
			{"no token", "", "/api/v1/users", 401, "UNAUTHORIZED"},
			{"wrong audience", otherAud.AccessToken, "/api/v1/users", 403, "INVALID_CREDENTIALS"},
			{"user token", user, "/api/v1/users", 403, "INVALID_CREDENTIALS"},
		}
		for _, c := range cases {
			status, b := f.bearerGet(t, c.path, c.tok)
			if status != c.status || apiCode(b) != c.code {
				t.Errorf("%s: %d %v", c.name, status, b)
			}
		}
	})
}
