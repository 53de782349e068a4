package account

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"RateLimit-Reset seconds", http.Header{"Ratelimit-Reset": {"30"}}, 30 * time.Second},
		{"fractional seconds", http.Header{"Ratelimit-Reset": {"1.5"}}, 1500 * time.Millisecond},
		{"RateLimit-Reset wins", http.Header{"Ratelimit-Reset": {"2"}, "Retry-After": {"9"}}, 2 * time.Second},
		{"Retry-After seconds", http.Header{"Retry-After": {"9"}}, 9 * time.Second},
		{"Retry-After date", http.Header{"Retry-After": {now.Add(time.Hour).Format(http.TimeFormat)}}, time.Hour},
		{"Retry-After date in the past", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0},
		{"negative ignored", http.Header{"Ratelimit-Reset": {"-5"}}, 0},
		{"garbage ignored", http.Header{"Ratelimit-Reset": {"soon"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header, now); got != tt.want {
				t.Fatalf("retryAfter = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{StatusCode: 429, Code: "TOO_MANY_REQUESTS", Message: "Request was throttled", RetryAfter: 30 * time.Second, Endpoint: "GET /account_api/v1/roles"},
			"account: GET /account_api/v1/roles: HTTP 429 TOO_MANY_REQUESTS: Request was throttled (rate limited: retry in 30s)"},
		{&Error{StatusCode: 401}, "account: HTTP 401 (the access token is missing, expired or revoked: refresh the session or sign in again)"},
		{&Error{StatusCode: 403, Code: "INVALID_CREDENTIALS", Message: "Invalid credentials"},
			"account: HTTP 403 INVALID_CREDENTIALS: Invalid credentials (the access token is missing, expired or revoked: refresh the session or sign in again)"},
		{&Error{StatusCode: 403}, "account: HTTP 403 (Kinde refused this access token: check that it is a user token of this Kinde domain and that the feature is enabled for the application)"},
		{&Error{StatusCode: 503, Code: "SERVICE_UNAVAILABLE"}, "account: HTTP 503 SERVICE_UNAVAILABLE (Kinde is unavailable: retry later)"},
		{&Error{StatusCode: 404, Code: "ROUTE_NOT_FOUND", Message: "nope"}, "account: HTTP 404 ROUTE_NOT_FOUND: nope"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	utc := func(y int, m time.Month, d, h, min, s int) time.Time {
		return time.Date(y, m, d, h, min, s, 0, time.UTC)
	}
	tests := []struct {
		raw     string
		want    time.Time
		wantRaw string
	}{
		{`"2025-06-01T12:00:00Z"`, utc(2025, 6, 1, 12, 0, 0), "2025-06-01T12:00:00Z"},
		{`"2025-06-01T12:00:00.123Z"`, utc(2025, 6, 1, 12, 0, 0).Add(123 * time.Millisecond), "2025-06-01T12:00:00.123Z"},
		{`"2025-06-01T12:00Z"`, utc(2025, 6, 1, 12, 0, 0), "2025-06-01T12:00Z"},
		{`"2025-06-01T14:00+02:00"`, utc(2025, 6, 1, 12, 0, 0), "2025-06-01T14:00+02:00"},
		{`"2025-06-01T12:00:00"`, utc(2025, 6, 1, 12, 0, 0), "2025-06-01T12:00:00"},
		{`"2025-06-01T12:00"`, utc(2025, 6, 1, 12, 0, 0), "2025-06-01T12:00"},
		{`"2025-06-01 12:00:00"`, utc(2025, 6, 1, 12, 0, 0), "2025-06-01 12:00:00"},
		{`"2024-01-01"`, utc(2024, 1, 1, 0, 0, 0), "2024-01-01"},
		{`1748779200`, utc(2025, 6, 1, 12, 0, 0), "1748779200"},
		{`"next tuesday"`, time.Time{}, "next tuesday"},
		{`""`, time.Time{}, ""},
		{`null`, time.Time{}, ""},
		{``, time.Time{}, ""},
		{`{"a":1}`, time.Time{}, `{"a":1}`},
		{`-5`, time.Time{}, "-5"},
	}
	for _, tt := range tests {
		got, raw := parseDate(json.RawMessage(tt.raw))
		if !got.Equal(tt.want) || raw != tt.wantRaw {
			t.Errorf("parseDate(%s) = %v, %q; want %v, %q", tt.raw, got, raw, tt.want, tt.wantRaw)
		}
	}
}

func TestWholeNumber(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	tests := []struct {
		raw     string
		want    *int64
		wantErr bool
	}{
		{`35`, i(35), false},
		{`35.0`, i(35), false},
		{`"35"`, i(35), false},
		{`-1`, i(-1), false},
		{`null`, nil, false},
		{`35.5`, nil, true},
		{`"lots"`, nil, true},
		{`true`, nil, true},
		{`1e400`, nil, true},
	}
	for _, tt := range tests {
		var w wholeNumber
		err := json.Unmarshal([]byte(tt.raw), &w)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(w.v, tt.want) {
			t.Errorf("wholeNumber(%s) = %v, %v", tt.raw, w.v, err)
		}
	}
}

func TestDomainEndpoint(t *testing.T) {
	tests := []struct {
		domain, path, want string
	}{
		{"https://acme.kinde.com", "", "https://acme.kinde.com" + defaultUserProfilePath},
		{"acme.kinde.com/", "", "https://acme.kinde.com" + defaultUserProfilePath},
		{" https://acme.kinde.com/ ", "oauth2/v2/user_profile", "https://acme.kinde.com/oauth2/v2/user_profile"},
		{"https://acme.kinde.com", "https://id.example.com/userinfo", "https://id.example.com/userinfo"},
	}
	for _, tt := range tests {
		c := &Client{cfg: kinde.Config{Domain: tt.domain}}
		if got := c.domainEndpoint(tt.path, defaultUserProfilePath); got != tt.want {
			t.Errorf("domainEndpoint(%q, %q) = %q; want %q", tt.domain, tt.path, got, tt.want)
		}
	}
}

func TestParseFlag(t *testing.T) {
	tests := []struct {
		typ, raw string
		want     kinde.FlagValue
		ok       bool
	}{
		{"boolean", `true`, kinde.FlagValue{Code: "f", Type: kinde.FlagBoolean, Value: true}, true},
		{"b", `false`, kinde.FlagValue{Code: "f", Type: kinde.FlagBoolean, Value: false}, true},
		{"integer", `12`, kinde.FlagValue{Code: "f", Type: kinde.FlagInteger, Value: int64(12)}, true},
		{"integer", `12.0`, kinde.FlagValue{Code: "f", Type: kinde.FlagInteger, Value: int64(12)}, true},
		{"integer", `12.5`, kinde.FlagValue{}, false},
		{"string", `"pink"`, kinde.FlagValue{Code: "f", Type: kinde.FlagString, Value: "pink"}, true},
		{"object", `{"a":1,"b":[1.5]}`, kinde.FlagValue{Code: "f", Type: kinde.FlagJSON, Value: json.RawMessage(`{"a":1,"b":[1.5]}`)}, true},
		{"j", `[1]`, kinde.FlagValue{Code: "f", Type: kinde.FlagJSON, Value: json.RawMessage(`[1]`)}, true},
		{"boolean", `"yes"`, kinde.FlagValue{}, false},
		{"string", `1`, kinde.FlagValue{}, false},
		{"date", `"2025-01-01"`, kinde.FlagValue{}, false},
		{"boolean", ``, kinde.FlagValue{}, false},
	}
	for _, tt := range tests {
		got, ok := parseFlag("f", tt.typ, json.RawMessage(tt.raw))
		if ok != tt.ok || (ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("parseFlag(%q, %s) = %#v, %v", tt.typ, tt.raw, got, ok)
		}
	}
}
