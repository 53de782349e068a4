package kindegrpc

import (
	"context"
	"errors"

	kinde "github.com/gokinde/kinde/core"
	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// CredentialsOption configures PerRPCCredentials.
type CredentialsOption func(*tokenCredentials)

// AllowInsecureTransport lets the credentials travel over a connection
// without transport security (grpc insecure credentials), for loopback
// connections and tests. Anybody who can read the connection can replay the
// token until it expires: never use it across a network.
func AllowInsecureTransport() CredentialsOption {
	return func(c *tokenCredentials) { c.insecure = true }
}

// PerRPCCredentials returns credentials that attach "authorization: Bearer
// <token>" with a token from src to every call, for
// grpc.WithPerRPCCredentials (every call of a connection) or
// grpc.PerRPCCredentials (one call). For machine-to-machine calls pass
// client.ClientCredentialsTokenSource(audience) of a *kinde.Client: it
// caches the token and renews it shortly before it expires, with one
// request to Kinde however many calls need it.
//
// The credentials require transport security (TLS) unless
// AllowInsecureTransport is given: gRPC then refuses to send them over an
// insecure connection (codes.Unauthenticated, "cannot send secure
// credentials on an insecure connection"). A call whose token cannot be had fails
// with codes.Unauthenticated when the configuration or the credentials are
// wrong (the message says which), and with codes.Unavailable otherwise.
func PerRPCCredentials(src oauth2.TokenSource, opts ...CredentialsOption) credentials.PerRPCCredentials {
	c := &tokenCredentials{src: src}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

type tokenCredentials struct {
	src      oauth2.TokenSource
	insecure bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *tokenCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if c.src == nil {
		return nil, status.Error(codes.Unauthenticated, "kindegrpc: PerRPCCredentials has no token source: pass client.ClientCredentialsTokenSource(audience) of a *kinde.Client")
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	tok, err := c.src.Token()
	if err != nil {
		code := codes.Unavailable
		var ce *kinde.ConfigError
		if errors.As(err, &ce) || errors.Is(err, kinde.ErrInvalidClient) {
			code = codes.Unauthenticated
		}
		return nil, status.Errorf(code, "kindegrpc: getting an access token: %v", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, status.Error(codes.Unauthenticated, "kindegrpc: the token source returned no access token")
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: true
// unless AllowInsecureTransport was given.
func (c *tokenCredentials) RequireTransportSecurity() bool { return !c.insecure }
