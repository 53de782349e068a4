package kinde_test

import (
	"fmt"
	"log"
	"net/http"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
)

// A net/http application: Handler serves the sign-in routes, Middleware
// loads the session of every request, and the guards protect pages and APIs.
// In an application NewWeb() reads the KINDE_* variables; here the kindetest
// emulator plays Kinde, seeded with Alice (an admin) and Bob (a member).
func ExampleNewWeb() {
	demo := conformance.NewDemo()
	defer demo.Close()

	web, err := kinde.NewWeb(demo.Option())
	if err != nil {
		log.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s", kinde.SessionFrom(r.Context()).User().GivenName)
	})
	// A bearer token's session has the access token only: no name or email.
	permissions := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, kinde.SessionFrom(r.Context()).Permissions().Keys)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", web.Handler())
	mux.Handle("GET /dashboard", web.RequireAuth()(hello))
	mux.Handle("GET /admin", web.RequirePermission("delete:todos")(hello))
	mux.Handle("GET /api/permissions", web.RequireBearer()(permissions))

	srv := &http.Server{Handler: web.Middleware(mux)}
	go func() { _ = srv.Serve(demo.Listener) }()
	defer srv.Close()

	// A browser is sent to sign in, signs in as Alice and comes back.
	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	fmt.Println(conformance.Visit(demo.URL + "/admin"))

	// Bob lacks delete:todos: the admin page answers 403.
	demo.Kinde.SignInAs(demo.Users.Bob.ID)
	status, _, _ := conformance.Visit(demo.URL + "/admin")
	fmt.Println(status)

	// An API takes access tokens instead of the session cookie.
	tokens, _ := demo.Kinde.IssueTokens(demo.Users.Bob.ID, kindetest.IssueOptions{})
	fmt.Println(conformance.CallAPI(http.MethodGet, demo.URL+"/api/permissions", tokens.AccessToken))
	fmt.Println(conformance.CallAPI(http.MethodGet, demo.URL+"/api/permissions", ""))
	// Output:
	// 200 Hello, Alice <nil>
	// 200 Hello, Alice <nil>
	// 403
	// 200 [create:todos read:todos] <nil>
	// 401 {"error":"unauthenticated","error_description":"send an access token in the Authorization header: Bearer \u003ctoken\u003e"} <nil>
}
