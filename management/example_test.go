package management_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gokinde/kinde/management"
	"github.com/gokinde/kinde/management/api"
	"golang.org/x/oauth2"
)

// fakeKinde stands in for a Kinde business in the examples.
func fakeKinde() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "POST /api/v1/organization":
			var body struct{ Name string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": "OK", "organization": map[string]string{"code": "org_" + body.Name}})
		case "GET /api/v1/organizations":
			_ = json.NewEncoder(w).Encode(map[string]any{"code": "OK", "organizations": []map[string]string{{"code": "org_acme", "name": "acme"}}})
		case "GET /api/v1/applications":
			if r.URL.Query().Get("next_token") == "" {
				_ = json.NewEncoder(w).Encode(map[string]any{"applications": []map[string]string{{"name": "Web"}, {"name": "Mobile"}}, "next_token": "page2"})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"applications": []map[string]string{{"name": "Backend"}}})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":{"code":"ROUTE_NOT_FOUND","message":"The route does not exist"}}`))
		}
	}))
}

func ExampleClient_CreateOrganization() {
	srv := fakeKinde()
	defer srv.Close()

	ctx := context.Background()
	// In production, set Domain, ClientID and ClientSecret (or the KINDE_DOMAIN,
	// KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET variables) instead of a
	// TokenSource.
	c, err := management.New(ctx, management.Config{
		Domain:      srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := c.CreateOrganization(ctx, "acme")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created", code)

	for org, err := range c.Organizations(ctx, api.GetOrganizationsParams{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("listed", *org.Code)
	}

	_, err = c.API().GetRoleWithResponse(ctx, "missing")
	if apiErr, ok := errors.AsType[*management.APIError](err); ok {
		fmt.Println(apiErr.StatusCode, apiErr.Errors[0].Code)
	}
	// Output:
	// created org_acme
	// listed org_acme
	// 404 ROUTE_NOT_FOUND
}

// Paginate turns any list operation of the generated client into an iterator.
func ExamplePaginate() {
	srv := fakeKinde()
	defer srv.Close()

	ctx := context.Background()
	c, err := management.New(ctx, management.Config{
		Domain:      srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	apps := management.Paginate(ctx, func(ctx context.Context, cursor string) (management.Page[api.Applications], error) {
		p := api.GetApplicationsParams{}
		if cursor != "" {
			p.NextToken = &cursor
		}
		res, err := c.API().GetApplicationsWithResponse(ctx, &p)
		if err != nil {
			return management.Page[api.Applications]{}, err
		}
		return management.NextTokenPage(res.JSON200.Applications, res.JSON200.NextToken), nil
	})
	for app, err := range apps {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(*app.Name)
	}
	// Output:
	// Web
	// Mobile
	// Backend
}
