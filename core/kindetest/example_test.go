package kindetest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gokinde/kinde/core/kindetest"
)

func ExampleNewServer() {
	srv := kindetest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()

	// A client_credentials token for the management API.
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {kindetest.DefaultM2MClientID},
		"client_secret": {kindetest.DefaultM2MClientSecret},
		"audience":      {srv.ManagementAudience()},
	}
	resp, err := http.Post(srv.URL()+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("token endpoint:", resp.StatusCode)

	// Tokens for a user without a browser.
	tokens, err := srv.IssueTokens(demo.Alice.ID, kindetest.IssueOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("refresh token issued:", tokens.RefreshToken != "")
	// Output:
	// token endpoint: 200
	// refresh token issued: true
}
