package kinde

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		header  http.Header
		wantMin time.Duration
		wantMax time.Duration
	}{
		{"none", http.Header{}, 0, 0},
		{"RateLimit-Reset seconds", http.Header{"Ratelimit-Reset": {"30"}}, 30 * time.Second, 30 * time.Second},
		{"fractional seconds", http.Header{"Ratelimit-Reset": {"1.5"}}, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"RateLimit-Reset wins", http.Header{"Ratelimit-Reset": {"2"}, "Retry-After": {"9"}}, 2 * time.Second, 2 * time.Second},
		{"Retry-After seconds", http.Header{"Retry-After": {"9"}}, 9 * time.Second, 9 * time.Second},
		{"Retry-After date", http.Header{"Retry-After": {future}}, 58 * time.Minute, time.Hour},
		{"negative ignored", http.Header{"Ratelimit-Reset": {"-5"}}, 0, 0},
		{"garbage ignored", http.Header{"Ratelimit-Reset": {"soon"}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retryAfter(tt.header)
			if got < tt.wantMin || got > tt.wantMax {
				t.Fatalf("retryAfter = %v; want between %v and %v", got, tt.wantMin, tt.wantMax)
			}
		})
	}
}

func TestToInt64(t *testing.T) {
	type myUint uint64
	tests := []struct {
		in     any
		want   int64
		wantOK bool
	}{
		{int(3), 3, true},
		{int8(-3), -3, true},
		{uint64(1 << 62), 1 << 62, true},
		{uint64(1 << 63), 0, false},
		{3.0, 3, true},
		{3.5, 0, false},
		{float32(2), 2, true},
		{json.Number("12"), 12, true},
		{json.Number("12.0"), 12, true},
		{json.Number("1e400"), 0, false},
		{"12", 0, false},
		{nil, 0, false},
		{myUint(1), 0, false}, // named types go through flagInput, not toInt64
	}
	for _, tt := range tests {
		got, ok := toInt64(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("toInt64(%#v) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAccountAPIErrorMessages(t *testing.T) {
	tests := []struct {
		err  *AccountAPIError
		want string
	}{
		{&AccountAPIError{StatusCode: 429, Code: "TOO_MANY_REQUESTS", Message: "Request was throttled", RetryAfter: 30 * time.Second, Endpoint: "GET /account_api/v1/roles"},
			"kinde: GET /account_api/v1/roles: HTTP 429 TOO_MANY_REQUESTS: Request was throttled (rate limited: retry in 30s)"},
		{&AccountAPIError{StatusCode: 401}, "kinde: HTTP 401 (the access token is missing, expired or revoked: refresh the session or sign in again)"},
		{&AccountAPIError{StatusCode: 503, Code: "SERVICE_UNAVAILABLE"}, "kinde: HTTP 503 SERVICE_UNAVAILABLE (Kinde is unavailable: retry later)"},
		{&AccountAPIError{StatusCode: 404, Code: "ROUTE_NOT_FOUND", Message: "nope"}, "kinde: HTTP 404 ROUTE_NOT_FOUND: nope"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
