package kinde

import (
	"errors"
	"fmt"
	"strings"
)

// ConfigError reports a missing or invalid setting. It names the Config field
// and, where there is one, the environment variable that sets it.
type ConfigError struct {
	Field  string // Config field, e.g. "Domain"
	Env    string // environment variable, e.g. "KINDE_DOMAIN"; may be empty
	Reason string // what is wrong and how to fix it
}

// Error names the setting, its environment variable and the fix.
func (e *ConfigError) Error() string {
	if e.Env != "" {
		return fmt.Sprintf("kinde: config %s (%s) %s", e.Field, e.Env, e.Reason)
	}
	return fmt.Sprintf("kinde: config %s %s", e.Field, e.Reason)
}

// TokenError is an error reply from Kinde's token endpoint (or another OAuth
// endpoint), such as invalid_grant or invalid_client. Match it with errors.As.
type TokenError struct {
	// Code is the OAuth error code, e.g. "invalid_grant".
	Code string
	// Description is Kinde's error_description, if any.
	Description string
	// StatusCode is the HTTP status of the reply.
	StatusCode int
	// Endpoint names the endpoint that answered, e.g. "token".
	Endpoint string

	m2m bool // the machine-to-machine credentials were used
}

// Error describes Kinde's reply and what to do about it.
func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("kinde: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(" endpoint: ")
	}
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	hint := tokenErrorHint(e.Code, e.StatusCode)
	if e.m2m && e.Code == "invalid_client" {
		hint = "check KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET (or KINDE_CLIENT_ID/SECRET when no management application is set) against the machine-to-machine application in the Kinde dashboard"
	}
	if hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	return b.String()
}

// Is lets errors.Is match a TokenError against the sentinel errors ErrInvalidGrant,
// ErrInvalidClient and ErrRateLimited.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrInvalidGrant:
		return e.Code == "invalid_grant"
	case ErrInvalidClient:
		return e.Code == "invalid_client" || e.Code == "unauthorized_client"
	case ErrRateLimited:
		return e.StatusCode == 429
	case ErrUnavailable:
		return e.StatusCode >= 500
	case ErrDeviceExpired:
		return e.Code == "expired_token"
	case ErrDeviceDenied:
		return e.Code == "access_denied"
	}
	return false
}

func tokenErrorHint(code string, status int) string {
	switch code {
	case "invalid_grant":
		return "the code or refresh token is invalid, expired or already used, or the redirect URL differs from the one used at sign-in: start a new sign-in"
	case "invalid_client":
		return "check KINDE_CLIENT_ID and KINDE_CLIENT_SECRET against the application in the Kinde dashboard"
	case "unauthorized_client":
		return "the application is not authorized for this grant or audience: in the Kinde dashboard, authorize the application for the API"
	case "invalid_scope":
		return "check KINDE_SCOPE: Kinde accepts openid, offline, email and profile"
	case "unsupported_grant_type":
		return "the application type in Kinde does not allow this grant"
	case "invalid_request":
		return "a required parameter is missing or malformed"
	case "expired_token":
		return "the device code expired before the user approved it: start the device sign-in again"
	case "access_denied":
		return "the user declined the request"
	case "slow_down":
		return "polling too often: wait longer between requests"
	}
	switch {
	case status == 429:
		return "rate limited by Kinde: retry later"
	case status >= 500:
		return "Kinde is unavailable: retry later"
	}
	return ""
}

// Sentinel errors. Compare with errors.Is.
var (
	// ErrInvalidGrant matches a TokenError with code invalid_grant.
	ErrInvalidGrant = errors.New("kinde: invalid grant")
	// ErrInvalidClient matches a TokenError with code invalid_client or unauthorized_client.
	ErrInvalidClient = errors.New("kinde: invalid client")
	// ErrRateLimited matches replies with HTTP status 429.
	ErrRateLimited = errors.New("kinde: rate limited")
	// ErrInvalidCallback means the parameters Kinde sent to the redirect URL
	// do not belong to the sign-in request given to ExchangeCode: another
	// state, another issuer, several values, or no code.
	ErrInvalidCallback = errors.New("kinde: the callback does not belong to this sign-in request")
	// ErrUnauthenticated means Kinde did not accept the user's access token
	// (HTTP 401, or 403 INVALID_CREDENTIALS from the Account API): it is
	// missing, expired or revoked. Refresh the session or sign in again. The
	// errors of package account match it.
	ErrUnauthenticated = errors.New("kinde: not authenticated")
	// ErrForbidden means Kinde refused a call made with the user's access
	// token (HTTP 403). The errors of package account match it.
	ErrForbidden = errors.New("kinde: forbidden")
	// ErrNoRefreshToken is returned by Refresh when the tokens carry no
	// refresh token; request the "offline" scope to get one.
	ErrNoRefreshToken = errors.New("kinde: no refresh token: request the \"offline\" scope at sign-in to get one")

	// ErrTokenMalformed means the token is not a well-formed compact JWS.
	ErrTokenMalformed = errors.New("token is malformed")
	// ErrTokenSignature means the signature does not verify with the key named by the token.
	ErrTokenSignature = errors.New("token signature is invalid")
	// ErrTokenAlgorithm means the token is not signed with RS256, the only algorithm Kinde uses.
	ErrTokenAlgorithm = errors.New("token algorithm is not RS256")
	// ErrTokenUnknownKey means no key in Kinde's key set matches the token's key id.
	ErrTokenUnknownKey = errors.New("token signing key is not in the key set")
	// ErrTokenExpired means the token's exp is in the past (beyond the leeway).
	ErrTokenExpired = errors.New("token is expired")
	// ErrTokenNotYetValid means nbf or iat lies in the future (beyond the leeway).
	ErrTokenNotYetValid = errors.New("token is not valid yet")
	// ErrTokenIssuer means iss does not equal the configured Kinde domain.
	ErrTokenIssuer = errors.New("token issuer is not the configured Kinde domain")
	// ErrTokenAudience means aud does not contain the expected audience.
	ErrTokenAudience = errors.New("token audience does not match")
	// ErrTokenNonce means the ID token's nonce differs from the one sent at sign-in.
	ErrTokenNonce = errors.New("ID token nonce does not match the sign-in request")
	// ErrTokenClaims means a registered claim has the wrong type or is missing.
	ErrTokenClaims = errors.New("token claims are invalid")
	// ErrClaimNotFound means a claim is absent from the token.
	ErrClaimNotFound = errors.New("claim not found")
	// ErrKeySetUnavailable means Kinde's key set could not be fetched when
	// it was needed: none is cached, or a token names a key the cached set
	// lacks. It also matches ErrUnavailable.
	ErrKeySetUnavailable error = &unavailableError{"key set (JWKS) of the Kinde domain is unavailable"}
	// ErrUnavailable matches every error that means Kinde could not be
	// reached or answered with a server error: *TokenError and Account API
	// errors with a 5xx status, ErrKeySetUnavailable, and network failures
	// (not the caller's own cancelled context). Retry later; the request
	// itself was fine.
	ErrUnavailable = errors.New("kinde: Kinde is unavailable")
)

// VerifyError explains why a token was rejected. Err is one of the ErrToken…
// sentinels (or ErrKeySetUnavailable), so errors.Is works on the result.
type VerifyError struct {
	Token  string // "access token", "ID token", "JWS" (Client.VerifyJWS) or "webhook"
	Err    error
	Detail string
}

// Error names the token, the rule it broke and the detail.
func (e *VerifyError) Error() string {
	msg := "kinde: " + e.Token + " rejected: " + e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel error.
func (e *VerifyError) Unwrap() error { return e.Err }

// unavailableError is a sentinel that also matches ErrUnavailable.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }
