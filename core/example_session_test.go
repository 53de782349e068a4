package kinde_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// exampleSession starts an emulator with opts, lets setup fill its
// directory, and returns a verified session for the user it returns. The
// caller closes srv.
func exampleSession(setup func(srv *kindetest.Server) (userID string), opts ...kindetest.Option) (*kinde.Session, *kindetest.Server) {
	srv := kindetest.NewServer(append([]kindetest.Option{kindetest.WithSigningKey(sessionTestKey())}, opts...)...)
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

	_, err = sess.BoolFlag("max_projects", false)
	fmt.Println(errors.Is(err, kinde.ErrFlagTypeMismatch))
	fmt.Println(err)
	// Output:
	// pink string false <nil>
	// none true
	// 5
	// true
	// kinde: flag value type differs from the requested type: flag "max_projects" is integer, boolean was requested
}

func ExampleSession_JSONFlag() {
	sess, srv := exampleSession(func(srv *kindetest.Server) string {
		_ = srv.SetFlag("checkout", map[string]any{"steps": 3, "express": true})
		return srv.AddUser(kindetest.User{Email: "jane@example.com"}).ID
	})
	defer srv.Close()

	type checkout struct {
		Steps   int  `json:"steps"`
		Express bool `json:"express"`
	}
	cfg := checkout{Steps: 4} // the default, kept when the flag is absent
	if err := sess.JSONFlag("checkout", &cfg); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", cfg)

	banner := checkout{Steps: 1}
	_ = sess.JSONFlag("undefined", &banner)
	fmt.Printf("%+v\n", banner)

	raw, _ := sess.Flag("checkout") // the JSON itself
	fmt.Println(raw.Type, string(raw.Value.(json.RawMessage)))
	// Output:
	// {Steps:3 Express:true}
	// {Steps:1 Express:false}
	// json {"express":true,"steps":3}
}

func ExampleSession_Permission() {
	sess, srv := exampleSession(func(srv *kindetest.Server) string {
		user := srv.AddUser(kindetest.User{Email: "jane@example.com"})
		org := srv.AddOrganization(kindetest.Organization{Code: "org_acme", Name: "Acme"})
		srv.AddRole(kindetest.Role{Key: "editor", Permissions: []string{"create:todos", "read:todos"}})
		_ = srv.AddMember(org.Code, user.ID, "editor")
		return user.ID
	})
	defer srv.Close()

	fmt.Printf("%+v\n", sess.Permission("read:todos"))
	fmt.Println(sess.Permission("delete:todos").Granted)
	fmt.Println(sess.HasPermissions("create:todos", "read:todos"))
	// Output:
	// {Key:read:todos OrgCode:org_acme Granted:true}
	// false
	// true
}

// Kinde adds roles to the access token only when the application's token
// customization turns them on; the emulator issues Kinde's default tokens
// unless a test turns claims on.
func ExampleSession_Roles() {
	for _, tc := range []kindetest.TokenCustomization{{}, {Roles: true}} {
		sess, srv := exampleSession(func(srv *kindetest.Server) string {
			user := srv.AddUser(kindetest.User{Email: "jane@example.com"})
			org := srv.AddOrganization(kindetest.Organization{Name: "Acme"})
			srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin"})
			_ = srv.AddMember(org.Code, user.ID, "admin")
			return user.ID
		}, kindetest.WithTokenCustomization(tc))
		var keys []string
		for _, r := range sess.Roles() {
			keys = append(keys, r.Key+" ("+r.Name+")")
		}
		fmt.Println(tc.Roles, keys, sess.HasRoles("admin"))
		srv.Close()
	}
	// Output:
	// false [] false
	// true [admin (Admin)] true
}

func ExampleSession_Scopes() {
	sess, srv := exampleSession(func(srv *kindetest.Server) string {
		return srv.AddUser(kindetest.User{Email: "jane@example.com"}).ID
	})
	defer srv.Close()

	fmt.Println(sess.Scopes())
	fmt.Println(sess.HasScopes("openid", "offline"), sess.HasScopes("write:users"))
	// Output:
	// [openid profile email offline]
	// true false
}
