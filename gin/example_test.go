package kindegin_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindegin "github.com/gokinde/kinde/gin"
)

// In an application Register(r) reads the KINDE_* variables; here an
// option points it at the kindetest emulator, which signs Alice in without
// a login page.
func ExampleRegister() {
	demo := conformance.NewDemo()
	defer demo.Close()
	r := gin.New()
	if _, err := kindegin.Register(r, demo.Option()); err != nil {
		log.Fatal(err)
	}
	r.GET("/dashboard", kindegin.RequireAuth(), func(c *gin.Context) {
		c.String(http.StatusOK, "Hello, %s", kindegin.SessionFrom(c).User().GivenName)
	})
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(demo.Listener) }()
	defer srv.Close()

	// A browser opening the page is sent to sign in and comes back.
	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	// Output: 200 Hello, Alice <nil>
}

// An API takes access tokens; the guards after RequireBearer check the
// token's permissions. A refused request gets the JSON error of RFC 6750.
func ExampleRequireBearer() {
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	r := gin.New()
	if _, err := kindegin.Register(r, demo.Option()); err != nil {
		log.Fatal(err)
	}
	todos := r.Group("/api/todos", kindegin.RequireBearer())
	todos.DELETE("/:id", kindegin.RequirePermission("delete:todos"), func(c *gin.Context) {
		c.Status(http.StatusNoContent)
	})

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, err := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.GivenName, call(r, http.MethodDelete, "/api/todos/7", "Bearer "+tokens.AccessToken))
	}
	// Output:
	// Alice 204
	// Bob 403 {"error":"forbidden","error_description":"this request needs permissions \"delete:todos\""}
}

// An API that only checks access tokens is configured with the Kinde
// domain and its audience alone (KINDE_DOMAIN and KINDE_AUDIENCE in an
// application). RequireScope authorises machine-to-machine callers by the
// scopes Kinde granted them; RequirePermissionOrScope lets users with the
// permission and machines with the scope in alike.
func ExampleRequireScope() {
	srv := kindetest.NewServer()
	defer srv.Close()
	const api = "https://api.example.com"
	srv.AddAPI(api, "read:todos", "write:todos")
	worker := srv.AddClient(kindetest.Client{Type: "m2m", Name: "Nightly report"})
	if err := srv.AuthorizeM2M(worker.ID, api, "read:todos"); err != nil {
		log.Fatal(err)
	}

	r := gin.New()
	if _, err := kindegin.Register(r, kinde.ResourceServer(),
		kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{api}})); err != nil {
		log.Fatal(err)
	}
	todos := r.Group("/api/todos", kindegin.RequireBearer())
	todos.GET("", kindegin.RequirePermissionOrScope("read:todos"), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	todos.POST("", kindegin.RequireScope("write:todos"), func(c *gin.Context) { c.Status(http.StatusCreated) })

	token, err := srv.IssueM2MToken(worker.ID, api)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(call(r, http.MethodGet, "/api/todos", "Bearer "+token.AccessToken))
	fmt.Println(call(r, http.MethodPost, "/api/todos", "Bearer "+token.AccessToken))
	// Output:
	// 204
	// 403 {"error":"forbidden","error_description":"this request needs scopes \"write:todos\""}
}

// The Config given with WithConfig applies to every guard: here an
// ErrorHandler answers refusals in the API's own error format.
func ExampleWithConfig() {
	demo := conformance.NewDemo()
	defer demo.Close()
	r := gin.New()
	problem := kindegin.Config{ErrorHandler: func(c *gin.Context, err error) {
		var d *kinde.Denial
		if errors.As(err, &d) {
			c.JSON(d.Status, gin.H{"status": d.Status, "detail": d.Message()})
		}
	}}
	if _, err := kindegin.Register(r, demo.Option(), kindegin.WithConfig(problem)); err != nil {
		log.Fatal(err)
	}
	r.GET("/api/todos", kindegin.RequireBearer(), func(c *gin.Context) { c.Status(http.StatusNoContent) })

	fmt.Println(call(r, http.MethodGet, "/api/todos", "Basic YWxpY2U6c2VjcmV0"))
	// Output: 400 {"detail":"the Authorization header must be: Bearer \u003ctoken\u003e","status":400}
}

// An ErrorHandler that answers some refusals itself and leaves the others
// to the web layer.
func ExampleWriteDenial() {
	demo := conformance.NewDemo()
	defer demo.Close()
	r := gin.New()
	handler := kindegin.Config{ErrorHandler: func(c *gin.Context, err error) {
		var d *kinde.Denial
		if errors.As(err, &d) && d.Status == http.StatusBadRequest {
			c.String(http.StatusBadRequest, "use a bearer token")
			return
		}
		_ = kindegin.WriteDenial(c, err)
	}}
	if _, err := kindegin.Register(r, demo.Option(), kindegin.WithConfig(handler)); err != nil {
		log.Fatal(err)
	}
	r.GET("/api/todos", kindegin.RequireBearer(), func(c *gin.Context) { c.Status(http.StatusNoContent) })

	fmt.Println(call(r, http.MethodGet, "/api/todos", "Basic YWxpY2U6c2VjcmV0"))
	fmt.Println(call(r, http.MethodGet, "/api/todos", ""))
	// Output:
	// 400 use a bearer token
	// 401 {"error":"unauthenticated","error_description":"send an access token in the Authorization header: Bearer \u003ctoken\u003e"}
}

// call sends an API request to h and returns the status and the body.
func call(h http.Handler, method, target, auth string) string {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Body.String()))
}
