package kinde_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// A command-line tool signs in with the device flow: it shows a code, the
// user approves it in a browser, and the tool receives tokens.
func ExampleClient_StartDeviceAuth() {
	srv := kindetest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	app := srv.AddClient(kindetest.Client{Type: "device"}) // a public client: no secret

	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: app.ID, Now: srv.Now})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	da, err := client.StartDeviceAuth(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Print da.UserCode and da.VerificationURI for the user; the emulator's
	// URL changes from run to run, so this example prints only its path.
	fmt.Printf("Open <kinde>%s, enter the user code; it expires in %s\n",
		strings.TrimPrefix(da.VerificationURI, srv.URL()), da.ExpiresAt.Sub(srv.Now()).Round(time.Minute))

	// The user approves in a browser; here the emulator does it for Alice.
	if err := srv.ApproveDevice(da.UserCode, demo.Alice.ID); err != nil {
		log.Fatal(err)
	}

	// PollDeviceToken waits da.Interval (as Kinde asked) between polls; this
	// example shortens it so that it runs quickly.
	da.Interval = time.Millisecond
	tokens, err := client.PollDeviceToken(ctx, da)
	if err != nil {
		log.Fatal(err)
	}
	sess, err := client.Session(ctx, tokens)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", sess.User().Email, "with a refresh token:", tokens.RefreshToken != "")
	// Output:
	// Open <kinde>/device, enter the user code; it expires in 10m0s
	// signed in as alice@example.com with a refresh token: true
}
