package management

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is a reply from the Management API with a status other than 2xx. Every call made
// through a Client, including calls through the generated client returned by API, reports such
// replies as an *APIError; match it with errors.As.
type APIError struct {
	// StatusCode is the HTTP status of the reply.
	StatusCode int
	// Method and Path identify the request (the query string is left out).
	Method string
	Path   string
	// Errors are the error entries of the reply, if it had any.
	Errors []ErrorDetail
	// RetryAfter is how long Kinde asked the caller to wait before trying again (from the
	// RateLimit-Reset or Retry-After header); zero when it did not say.
	RetryAfter time.Duration
	// Body is the raw reply body.
	Body []byte
}

// ErrorDetail is one entry of an error reply.
type ErrorDetail struct {
	// Code is Kinde's error code, for example "ORGANIZATION_NOT_FOUND".
	Code string `json:"code"`
	// Message is Kinde's human-readable message.
	Message string `json:"message"`
	// Field names the request field at fault, when Kinde says which.
	Field string `json:"field,omitempty"`
}

// Error describes the reply and, for the common statuses, what to do about it.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kinde management: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	for i, d := range e.Errors {
		if i == 0 {
			b.WriteString(":")
		} else {
			b.WriteString(";")
		}
		if d.Code != "" {
			fmt.Fprintf(&b, " %s", d.Code)
		}
		if d.Message != "" {
			fmt.Fprintf(&b, " %q", d.Message)
		}
		if d.Field != "" {
			fmt.Fprintf(&b, " (field %s)", d.Field)
		}
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		b.WriteString(" (check that the machine-to-machine application is authorized for the Management API and granted the scope this call needs)")
	case e.StatusCode == http.StatusTooManyRequests:
		b.WriteString(" (rate limited: retry later or raise Config.MaxRetries)")
	}
	return b.String()
}

// HasCode reports whether the reply carries an error entry with the given code.
func (e *APIError) HasCode(code string) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// newAPIError builds an APIError from a reply. It understands both shapes Kinde uses:
// {"errors":[{…},…]} and, for 404, {"errors":{…}}.
func newAPIError(req *http.Request, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     req.Method,
		Path:       req.URL.Path,
		Body:       body,
		RetryAfter: retryAfter(resp.Header),
	}
	var envelope struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &envelope) != nil || len(envelope.Errors) == 0 {
		return e
	}
	var list []ErrorDetail
	if json.Unmarshal(envelope.Errors, &list) == nil {
		e.Errors = list
		return e
	}
	var one ErrorDetail
	if json.Unmarshal(envelope.Errors, &one) == nil {
		e.Errors = []ErrorDetail{one}
	}
	return e
}
