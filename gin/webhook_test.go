package kindegin_test

import (
	"testing"

	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindegin "github.com/gokinde/kinde/gin"
)

func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *kinde.Webhooks) conformance.Doer {
		r := gin.New()
		r.POST("/webhooks", kindegin.Webhooks(hooks))
		return conformance.HandlerDoer(r)
	})
}
