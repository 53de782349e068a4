package kindeecho_test

import (
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gokinde/kinde/core/kindetest/conformance"
	"github.com/gokinde/kinde/core/webhook"
	kindeecho "github.com/gokinde/kinde/echo"
)

// TestWebhooks runs the webhook cases against Webhooks on an Echo v4 route.
func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *webhook.Receiver) conformance.Doer {
		e := echo.New()
		e.POST("/webhooks", kindeecho.Webhooks(hooks))
		return conformance.HandlerDoer(e)
	})
}
