// Package webhook receives Kinde's webhooks.
//
// Kinde POSTs each event to the URL registered in its dashboard as a JWT
// (Content-Type application/jwt) signed with the same keys as the domain's
// tokens. A [Receiver], built by [New] from a *kinde.Client, verifies the
// signature against the domain's key set, refuses events whose timestamp
// lies outside the replay window, runs each event's handlers once (keyed
// by the signed event_id, never by the unsigned webhook-id header) and
// answers with the status that makes Kinde retry exactly when it should.
//
//	hooks, err := webhook.New(client)
//	if err != nil {
//		log.Fatal(err)
//	}
//	hooks.On(webhook.UserCreated, func(ctx context.Context, e webhook.Event) error {
//		u, err := e.User()
//		if err != nil {
//			return err
//		}
//		return welcome(ctx, u.Email)
//	})
//	mux.Handle("POST /webhooks/kinde", hooks)
//
// The framework adapters (kindegin, kindeecho, kindefiber) each have a
// Webhooks function that mounts a Receiver on a route of their router.
//
// Event types are the constants of this package ([UserCreated],
// [OrganizationUpdated], …); an Event's data decodes into the typed values
// of its type ([Event.User], [Event.Organization], …) or, for the billing
// and passkey events whose data Kinde does not document, into a type of
// your own with [Event.Decode].
package webhook
