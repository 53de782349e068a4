package kindeecho_test

import (
	"testing"

	"github.com/labstack/echo/v4"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest/conformance"
	kindeecho "github.com/gokinde/kinde/echo"
)

func TestWebhooks(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *kinde.Webhooks) conformance.Doer {
		e := echo.New()
		e.POST("/webhooks", kindeecho.Webhooks(hooks))
		return conformance.HandlerDoer(e)
	})
}
