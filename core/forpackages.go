package kinde

import "context"

// This file holds what the packages below core (webhook, account) need from a
// Client and cannot reach otherwise. Applications rarely call these directly.

// VerifyJWS checks the signature of a compact JWS against the Kinde domain's
// key set and returns its payload, still encoded as JSON. It checks that
// token is at most maxLen bytes (64 KiB when maxLen is not positive), that
// it has three parts, that its header names RS256 and the id of a key in the
// key set (fetched and cached as for access tokens), and that the signature
// verifies with that key. It checks nothing else: the payload's claims
// (iss, exp, nbf, iat, aud, or fields of the caller's own format) are the
// caller's job. Package webhook uses it for Kinde's webhook bodies.
//
// A rejection is a *VerifyError with Token "JWS" wrapping ErrTokenMalformed,
// ErrTokenAlgorithm, ErrTokenUnknownKey, ErrTokenSignature or
// ErrKeySetUnavailable (the key set could not be fetched: retry later).
func (c *Client) VerifyJWS(ctx context.Context, token string, maxLen int) (payload []byte, err error) {
	if maxLen <= 0 {
		maxLen = maxTokenBytes
	}
	payload, _, err = c.verifyJWS(ctx, token, maxLen)
	if err != nil {
		return nil, &VerifyError{Token: "JWS", Err: rootCause(err), Detail: detail(err)}
	}
	return payload, nil
}
