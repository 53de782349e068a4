package kindegin_test

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/gokinde/kinde/core/kindetest/conformance"
	"github.com/gokinde/kinde/core/webhook"
	kindegin "github.com/gokinde/kinde/gin"
)

// TestWebhooks runs the webhook cases against Webhooks on a Gin route.
func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *webhook.Receiver) conformance.Doer {
		r := gin.New()
		r.POST("/webhooks", kindegin.Webhooks(hooks))
		return conformance.HandlerDoer(r)
	})
}
