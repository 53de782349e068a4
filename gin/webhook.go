package kindegin

import (
	"github.com/gin-gonic/gin"

	kinde "github.com/gokinde/kinde/core"
)

// Webhooks returns a handler that receives Kinde's webhooks with w: mount
// it on the POST route whose URL is registered in Kinde. Verification,
// replay protection, dispatch and the answer are w's (see kinde.Webhooks).
func Webhooks(w *kinde.Webhooks) gin.HandlerFunc {
	return func(c *gin.Context) { w.ServeHTTP(c.Writer, c.Request) }
}
