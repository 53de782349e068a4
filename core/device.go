package kinde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// deviceCodeGrant is the grant type of RFC 8628 §3.4.
const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// Polling defaults of RFC 8628: a 5 second interval when the server names
// none, and 5 seconds more after each slow_down.
const (
	defaultDeviceInterval = 5 * time.Second
	slowDownStep          = 5 * time.Second
)

// Errors that end a device sign-in. The *TokenError with Kinde's reply is
// wrapped too, so errors.As still finds it.
var (
	// ErrDeviceExpired means the device code expired before the user
	// approved it (expired_token, or DeviceAuth.ExpiresAt has passed).
	ErrDeviceExpired = errors.New("kinde: the device code expired before the user approved it: start a new sign-in with StartDeviceAuth")
	// ErrDeviceDenied means the user declined the device sign-in (access_denied).
	ErrDeviceDenied = errors.New("kinde: the user denied the device sign-in")
)

// DeviceAuth is a pending device sign-in (RFC 8628): show UserCode and
// VerificationURI to the user, then call Client.PollDeviceToken.
type DeviceAuth struct {
	// DeviceCode identifies the sign-in to the token endpoint. Keep it
	// secret; it is not for the user.
	DeviceCode string
	// UserCode is what the user types at VerificationURI.
	UserCode string
	// VerificationURI is the page where the user enters UserCode.
	VerificationURI string
	// VerificationURIComplete, when Kinde sends one, already carries the
	// user code (for a link or a QR code).
	VerificationURIComplete string
	// ExpiresAt is when the codes expire; zero when Kinde named no lifetime.
	ExpiresAt time.Time
	// Interval is the time to wait between two polls.
	Interval time.Duration

	sleep func(context.Context, time.Duration) error
}

// deviceAuthResponse is the JSON of RFC 8628 §3.2.
type deviceAuthResponse struct {
	DeviceCode              string      `json:"device_code"`
	UserCode                string      `json:"user_code"`
	VerificationURI         string      `json:"verification_uri"`
	VerificationURL         string      `json:"verification_url"`
	VerificationURIComplete string      `json:"verification_uri_complete"`
	ExpiresIn               json.Number `json:"expires_in"`
	Interval                json.Number `json:"interval"`
}

// StartDeviceAuth begins a device sign-in for a program without a browser
// of its own, such as a command-line tool. It asks Kinde's device
// authorization endpoint for a user code with Config.Scopes and
// Config.Audience (WithScopes and WithAudience replace them). Show the user
// DeviceAuth.UserCode and DeviceAuth.VerificationURI, then call
// Back-off of PollDeviceToken when Kinde does not answer at all.
const (
	maxDeviceNetFailures = 5
	maxDeviceInterval    = time.Minute
)

// PollDeviceToken. The Kinde application must be of type "device"; a
// client secret is sent only when Config.ClientSecret is set.
func (c *Client) StartDeviceAuth(ctx context.Context, opts ...AuthOption) (*DeviceAuth, error) {
	p := authParams{q: url.Values{}, scopes: c.cfg.Scopes, audiences: c.cfg.Audience}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&p); err != nil {
			return nil, err
		}
	}
	if len(p.q) > 0 || p.redirect != "" {
		return nil, fmt.Errorf("kinde: StartDeviceAuth takes only WithScopes and WithAudience; the other sign-in options apply to browser sign-ins")
	}
	form := url.Values{"client_id": {c.cfg.ClientID}}
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	if len(p.scopes) > 0 {
		form.Set("scope", strings.Join(p.scopes, " "))
	}
	for _, a := range p.audiences {
		form.Add("audience", a)
	}
	var r deviceAuthResponse
	if err := c.postForm(ctx, c.ep.deviceAuth, "device authorization", form, "", &r); err != nil {
		return nil, err
	}
	da, err := deviceAuthFrom(&r, c.cfg.Now())
	if err != nil {
		return nil, err
	}
	c.debug(ctx, "device authorization started", "expires_at", da.ExpiresAt, "interval", da.Interval)
	return da, nil
}

// deviceAuthFrom checks Kinde's reply and turns it into a DeviceAuth.
func deviceAuthFrom(r *deviceAuthResponse, now time.Time) (*DeviceAuth, error) {
	invalid := func(desc string) error {
		return &TokenError{Endpoint: "device authorization", StatusCode: 200, Code: "invalid_response", Description: desc}
	}
	if r.DeviceCode == "" || r.UserCode == "" {
		return nil, invalid("the reply has no device_code or user_code")
	}
	da := &DeviceAuth{
		DeviceCode:              r.DeviceCode,
		UserCode:                r.UserCode,
		VerificationURI:         r.VerificationURI,
		VerificationURIComplete: r.VerificationURIComplete,
		Interval:                defaultDeviceInterval,
	}
	if da.VerificationURI == "" {
		da.VerificationURI = r.VerificationURL
	}
	if u, err := url.Parse(da.VerificationURI); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, invalid(fmt.Sprintf("verification_uri %q is not an absolute http(s) URL", da.VerificationURI))
	}
	if r.ExpiresIn != "" {
		n, err := r.ExpiresIn.Int64()
		if err != nil || n <= 0 || n > int64(24*time.Hour/time.Second) {
			return nil, invalid(fmt.Sprintf("expires_in %q is not a number of seconds", r.ExpiresIn))
		}
		da.ExpiresAt = now.Add(time.Duration(n) * time.Second)
	}
	if r.Interval != "" {
		n, err := r.Interval.Int64()
		if err != nil || n < 0 || n > 3600 {
			return nil, invalid(fmt.Sprintf("interval %q is not a number of seconds", r.Interval))
		}
		if n > 0 {
			da.Interval = time.Duration(n) * time.Second
		}
	}
	return da, nil
}

// PollDeviceToken waits until the user approves the device sign-in and
// returns the verified tokens (ID token signature, issuer and audience;
// access token signature and issuer), as ExchangeCode does.
//
// It polls Kinde's token endpoint every da.Interval: authorization_pending
// keeps waiting, slow_down adds 5 seconds to the interval. It returns an
// error matching ErrDeviceDenied when the user declines, ErrDeviceExpired
// when the code expires (on Kinde's word or at da.ExpiresAt), ctx.Err() as
// soon as ctx ends, and any other reply of Kinde as a *TokenError.
// da.Interval is updated as Kinde asks to slow down.
func (c *Client) PollDeviceToken(ctx context.Context, da *DeviceAuth) (*Tokens, error) {
	if da == nil || da.DeviceCode == "" {
		return nil, errors.New("kinde: PollDeviceToken needs the DeviceAuth returned by StartDeviceAuth")
	}
	sleep := da.sleep
	if sleep == nil {
		sleep = sleepContext
	}
	if da.Interval <= 0 {
		da.Interval = defaultDeviceInterval
	}
	form := url.Values{
		"grant_type":  {deviceCodeGrant},
		"device_code": {da.DeviceCode},
		"client_id":   {c.cfg.ClientID},
	}
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	netFailures := 0
	for {
		if err := sleep(ctx, da.Interval); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !da.ExpiresAt.IsZero() && !c.cfg.Now().Before(da.ExpiresAt) {
			return nil, ErrDeviceExpired
		}
		var r tokenResponse
		err := c.postForm(ctx, c.ep.token, "token", form, "", &r)
		if err == nil {
			t, err := c.tokensFrom(&r)
			if err != nil {
				return nil, err
			}
			if err := c.verifyIssued(ctx, t, "", true); err != nil {
				return nil, err
			}
			c.debug(ctx, "device sign-in approved", "expires_at", t.ExpiresAt, "has_refresh_token", t.RefreshToken != "")
			return t, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		var te *TokenError
		if !errors.As(err, &te) {
			// No answer (connection refused, reset, timeout): back off
			// exponentially, as RFC 8628 §3.5 asks, a few times.
			if netFailures++; netFailures > maxDeviceNetFailures {
				return nil, err
			}
			da.Interval = min(2*da.Interval, maxDeviceInterval)
			c.debug(ctx, "device sign-in: no answer from Kinde; backing off", "interval", da.Interval, "error", err)
			continue
		}
		netFailures = 0
		switch te.Code {
		case "authorization_pending":
			c.debug(ctx, "device sign-in pending")
		case "slow_down":
			da.Interval += slowDownStep
			c.debug(ctx, "device sign-in: slowing down", "interval", da.Interval)
		case "expired_token":
			return nil, fmt.Errorf("%w (%w)", ErrDeviceExpired, te)
		case "access_denied":
			return nil, fmt.Errorf("%w: start a new sign-in if this was a mistake (%w)", ErrDeviceDenied, te)
		default:
			return nil, err
		}
	}
}

// sleepContext waits for d or until ctx ends, whichever comes first.
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
