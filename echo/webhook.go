package kindeecho

import (
	"github.com/labstack/echo/v4"

	"github.com/gokinde/kinde/core/webhook"
)

// Webhooks returns a handler that receives Kinde's webhooks with w: mount
// it on the POST route whose URL is registered in Kinde. Verification,
// replay protection, dispatch and the answer are w's (see webhook.Receiver);
// the handler returns nil because the answer is already written and w logs
// failures with the client's logger.
func Webhooks(w *webhook.Receiver) echo.HandlerFunc {
	return func(c echo.Context) error {
		w.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
