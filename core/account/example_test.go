package account_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/account"
	"github.com/gokinde/kinde/core/kindetest"
)

// exampleAccount starts an emulator with a user of organization org_acme on
// the Pro plan, and returns an Account API client for a session of that
// user. The caller closes srv.
func exampleAccount() (*account.Client, *kindetest.Server) {
	srv := kindetest.NewServer(kindetest.WithSigningKey(testKey()))
	user := srv.AddUser(kindetest.User{Email: "jane@example.com"})
	org := srv.AddOrganization(kindetest.Organization{Code: "org_acme", Name: "Acme"})
	srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin"})
	limit := 10
	if err := errors.Join(
		srv.AddMember(org.Code, user.ID, "admin"),
		srv.SetEntitlements(org.Code, []kindetest.Plan{{Key: "pro", Name: "Pro"}}, []kindetest.Entitlement{
			{FeatureKey: "projects", FeatureName: "Projects", PriceName: "Pro projects", EntitlementLimitMax: &limit},
			{FeatureKey: "exports", FeatureName: "Exports", PriceName: "Pro exports"},
			{FeatureKey: "sso", FeatureName: "Single sign-on", PriceName: "Pro SSO"},
		}),
	); err != nil {
		log.Fatal(err)
	}
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	if err != nil {
		log.Fatal(err)
	}
	// In an application the session comes from the web layer
	// (kinde.SessionFrom, kindegin.SessionFrom, …) or from client.Session.
	issued, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{})
	if err != nil {
		log.Fatal(err)
	}
	sess, err := client.Session(context.Background(), &kinde.Tokens{
		AccessToken: issued.AccessToken, IDToken: issued.IDToken, RefreshToken: issued.RefreshToken,
	})
	if err != nil {
		log.Fatal(err)
	}
	return account.New(client, sess), srv
}

func ExampleClient_Entitlements() {
	acct, srv := exampleAccount()
	defer srv.Close()

	ctx := context.Background()
	// Every page is read as the loop asks for more; here two per request.
	for e, err := range acct.Entitlements(ctx, account.WithPageSize(2)) {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Println(e.FeatureKey, e.FeatureName)
	}
	units, ok, err := acct.EntitlementLimit(ctx, "projects")
	fmt.Println(units, ok, err)
	paid, err := acct.HasBillingEntitlements(ctx, "Pro projects", "Pro SSO")
	fmt.Println(paid, err)
	// Output:
	// projects Projects
	// exports Exports
	// sso Single sign-on
	// 10 true <nil>
	// true <nil>
}

func ExampleClient_PortalURL() {
	acct, srv := exampleAccount()
	defer srv.Close()

	link, err := acct.PortalURL(context.Background(), "https://app.example.com/account", account.PortalOrganizationPlanDetails)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	// Redirect the browser to link: a one-time URL on the Kinde domain.
	fmt.Println(strings.HasPrefix(link, srv.URL()+"/portal_redirect?key="))
	// Output:
	// true
}

func ExampleClient_RolesFromTokenOrAPI() {
	acct, srv := exampleAccount()
	defer srv.Close()

	// The emulator, like Kinde with the roles token customization on, puts
	// the roles into the access token: no request is made. Without the
	// claim the roles come from the Account API.
	roles, err := acct.RolesFromTokenOrAPI(context.Background())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, r := range roles {
		fmt.Println(r.Key)
	}
	// Output:
	// admin
}

func ExampleError() {
	acct, srv := exampleAccount()
	defer srv.Close()
	srv.SetFault("/account_api/v1/roles", kindetest.Fault{Status: 429})

	_, err := acct.Roles(context.Background())
	var apiErr *account.Error
	switch {
	case errors.Is(err, kinde.ErrUnauthenticated):
		fmt.Println("sign in again")
	case errors.Is(err, kinde.ErrRateLimited) && errors.As(err, &apiErr):
		fmt.Println("rate limited; retry in", apiErr.RetryAfter)
	case err != nil:
		fmt.Println("error:", err)
	}
	// Output:
	// rate limited; retry in 30s
}
