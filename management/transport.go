package management

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Backoff bounds for retries when Kinde does not say how long to wait.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
)

// doer sends the generated client's requests: it adds the bearer token, applies the per-request
// timeout, retries what is safe to retry and turns non-2xx replies into *APIError.
type doer struct {
	hc      *http.Client
	tokens  oauth2.TokenSource
	retries int
	timeout time.Duration
	sleep   func(context.Context, time.Duration) error
	log     *slog.Logger
}

// Do sends req, retrying as described on Config.MaxRetries. On success the reply body is fully
// read and can be read again after the request's context ends.
func (d *doer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Body != nil && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("kinde management: read request body: %w", err)
		}
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	for attempt := 0; ; attempt++ {
		resp, apiErr, err := d.try(ctx, req)
		if err == nil && apiErr == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("kinde management: %s %s: %w", req.Method, req.URL.Path, ctx.Err())
		}
		retry, wait := d.shouldRetry(req.Method, apiErr, err, attempt)
		if !retry {
			if apiErr != nil {
				return nil, apiErr
			}
			return nil, err
		}
		d.log.DebugContext(ctx, "kinde management: retrying request",
			"method", req.Method, "path", req.URL.Path, "attempt", attempt+1, "wait", wait, "error", errText(apiErr, err))
		if err := d.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("kinde management: %s %s: waiting to retry: %w", req.Method, req.URL.Path, err)
		}
	}
}

// try makes one attempt. It returns exactly one of: a 2xx response, an *APIError, or a
// transport error.
func (d *doer) try(ctx context.Context, orig *http.Request) (*http.Response, *APIError, error) {
	tok, err := d.tokens.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("kinde management: get an access token for the Management API: %w", err)
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if d.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, d.timeout)
	}
	defer cancel()
	req := orig.Clone(actx)
	if orig.GetBody != nil {
		if req.Body, err = orig.GetBody(); err != nil {
			return nil, nil, fmt.Errorf("kinde management: replay request body: %w", err)
		}
	}
	tok.SetAuthHeader(req)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("kinde management: %s %s: %w", orig.Method, orig.URL.Path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("kinde management: %s %s: read reply: %w", orig.Method, orig.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(orig, resp, body), nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil, nil
}

// shouldRetry decides whether a failed attempt is tried again and after how long. A 429 is
// retried for every method (the request was not processed); 5xx replies, connection errors and
// timeouts only for idempotent methods.
func (d *doer) shouldRetry(method string, apiErr *APIError, err error, attempt int) (bool, time.Duration) {
	if attempt >= d.retries {
		return false, 0
	}
	switch {
	case apiErr != nil && apiErr.StatusCode == http.StatusTooManyRequests:
		if apiErr.RetryAfter > 0 {
			return true, apiErr.RetryAfter
		}
		return true, backoff(attempt)
	case apiErr != nil && apiErr.StatusCode >= 500:
		if !idempotent(method) {
			return false, 0
		}
		if apiErr.RetryAfter > 0 {
			return true, apiErr.RetryAfter
		}
		return true, backoff(attempt)
	case apiErr == nil && err != nil:
		return idempotent(method), backoff(attempt)
	}
	return false, 0
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// backoff returns an exponential delay with jitter: a random duration in [d/2, d] where d doubles
// with each attempt, up to backoffMax.
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 16 {
		d = min(backoffBase<<attempt, backoffMax)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter reads how long Kinde asked to wait: RateLimit-Reset (seconds) first, then
// Retry-After (seconds).
func retryAfter(h http.Header) time.Duration {
	for _, name := range []string{"RateLimit-Reset", "Retry-After"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n < 24*3600 {
			return time.Duration(n * float64(time.Second))
		}
	}
	return 0
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func errText(apiErr *APIError, err error) string {
	if apiErr != nil {
		return apiErr.Error()
	}
	return err.Error()
}
