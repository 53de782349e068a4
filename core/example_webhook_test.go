package kinde_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func ExampleClient_Webhooks() {
	// The emulator plays Kinde; in an application, Domain is your Kinde domain.
	srv := kindetest.NewServer(kindetest.WithSigningKey(sessionTestKey()))
	defer srv.Close()
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID()})
	if err != nil {
		log.Fatal(err)
	}

	hooks := client.Webhooks()
	hooks.On(kinde.EventUserCreated, func(ctx context.Context, e kinde.WebhookEvent) error {
		var data kinde.UserEventData
		if err := e.Decode(&data); err != nil {
			return err // answers 500: Kinde delivers the event again later
		}
		fmt.Println("welcome", data.User.Email)
		return nil
	})

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kinde", hooks)
	app := httptest.NewServer(mux)
	defer app.Close()

	// Kinde delivers an event, then retries the same delivery.
	wh, err := srv.NewWebhook(kinde.EventUserCreated, map[string]any{
		"user": map[string]any{"id": "kp_1234567890", "email": "jane@example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		status, err := kindetest.PostWebhook(context.Background(), app.URL+"/webhooks/kinde", wh)
		fmt.Println(status, err)
	}

	// Events nobody handles are acknowledged.
	status, err := srv.SendWebhook(context.Background(), app.URL+"/webhooks/kinde", kinde.EventRoleCreated, map[string]any{"role": map[string]any{"key": "admin"}})
	fmt.Println(status, err)
	// Output:
	// welcome jane@example.com
	// 200 <nil>
	// 200 <nil>
	// 200 <nil>
}
