package kindegin_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindegin "github.com/gokinde/kinde/gin"
)

// In an application, Register(r) reads the KINDE_* variables; here an
// in-process Kinde (the kindetest emulator) stands in for Kinde.
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

	// A browser opening the page is sent to sign in (the emulator signs
	// Alice in at once) and comes back.
	demo.Kinde.SignInAs(demo.Users.Alice.ID)
	fmt.Println(conformance.Visit(demo.URL + "/dashboard"))
	// Output: 200 Hello, Alice <nil>
}

func ExampleRequirePermission() {
	demo := conformance.NewDemo() // admins may delete todos, members may not
	defer demo.Close()
	r := gin.New()
	_, err := kindegin.Register(r, demo.Option())
	if err != nil {
		log.Fatal(err)
	}

	api := r.Group("/api", kindegin.RequireBearer())
	api.DELETE("/todos/:id", kindegin.RequirePermission("delete:todos"), func(c *gin.Context) {
		c.Status(http.StatusNoContent)
	})

	for _, u := range []kindetest.User{demo.Users.Alice, demo.Users.Bob} {
		tokens, _ := demo.Kinde.IssueTokens(u.ID, kindetest.IssueOptions{})
		req := httptest.NewRequest(http.MethodDelete, "/api/todos/1", nil)
		req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(u.GivenName, w.Code)
	}
	// Output:
	// Alice 204
	// Bob 403
}
