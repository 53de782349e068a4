package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	kinde "github.com/gokinde/kinde/core"
	"golang.org/x/oauth2"
)

// Tokens returns the stored tokens, refreshed first when the access token
// has expired or will within the client's leeway; the refreshed (rotated)
// tokens are saved before they are returned.
//
// It returns an error matching ErrNotSignedIn when nothing is stored, and
// when the tokens cannot be refreshed because there is no refresh token
// (the error then also matches kinde.ErrNoRefreshToken) or Kinde refused it
// (also kinde.ErrInvalidGrant). Other failures, such as Kinde being
// unreachable, do not match ErrNotSignedIn: the stored tokens stay and a
// later call may succeed.
func Tokens(ctx context.Context, c *kinde.Client, s Store) (*kinde.Tokens, error) {
	t, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	cfg := c.Config()
	if !t.ExpiresAt.IsZero() && cfg.Now().Add(cfg.Leeway).Before(t.ExpiresAt) {
		return t, nil
	}
	if t.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the stored access token has expired (%w)", ErrNotSignedIn, kinde.ErrNoRefreshToken)
	}
	nt, err := c.Refresh(ctx, t)
	if errors.Is(err, kinde.ErrInvalidGrant) {
		return nil, fmt.Errorf("%w: Kinde refused the stored refresh token (%w)", ErrNotSignedIn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenstore: refresh the stored tokens: %w", err)
	}
	if err := s.Save(ctx, nt); err != nil {
		return nil, fmt.Errorf("tokenstore: save the refreshed tokens (the previous refresh token may no longer work): %w", err)
	}
	return nt, nil
}

// TokenSource returns an oauth2.TokenSource of the user's access token, for
// oauth2.NewClient. It keeps the tokens in memory and calls Tokens (load,
// refresh when expired, save) when there are none or they have expired. ctx
// is used for every load, refresh and save. It is safe for concurrent use.
func TokenSource(ctx context.Context, c *kinde.Client, s Store) oauth2.TokenSource {
	return &source{ctx: ctx, c: c, s: s}
}

type source struct {
	ctx context.Context
	c   *kinde.Client
	s   Store

	mu sync.Mutex
	t  *kinde.Tokens
}

// Token returns a valid access token.
func (src *source) Token() (*oauth2.Token, error) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.t != nil {
		cfg := src.c.Config()
		if cfg.Now().Add(cfg.Leeway).Before(src.t.ExpiresAt) {
			return src.t.OAuth2(), nil
		}
	}
	t, err := Tokens(src.ctx, src.c, src.s)
	if err != nil {
		return nil, err
	}
	src.t = t
	return t.OAuth2(), nil
}
