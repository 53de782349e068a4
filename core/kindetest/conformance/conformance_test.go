package conformance_test

import (
	"net/http"
	"testing"

	"github.com/gokinde/kinde/core/kindetest/conformance"
	"github.com/gokinde/kinde/core/webhook"
)

// TestNetHTTP runs the suite against core's net/http front end.
func TestNetHTTP(t *testing.T) {
	conformance.Run(t, conformance.NetHTTP)
}

// TestScenarios keeps the suite from shrinking unnoticed: every front end
// runs at least these scenarios.
func TestScenarios(t *testing.T) {
	if n := conformance.Scenarios(); n < 60 {
		t.Errorf("%d scenarios, want at least 60", n)
	}
}

func TestWebhooksNetHTTP(t *testing.T) {
	conformance.RunWebhooks(t, func(hooks *webhook.Receiver) conformance.Doer {
		mux := http.NewServeMux()
		mux.Handle("POST /webhooks", hooks)
		return conformance.HandlerDoer(mux)
	})
}
