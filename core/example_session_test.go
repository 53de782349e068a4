package kinde_test

import (
	"context"
	"fmt"
	"log"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// exampleSession starts an emulator, lets setup fill its directory, and
// returns a verified session for the user it returns. The caller closes srv.
func exampleSession(setup func(srv *kindetest.Server) (userID string)) (*kinde.Session, *kindetest.Server) {
	srv := kindetest.NewServer(kindetest.WithSigningKey(sessionTestKey()))
	userID := setup(srv)
	client, err := kinde.New(kinde.Config{
		Domain:       srv.URL(),
		ClientID:     srv.ClientID(),
		ClientSecret: srv.ClientSecret(),
		RedirectURL:  "http://localhost:8080/api/auth/kinde_callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	issued, err := srv.IssueTokens(userID, kindetest.IssueOptions{})
	if err != nil {
		log.Fatal(err)
	}
	// In an application the tokens come from client.ExchangeCode at the
	// callback, or from the session store.
	sess, err := client.Session(context.Background(), &kinde.Tokens{
		AccessToken: issued.AccessToken, IDToken: issued.IDToken, RefreshToken: issued.RefreshToken,
	})
	if err != nil {
		log.Fatal(err)
	}
	return sess, srv
}

func ExampleSession_Flag() {
	sess, srv := exampleSession(func(srv *kindetest.Server) string {
		_ = srv.SetFlag("theme", "pink")
		_ = srv.SetFlag("max_projects", 5)
		return srv.AddUser(kindetest.User{Email: "jane@example.com"}).ID
	})
	defer srv.Close()

	theme, err := sess.Flag("theme")
	fmt.Println(theme.Value, theme.Type, theme.IsDefault, err)

	fallback, _ := sess.Flag("banner", kinde.FlagDefault("none"))
	fmt.Println(fallback.Value, fallback.IsDefault)

	limit, _ := sess.IntFlag("max_projects", 1)
	fmt.Println(limit)

	_, err = sess.BoolFlag("max_projects")
	fmt.Println(err)
	// Output:
	// pink string false <nil>
	// none true
	// 5
	// kinde: flag "max_projects" is of type integer, but type boolean was requested: kinde: feature flag is not of the requested type
}

func ExampleSession_PermissionGranted() {
	sess, srv := exampleSession(func(srv *kindetest.Server) string {
		user := srv.AddUser(kindetest.User{Email: "jane@example.com"})
		org := srv.AddOrganization(kindetest.Organization{Code: "org_acme", Name: "Acme"})
		srv.AddRole(kindetest.Role{Key: "editor", Permissions: []string{"create:todos", "read:todos"}})
		_ = srv.AddMember(org.Code, user.ID, "editor")
		return user.ID
	})
	defer srv.Close()

	fmt.Println(sess.PermissionGranted("create:todos"))
	fmt.Println(sess.PermissionGranted("delete:todos"))
	fmt.Println(sess.HasPermissions("create:todos", "read:todos"))
	fmt.Printf("%+v\n", sess.Permission("read:todos"))
	// Output:
	// true
	// false
	// true
	// {Key:read:todos OrgCode:org_acme Granted:true}
}
