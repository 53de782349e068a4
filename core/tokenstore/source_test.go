package tokenstore_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"github.com/gokinde/kinde/core/tokenstore"
	"golang.org/x/oauth2"
)

// countingStore counts loads and saves, and can refuse to save.
type countingStore struct {
	tokenstore.Store
	loads, saves int
	saveErr      error
}

func (s *countingStore) Load(ctx context.Context) (*kinde.Tokens, error) {
	s.loads++
	return s.Store.Load(ctx)
}

func (s *countingStore) Save(ctx context.Context, t *kinde.Tokens) error {
	s.saves++
	if s.saveErr != nil {
		return s.saveErr
	}
	return s.Store.Save(ctx, t)
}

type sourceEnv struct {
	srv    *kindetest.Server
	client *kinde.Client
	store  *countingStore
	issued *kinde.Tokens
}

func newSourceEnv(t *testing.T) *sourceEnv {
	t.Helper()
	srv := kindetest.Start(t, kindetest.WithNow(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	demo := srv.SeedDemo()
	client, err := kinde.New(kinde.Config{Domain: srv.URL(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := srv.IssueTokens(demo.Alice.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issued := &kinde.Tokens{AccessToken: tr.AccessToken, IDToken: tr.IDToken, RefreshToken: tr.RefreshToken,
		ExpiresAt: srv.Now().Add(time.Duration(tr.ExpiresIn) * time.Second), TokenType: "bearer"}
	store := &countingStore{Store: tokenstore.NewFile(filepath.Join(t.TempDir(), "tokens.json"))}
	return &sourceEnv{srv: srv, client: client, store: store, issued: issued}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		// stored turns the issued tokens into what is stored; nil stores nothing.
		stored      func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens
		setup       func(e *sourceEnv)
		wantRefresh bool
		wantErr     []error
		wantSaved   bool
	}{
		{
			name:   "fresh tokens as stored",
			stored: func(_ *sourceEnv, t *kinde.Tokens) *kinde.Tokens { return t },
		},
		{
			name:   "nothing stored",
			stored: nil,
			wantErr: []error{
				tokenstore.ErrNotSignedIn,
			},
		},
		{
			name: "expired: refreshed and saved",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				t.ExpiresAt = e.srv.Now().Add(-time.Minute)
				return t
			},
			wantRefresh: true,
			wantSaved:   true,
		},
		{
			name: "within the leeway: refreshed",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				t.ExpiresAt = e.srv.Now().Add(10 * time.Second)
				return t
			},
			wantRefresh: true,
			wantSaved:   true,
		},
		{
			name: "no expiry: refreshed",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				t.ExpiresAt = time.Time{}
				return t
			},
			wantRefresh: true,
			wantSaved:   true,
		},
		{
			name: "expired without refresh token",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				t.ExpiresAt = e.srv.Now().Add(-time.Minute)
				t.RefreshToken = ""
				return t
			},
			wantErr: []error{tokenstore.ErrNotSignedIn, kinde.ErrNoRefreshToken},
		},
		{
			name: "refresh token revoked",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				if err := e.client.RevokeToken(context.Background(), t.RefreshToken, "refresh_token"); err != nil {
					panic(err)
				}
				t.ExpiresAt = e.srv.Now().Add(-time.Minute)
				return t
			},
			wantErr: []error{tokenstore.ErrNotSignedIn, kinde.ErrInvalidGrant},
		},
		{
			name: "Kinde unavailable",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				t.ExpiresAt = e.srv.Now().Add(-time.Minute)
				return t
			},
			setup: func(e *sourceEnv) {
				e.srv.SetFault("/oauth2/token", kindetest.Fault{Status: http.StatusServiceUnavailable})
			},
			wantErr: []error{},
		},
		{
			name: "saving fails",
			stored: func(e *sourceEnv, t *kinde.Tokens) *kinde.Tokens {
				t.ExpiresAt = e.srv.Now().Add(-time.Minute)
				return t
			},
			setup:   func(e *sourceEnv) { e.store.saveErr = errors.New("disk full") },
			wantErr: []error{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSourceEnv(t)
			ctx := context.Background()
			before := *e.issued
			if tt.stored != nil {
				stored := tt.stored(e, e.issued)
				before = *stored
				if err := e.store.Store.Save(ctx, stored); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			e.srv.ResetRequests()
			got, err := tokenstore.Tokens(ctx, e.client, e.store)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Tokens succeeded, want an error")
				}
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("error %v does not match %v", err, want)
					}
				}
				if len(tt.wantErr) == 0 && errors.Is(err, tokenstore.ErrNotSignedIn) {
					t.Errorf("error %v matches ErrNotSignedIn, but the stored tokens may still work", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Kinde rotates the refresh token at every refresh.
			refreshed := got.RefreshToken != before.RefreshToken
			if refreshed != tt.wantRefresh || (e.srv.Requests("/oauth2/token") == 1) != tt.wantRefresh {
				t.Errorf("refreshed = %t (%d token requests), want %t", refreshed, e.srv.Requests("/oauth2/token"), tt.wantRefresh)
			}
			if (e.store.saves == 1) != tt.wantSaved {
				t.Errorf("saves = %d, want saved %t", e.store.saves, tt.wantSaved)
			}
			reloaded, err := e.store.Store.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if reloaded.AccessToken != got.AccessToken || reloaded.RefreshToken != got.RefreshToken {
				t.Error("the store does not hold the tokens returned")
			}
			if !tt.wantRefresh && got.AccessToken != before.AccessToken {
				t.Error("the access token changed without a refresh")
			}
		})
	}
}

func TestTokenSource(t *testing.T) {
	e := newSourceEnv(t)
	ctx := context.Background()
	if err := e.store.Save(ctx, e.issued); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	ts := tokenstore.TokenSource(ctx, e.client, e.store)
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	if e.store.loads != 1 || first.AccessToken != e.issued.AccessToken {
		t.Errorf("loads = %d, want 1 for two valid tokens", e.store.loads)
	}

	// The access token expires: the next call refreshes and saves.
	e.srv.Advance(e.issued.ExpiresAt.Sub(e.srv.Now()) + time.Second)
	second, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || e.srv.Requests("/oauth2/token") != 1 || e.store.saves != 2 {
		t.Errorf("after expiry: new token %t, token requests %d, saves %d", second.AccessToken != first.AccessToken, e.srv.Requests("/oauth2/token"), e.store.saves)
	}

	// The token works with an oauth2 HTTP client against the user profile.
	resp, err := oauth2.NewClient(ctx, ts).Get(e.srv.URL() + "/oauth2/v2/user_profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("user profile with the source's token: %d", resp.StatusCode)
	}

	if err := e.store.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	e.srv.Advance(48 * time.Hour)
	if _, err := ts.Token(); !errors.Is(err, tokenstore.ErrNotSignedIn) {
		t.Errorf("Token after sign-out = %v, want ErrNotSignedIn", err)
	}
}
