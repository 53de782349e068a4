package kinde_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// deviceEnv is an emulator with demo data, a device application and a
// client for it that shares the emulator's clock.
type deviceEnv struct {
	srv       *kindetest.Server
	demo      kindetest.Demo
	app       kindetest.Client
	client    *kinde.Client
	transport *recordingTransport
}

// recordingTransport keeps the forms the client posts and signals each
// request as it starts.
type recordingTransport struct {
	base    http.RoundTripper
	started chan string

	mu    sync.Mutex
	forms []url.Values
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		form, _ := url.ParseQuery(string(b))
		rt.mu.Lock()
		rt.forms = append(rt.forms, form)
		rt.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	select {
	case rt.started <- r.URL.Path:
	default:
	}
	return rt.base.RoundTrip(r)
}

func (rt *recordingTransport) form(i int) url.Values {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.forms[i]
}

func newDeviceEnv(t *testing.T, mutate ...func(*kinde.Config)) *deviceEnv {
	t.Helper()
	srv := kindetest.Start(t, kindetest.WithNow(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	demo := srv.SeedDemo()
	app := srv.AddClient(kindetest.Client{Type: "device"})
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	rt := &recordingTransport{base: base, started: make(chan string, 1)}
	cfg := kinde.Config{Domain: srv.URL(), ClientID: app.ID, Now: srv.Now, HTTPClient: &http.Client{Transport: rt}}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := kinde.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &deviceEnv{srv: srv, demo: demo, app: app, client: c, transport: rt}
}

// fakeSleep records the waits PollDeviceToken asks for and moves the
// emulator's clock instead of sleeping. Before the n-th wait (from 1) it
// runs onWait; advance, when set, replaces how far the clock moves.
type fakeSleep struct {
	srv     *kindetest.Server
	onWait  func(n int)
	advance func(n int, d time.Duration) time.Duration
	waits   []time.Duration
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.waits = append(f.waits, d)
	n := len(f.waits)
	if f.onWait != nil {
		f.onWait(n)
	}
	if f.advance != nil {
		d = f.advance(n, d)
	}
	f.srv.Advance(d)
	return ctx.Err()
}

func TestPollDeviceToken(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		// setup runs before the n-th wait.
		setup     func(e *deviceEnv, da *kinde.DeviceAuth, n int)
		advance   func(n int, d time.Duration) time.Duration
		prepare   func(da *kinde.DeviceAuth)
		wantWaits []time.Duration
		wantPolls int
		// wantErr is matched with errors.Is; wantCode is the TokenError code.
		wantErr    error
		wantCode   string
		wantStatus int
	}{
		{
			name: "pending then approved",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 3 {
					approve(t, e, da)
				}
			},
			wantWaits: []time.Duration{5 * s, 5 * s, 5 * s},
			wantPolls: 3,
		},
		{
			name: "slow_down adds five seconds",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 4 {
					approve(t, e, da)
				}
			},
			// The second wait is cut short, so the second poll comes too soon.
			advance: func(n int, d time.Duration) time.Duration {
				if n == 2 {
					return s
				}
				return d
			},
			wantWaits: []time.Duration{5 * s, 5 * s, 10 * s, 10 * s},
			wantPolls: 4,
		},
		{
			name: "access_denied",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 2 {
					if err := e.srv.DenyDevice(da.UserCode); err != nil {
						t.Fatal(err)
					}
				}
			},
			wantWaits: []time.Duration{5 * s, 5 * s},
			wantPolls: 2,
			wantErr:   kinde.ErrDeviceDenied, wantCode: "access_denied", wantStatus: 400,
		},
		{
			name: "expired_token from Kinde",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 2 {
					e.srv.Advance(10 * time.Minute)
				}
			},
			prepare:   func(da *kinde.DeviceAuth) { da.ExpiresAt = time.Time{} },
			wantWaits: []time.Duration{5 * s, 5 * s},
			wantPolls: 2,
			wantErr:   kinde.ErrDeviceExpired, wantCode: "expired_token", wantStatus: 400,
		},
		{
			name: "ExpiresAt passes without another poll",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 2 {
					e.srv.Advance(10 * time.Minute)
				}
			},
			wantWaits: []time.Duration{5 * s, 5 * s},
			wantPolls: 1,
			wantErr:   kinde.ErrDeviceExpired,
		},
		{
			name: "server error",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 2 {
					e.srv.SetFault("/oauth2/token", kindetest.Fault{Status: http.StatusInternalServerError, Times: 1})
				}
			},
			wantWaits: []time.Duration{5 * s, 5 * s},
			wantPolls: 2,
			wantCode:  "server_error", wantStatus: 500,
		},
		{
			name: "no answer twice: exponential back-off, then approved",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				switch n {
				case 1:
					e.srv.SetFault("/oauth2/token", kindetest.Fault{Drop: true, Times: 2})
				case 3:
					approve(t, e, da)
				}
			},
			wantWaits: []time.Duration{5 * s, 10 * s, 20 * s},
			wantPolls: 3,
		},
		{
			name: "invalid JSON",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 1 {
					e.srv.SetFault("/oauth2/token", kindetest.Fault{Status: http.StatusOK, Body: `{"access_token":`, ContentType: "application/json", Times: 1})
				}
			},
			wantWaits: []time.Duration{5 * s},
			wantPolls: 1,
			wantCode:  "invalid_response", wantStatus: 200,
		},
		{
			name: "rate limited",
			setup: func(e *deviceEnv, da *kinde.DeviceAuth, n int) {
				if n == 1 {
					e.srv.SetFault("/oauth2/token", kindetest.Fault{Status: http.StatusTooManyRequests, Times: 1})
				}
			},
			wantWaits: []time.Duration{5 * s},
			wantPolls: 1,
			wantErr:   kinde.ErrRateLimited, wantStatus: 429,
		},
		{
			name:      "unknown device code",
			setup:     func(*deviceEnv, *kinde.DeviceAuth, int) {},
			prepare:   func(da *kinde.DeviceAuth) { da.DeviceCode = "not-a-device-code" },
			wantWaits: []time.Duration{5 * s},
			wantPolls: 1,
			wantErr:   kinde.ErrInvalidGrant, wantCode: "invalid_grant", wantStatus: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			ctx := context.Background()
			var da *kinde.DeviceAuth
			fs := &fakeSleep{srv: e.srv, advance: tt.advance, onWait: func(n int) { tt.setup(e, da, n) }}
			da, err := e.client.StartDeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			kinde.SetDeviceSleep(da, fs.sleep)
			if tt.prepare != nil {
				tt.prepare(da)
			}
			tok, err := e.client.PollDeviceToken(ctx, da)
			if !slices.Equal(fs.waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", fs.waits, tt.wantWaits)
			}
			if got := e.srv.Requests("/oauth2/token"); got != tt.wantPolls {
				t.Errorf("polls = %d, want %d", got, tt.wantPolls)
			}
			if tt.wantErr == nil && tt.wantCode == "" {
				if err != nil {
					t.Fatalf("PollDeviceToken: %v", err)
				}
				checkDeviceTokens(t, e, tok)
				poll := e.transport.form(1)
				if poll.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || poll.Get("device_code") != da.DeviceCode ||
					poll.Get("client_id") != e.app.ID || poll.Has("client_secret") {
					t.Errorf("poll form = %v", poll)
				}
				return
			}
			if err == nil {
				t.Fatalf("PollDeviceToken returned tokens, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not match %v", err, tt.wantErr)
			}
			var te *kinde.TokenError
			switch {
			case tt.wantStatus == 0:
				if errors.As(err, &te) {
					t.Errorf("error %v wraps a TokenError, want none", err)
				}
			case !errors.As(err, &te):
				t.Errorf("error %v (%T) is not a *kinde.TokenError", err, err)
			case te.StatusCode != tt.wantStatus || (tt.wantCode != "" && te.Code != tt.wantCode):
				t.Errorf("TokenError = %d %q, want %d %q", te.StatusCode, te.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func approve(t *testing.T, e *deviceEnv, da *kinde.DeviceAuth) {
	t.Helper()
	if err := e.srv.ApproveDevice(da.UserCode, e.demo.Alice.ID); err != nil {
		t.Fatal(err)
	}
}

func checkDeviceTokens(t *testing.T, e *deviceEnv, tok *kinde.Tokens) {
	t.Helper()
	if tok.AccessToken == "" || tok.IDToken == "" || tok.RefreshToken == "" {
		t.Fatalf("tokens incomplete: access %t, id %t, refresh %t", tok.AccessToken != "", tok.IDToken != "", tok.RefreshToken != "")
	}
	sess, err := e.client.Session(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if u := sess.User(); u.ID != e.demo.Alice.ID || u.Email != "alice@example.com" {
		t.Errorf("user = %+v, want Alice", u)
	}
	if _, err := e.client.Refresh(context.Background(), tok); err != nil {
		t.Errorf("refresh of device tokens: %v", err)
	}
}

func TestStartDeviceAuthRequest(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(*kinde.Config)
		opts       []kinde.AuthOption
		wantScope  string
		wantAud    []string
		wantSecret string
	}{
		{
			name:      "defaults from the config",
			wantScope: "openid offline email profile",
		},
		{
			name: "config scopes and audiences",
			mutate: func(c *kinde.Config) {
				c.Scopes = []string{"openid", "offline"}
				c.Audience = []string{"api-a", "api-b"}
			},
			wantScope: "openid offline",
			wantAud:   []string{"api-a", "api-b"},
		},
		{
			name:      "options replace the config",
			mutate:    func(c *kinde.Config) { c.Audience = []string{"api-a"} },
			opts:      []kinde.AuthOption{kinde.WithScopes("openid"), kinde.WithAudience("api-c")},
			wantScope: "openid",
			wantAud:   []string{"api-c"},
		},
		{
			name:       "secret only when configured",
			mutate:     func(c *kinde.Config) { c.ClientSecret = "s3cret" },
			wantScope:  "openid offline email profile",
			wantSecret: "s3cret",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*kinde.Config)
			if tt.mutate != nil {
				mutate = append(mutate, tt.mutate)
			}
			e := newDeviceEnv(t, mutate...)
			da, err := e.client.StartDeviceAuth(context.Background(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			f := e.transport.form(0)
			if f.Get("client_id") != e.app.ID || f.Get("scope") != tt.wantScope || !slices.Equal(f["audience"], tt.wantAud) {
				t.Errorf("form = %v, want client_id %s, scope %q, audience %q", f, e.app.ID, tt.wantScope, tt.wantAud)
			}
			if _, sent := f["client_secret"]; sent != (tt.wantSecret != "") || f.Get("client_secret") != tt.wantSecret {
				t.Errorf("client_secret = %q (sent %t), want %q", f.Get("client_secret"), sent, tt.wantSecret)
			}
			now := e.srv.Now()
			if da.UserCode == "" || da.DeviceCode == "" || da.Interval != 5*time.Second || !da.ExpiresAt.Equal(now.Add(10*time.Minute)) {
				t.Errorf("DeviceAuth = %+v", da)
			}
			if da.VerificationURI != e.srv.URL()+"/device" || da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode {
				t.Errorf("verification URIs = %q, %q", da.VerificationURI, da.VerificationURIComplete)
			}
		})
	}
}

func TestStartDeviceAuthErrors(t *testing.T) {
	tests := []struct {
		name     string
		fault    *kindetest.Fault
		clientID func(e *deviceEnv) string
		wantErr  error
		wantCode string
	}{
		{name: "not a device application", clientID: func(e *deviceEnv) string { return e.srv.ClientID() }, wantErr: kinde.ErrInvalidClient, wantCode: "unauthorized_client"},
		{name: "unknown client", clientID: func(*deviceEnv) string { return "nobody" }, wantErr: kinde.ErrInvalidClient, wantCode: "invalid_client"},
		{name: "server error", fault: &kindetest.Fault{Status: 503}, wantCode: "temporarily_unavailable"},
		{name: "not JSON", fault: &kindetest.Fault{Status: 200, Body: "<html>", ContentType: "text/html"}, wantCode: "invalid_response"},
		{name: "no user code", fault: &kindetest.Fault{Status: 200, Body: `{"device_code":"d","verification_uri":"https://x.example/device"}`, ContentType: "application/json"}, wantCode: "invalid_response"},
		{name: "relative verification URI", fault: &kindetest.Fault{Status: 200, Body: `{"device_code":"d","user_code":"u","verification_uri":"/device"}`, ContentType: "application/json"}, wantCode: "invalid_response"},
		{name: "negative interval", fault: &kindetest.Fault{Status: 200, Body: `{"device_code":"d","user_code":"u","verification_uri":"https://x.example/device","interval":-1}`, ContentType: "application/json"}, wantCode: "invalid_response"},
		{name: "expires_in not a number", fault: &kindetest.Fault{Status: 200, Body: `{"device_code":"d","user_code":"u","verification_uri":"https://x.example/device","expires_in":"soon"}`, ContentType: "application/json"}, wantCode: "invalid_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeviceEnv(t)
			c := e.client
			if tt.clientID != nil {
				var err error
				c, err = kinde.New(kinde.Config{Domain: e.srv.URL(), ClientID: tt.clientID(e), Now: e.srv.Now})
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.fault != nil {
				e.srv.SetFault("/oauth2/device/auth", *tt.fault)
			}
			da, err := c.StartDeviceAuth(context.Background())
			if err == nil {
				t.Fatalf("StartDeviceAuth = %+v, want an error", da)
			}
			var te *kinde.TokenError
			if !errors.As(err, &te) || te.Code != tt.wantCode {
				t.Errorf("error %v, want TokenError %q", err, tt.wantCode)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not match %v", err, tt.wantErr)
			}
		})
	}
}

func TestStartDeviceAuthLenientReply(t *testing.T) {
	e := newDeviceEnv(t)
	e.srv.SetFault("/oauth2/device/auth", kindetest.Fault{Status: 200, ContentType: "application/json",
		Body: `{"device_code":"d","user_code":"u","verification_url":"https://x.example/device","expires_in":"600","interval":0}`})
	da, err := e.client.StartDeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURI != "https://x.example/device" || da.Interval != 5*time.Second || !da.ExpiresAt.Equal(e.srv.Now().Add(600*time.Second)) {
		t.Errorf("DeviceAuth = %+v", da)
	}
}

func TestPollDeviceTokenCancel(t *testing.T) {
	tests := []struct {
		name string
		// prepare readies the poll; the context is cancelled once
		// the returned channel yields.
		prepare func(e *deviceEnv, da *kinde.DeviceAuth) <-chan string
	}{
		{
			name: "while waiting",
			prepare: func(e *deviceEnv, da *kinde.DeviceAuth) <-chan string {
				// The real sleep: a test that ignored cancellation would hang.
				da.Interval = time.Hour
				ch := make(chan string, 1)
				ch <- "now"
				return ch
			},
		},
		{
			name: "during a request",
			prepare: func(e *deviceEnv, da *kinde.DeviceAuth) <-chan string {
				da.Interval = time.Nanosecond
				e.srv.SetFault("/oauth2/token", kindetest.Fault{Delay: time.Hour})
				return e.transport.started
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			e := newDeviceEnv(t)
			da, err := e.client.StartDeviceAuth(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			<-e.transport.started // the device authorization request
			ready := tt.prepare(e, da)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := e.client.PollDeviceToken(ctx, da)
				done <- err
			}()
			<-ready
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("PollDeviceToken after cancel = %v, want context.Canceled", err)
			}
			e.srv.Close()
			e.client.Config().HTTPClient.CloseIdleConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
}

func TestPollDeviceTokenNeedsDeviceAuth(t *testing.T) {
	e := newDeviceEnv(t)
	for _, da := range []*kinde.DeviceAuth{nil, {}} {
		if _, err := e.client.PollDeviceToken(context.Background(), da); err == nil || !strings.Contains(err.Error(), "StartDeviceAuth") {
			t.Errorf("PollDeviceToken(%v) = %v, want an error naming StartDeviceAuth", da, err)
		}
	}
}

// replyTransport answers every request with the body last set.
type replyTransport struct {
	mu   sync.Mutex
	body []byte
}

func (rt *replyTransport) set(body []byte) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.body = body
}

func (rt *replyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(string(rt.body))), Request: r}, nil
}

func FuzzStartDeviceAuth(f *testing.F) {
	for _, seed := range []string{
		`{"device_code":"d","user_code":"u","verification_uri":"https://x.example/device","verification_uri_complete":"https://x.example/device?user_code=u","expires_in":600,"interval":5}`,
		`{"device_code":"d","user_code":"u","verification_url":"http://localhost/device","expires_in":"600","interval":"1"}`,
		`{"device_code":"","user_code":"u"}`,
		`{"interval":1e400}`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	rt := &replyTransport{}
	c, err := kinde.New(kinde.Config{Domain: "https://acme.kinde.com", ClientID: "cli", HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rt.set(body)
		da, err := c.StartDeviceAuth(context.Background())
		if err != nil {
			var te *kinde.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a TokenError", err)
			}
			return
		}
		if da.DeviceCode == "" || da.UserCode == "" || da.Interval <= 0 {
			t.Fatalf("accepted an incomplete reply: %+v", da)
		}
		if u, err := url.Parse(da.VerificationURI); err != nil || u.Host == "" {
			t.Fatalf("accepted verification URI %q", da.VerificationURI)
		}
	})
}
