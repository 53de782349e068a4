package kinde_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func ptr(i int) *int { return &i }

// withEntitlements gives the fixture's organization a plan and n entitlements
// feature_0 … feature_n-1 (price "Price i"); feature_0 has a limit of 10.
func (f *sessionFixture) withEntitlements(t *testing.T, n int) {
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
	f := newSessionFixture(t)
	f.withEntitlements(t, 5)
	s := f.session(t)
	tests := []struct {
		name         string
		opts         []kinde.AccountOption
		stopAfter    int // 0 = read all
		wantKeys     []string
		wantRequests int
	}{
		{"default page size, one request", nil, 0, []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}, 1},
		{"page size 2, three pages", []kinde.AccountOption{kinde.WithPageSize(2)}, 0, []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}, 3},
		{"page size 1, five pages", []kinde.AccountOption{kinde.WithPageSize(1)}, 0, []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}, 5},
		{"break stops fetching", []kinde.AccountOption{kinde.WithPageSize(2)}, 3, []string{"feature_0", "feature_1", "feature_2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetRequests()
			var keys []string
			for e, err := range s.Entitlements(context.Background(), tt.opts...) {
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
	f := newSessionFixture(t)
	f.withEntitlements(t, 3)
	s := f.session(t)
	got, err := s.AllEntitlements(context.Background(), kinde.WithPageSize(2))
	must(t, err)
	if got.OrgCode != f.org.Code {
		t.Fatalf("OrgCode = %q; want %q", got.OrgCode, f.org.Code)
	}
	wantPlans := []kinde.Plan{{Key: "pro", Name: "Pro", SubscribedOn: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	if !reflect.DeepEqual(got.Plans, wantPlans) {
		t.Fatalf("Plans = %+v; want %+v", got.Plans, wantPlans)
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

	empty := newSessionFixture(t).session(t)
	none, err := empty.AllEntitlements(context.Background())
	must(t, err)
	if none.Plans == nil || none.Entitlements == nil || len(none.Entitlements) != 0 {
		t.Fatalf("empty listing = %+v", none)
	}
}

func TestAccountAPIErrors(t *testing.T) {
	tests := []struct {
		name       string
		fault      kindetest.Fault
		wantIs     error
		wantStatus int
		wantCode   string
		wantRetry  time.Duration
	}{
		{"rate limited with reset", kindetest.Fault{Status: 429, Header: http.Header{"Ratelimit-Reset": {"12"}}},
			kinde.ErrRateLimited, 429, "TOO_MANY_REQUESTS", 12 * time.Second},
		{"rate limited with Retry-After", kindetest.Fault{Status: 429, Header: http.Header{"RateLimit-Reset": {"x"}, "Retry-After": {"3"}}},
			kinde.ErrRateLimited, 429, "TOO_MANY_REQUESTS", 3 * time.Second},
		{"unauthenticated", kindetest.Fault{Status: 401, Body: `{"errors":[{"code":"UNAUTHORIZED","message":"Bad token"}]}`},
			kinde.ErrUnauthenticated, 401, "UNAUTHORIZED", 0},
		{"forbidden", kindetest.Fault{Status: 403}, kinde.ErrForbidden, 403, "INVALID_CREDENTIALS", 0},
		{"errors as an object", kindetest.Fault{Status: 404, Body: `{"errors":{"code":"ROUTE_NOT_FOUND","message":"nope"}}`},
			nil, 404, "ROUTE_NOT_FOUND", 0},
		{"OAuth error shape", kindetest.Fault{Status: 401, Body: `{"error":"invalid_token","error_description":"expired"}`},
			kinde.ErrUnauthenticated, 401, "invalid_token", 0},
		{"not JSON", kindetest.Fault{Status: 502, Body: "bad gateway", ContentType: "text/plain"}, nil, 502, "", 0},
	}
	f := newSessionFixture(t)
	s := f.session(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.SetFault(entitlementsPath, tt.fault)
			defer f.srv.ClearFault(entitlementsPath)
			var errs []error
			for _, err := range s.Entitlements(context.Background()) {
				errs = append(errs, err)
			}
			if len(errs) != 1 || errs[0] == nil {
				t.Fatalf("yielded %v; want exactly one error", errs)
			}
			err := errs[0]
			var apiErr *kinde.AccountAPIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %T %v; want *AccountAPIError", err, err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode || apiErr.RetryAfter != tt.wantRetry {
				t.Fatalf("err = %+v", apiErr)
			}
			if apiErr.Endpoint != "GET "+entitlementsPath {
				t.Fatalf("Endpoint = %q", apiErr.Endpoint)
			}
			for _, sentinel := range []error{kinde.ErrRateLimited, kinde.ErrUnauthenticated, kinde.ErrForbidden} {
				if got := errors.Is(err, sentinel); got != (sentinel == tt.wantIs) {
					t.Fatalf("errors.Is(err, %v) = %v", sentinel, got)
				}
			}
			if _, err := s.AllEntitlements(context.Background()); !errors.As(err, &apiErr) {
				t.Fatalf("AllEntitlements err = %v; want *AccountAPIError", err)
			}
		})
	}
}

func TestEntitlementByKey(t *testing.T) {
	f := newSessionFixture(t)
	f.withEntitlements(t, 2)
	s := f.session(t)
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
		{"missing", "feature_9", "", 0, false, kinde.ErrEntitlementNotFound},
		{"key needing escapes", "a/b c", "", 0, false, kinde.ErrEntitlementNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := s.Entitlement(context.Background(), tt.key)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Entitlement err = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				var apiErr *kinde.AccountAPIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
					t.Fatalf("err = %v; want it to carry the 404 reply", err)
				}
			} else if e.FeatureName != tt.wantName {
				t.Fatalf("Entitlement = %+v", e)
			}
			limit, ok, err := s.EntitlementLimit(context.Background(), tt.key)
			if !errors.Is(err, tt.wantErr) || limit != tt.wantLimit || ok != tt.wantOK {
				t.Fatalf("EntitlementLimit = %d, %v, %v", limit, ok, err)
			}
		})
	}
	if _, err := s.Entitlement(context.Background(), ""); err == nil {
		t.Fatal("Entitlement(\"\") succeeded")
	}
}

func TestHasEntitlements(t *testing.T) {
	f := newSessionFixture(t)
	f.withEntitlements(t, 3)
	s := f.session(t)
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
		{"price name", true, []string{"Price 2"}, true},
		{"feature key is not a price name", true, []string{"feature_2"}, false},
		{"prices all required", true, []string{"Price 0", "Price 9"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			has := s.HasEntitlements
			if tt.billing {
				has = s.HasBillingEntitlements
			}
			got, err := has(context.Background(), tt.keys...)
			if err != nil || got != tt.want {
				t.Fatalf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	f.srv.SetFault(entitlementsPath, kindetest.Fault{Status: 429})
	if ok, err := s.HasEntitlements(context.Background(), "feature_0"); ok || !errors.Is(err, kinde.ErrRateLimited) {
		t.Fatalf("HasEntitlements while rate limited = %v, %v", ok, err)
	}
}

func TestFromAPI(t *testing.T) {
	f := newSessionFixture(t)
	s := f.session(t)
	// Changes after sign-in: the API sees them, the token does not.
	f.srv.AddRole(kindetest.Role{Key: "billing", Name: "Billing", Permissions: []string{"manage:billing"}})
	must(t, f.srv.AddMember(f.org.Code, f.user.ID, "billing"))
	must(t, f.srv.SetFlag("beta", false))
	page := kinde.WithPageSize(1)

	perms, err := s.PermissionsFromAPI(context.Background(), page)
	must(t, err)
	wantPerms := kinde.Permissions{OrgCode: f.org.Code, Keys: []string{"create:todos", "delete:todos", "manage:billing", "read:todos"}}
	if !reflect.DeepEqual(perms, wantPerms) {
		t.Fatalf("PermissionsFromAPI = %+v; want %+v", perms, wantPerms)
	}
	if s.Permission("manage:billing").Granted {
		t.Fatal("token permission changed without a refresh")
	}
	for _, tt := range []struct {
		key  string
		want bool
	}{{"manage:billing", true}, {"read:todos", true}, {"fly:planes", false}} {
		r, err := s.PermissionFromAPI(context.Background(), tt.key)
		if err != nil || r != (kinde.PermissionResult{Key: tt.key, OrgCode: f.org.Code, Granted: tt.want}) {
			t.Fatalf("PermissionFromAPI(%q) = %+v, %v", tt.key, r, err)
		}
	}

	roles, err := s.RolesFromAPI(context.Background(), page)
	must(t, err)
	var keys []string
	for _, r := range roles {
		if r.ID == "" {
			t.Fatalf("role without ID: %+v", r)
		}
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, []string{"admin", "viewer", "billing"}) {
		t.Fatalf("RolesFromAPI keys = %q", keys)
	}

	flags, err := s.FlagsFromAPI(context.Background(), page)
	must(t, err)
	wantFlags := map[string]kinde.FlagValue{
		"dark_mode": {Code: "dark_mode", Type: kinde.FlagBoolean, Value: true},
		"max_items": {Code: "max_items", Type: kinde.FlagInteger, Value: int64(25)},
		"theme":     {Code: "theme", Type: kinde.FlagString, Value: "pink"},
		"beta":      {Code: "beta", Type: kinde.FlagBoolean, Value: false},
	}
	if !reflect.DeepEqual(flags, wantFlags) {
		t.Fatalf("FlagsFromAPI = %#v", flags)
	}

	props, err := s.PropertiesFromAPI(context.Background(), page)
	must(t, err)
	if !reflect.DeepEqual(props, map[string]any{"city": "Berlin", "seats": int64(3)}) {
		t.Fatalf("PropertiesFromAPI = %#v", props)
	}

	f.srv.SetFault("/account_api/v1/roles", kindetest.Fault{Status: 403})
	if _, err := s.RolesFromAPI(context.Background()); !errors.Is(err, kinde.ErrForbidden) {
		t.Fatalf("RolesFromAPI err = %v; want ErrForbidden", err)
	}
}

func TestFromAPIHasuraSession(t *testing.T) {
	f := newSessionFixture(t, kindetest.WithHasuraClaims(true))
	s := f.session(t)
	perms, err := s.PermissionsFromAPI(context.Background())
	must(t, err)
	if perms.OrgCode != f.org.Code || !slices.Equal(perms.Keys, s.Permissions().Keys) {
		t.Fatalf("PermissionsFromAPI = %+v; token has %+v", perms, s.Permissions())
	}
}

func TestPortalURL(t *testing.T) {
	f := newSessionFixture(t)
	s := f.session(t)
	tests := []struct {
		name      string
		returnURL string
		page      kinde.PortalPage
		wantErr   bool
		wantCall  bool
	}{
		{"profile", "https://app.example.com/account", kinde.PortalProfile, false, true},
		{"no page", "https://app.example.com/account", "", false, true},
		{"loopback http", "http://localhost:8080/back", kinde.PortalPlanSelection, false, true},
		{"relative return URL", "/account", kinde.PortalProfile, true, false},
		{"empty return URL", "", kinde.PortalProfile, true, false},
		{"no host", "https:///x", kinde.PortalProfile, true, false},
		{"ftp", "ftp://example.com/x", kinde.PortalProfile, true, false},
		{"plain http elsewhere", "http://app.example.com/x", kinde.PortalProfile, true, false},
		{"unknown page", "https://app.example.com/account", "billing", true, false},
	}
	for _, page := range []kinde.PortalPage{kinde.PortalOrganizationDetails, kinde.PortalOrganizationMembers,
		kinde.PortalOrganizationPaymentDetails, kinde.PortalOrganizationPlanSelection, kinde.PortalPaymentDetails,
		kinde.PortalPlanDetails, kinde.PortalPlanSelection} {
		tests = append(tests, struct {
			name      string
			returnURL string
			page      kinde.PortalPage
			wantErr   bool
			wantCall  bool
		}{"page " + string(page), "https://app.example.com/account", page, false, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetRequests()
			got, err := s.PortalURL(context.Background(), tt.returnURL, tt.page)
			if (err != nil) != tt.wantErr {
				t.Fatalf("PortalURL = %q, %v; wantErr %v", got, err, tt.wantErr)
			}
			if !tt.wantErr && !strings.HasPrefix(got, f.srv.URL()+"/portal_redirect?key=") {
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
	f := newSessionFixture(t)
	s := f.session(t)
	tests := []struct {
		name    string
		fault   *kindetest.Fault
		want    *kinde.UserProfile
		wantErr error
	}{
		{"from Kinde", nil, &kinde.UserProfile{ID: f.user.ID, ProvidedID: "ext-42", Name: "Jane Smith", GivenName: "Jane",
			FamilyName: "Smith", Email: "jane@example.com", EmailVerified: true, Picture: "https://example.com/jane.png",
			Username: "jane", UpdatedAt: time.Unix(f.user.UpdatedAt.Unix(), 0)}, nil},
		{"another user's profile", &kindetest.Fault{Status: 200, Body: `{"sub":"kp_someoneelse","email":"x@example.com"}`}, nil, kinde.ErrProfileSubject},
		{"profile without sub", &kindetest.Fault{Status: 200, Body: `{"email":"x@example.com"}`}, nil, kinde.ErrProfileSubject},
		{"nulls and id only", &kindetest.Fault{Status: 200, Body: `{"id":"` + f.user.ID + `","provided_id":null,"picture":null,"preferred_username":null,"updated_at":"2024-01-02T03:04:05Z"}`},
			&kinde.UserProfile{ID: f.user.ID, UpdatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, nil},
		{"token rejected", &kindetest.Fault{Status: 401, Body: `{"error":"invalid_token","error_description":"The access token is invalid or expired"}`}, nil, kinde.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				f.srv.SetFault(profilePath, *tt.fault)
				defer f.srv.ClearFault(profilePath)
			}
			got, err := s.Profile(context.Background())
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
	f := newSessionFixture(t)
	tok := f.tokens(t, kindetest.IssueOptions{})
	s, err := f.client.Session(context.Background(), tok)
	must(t, err)
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
			in, err := s.Introspect(context.Background(), tt.token)
			must(t, err)
			if in.Active != tt.wantActive || in.TokenType != tt.wantType {
				t.Fatalf("Introspect = %+v", in)
			}
			if tt.wantActive && (in.ClientID != f.srv.ClientID() || in.ExpiresAt.IsZero() || in.Audience == nil) {
				t.Fatalf("Introspect = %+v", in)
			}
		})
	}

	must(t, s.Revoke(context.Background()))
	in, err := s.Introspect(context.Background(), tok.RefreshToken)
	must(t, err)
	if in.Active {
		t.Fatal("refresh token still active after Revoke")
	}
	if err := s.Refresh(context.Background()); !errors.Is(err, kinde.ErrInvalidGrant) {
		t.Fatalf("Refresh after Revoke err = %v; want ErrInvalidGrant", err)
	}

	// Without a refresh token Revoke revokes the access token.
	tok2 := f.tokens(t, kindetest.IssueOptions{})
	s2, err := f.client.Session(context.Background(), &kinde.Tokens{AccessToken: tok2.AccessToken})
	must(t, err)
	must(t, s2.Revoke(context.Background()))
	if _, err := s2.Introspect(context.Background(), ""); !errors.Is(err, kinde.ErrUnauthenticated) {
		t.Fatalf("Introspect with a revoked token err = %v; want ErrUnauthenticated", err)
	}

	bad, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.srv.ClientID(), ClientSecret: "wrong"})
	must(t, err)
	s3, err := bad.Session(context.Background(), f.tokens(t, kindetest.IssueOptions{}))
	must(t, err)
	if err := s3.Revoke(context.Background()); !errors.Is(err, kinde.ErrInvalidClient) {
		t.Fatalf("Revoke with a wrong secret err = %v; want ErrInvalidClient", err)
	}
}
