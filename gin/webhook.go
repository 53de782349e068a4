package kindegin

import (
	"github.com/gin-gonic/gin"

	"github.com/gokinde/kinde/core/webhook"
)

// Webhooks returns a handler that receives Kinde's webhooks with w: mount
// it on the POST route whose URL is registered in Kinde. Verification,
// replay protection, dispatch and the answer are w's (see webhook.Receiver).
func Webhooks(w *webhook.Receiver) gin.HandlerFunc {
	return func(c *gin.Context) { w.ServeHTTP(c.Writer, c.Request) }
}
