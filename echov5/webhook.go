package kindeecho

import (
	"github.com/labstack/echo/v5"

	kinde "github.com/gokinde/kinde/core"
)

// Webhooks returns a handler that receives Kinde's webhooks with w: mount
// it on the POST route whose URL is registered in Kinde. Verification,
// replay protection, dispatch and the answer are w's (see kinde.Webhooks);
// the handler returns nil because the answer is already written and w logs
// failures with the client's logger.
func Webhooks(w *kinde.Webhooks) echo.HandlerFunc { return echo.WrapHandler(w) }
