package kinde_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// Faults of Kinde as seen by the SDK. Every call runs under a context
// deadline far longer than the HTTP client's timeout and must return before
// it; goleak checks that nothing is left running.

const (
	// faultHTTPTimeout is the HTTP client timeout of the applications under
	// test; slow faults hold replies much longer.
	faultHTTPTimeout = time.Second
	// faultDeadline bounds every call of these tests.
	faultDeadline = 20 * time.Second
	slowReply     = 5 * time.Minute
)

// shortTimeout gives the application an HTTP client with faultHTTPTimeout.
func shortTimeout(t *testing.T) func(*kinde.Config) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return func(c *kinde.Config) {
		c.HTTPClient = &http.Client{Transport: tr, Timeout: faultHTTPTimeout}
		c.ManagementClientID, c.ManagementClientSecret = kindetest.DefaultM2MClientID, kindetest.DefaultM2MClientSecret
	}
}

// bounded runs fn with a context whose deadline fn must not reach.
func bounded(t *testing.T, fn func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
	defer cancel()
	fn(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the call did not return before its %s deadline", faultDeadline)
	}
}

// tokenFault is one way Kinde's token endpoint fails, and the error the
// client must turn it into.
type tokenFault struct {
	name  string
	fault kindetest.Fault
	check func(t *testing.T, err error)
}

func wantTokenError(status int, code string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var te *kinde.TokenError
		if !errors.As(err, &te) || te.StatusCode != status || te.Code != code {
			t.Fatalf("err = %#v (%v), want *TokenError %d %s", err, err, status, code)
		}
	}
}

func wantNetError(timeout bool) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ne net.Error
		var te *kinde.TokenError
		if !errors.As(err, &ne) || ne.Timeout() != timeout || errors.As(err, &te) {
			t.Fatalf("err = %v, want a net.Error with Timeout() %v", err, timeout)
		}
	}
}

var tokenFaults = []tokenFault{
	{"HTTP 500", kindetest.Fault{Status: http.StatusInternalServerError}, wantTokenError(http.StatusInternalServerError, "server_error")},
	{"HTTP 429", kindetest.Fault{Status: http.StatusTooManyRequests}, func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, kinde.ErrRateLimited) {
			t.Fatalf("err = %v, want ErrRateLimited", err)
		}
	}},
	{"slow reply", kindetest.Fault{Delay: slowReply}, wantNetError(true)},
	{"HTML error page", kindetest.Fault{Status: http.StatusBadGateway, ContentType: "text/html; charset=utf-8",
		Body: "<!doctype html><title>502 Bad Gateway</title><h1>Bad Gateway</h1>"}, wantTokenError(http.StatusBadGateway, "server_error")},
	{"HTML page with status 200", kindetest.Fault{Status: http.StatusOK, ContentType: "text/html; charset=utf-8",
		Body: "<!doctype html><title>Sign in</title><form></form>"}, wantTokenError(http.StatusOK, "invalid_response")},
	{"invalid JSON", kindetest.Fault{Status: http.StatusOK, ContentType: "application/json", Body: `{"access_token": "abc", `},
		wantTokenError(http.StatusOK, "invalid_response")},
	{"JSON without a token", kindetest.Fault{Status: http.StatusOK, ContentType: "application/json", Body: `{"token_type":"bearer"}`},
		wantTokenError(0, "invalid_response")},
	{"dropped connection", kindetest.Fault{Drop: true}, wantNetError(false)},
}

func TestFaultTokenEndpointClient(t *testing.T) {
	for _, tf := range tokenFaults {
		t.Run(tf.name, func(t *testing.T) {
			for _, op := range []string{"ExchangeCode", "Refresh", "ClientCredentials"} {
				t.Run(op, func(t *testing.T) {
					checkGoroutines(t)
					e := newRPEnv(t, shortTimeout(t))
					var call func(ctx context.Context) error
					switch op {
					case "ExchangeCode":
						req, err := e.client.AuthURL()
						if err != nil {
							t.Fatal(err)
						}
						q := e.authorize(t, req.URL)
						call = func(ctx context.Context) error {
							_, err := e.client.ExchangeCode(ctx, req, q)
							return err
						}
					case "Refresh":
						tok, err := e.exchange(t)
						if err != nil {
							t.Fatal(err)
						}
						call = func(ctx context.Context) error { _, err := e.client.Refresh(ctx, tok); return err }
					default:
						call = func(ctx context.Context) error { _, err := e.client.ClientCredentials(ctx); return err }
					}
					f := tf.fault
					f.Times = 1
					e.srv.SetFault("/oauth2/token", f)
					bounded(t, func(ctx context.Context) { tf.check(t, call(ctx)) })
					// Once Kinde is back, the same call succeeds.
					bounded(t, func(ctx context.Context) {
						if err := call(ctx); err != nil {
							t.Fatalf("after the fault: %v", err)
						}
					})
				})
			}
		})
	}
}

// callbackGateway checks the callback's answer to a Kinde fault: a clear
// 502 page, no session.
func callbackGateway(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	wantCallback(t, rec, http.StatusBadGateway)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(rec.Body.String(), "Kinde is not answering") {
		t.Fatalf("502 page is %q: %s", ct, rec.Body)
	}
}

// boundedCallback is rpEnv.callback with the callback request under the
// test deadline.
func (e *rpEnv) boundedCallback(t *testing.T) *httptest.ResponseRecorder {
	t.Helper()
	var rec *httptest.ResponseRecorder
	bounded(t, func(ctx context.Context) { rec = e.callbackCtx(ctx, t, nil) })
	return rec
}

func TestFaultTokenEndpointCallback(t *testing.T) {
	for _, tf := range tokenFaults {
		t.Run(tf.name, func(t *testing.T) {
			checkGoroutines(t)
			e := newRPEnv(t, shortTimeout(t))
			f := tf.fault
			f.Times = 1
			e.srv.SetFault("/oauth2/token", f)
			callbackGateway(t, e.boundedCallback(t))
			// Once Kinde is back, signing in works.
			wantCallback(t, e.callback(t, nil), http.StatusFound)
		})
	}
}

// get loads path from the application with cookies and returns the answer.
func (e *rpEnv) get(t *testing.T, path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var rec *httptest.ResponseRecorder
	bounded(t, func(ctx context.Context) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://localhost:8080"+path, nil)
		req.Header.Set("Accept", "application/json")
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		rec = httptest.NewRecorder()
		e.app.ServeHTTP(rec, req)
	})
	return rec
}

// signInCookies signs in through the web layer and returns the session cookies.
func (e *rpEnv) signInCookies(t *testing.T) []*http.Cookie {
	t.Helper()
	rec := e.callback(t, nil)
	wantCallback(t, rec, http.StatusFound)
	var out []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, "kinde_session") && c.MaxAge >= 0 {
			out = append(out, c)
		}
	}
	return out
}

// sessionDeleted reports whether a reply deleted the session cookie.
func sessionDeleted(rec *httptest.ResponseRecorder) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "kinde_session" && (c.MaxAge < 0 || c.Value == "") {
			return true
		}
	}
	return false
}

// Refresh failures, per web_session.go: a refresh token Kinde rejects
// (invalid_grant, invalid_client) ends the session; any other failure keeps
// it, serving the current access token while it is valid and treating the
// request as signed out once it has expired, until a refresh succeeds.
func TestFaultRefresh(t *testing.T) {
	const lifetime = 10 * time.Minute
	faults := append([]tokenFault(nil), tokenFaults...)
	faults = append(faults,
		tokenFault{name: "invalid_grant", fault: kindetest.Fault{Status: http.StatusBadRequest,
			Body: `{"error":"invalid_grant","error_description":"The refresh token has been revoked."}`}},
		tokenFault{name: "invalid_client", fault: kindetest.Fault{Status: http.StatusUnauthorized,
			Body: `{"error":"invalid_client","error_description":"Client authentication failed."}`}},
	)
	for _, tf := range faults {
		ends := tf.name == "invalid_grant" || tf.name == "invalid_client"
		for _, st := range webStores() {
			for _, expired := range []bool{false, true} {
				name := tf.name + "/" + st.name + "/due"
				if expired {
					name = tf.name + "/" + st.name + "/expired"
				}
				t.Run(name, func(t *testing.T) {
					ends := ends && expired // before expiry nothing asks Kinde
					checkGoroutines(t)
					e := newRPEnv(t, shortTimeout(t))
					store := st.store()
					if store != nil {
						e.restart(t, kinde.WithStore(store))
					}
					e.srv.SetTokenLifetimes(lifetime, 0, 0)
					cookies := e.signInCookies(t)
					signedIn := "user=" + e.user.ID
					if rec := e.get(t, "/", cookies); rec.Body.String() != signedIn {
						t.Fatalf("after sign-in: %q", rec.Body)
					}
					if expired {
						e.srv.Advance(lifetime + time.Minute)
					} else {
						e.srv.Advance(lifetime - 50*time.Second) // near expiry, outside the leeway
					}
					before := e.srv.Requests("/oauth2/token")
					e.srv.SetFault("/oauth2/token", tf.fault)
					rec := e.get(t, "/", cookies)
					if attempted := e.srv.Requests("/oauth2/token") != before; attempted != expired {
						// Kinde returns the same access token until it expires:
						// only an expired one is refreshed.
						t.Fatalf("refresh attempted: %v, want %v", attempted, expired)
					}
					want := "anonymous"
					if !ends && !expired {
						want = signedIn // the current access token is still good
					}
					if rec.Code != http.StatusOK || rec.Body.String() != want {
						t.Fatalf("during the fault: %d %q, want %q", rec.Code, rec.Body, want)
					}
					if sessionDeleted(rec) != ends {
						t.Fatalf("session cookie deleted: %v, want %v", sessionDeleted(rec), ends)
					}
					e.srv.ClearFaults()
					e.srv.Advance(2 * time.Second) // past the back-off after a failed refresh
					rec = e.get(t, "/", cookies)
					switch {
					case !ends:
						// Kept: the refresh now succeeds.
						if rec.Body.String() != signedIn {
							t.Fatalf("after the fault: %q, want %q", rec.Body, signedIn)
						}
					case store != nil:
						// Ended server-side: a copy of the cookie is dead.
						if rec.Body.String() != "anonymous" {
							t.Fatalf("replayed session id after it ended: %q", rec.Body)
						}
					}
				})
			}
		}
	}
}

// JWKS down when an instance starts, and while Kinde rotates its key.
func TestFaultJWKS(t *testing.T) {
	for _, fault := range []struct {
		name  string
		fault kindetest.Fault
	}{
		{"HTTP 503", kindetest.Fault{Status: http.StatusServiceUnavailable}},
		{"slow reply", kindetest.Fault{Delay: slowReply}},
		{"dropped connection", kindetest.Fault{Drop: true}},
		{"not a key set", kindetest.Fault{Status: http.StatusOK, ContentType: "application/json", Body: `{"keys":[]}`}},
	} {
		t.Run(fault.name+"/at start", func(t *testing.T) {
			checkGoroutines(t)
			e := newRPEnv(t, shortTimeout(t))
			cookies := e.signInCookies(t)
			signedIn := "user=" + e.user.ID
			e.restart(t) // a new instance: nothing cached
			e.srv.SetFault("/.well-known/jwks", fault.fault)
			// Sign-in cannot verify tokens: a 502, not a verification failure.
			callbackGateway(t, e.boundedCallback(t))
			// Existing sessions are treated as signed out, but kept.
			rec := e.get(t, "/", cookies)
			if rec.Body.String() != "anonymous" || sessionDeleted(rec) {
				t.Fatalf("during the outage: %q, session deleted %v", rec.Body, sessionDeleted(rec))
			}
			e.srv.ClearFaults()
			e.srv.Advance(10 * time.Second) // failed fetches are retried every few seconds
			if rec := e.get(t, "/", cookies); rec.Body.String() != signedIn {
				t.Fatalf("after the outage: %q", rec.Body)
			}
			wantCallback(t, e.callback(t, nil), http.StatusFound)
		})
		t.Run(fault.name+"/during rotation", func(t *testing.T) {
			checkGoroutines(t)
			e := newRPEnv(t, shortTimeout(t))
			cookies := e.signInCookies(t)
			signedIn := "user=" + e.user.ID
			e.srv.SetFault("/.well-known/jwks", fault.fault)
			if _, err := e.srv.RotateKey(); err != nil {
				t.Fatal(err)
			}
			// Tokens of the new key cannot be checked yet...
			callbackGateway(t, e.boundedCallback(t))
			// ...while sessions of the old key carry on from the cache.
			if rec := e.get(t, "/", cookies); rec.Body.String() != signedIn {
				t.Fatalf("old-key session during the outage: %q", rec.Body)
			}
			e.srv.ClearFaults()
			e.srv.Advance(2 * time.Minute) // past the refetch interval
			wantCallback(t, e.callback(t, nil), http.StatusFound)
			if rec := e.get(t, "/", cookies); rec.Body.String() != signedIn {
				t.Fatalf("old-key session after the rotation: %q", rec.Body)
			}
		})
	}
}

// Clock skew between the application and Kinde, within and beyond the
// leeway (30 s): tokens are accepted while the skew stays within the leeway
// of iat and exp, and rejected beyond it.
func TestFaultClockSkew(t *testing.T) {
	const lifetime = 10 * time.Minute
	tests := []struct {
		name string
		skew time.Duration // application clock minus Kinde's
		want error
	}{
		{"app behind by less than the leeway", -20 * time.Second, nil},
		{"app behind by more than the leeway", -2 * time.Minute, kinde.ErrTokenNotYetValid},
		{"app ahead by less than the leeway", 20 * time.Second, nil},
		{"app ahead by more than the leeway, tokens still valid", 2 * time.Minute, nil},
		{"app ahead past exp, within the leeway", lifetime + 20*time.Second, nil},
		{"app ahead past exp, beyond the leeway", lifetime + 2*time.Minute, kinde.ErrTokenExpired},
	}
	for _, tt := range tests {
		for _, level := range []string{"ExchangeCode", "callback"} {
			t.Run(tt.name+"/"+level, func(t *testing.T) {
				checkGoroutines(t)
				var e *rpEnv
				e = newRPEnv(t, func(c *kinde.Config) {
					c.Now = func() time.Time { return e.srv.Now().Add(tt.skew) }
				})
				e.srv.SetTokenLifetimes(lifetime, lifetime, 0)
				if level == "callback" {
					status := http.StatusFound
					if tt.want != nil {
						status = http.StatusBadRequest
					}
					wantCallback(t, e.callback(t, nil), status)
					return
				}
				_, err := e.exchange(t)
				if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			})
		}
	}
}
