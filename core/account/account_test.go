package account_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/account"
	"github.com/gokinde/kinde/core/kindetest"
)

// testKey is shared by every emulator of these tests: RSA key generation is slow.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fixtureNow is the emulator's frozen clock; the client reads it too, so
// tests move time with srv.Advance.
var fixtureNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is an emulator with one user, member of two organizations (signed
// in to the first), with roles, permissions, flags and properties.
type fixture struct {
	srv    *kindetest.Server
	client *kinde.Client
	user   kindetest.User
	org    kindetest.Organization
	org2   kindetest.Organization
}

func newFixture(t *testing.T, opts ...kindetest.Option) *fixture {
	t.Helper()
	srv := kindetest.Start(t, append([]kindetest.Option{kindetest.WithSigningKey(testKey()), kindetest.WithNow(fixtureNow)}, opts...)...)
	f := &fixture{srv: srv}
	f.user = srv.AddUser(kindetest.User{
		Email: "jane@example.com", GivenName: "Jane", FamilyName: "Smith", Username: "jane",
		Picture: "https://example.com/jane.png", ProvidedID: "ext-42",
		Properties: map[string]any{"city": "Berlin", "seats": 3},
	})
	f.org = srv.AddOrganization(kindetest.Organization{Name: "Acme"})
	f.org2 = srv.AddOrganization(kindetest.Organization{Name: "Globex"})
	srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: []string{"create:todos", "delete:todos"}})
	srv.AddRole(kindetest.Role{Key: "viewer", Name: "Viewer", Permissions: []string{"read:todos"}})
	must(t, srv.AddMember(f.org.Code, f.user.ID, "admin", "viewer"))
	must(t, srv.AddMember(f.org2.Code, f.user.ID, "viewer"))
	must(t, srv.SetFlag("dark_mode", true))
	must(t, srv.SetFlag("max_items", 25))
	must(t, srv.SetFlag("theme", "pink"))
	c, err := kinde.New(kinde.Config{
		Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(),
		RedirectURL: "http://localhost:8080/api/auth/kinde_callback", Now: srv.Now,
	})
	must(t, err)
	f.client = c
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr(i int) *int { return &i }

// tokens issues tokens for the fixture's user as the token endpoint would.
func (f *fixture) tokens(t *testing.T) *kinde.Tokens {
	t.Helper()
	r, err := f.srv.IssueTokens(f.user.ID, kindetest.IssueOptions{})
	must(t, err)
	return &kinde.Tokens{AccessToken: r.AccessToken, IDToken: r.IDToken, RefreshToken: r.RefreshToken,
		Scope: r.Scope, TokenType: r.TokenType, ExpiresIn: r.ExpiresIn}
}

// session returns a verified session for the fixture's user.
func (f *fixture) session(t *testing.T) *kinde.Session {
	t.Helper()
	s, err := f.client.Session(context.Background(), f.tokens(t))
	must(t, err)
	return s
}

// account returns an Account API client for a new session of the user.
func (f *fixture) account(t *testing.T) *account.Client {
	t.Helper()
	return account.New(f.client, f.session(t))
}

// withEntitlements gives the fixture's organization a plan and n entitlements
// feature_0 … feature_n-1 (price "Price i"); feature_0 has a limit of 10.
func (f *fixture) withEntitlements(t *testing.T, n int) {
	t.Helper()
	var ents []kindetest.Entitlement
	for i := range n {
		e := kindetest.Entitlement{FeatureKey: fmt.Sprintf("feature_%d", i), FeatureName: fmt.Sprintf("Feature %d", i),
			PriceName: fmt.Sprintf("Price %d", i), FixedCharge: ptr(5 * i)}
		if i == 0 {
			e.EntitlementLimitMax, e.EntitlementLimitMin = ptr(10), ptr(1)
		}
		ents = append(ents, e)
	}
	plans := []kindetest.Plan{{Key: "pro", Name: "Pro", SubscribedOn: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	must(t, f.srv.SetEntitlements(f.org.Code, plans, ents))
}

const entitlementsPath = "/account_api/v1/entitlements"

func TestEntitlementsPaginates(t *testing.T) {
	f := newFixture(t)
	f.withEntitlements(t, 5)
	acct := f.account(t)
	all := []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}
	tests := []struct {
		name         string
		opts         []account.Option
		stopAfter    int // 0 = read all
		wantKeys     []string
		wantRequests int
	}{
		{"default page size, one request", nil, 0, all, 1},
		{"page size 2, three pages", []account.Option{account.WithPageSize(2)}, 0, all, 3},
		{"page size 1, five pages", []account.Option{account.WithPageSize(1)}, 0, all, 5},
		{"Kinde's page size (10)", []account.Option{account.WithPageSize(0)}, 0, all, 1},
		{"break stops fetching", []account.Option{account.WithPageSize(2)}, 3, []string{"feature_0", "feature_1", "feature_2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetRequests()
			var keys []string
			for e, err := range acct.Entitlements(context.Background(), tt.opts...) {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, e.FeatureKey)
				if len(keys) == tt.stopAfter {
					break
				}
			}
			if !slices.Equal(keys, tt.wantKeys) {
				t.Fatalf("keys = %q; want %q", keys, tt.wantKeys)
			}
			if n := f.srv.Requests(entitlementsPath); n != tt.wantRequests {
				t.Fatalf("%d requests; want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestAllEntitlements(t *testing.T) {
	f := newFixture(t)
	f.withEntitlements(t, 3)
	acct := f.account(t)
	got, err := acct.AllEntitlements(context.Background(), account.WithPageSize(2))
	must(t, err)
	if got.OrgCode != f.org.Code {
		t.Fatalf("OrgCode = %q; want %q", got.OrgCode, f.org.Code)
	}
	wantPlans := []account.Plan{{Key: "pro", Name: "Pro", SubscribedOn: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		SubscribedOnRaw: "2025-06-01T12:00:00Z"}}
	if !reflect.DeepEqual(got.Plans, wantPlans) {
		t.Fatalf("Plans = %+v; want %+v (the plan is on both pages, listed once)", got.Plans, wantPlans)
	}
	if len(got.Entitlements) != 3 {
		t.Fatalf("%d entitlements; want 3", len(got.Entitlements))
	}
	e := got.Entitlements[0]
	if e.ID == "" || e.FeatureName != "Feature 0" || e.PriceName != "Price 0" || e.FixedCharge == nil || *e.FixedCharge != 0 ||
		e.LimitMax == nil || *e.LimitMax != 10 || e.LimitMin == nil || *e.LimitMin != 1 || e.UnitAmount != nil {
		t.Fatalf("entitlement = %+v", e)
	}
	if got.Entitlements[1].LimitMax != nil {
		t.Fatal("LimitMax set for an entitlement without a limit")
	}
	if b, ok := got.ByPriceName("Price 2"); !ok || b.FeatureKey != "feature_2" {
		t.Fatalf("ByPriceName = %+v, %v", b, ok)
	}
	if b, ok := got.ByFeatureKey("feature_1"); !ok || *b.FixedCharge != 5 {
		t.Fatalf("ByFeatureKey = %+v, %v", b, ok)
	}
	if _, ok := got.ByFeatureKey(""); ok {
		t.Fatal("ByFeatureKey(\"\") found an entitlement")
	}

	none, err := newFixture(t).account(t).AllEntitlements(context.Background())
	must(t, err)
	if none.Plans == nil || none.Entitlements == nil || len(none.Entitlements) != 0 {
		t.Fatalf("empty listing = %+v", none)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		fault      kindetest.Fault
		wantIs     []error
		wantStatus int
		wantCode   string
		wantRetry  time.Duration
	}{
		{"rate limited with reset", kindetest.Fault{Status: 429, Header: http.Header{"Ratelimit-Reset": {"12"}}},
			[]error{kinde.ErrRateLimited}, 429, "TOO_MANY_REQUESTS", 12 * time.Second},
		{"rate limited with Retry-After", kindetest.Fault{Status: 429, Header: http.Header{"RateLimit-Reset": {"x"}, "Retry-After": {"3"}}},
			[]error{kinde.ErrRateLimited}, 429, "TOO_MANY_REQUESTS", 3 * time.Second},
		{"unauthenticated", kindetest.Fault{Status: 401, Body: `{"errors":[{"code":"UNAUTHORIZED","message":"Bad token"}]}`},
			[]error{kinde.ErrUnauthenticated}, 401, "UNAUTHORIZED", 0},
		// Account API spec: 403 "Invalid credentials" for a token Kinde does not accept.
		{"invalid credentials", kindetest.Fault{Status: 403}, []error{kinde.ErrForbidden, kinde.ErrUnauthenticated}, 403, "INVALID_CREDENTIALS", 0},
		{"forbidden for another reason", kindetest.Fault{Status: 403, Body: `{"errors":[{"code":"FEATURE_DISABLED","message":"Billing is off"}]}`},
			[]error{kinde.ErrForbidden}, 403, "FEATURE_DISABLED", 0},
		{"errors as an object", kindetest.Fault{Status: 404, Body: `{"errors":{"code":"ROUTE_NOT_FOUND","message":"nope"}}`},
			nil, 404, "ROUTE_NOT_FOUND", 0},
		{"OAuth error shape", kindetest.Fault{Status: 401, Body: `{"error":"invalid_token","error_description":"expired"}`},
			[]error{kinde.ErrUnauthenticated}, 401, "invalid_token", 0},
		{"not JSON", kindetest.Fault{Status: 502, Body: "bad gateway", ContentType: "text/plain"}, nil, 502, "", 0},
	}
	f := newFixture(t)
	acct := f.account(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.SetFault(entitlementsPath, tt.fault)
			defer f.srv.ClearFault(entitlementsPath)
			var errs []error
			for _, err := range acct.Entitlements(context.Background()) {
				errs = append(errs, err)
			}
			if len(errs) != 1 || errs[0] == nil {
				t.Fatalf("yielded %v; want exactly one error", errs)
			}
			err := errs[0]
			var apiErr *account.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %T %v; want *account.Error", err, err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode || apiErr.RetryAfter != tt.wantRetry {
				t.Fatalf("err = %+v", apiErr)
			}
			if apiErr.Endpoint != "GET "+entitlementsPath {
				t.Fatalf("Endpoint = %q", apiErr.Endpoint)
			}
			for _, sentinel := range []error{kinde.ErrRateLimited, kinde.ErrUnauthenticated, kinde.ErrForbidden} {
				if got, want := errors.Is(err, sentinel), slices.Contains(tt.wantIs, sentinel); got != want {
					t.Fatalf("errors.Is(err, %v) = %v; want %v", sentinel, got, want)
				}
			}
			if _, err := acct.AllEntitlements(context.Background()); !errors.As(err, &apiErr) {
				t.Fatalf("AllEntitlements err = %v; want *account.Error", err)
			}
		})
	}
}

func TestEntitlementByKey(t *testing.T) {
	f := newFixture(t)
	f.withEntitlements(t, 2)
	acct := f.account(t)
	tests := []struct {
		name      string
		key       string
		wantName  string
		wantLimit int64
		wantOK    bool
		wantErr   error
	}{
		{"with limit", "feature_0", "Feature 0", 10, true, nil},
		{"without limit", "feature_1", "Feature 1", 0, false, nil},
		{"missing", "feature_9", "", 0, false, account.ErrEntitlementNotFound},
		{"key needing escapes", "a/b c", "", 0, false, account.ErrEntitlementNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := acct.Entitlement(context.Background(), tt.key)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Entitlement err = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				var apiErr *account.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
					t.Fatalf("err = %v; want it to carry the 404 reply", err)
				}
			} else if e.FeatureName != tt.wantName {
				t.Fatalf("Entitlement = %+v", e)
			}
			limit, ok, err := acct.EntitlementLimit(context.Background(), tt.key)
			if !errors.Is(err, tt.wantErr) || limit != tt.wantLimit || ok != tt.wantOK {
				t.Fatalf("EntitlementLimit = %d, %v, %v", limit, ok, err)
			}
		})
	}
	if _, err := acct.Entitlement(context.Background(), ""); err == nil {
		t.Fatal("Entitlement(\"\") succeeded")
	}
}

func TestHasEntitlements(t *testing.T) {
	f := newFixture(t)
	f.withEntitlements(t, 3)
	acct := f.account(t)
	tests := []struct {
		name    string
		billing bool
		keys    []string
		want    bool
	}{
		{"no keys", false, nil, true},
		{"one feature", false, []string{"feature_1"}, true},
		{"all features", false, []string{"feature_0", "feature_2"}, true},
		{"one missing", false, []string{"feature_0", "feature_7"}, false},
		{"empty key", false, []string{""}, false},
		{"price name", true, []string{"Price 2"}, true},
		{"feature key is not a price name", true, []string{"feature_2"}, false},
		{"prices all required", true, []string{"Price 0", "Price 9"}, false},
		{"no price names", true, []string{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			has := acct.HasEntitlements
			if tt.billing {
				has = acct.HasBillingEntitlements
			}
			got, err := has(context.Background(), tt.keys...)
			if err != nil || got != tt.want {
				t.Fatalf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	f.srv.ResetRequests()
	if ok, err := acct.HasBillingEntitlements(context.Background()); !ok || err != nil || f.srv.Requests(entitlementsPath) != 0 {
		t.Fatalf("HasBillingEntitlements() = %v, %v after %d requests; want true without a request", ok, err, f.srv.Requests(entitlementsPath))
	}
	f.srv.SetFault(entitlementsPath, kindetest.Fault{Status: 429})
	if ok, err := acct.HasEntitlements(context.Background(), "feature_0"); ok || !errors.Is(err, kinde.ErrRateLimited) {
		t.Fatalf("HasEntitlements while rate limited = %v, %v", ok, err)
	}
	if ok, err := acct.HasBillingEntitlements(context.Background(), "Price 0"); ok || !errors.Is(err, kinde.ErrRateLimited) {
		t.Fatalf("HasBillingEntitlements while rate limited = %v, %v", ok, err)
	}
}

func TestFromAPI(t *testing.T) {
	f := newFixture(t)
	s := f.session(t)
	acct := account.New(f.client, s)
	// Changes after sign-in: the API sees them, the token does not.
	f.srv.AddRole(kindetest.Role{Key: "billing", Name: "Billing", Permissions: []string{"manage:billing"}})
	must(t, f.srv.AddMember(f.org.Code, f.user.ID, "billing"))
	must(t, f.srv.SetFlag("beta", false))
	page := account.WithPageSize(1)
	ctx := context.Background()

	perms, err := acct.Permissions(ctx, page)
	must(t, err)
	wantPerms := kinde.Permissions{OrgCode: f.org.Code, Keys: []string{"create:todos", "delete:todos", "manage:billing", "read:todos"}}
	if !reflect.DeepEqual(perms, wantPerms) {
		t.Fatalf("Permissions = %+v; want %+v", perms, wantPerms)
	}
	if s.HasPermissions("manage:billing") {
		t.Fatal("token permission changed without a refresh")
	}
	for _, tt := range []struct {
		key  string
		want bool
	}{{"manage:billing", true}, {"read:todos", true}, {"fly:planes", false}, {"view reports/advanced", false}} {
		r, err := acct.Permission(ctx, tt.key)
		if err != nil || r != (kinde.PermissionResult{Key: tt.key, OrgCode: f.org.Code, Granted: tt.want}) {
			t.Fatalf("Permission(%q) = %+v, %v", tt.key, r, err)
		}
	}
	if _, err := acct.Permission(ctx, ""); err == nil {
		t.Fatal("Permission(\"\") succeeded")
	}

	roles, err := acct.Roles(ctx, page)
	must(t, err)
	var keys []string
	for _, r := range roles {
		if r.ID == "" || r.Name == "" {
			t.Fatalf("role without ID or name: %+v", r)
		}
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, []string{"admin", "viewer", "billing"}) {
		t.Fatalf("Roles keys = %q", keys)
	}

	flags, err := acct.Flags(ctx, page)
	must(t, err)
	wantFlags := map[string]kinde.FlagValue{
		"dark_mode": {Code: "dark_mode", Type: kinde.FlagBoolean, Value: true},
		"max_items": {Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)},
		"theme":     {Code: "theme", Type: kinde.FlagString, Value: "pink"},
		"beta":      {Code: "beta", Type: kinde.FlagBoolean, Value: false},
	}
	if !reflect.DeepEqual(flags, wantFlags) {
		t.Fatalf("Flags = %#v", flags)
	}

	props, err := acct.Properties(ctx, page)
	must(t, err)
	if !reflect.DeepEqual(props, map[string]any{"city": "Berlin", "seats": int64(3)}) {
		t.Fatalf("Properties = %#v", props)
	}

	f.srv.SetFault("/account_api/v1/roles", kindetest.Fault{Status: 403})
	if _, err := acct.Roles(ctx); !errors.Is(err, kinde.ErrForbidden) {
		t.Fatalf("Roles err = %v; want ErrForbidden", err)
	}
}

func TestHasuraSession(t *testing.T) {
	f := newFixture(t, kindetest.WithHasuraClaims(true))
	s := f.session(t)
	perms, err := account.New(f.client, s).Permissions(context.Background())
	must(t, err)
	if perms.OrgCode != f.org.Code || !slices.Equal(perms.Keys, s.Permissions().Keys) {
		t.Fatalf("Permissions = %+v; token has %+v", perms, s.Permissions())
	}
}

// Kinde adds the roles claim only when the application's token
// customization turns it on; js-utils lib/utils/token/getRoles.ts then
// falls back to the Account API.
func TestRolesFromTokenOrAPI(t *testing.T) {
	f := newFixture(t)
	signed := func(edit func(map[string]any)) *kinde.Session {
		claims := f.srv.AccessTokenClaims(f.user.ID, kindetest.IssueOptions{})
		edit(claims)
		s, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: f.srv.Sign(claims, kindetest.Header{})})
		must(t, err)
		return s
	}
	tests := []struct {
		name     string
		session  *kinde.Session
		wantKeys []string
		wantCall bool
	}{
		// Kinde adds roles only with the roles token customization on.
		{"roles claim", signed(func(c map[string]any) {
			c["roles"] = []map[string]string{{"id": "r1", "key": "admin", "name": "Admin"}, {"id": "r2", "key": "viewer", "name": "Viewer"}}
		}), []string{"admin", "viewer"}, false},
		{"roles claim of strings", signed(func(c map[string]any) { c["roles"] = []string{"owner"} }), []string{"owner"}, false},
		{"empty roles claim", signed(func(c map[string]any) { c["roles"] = []string{} }), nil, false},
		{"no roles claim", signed(func(c map[string]any) { delete(c, "roles") }), []string{"admin", "viewer"}, true},
		{"null roles claim", signed(func(c map[string]any) { c["roles"] = nil }), []string{"admin", "viewer"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetRequests()
			roles, err := account.New(f.client, tt.session).RolesFromTokenOrAPI(context.Background())
			must(t, err)
			var keys []string
			for _, r := range roles {
				keys = append(keys, r.Key)
			}
			if !slices.Equal(keys, tt.wantKeys) {
				t.Fatalf("roles = %q; want %q", keys, tt.wantKeys)
			}
			if called := f.srv.Requests("/account_api/v1/roles") > 0; called != tt.wantCall {
				t.Fatalf("Account API called = %v; want %v", called, tt.wantCall)
			}
		})
	}
}

func TestPortalURL(t *testing.T) {
	f := newFixture(t)
	acct := f.account(t)
	type tc struct {
		name      string
		returnURL string
		page      account.PortalPage
		wantErr   string
		wantCall  bool
	}
	tests := []tc{
		{"profile", "https://app.example.com/account", account.PortalProfile, "", true},
		{"no page", "https://app.example.com/account", "", "", true},
		{"loopback http", "http://localhost:8080/back", account.PortalPlanSelection, "", true},
		{"query with spaces", "https://app.example.com/account?param=value with spaces", account.PortalProfile, "", true},
		{"relative return URL", "/account", account.PortalProfile, "absolute", false},
		{"no scheme", "somereturnurl.com", account.PortalProfile, "absolute", false},
		{"empty return URL", "", account.PortalProfile, "absolute", false},
		{"no host", "https:///x", account.PortalProfile, "absolute", false},
		{"ftp", "ftp://example.com/x", account.PortalProfile, "absolute", false},
		{"ws", "ws://example.com/x", account.PortalProfile, "absolute", false},
		{"custom scheme", "somecustomschema://192.168.68.61:8081", account.PortalProfile, "absolute", false},
		{"plain http elsewhere", "http://192.168.68.61", account.PortalProfile, "plain http", false},
		{"unknown page", "https://app.example.com/account", "billing", "unknown portal page", false},
	}
	for _, page := range []account.PortalPage{account.PortalOrganizationDetails, account.PortalOrganizationMembers,
		account.PortalOrganizationPlanDetails, account.PortalOrganizationPaymentDetails, account.PortalOrganizationPlanSelection,
		account.PortalPaymentDetails, account.PortalPlanDetails, account.PortalPlanSelection} {
		tests = append(tests, tc{"page " + string(page), "https://app.example.com/account", page, "", true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetRequests()
			got, err := acct.PortalURL(context.Background(), tt.returnURL, tt.page)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("PortalURL = %q, %v; want error containing %q", got, err, tt.wantErr)
			}
			if tt.wantErr == "" && !strings.HasPrefix(got, f.srv.URL()+"/portal_redirect?key=") {
				t.Fatalf("PortalURL = %q", got)
			}
			if called := f.srv.Requests("/account_api/v1/portal_link") > 0; called != tt.wantCall {
				t.Fatalf("Kinde called = %v; want %v", called, tt.wantCall)
			}
		})
	}
}

func TestProfile(t *testing.T) {
	const profilePath = "/oauth2/v2/user_profile"
	f := newFixture(t)
	acct := f.account(t)
	tests := []struct {
		name    string
		fault   *kindetest.Fault
		want    *account.UserProfile
		wantErr error
	}{
		{"from Kinde", nil, &account.UserProfile{ID: f.user.ID, ProvidedID: "ext-42", Name: "Jane Smith", GivenName: "Jane",
			FamilyName: "Smith", Email: "jane@example.com", EmailVerified: true, Picture: "https://example.com/jane.png",
			Username: "jane", UpdatedAt: time.Unix(f.user.UpdatedAt.Unix(), 0).UTC()}, nil},
		// OpenID RP certification rp-userinfo-bad-sub-claim: a profile for another sub is rejected.
		{"another user's profile", &kindetest.Fault{Status: 200, Body: `{"sub":"kp_someoneelse","id":"kp_someoneelse","email":"x@example.com"}`}, nil, account.ErrProfileSubject},
		{"profile without sub", &kindetest.Fault{Status: 200, Body: `{"email":"x@example.com"}`}, nil, account.ErrProfileSubject},
		{"nulls and id only", &kindetest.Fault{Status: 200, Body: `{"id":"` + f.user.ID + `","provided_id":null,"picture":null,"preferred_username":null,"updated_at":"2024-01-02T03:04:05Z"}`},
			&account.UserProfile{ID: f.user.ID, UpdatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, nil},
		{"token rejected", &kindetest.Fault{Status: 401, Body: `{"error":"invalid_token","error_description":"The access token is invalid or expired"}`}, nil, kinde.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				f.srv.SetFault(profilePath, *tt.fault)
				defer f.srv.ClearFault(profilePath)
			}
			got, err := acct.Profile(context.Background())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Profile =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestIntrospectAndRevoke(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens(t)
	s, err := f.client.Session(context.Background(), tok)
	must(t, err)
	acct := account.New(f.client, s)
	tests := []struct {
		name       string
		token      string
		wantActive bool
		wantType   string
	}{
		{"own access token", "", true, "access_token"},
		{"refresh token", tok.RefreshToken, true, "refresh_token"},
		{"unknown token", "nonsense", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := acct.Introspect(context.Background(), tt.token)
			must(t, err)
			if in.Active != tt.wantActive || in.TokenType != tt.wantType {
				t.Fatalf("Introspect = %+v", in)
			}
			if tt.wantActive && (in.ClientID != f.srv.ClientID() || in.ExpiresAt.IsZero() || in.Audience == nil) {
				t.Fatalf("Introspect = %+v", in)
			}
		})
	}

	// Session.Revoke is gone: sign-out revokes with the client.
	must(t, f.client.RevokeToken(context.Background(), tok.RefreshToken, "refresh_token"))
	in, err := acct.Introspect(context.Background(), tok.RefreshToken)
	must(t, err)
	if in.Active {
		t.Fatal("refresh token still active after RevokeToken")
	}

	// A revoked access token no longer authenticates the call.
	tok2 := f.tokens(t)
	s2, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: tok2.AccessToken})
	must(t, err)
	must(t, f.client.RevokeToken(context.Background(), tok2.AccessToken, "access_token"))
	if _, err := account.New(f.client, s2).Introspect(context.Background(), ""); !errors.Is(err, kinde.ErrUnauthenticated) {
		t.Fatalf("Introspect with a revoked token err = %v; want ErrUnauthenticated", err)
	}
}

// After the access token expired, calls refresh the session when it has a
// refresh token, and otherwise fail with kinde.ErrUnauthenticated without
// calling the Account API.
func TestExpiredAccessToken(t *testing.T) {
	const rolesPath = "/account_api/v1/roles"
	tests := []struct {
		name        string
		noRefresh   bool
		revoke      bool
		wantErr     []error
		wantRefresh bool
	}{
		{"refreshes first", false, false, nil, true},
		{"no refresh token", true, false, []error{kinde.ErrUnauthenticated}, false},
		{"refresh token revoked", false, true, []error{kinde.ErrUnauthenticated, kinde.ErrInvalidGrant}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := f.tokens(t)
			if tt.noRefresh {
				tok.RefreshToken = ""
			}
			s, err := f.client.Session(context.Background(), tok)
			must(t, err)
			if tt.revoke {
				must(t, f.client.RevokeToken(context.Background(), tok.RefreshToken, "refresh_token"))
			}
			f.srv.Advance(kindetest.DefaultAccessTokenLifetime + time.Minute)
			f.srv.ResetRequests()
			roles, err := account.New(f.client, s).Roles(context.Background())
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Fatalf("err = %v; want it to match %v", err, want)
				}
			}
			if tt.wantErr == nil && (err != nil || len(roles) != 2) {
				t.Fatalf("Roles = %+v, %v", roles, err)
			}
			if got := f.srv.Requests("/oauth2/token") > 0; got != tt.wantRefresh {
				t.Fatalf("refreshed = %v; want %v", got, tt.wantRefresh)
			}
			if n := f.srv.Requests(rolesPath); (n == 1) != (tt.wantErr == nil) {
				t.Fatalf("%d Account API requests", n)
			}
			if tt.wantErr == nil && (s.AccessToken() == tok.AccessToken || s.Expired()) {
				t.Fatal("the session was not refreshed in place")
			}
		})
	}
}

// Kinde answers 403 INVALID_CREDENTIALS (Account API spec: "Invalid
// credentials") for a token it does not accept, for instance one our clock
// still thinks valid.
func TestInvalidCredentials(t *testing.T) {
	f := newFixture(t)
	f.srv.SetFault("/account_api/v1/permissions", kindetest.Fault{Status: 403,
		Body: `{"errors":[{"code":"INVALID_CREDENTIALS","message":"Invalid credentials"}]}`})
	_, err := f.account(t).Permissions(context.Background())
	var apiErr *account.Error
	if !errors.Is(err, kinde.ErrUnauthenticated) || !errors.As(err, &apiErr) || apiErr.Code != "INVALID_CREDENTIALS" {
		t.Fatalf("err = %v; want a 403 INVALID_CREDENTIALS matching ErrUnauthenticated", err)
	}
}

func TestZeroClient(t *testing.T) {
	f := newFixture(t)
	for name, acct := range map[string]*account.Client{
		"nil":        nil,
		"no client":  account.New(nil, f.session(t)),
		"no session": account.New(f.client, nil),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := acct.Roles(context.Background()); err == nil || !strings.Contains(err.Error(), "account.New") {
				t.Fatalf("Roles err = %v", err)
			}
			if _, err := acct.Profile(context.Background()); err == nil {
				t.Fatal("Profile succeeded")
			}
			if _, err := acct.Introspect(context.Background(), "x"); err == nil {
				t.Fatal("Introspect succeeded")
			}
			if _, err := acct.RolesFromTokenOrAPI(context.Background()); err == nil {
				t.Fatal("RolesFromTokenOrAPI succeeded")
			}
			for _, err := range acct.Entitlements(context.Background()) {
				if err == nil {
					t.Fatal("Entitlements yielded without an error")
				}
			}
		})
	}
}
