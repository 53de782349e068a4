package tokenstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/tokenstore"
)

// A command-line tool saves the tokens it got at sign-in (see
// kinde.Client.StartDeviceAuth) and, on later runs, asks Tokens for them:
// they come back refreshed, and saved again, once the access token expires.
func ExampleTokens() {
	srv := kindetest.NewServer() // plays Kinde; its clock can be moved
	defer srv.Close()
	demo := srv.SeedDemo()
	client := kinde.MustNew(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), Now: srv.Now})
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "tokenstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// tokenstore.Default("my-cli") picks the system keychain when there is one.
	store := tokenstore.NewFile(filepath.Join(dir, "my-cli.json"))

	_, err = tokenstore.Tokens(ctx, client, store)
	fmt.Println(errors.Is(err, tokenstore.ErrNotSignedIn))

	issued, err := srv.IssueTokens(demo.Bob.ID, kindetest.IssueOptions{})
	if err != nil {
		log.Fatal(err)
	}
	signedIn := &kinde.Tokens{AccessToken: issued.AccessToken, RefreshToken: issued.RefreshToken,
		ExpiresAt: srv.Now().Add(time.Duration(issued.ExpiresIn) * time.Second)}
	if err := store.Save(ctx, signedIn); err != nil {
		log.Fatal(err)
	}

	srv.Advance(25 * time.Hour) // the access token (24 hours) has expired
	tokens, err := tokenstore.Tokens(ctx, client, store)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refreshed:", tokens.AccessToken != signedIn.AccessToken, "expired:", tokens.Expired())

	// For HTTP clients: oauth2.NewClient(ctx, tokenstore.TokenSource(ctx, client, store)).
	t, err := tokenstore.TokenSource(ctx, client, store).Token()
	fmt.Println(t.AccessToken == tokens.AccessToken, err)
	// Output:
	// true
	// refreshed: true expired: false
	// true <nil>
}
