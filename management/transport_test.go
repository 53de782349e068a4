package management

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{0, 250 * time.Millisecond, 500 * time.Millisecond},
		{1, 500 * time.Millisecond, time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{10, 15 * time.Second, 30 * time.Second},
		{100, 15 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := backoff(tt.attempt); d < tt.lo || d > tt.hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.lo, tt.hi)
			}
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"RateLimit-Reset", http.Header{"Ratelimit-Reset": {"5"}}, 5 * time.Second},
		{"fractional", http.Header{"Ratelimit-Reset": {"1.5"}}, 1500 * time.Millisecond},
		{"Retry-After", http.Header{"Retry-After": {"2"}}, 2 * time.Second},
		{"RateLimit-Reset wins", http.Header{"Ratelimit-Reset": {"4"}, "Retry-After": {"9"}}, 4 * time.Second},
		{"garbage", http.Header{"Ratelimit-Reset": {"soon"}}, 0},
		{"negative", http.Header{"Ratelimit-Reset": {"-3"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header); got != tt.want {
				t.Errorf("retryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSleepContext(t *testing.T) {
	if err := sleepContext(context.Background(), 0); err != nil {
		t.Errorf("zero sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled sleep: %v, want context.Canceled", err)
	}
}

type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) { return nil, errors.New("no credentials") }

func TestDoer(t *testing.T) {
	var bodies []string
	var fail bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if fail {
			fail = false
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	newDoer := func(src oauth2.TokenSource) *doer {
		return &doer{
			hc: srv.Client(), tokens: src, retries: 2, timeout: time.Minute, log: slog.New(slog.DiscardHandler),
			sleep: func(context.Context, time.Duration) error { return nil },
		}
	}
	static := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})

	t.Run("body without GetBody is replayed", func(t *testing.T) {
		bodies, fail = nil, true
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/x", io.NopCloser(strings.NewReader("payload")))
		resp, err := newDoer(static).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "ok" || len(bodies) != 2 || bodies[0] != "payload" || bodies[1] != "payload" {
			t.Errorf("reply %q, bodies sent %q", b, bodies)
		}
	})
	t.Run("token error is reported", func(t *testing.T) {
		bodies = nil
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		_, err := newDoer(failingSource{}).Do(req)
		if err == nil || !strings.Contains(err.Error(), "no credentials") || len(bodies) != 0 {
			t.Errorf("error = %v after %d requests", err, len(bodies))
		}
	})
	t.Run("connection errors are retried for GET", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		d := newDoer(static)
		var sleeps int
		d.sleep = func(context.Context, time.Duration) error { sleeps++; return nil }
		req, _ := http.NewRequest(http.MethodGet, url+"/x", nil)
		if _, err := d.Do(req); err == nil {
			t.Fatal("no error from a closed server")
		}
		if sleeps != 2 {
			t.Errorf("slept %d times, want 2 (MaxRetries)", sleeps)
		}
		sleeps = 0
		req, _ = http.NewRequest(http.MethodPost, url+"/x", strings.NewReader("{}"))
		if _, err := d.Do(req); err == nil {
			t.Fatal("no error from a closed server")
		}
		if sleeps != 0 {
			t.Errorf("POST slept %d times, want 0", sleeps)
		}
	})
}
