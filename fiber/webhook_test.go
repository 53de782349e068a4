package kindefiber_test

import (
	"net/http"
	"testing"

	"github.com/gokinde/kinde/core/kindetest/conformance"
	"github.com/gokinde/kinde/core/webhook"
	kindefiber "github.com/gokinde/kinde/fiber"
)

// TestWebhooks runs the webhook cases against Webhooks on a Fiber v2 route.
func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *webhook.Receiver) conformance.Doer {
		app := newApp(nil)
		app.Post("/webhooks", kindefiber.Webhooks(hooks))
		return func(r *http.Request) (int, error) {
			resp, err := app.Test(r, -1)
			if err != nil {
				return 0, err
			}
			return resp.StatusCode, resp.Body.Close()
		}
	})
}
