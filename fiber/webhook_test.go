package kindefiber_test

import (
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindefiber "github.com/gokinde/kinde/fiber"
)

func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *kinde.Webhooks) conformance.Doer {
		app := fiber.New()
		app.Post("/webhooks", kindefiber.Webhooks(hooks))
		return func(r *http.Request) (int, error) {
			resp, err := app.Test(r, -1)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
	})
}
