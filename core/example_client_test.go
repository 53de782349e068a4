package kinde_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// New validates the configuration; a missing or malformed setting is a
// *ConfigError naming the field and its environment variable.
func ExampleNew() {
	_, err := kinde.New(kinde.Config{Domain: "yourbusiness.kinde.com"})
	fmt.Println(err)
	var ce *kinde.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("set", ce.Env)
	}

	client, err := kinde.New(kinde.Config{
		Domain:       "yourbusiness.kinde.com", // https:// is added
		ClientID:     "your_client_id",
		ClientSecret: "your_client_secret",
		RedirectURL:  "http://localhost:8080/api/auth/kinde_callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.Issuer())
	fmt.Println(client.Config().ManagementAudience)
	fmt.Println(client.Config().Scopes, client.Config().Leeway)
	// Output:
	// kinde: config ClientID (KINDE_CLIENT_ID) is required: copy it from your application's details in the Kinde dashboard (a program that only gets machine-to-machine tokens may set KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET instead; an API that only checks tokens uses kinde.ResourceServer)
	// set KINDE_CLIENT_ID
	// https://yourbusiness.kinde.com
	// https://yourbusiness.kinde.com/api
	// [openid offline email profile] 30s
}

// ConfigFromEnv reads the KINDE_* variables; a comma separated
// KINDE_SESSION_SECRET lists the current secret first, then older ones that
// still open existing sessions.
func ExampleConfigFromEnv() {
	env := map[string]string{
		"KINDE_DOMAIN":         "https://yourbusiness.kinde.com",
		"KINDE_CLIENT_ID":      "your_client_id",
		"KINDE_AUDIENCE":       "https://api.example.com, https://billing.example.com",
		"KINDE_SESSION_SECRET": "new-secret-of-at-least-32-characters, old-secret-of-at-least-32-characters",
	}
	for k, v := range env {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}

	cfg := kinde.ConfigFromEnv()
	fmt.Println(cfg.Domain, cfg.ClientID)
	fmt.Println(cfg.Audience)
	fmt.Println(cfg.SessionSecret, cfg.PreviousSessionSecrets)
	// Output:
	// https://yourbusiness.kinde.com your_client_id
	// [https://api.example.com https://billing.example.com]
	// new-secret-of-at-least-32-characters [old-secret-of-at-least-32-characters]
}

// AuthURL builds a sign-in request by hand; the web layer (NewWeb and the
// adapters) does this for you. Keep State, CodeVerifier and Nonce for the
// callback.
func ExampleClient_AuthURL() {
	client := kinde.MustNew(kinde.Config{
		Domain:      "https://yourbusiness.kinde.com",
		ClientID:    "your_client_id",
		RedirectURL: "http://localhost:8080/api/auth/kinde_callback",
	})
	req, err := client.AuthURL(
		kinde.WithOrgCode("org_1a2b3c4d5e6f"),
		kinde.WithLoginHint("jane@example.com"),
		kinde.WithAudience("https://api.example.com"),
	)
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(req.URL)
	fmt.Println(u.Scheme + "://" + u.Host + u.Path)
	q := u.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch k {
		case "state", "nonce", "code_challenge": // random per request
			fmt.Printf("%s=<%d characters>\n", k, len(q.Get(k)))
		default:
			fmt.Printf("%s=%s\n", k, q.Get(k))
		}
	}
	fmt.Println(req.State == q.Get("state"), req.CodeVerifier != "")
	// Output:
	// https://yourbusiness.kinde.com/oauth2/auth
	// audience=https://api.example.com
	// client_id=your_client_id
	// code_challenge=<43 characters>
	// code_challenge_method=S256
	// login_hint=jane@example.com
	// nonce=<22 characters>
	// org_code=org_1a2b3c4d5e6f
	// redirect_uri=http://localhost:8080/api/auth/kinde_callback
	// response_type=code
	// scope=openid offline email profile
	// state=<43 characters>
	// true true
}

// The whole authorization code flow by hand, against the kindetest emulator:
// AuthURL, the browser's trip to Kinde, then ExchangeCode and Session at the
// callback. Applications get all of this from the web layer.
func ExampleClient_ExchangeCode() {
	srv := kindetest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	const callback = "http://localhost:8080/api/auth/kinde_callback"
	srv.AllowRedirectURI(srv.ClientID(), callback) // "Allowed callback URLs" in Kinde

	client := kinde.MustNew(kinde.Config{
		Domain:       srv.URL(),
		ClientID:     srv.ClientID(),
		ClientSecret: srv.ClientSecret(),
		RedirectURL:  callback,
	})
	ctx := context.Background()

	req, err := client.AuthURL()
	if err != nil {
		log.Fatal(err)
	}

	// The browser follows req.URL and Alice signs in; Kinde then redirects
	// to the callback with a code and the state.
	srv.SignInAs(demo.Alice.ID)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(req.URL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println("state matches:", back.Query().Get("state") == req.State)

	// At the callback: exchange the code with the verifier and nonce of
	// this sign-in. The tokens are verified before they are returned.
	tokens, err := client.ExchangeCode(ctx, req, back.Query())
	if err != nil {
		log.Fatal(err)
	}
	sess, err := client.Session(ctx, tokens)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.User().Email, sess.Organization().Code == demo.Acme.Code)

	// A code works once.
	_, err = client.ExchangeCode(ctx, req, back.Query())
	fmt.Println(errors.Is(err, kinde.ErrInvalidGrant))
	// Output:
	// state matches: true
	// alice@example.com true
	// true
}

// The claim helpers of a Session read the verified tokens; none of them
// calls Kinde.
func ExampleSession_User() {
	srv := kindetest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	client := kinde.MustNew(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})

	issued, err := srv.IssueTokens(demo.Alice.ID, kindetest.IssueOptions{OrgCode: demo.Acme.Code})
	if err != nil {
		log.Fatal(err)
	}
	// In an application: kindegin.SessionFrom(c), kinde.SessionFrom(ctx), …
	sess, err := client.Session(context.Background(), &kinde.Tokens{
		AccessToken: issued.AccessToken, IDToken: issued.IDToken, RefreshToken: issued.RefreshToken,
	})
	if err != nil {
		log.Fatal(err)
	}
	u := sess.User()
	fmt.Println(u.Name, u.Email, u.ID == demo.Alice.ID)
	fmt.Println(sess.Organization().Name)
	for _, o := range sess.UserOrganizations() {
		fmt.Println("member of", o.Name)
	}
	for _, r := range sess.Roles() {
		fmt.Println("role", r.Key)
	}
	fmt.Println(sess.HasRoles("admin"), sess.Permission("delete:todos").Granted)
	// Output:
	// Alice Admin alice@example.com true
	// Acme
	// member of Acme
	// member of Globex
	// role admin
	// true true
}

// ClientCredentials asks Kinde for a machine-to-machine token every time;
// ClientCredentialsTokenSource caches one and renews it before it expires.
func ExampleClient_ClientCredentialsTokenSource() {
	srv := kindetest.NewServer() // has an M2M app authorized for the Management API
	defer srv.Close()
	client := kinde.MustNew(kinde.Config{
		Domain:                 srv.URL(),
		ClientID:               srv.ClientID(),
		ManagementClientID:     kindetest.DefaultM2MClientID,
		ManagementClientSecret: kindetest.DefaultM2MClientSecret,
	})
	ctx := context.Background()

	tokens, err := client.ClientCredentials(ctx) // default audience: the Management API
	if err != nil {
		log.Fatal(err)
	}
	claims, err := client.VerifyAccessToken(ctx, tokens.AccessToken, kinde.VerifyAudience(client.Config().ManagementAudience))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.AuthorizedParty == kindetest.DefaultM2MClientID)

	ts := client.ClientCredentialsTokenSource()
	for range 3 {
		if _, err := ts.Token(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("token requests:", srv.Requests("/oauth2/token"))

	// An audience the app is not authorized for is refused by Kinde.
	_, err = client.ClientCredentials(ctx, "https://api.example.com")
	fmt.Println(errors.Is(err, kinde.ErrInvalidClient))
	// Output:
	// true
	// token requests: 2
	// true
}
