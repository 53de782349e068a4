package kindeecho_test

import (
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/gokinde/kinde/core/kindetest/conformance"
	"github.com/gokinde/kinde/core/webhook"
	kindeecho "github.com/gokinde/kinde/echov5"
)

// TestWebhooks runs the webhook cases against Webhooks on an Echo v5 route.
func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *webhook.Receiver) conformance.Doer {
		e := echo.New()
		e.POST("/webhooks", kindeecho.Webhooks(hooks))
		return conformance.HandlerDoer(e)
	})
}
