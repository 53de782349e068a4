package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/webhook"
)

func Example() {
	// The emulator plays Kinde; in an application, Domain is your Kinde domain.
	srv := kindetest.NewServer(kindetest.WithSigningKey(emulatorKey()))
	defer srv.Close()
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID()})
	if err != nil {
		log.Fatal(err)
	}

	hooks, err := webhook.New(client)
	if err != nil {
		log.Fatal(err)
	}
	hooks.On(webhook.UserCreated, func(ctx context.Context, e webhook.Event) error {
		u, err := e.User()
		if err != nil {
			return err // answers 500: Kinde delivers the event again later
		}
		fmt.Println("welcome", u.Email)
		return nil
	})
	hooks.On(webhook.UserAuthenticated, func(ctx context.Context, e webhook.Event) error {
		u, err := e.User()
		if err != nil {
			return err
		}
		fmt.Println("sign-in by", u.ID, "from", e.IPAddress)
		return nil
	})

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kinde", hooks)
	app := httptest.NewServer(mux)
	defer app.Close()
	url := app.URL + "/webhooks/kinde"

	// Kinde delivers an event, then retries it: the handler runs once.
	wh, err := srv.NewWebhook(webhook.UserCreated, map[string]any{
		"user": map[string]any{"id": "kp_0123456789abcdef0123456789abcdef", "email": "jane@example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		status, err := kindetest.PostWebhook(context.Background(), url, wh)
		fmt.Println(status, err)
	}

	// A sign-in, with the emulator's sample data and address.
	status, err := srv.SendWebhook(context.Background(), url, webhook.UserAuthenticated, nil)
	fmt.Println(status, err)

	// Events nobody handles are acknowledged.
	status, err = srv.SendWebhook(context.Background(), url, webhook.RoleCreated, nil)
	fmt.Println(status, err)
	// Output:
	// welcome jane@example.com
	// 200 <nil>
	// 200 <nil>
	// sign-in by kp_0123456789abcdef0123456789abcdef from 203.0.113.7
	// 200 <nil>
	// 200 <nil>
}
