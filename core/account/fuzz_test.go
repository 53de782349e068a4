package account

import (
	"encoding/json"
	"github.com/gokinde/kinde/core/internal/jsonvalue"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecodeReplies feeds untrusted reply bodies to every decoder of the
// package: none may panic, and what they accept must be consistent.
func FuzzDecodeReplies(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fidelity", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var v struct {
			Replies []struct {
				Body json.RawMessage `json:"body"`
			} `json:"replies"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			f.Fatal(err)
		}
		for _, r := range v.Replies {
			f.Add([]byte(r.Body))
		}
	}
	f.Add([]byte(`"2025-06-01T12:00Z"`))
	f.Add([]byte(`{"entitlement_limit_max": 1e308}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var ents page[entitlementsData]
		if json.Unmarshal(body, &ents) == nil {
			for _, p := range ents.Data.Plans {
				if pl := p.plan(); pl.SubscribedOnRaw == "" && !pl.SubscribedOn.IsZero() {
					t.Fatalf("plan %+v has a time but no raw text", pl)
				}
			}
			for _, e := range ents.Data.Entitlements {
				_ = e.entitlement()
			}
		}
		var perm struct {
			permissionReply
			Data *permissionReply `json:"data"`
		}
		if json.Unmarshal(body, &perm) == nil {
			perm.result()
			if perm.Data != nil {
				perm.Data.result()
			}
		}
		parseDate(body)
		unixOrRFC3339(body)
		var w wholeNumber
		_ = json.Unmarshal(body, &w)
		for _, typ := range []string{"boolean", "integer", "string", "object"} {
			if fv, ok := parseFlag("f", typ, body); ok && fv.Code != "f" {
				t.Fatalf("parseFlag = %+v", fv)
			}
		}
		_, _ = jsonvalue.Decode(body)
		e := apiError("GET /x", &http.Response{StatusCode: 403, Header: http.Header{}}, body, time.Unix(0, 0))
		if len(e.Code) > 101+len("…") || len(e.Message) > 501+len("…") {
			t.Fatalf("apiError kept %d and %d bytes", len(e.Code), len(e.Message))
		}
		_ = e.Error()
	})
}
