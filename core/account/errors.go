package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// Errors of this package. Compare with errors.Is.
var (
	// ErrEntitlementNotFound means the organization has no entitlement with
	// that feature key.
	ErrEntitlementNotFound = errors.New("account: entitlement not found")
	// ErrProfileSubject means the user profile Kinde returned is not the
	// session's user (its sub differs from the ID token's sub).
	ErrProfileSubject = errors.New("account: user profile sub does not match the signed-in user")
)

// codeInvalidCredentials is the error code Kinde's Account API sends with a
// 403 for an access token it does not accept (Account API spec: "403 Invalid
// credentials").
const codeInvalidCredentials = "INVALID_CREDENTIALS"

// Error is an error reply from the Account API or another endpoint called
// with the user's access token (user profile, introspection).
//
// errors.Is matches kinde.ErrUnauthenticated (HTTP 401, or 403 with code
// INVALID_CREDENTIALS: the access token is not accepted), kinde.ErrForbidden
// (403) and kinde.ErrRateLimited (429).
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code and Message come from Kinde's error body, e.g. "TOO_MANY_REQUESTS".
	Code    string
	Message string
	// RetryAfter is how long to wait before retrying (from RateLimit-Reset
	// or Retry-After); zero when Kinde did not say.
	RetryAfter time.Duration
	// Endpoint is the method and path called, e.g. "GET /account_api/v1/roles".
	Endpoint string
}

// Error describes the reply and what to do about it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("account: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.invalidCredentials():
		b.WriteString(" (the access token is missing, expired or revoked: refresh the session or sign in again)")
	case e.StatusCode == http.StatusForbidden:
		b.WriteString(" (Kinde refused this access token: check that it is a user token of this Kinde domain and that the feature is enabled for the application)")
	case e.StatusCode == http.StatusTooManyRequests && e.RetryAfter > 0:
		fmt.Fprintf(&b, " (rate limited: retry in %s)", e.RetryAfter)
	case e.StatusCode == http.StatusTooManyRequests:
		b.WriteString(" (rate limited: retry later with backoff)")
	case e.StatusCode >= 500:
		b.WriteString(" (Kinde is unavailable: retry later)")
	}
	return b.String()
}

func (e *Error) invalidCredentials() bool {
	return e.StatusCode == http.StatusForbidden && e.Code == codeInvalidCredentials
}

// Is lets errors.Is match kinde.ErrUnauthenticated, kinde.ErrForbidden and
// kinde.ErrRateLimited.
func (e *Error) Is(target error) bool {
	switch target {
	case kinde.ErrUnauthenticated:
		return e.StatusCode == http.StatusUnauthorized || e.invalidCredentials()
	case kinde.ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case kinde.ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// apiError decodes the error shapes Kinde uses: {"errors":[{code,message}]}
// (Account API spec error_response), {"errors":{code,message}} and OAuth's
// {error, error_description} (user profile and introspection).
func apiError(name string, resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{StatusCode: resp.StatusCode, Endpoint: name, RetryAfter: retryAfter(resp.Header, now)}
	var shape struct {
		Errors      json.RawMessage `json:"errors"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &shape) != nil {
		return e
	}
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var list []item
	var one item
	switch {
	case json.Unmarshal(shape.Errors, &list) == nil && len(list) > 0:
		e.Code, e.Message = list[0].Code, list[0].Message
	case json.Unmarshal(shape.Errors, &one) == nil && one.Code != "":
		e.Code, e.Message = one.Code, one.Message
	case shape.Error != "":
		e.Code, e.Message = shape.Error, shape.Description
	}
	e.Code, e.Message = clip(e.Code, 100), clip(e.Message, 500)
	return e
}

// clip bounds text taken from a reply before it goes into error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// retryAfter reads RateLimit-Reset (seconds), else Retry-After (seconds or
// an HTTP date, counted from now).
func retryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"RateLimit-Reset", "Retry-After"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n < 1e7 {
			return time.Duration(n * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
		}
	}
	return 0
}
