package kinde_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// attackerToken is a bearer token naming a key id Kinde never published: it
// makes the verifier refetch the key set.
func attackerToken(t *testing.T, e *env) string {
	t.Helper()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return e.srv.Sign(e.srv.AccessTokenClaims(e.user.ID, kindetest.IssueOptions{}), kindetest.Header{Key: other, Kid: "attacker-kid"})
}

// spendBearerBudget sends the attacker's token as a bearer token would be
// checked: it must be refused as an unknown key, having refetched the key set.
func spendBearerBudget(t *testing.T, e *env) {
	t.Helper()
	before := e.srv.Requests("/.well-known/jwks")
	_, err := e.client.VerifyAccessToken(context.Background(), attackerToken(t, e))
	if !errors.Is(err, kinde.ErrTokenUnknownKey) {
		t.Fatalf("attacker's token: %v, want ErrTokenUnknownKey", err)
	}
	if e.srv.Requests("/.well-known/jwks") != before+1 {
		t.Fatal("the attacker's unknown kid did not refetch the key set: the test does not spend the bearer budget")
	}
}

// Issue 18, item 2 ("Anyone can spend the key-set refetch budget"): one
// bearer request with an unknown kid shortly before Kinde rotates its keys
// spent the once-a-minute refetch, so for up to a minute every sign-in,
// refresh and stored session carrying the new key failed. Tokens from
// trusted paths (the token endpoint's answer, a session this server stored)
// have a budget of their own.
func TestBearerUnknownKidDoesNotBlockTrustedRefetch(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// before runs ahead of the attacker's request (it may move the clock).
		before func(t *testing.T, e *env) any
		// after runs right after the attacker's request and Kinde's key
		// rotation; it must succeed.
		after func(t *testing.T, e *env, state any) error
	}{
		{"sign-in (code exchange)", nil, func(t *testing.T, e *env, _ any) error {
			req, err := e.client.AuthURL()
			if err != nil {
				return err
			}
			_, err = e.client.ExchangeCode(ctx, req, e.authorize(t, req))
			return err
		}},
		{"refresh of an expired access token", func(t *testing.T, e *env) any {
			_, tok := e.login(t)
			e.srv.Advance(time.Until(tok.ExpiresAt) + 25*time.Hour) // the access token has expired: Kinde mints a new one
			return tok
		}, func(t *testing.T, e *env, state any) error {
			_, err := e.client.Refresh(ctx, state.(*kinde.Tokens))
			return err
		}},
		{"Client.Session with expired stored tokens (auto-refresh)", func(t *testing.T, e *env) any {
			_, tok := e.login(t)
			e.srv.Advance(25 * time.Hour)
			return tok
		}, func(t *testing.T, e *env, state any) error {
			_, err := e.client.Session(ctx, state.(*kinde.Tokens))
			return err
		}},
		{"stored session written after the rotation", nil, func(t *testing.T, e *env, _ any) error {
			tok, err := e.srv.IssueTokens(e.user.ID, kindetest.IssueOptions{})
			if err != nil {
				return err
			}
			_, err = e.client.Session(ctx, &kinde.Tokens{AccessToken: tok.AccessToken, IDToken: tok.IDToken, RefreshToken: tok.RefreshToken})
			return err
		}},
		{"client credentials", nil, func(t *testing.T, e *env, _ any) error {
			_, err := e.client.ClientCredentials(ctx)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRotationEnv(t)
			// A first verification caches the key set.
			e.login(t)
			var state any
			if tt.before != nil {
				state = tt.before(t, e)
			}
			spendBearerBudget(t, e)
			if _, err := e.srv.RotateKey(); err != nil {
				t.Fatal(err)
			}
			e.srv.Advance(time.Second)
			if err := tt.after(t, e, state); err != nil {
				t.Fatalf("right after an attacker's unknown-kid request and a key rotation: %v", err)
			}
			// Bearer tokens still have their long budget.
			e.srv.ResetRequests()
			for range 3 {
				_, _ = e.client.VerifyAccessToken(ctx, attackerToken(t, e))
			}
			if n := e.srv.Requests("/.well-known/jwks"); n != 0 {
				t.Fatalf("unknown-kid bearer tokens refetched the key set %d times within their interval", n)
			}
		})
	}
}

// newRotationEnv is newEnv whose client also holds machine-to-machine
// credentials, so that every trusted path can run on one key set.
func newRotationEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	m2m := e.srv.AddClient(kindetest.Client{Type: "m2m"})
	if err := e.srv.AuthorizeM2M(m2m.ID, e.srv.ManagementAudience()); err != nil {
		t.Fatal(err)
	}
	cfg := e.client.Config()
	cfg.ManagementClientID, cfg.ManagementClientSecret = m2m.ID, m2m.Secret
	e.client = kinde.MustNew(cfg)
	return e
}

// Issue 18, item 2 ("Key rotation never signs users out"): the session layer
// refreshes a stored token whose key left the key set instead of ending the
// session, so that answer must be told apart: ErrTokenUnknownKey only after
// a key set was fetched without the key, ErrKeySetUnavailable (and
// ErrUnavailable) when the key set could not be read to tell, also while the
// refetch budget is spent after a failed fetch (before, that case said
// ErrTokenUnknownKey and the session layer took an outage for a retired key).
func TestStoredTokenRetiredKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		jwksDown    bool
		want        error
		notWant     error
		checkDetail string
	}{
		{name: "key set read", want: kinde.ErrTokenUnknownKey, notWant: kinde.ErrUnavailable},
		{name: "key set unavailable", jwksDown: true, want: kinde.ErrKeySetUnavailable, notWant: kinde.ErrTokenUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, stored := e.login(t) // signed by the first key, cached
			if _, err := e.srv.RotateKey(); err != nil {
				t.Fatal(err)
			}
			e.srv.RetireOldKeys()
			// Another user signs in with the new key: the key set is
			// refetched and no longer holds the first key.
			e.login(t)
			if tt.jwksDown {
				e.srv.SetFault("/.well-known/jwks", kindetest.Fault{Status: http.StatusServiceUnavailable})
			}
			for i, wait := range []time.Duration{10 * time.Second, 0, time.Second} {
				e.srv.Advance(wait)
				_, err := e.client.Session(ctx, &kinde.Tokens{AccessToken: stored.AccessToken, IDToken: stored.IDToken})
				if !errors.Is(err, tt.want) || errors.Is(err, tt.notWant) {
					t.Fatalf("call %d: stored token signed by a retired key: %v; want %v, not %v", i, err, tt.want, tt.notWant)
				}
				var ve *kinde.VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("call %d: %T is not a *VerifyError", i, err)
				}
				if tt.want == kinde.ErrKeySetUnavailable && !errors.Is(err, kinde.ErrUnavailable) {
					t.Fatalf("call %d: %v does not match ErrUnavailable", i, err)
				}
			}
		})
	}
}
