package kindefiber

import (
	"bytes"

	"github.com/gofiber/fiber/v3"

	"github.com/gokinde/kinde/core/webhook"
)

// Webhooks returns a handler that receives Kinde's webhooks with w: mount
// it on the POST route whose URL is registered in Kinde. Verification,
// replay protection, dispatch and the answer are w's (see webhook.Receiver);
// the handler returns nil because the answer is already written and w logs
// failures with the client's logger. Fiber's own BodyLimit applies first.
func Webhooks(w *webhook.Receiver) fiber.Handler {
	return func(c fiber.Ctx) error {
		_ = w.Handle(exchange{c}, bytes.NewReader(c.Body()))
		return nil
	}
}
