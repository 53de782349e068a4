package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	kinde "github.com/gokinde/kinde/core"
)

// Client calls Kinde's Account API for one signed-in user. Create it with
// New; it is safe for concurrent use as long as the Session is.
type Client struct {
	kc  *kinde.Client
	s   *kinde.Session
	cfg kinde.Config
}

// New returns a Client that calls the Account API with the access token of s,
// using the HTTP client, logger and clock of client's configuration. It does
// no I/O. A nil client or session makes every call return an error.
func New(client *kinde.Client, s *kinde.Session) *Client {
	c := &Client{kc: client, s: s}
	if client != nil {
		c.cfg = client.Config()
	}
	return c
}

// DefaultPageSize is the page size the listings request unless WithPageSize
// says otherwise. Kinde's own default is 10.
const DefaultPageSize = 100

// Option changes an Account API listing.
type Option func(*params)

type params struct{ pageSize int }

// WithPageSize sets how many items each listing request asks for (Kinde
// accepts 1 to 500). Every page is still read. Zero or less leaves the page
// size to Kinde.
func WithPageSize(n int) Option { return func(p *params) { p.pageSize = n } }

func options(opts []Option) params {
	p := params{pageSize: DefaultPageSize}
	for _, o := range opts {
		if o != nil {
			o(&p)
		}
	}
	return p
}

// maxBodyBytes bounds what is read from any reply.
const maxBodyBytes = 1 << 20

// ready reports a Client built without a client or session.
func (c *Client) ready() error {
	if c == nil || c.kc == nil || c.s == nil {
		return errors.New("account: the Client has no *kinde.Client or *kinde.Session: create it with account.New(client, session)")
	}
	return nil
}

// accessToken returns the session's access token, refreshing the session
// first when the token has expired. Without a refresh token, or when the
// refresh fails, the error matches kinde.ErrUnauthenticated.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if err := c.ready(); err != nil {
		return "", err
	}
	t := c.s.Tokens()
	// Tokens without a known expiry (Config.SkipAccessTokenVerification
	// with a token endpoint that sent no expires_in) are used as they are.
	if t.ExpiresAt.IsZero() || !c.s.Expired() {
		return t.AccessToken, nil
	}
	if t.RefreshToken == "" {
		return "", fmt.Errorf("account: the access token expired at %s and the session has no refresh token (request the \"offline\" scope), so sign the user in again: %w",
			t.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"), kinde.ErrUnauthenticated)
	}
	if err := c.s.Refresh(ctx); err != nil {
		return "", fmt.Errorf("account: the access token expired and refreshing the session failed, so sign the user in again: %w: %w", kinde.ErrUnauthenticated, err)
	}
	c.debug(ctx, "refreshed the session before an Account API call")
	return c.s.AccessToken(), nil
}

// base is the Account API's base URL: the verified issuer of the access
// token (as js-utils' callAccountApi uses the iss claim), else the client's
// expected issuer.
func (c *Client) base() string {
	if iss := c.s.Claim("iss").String(); iss != "" {
		return strings.TrimRight(iss, "/")
	}
	return strings.TrimRight(c.kc.Issuer(), "/")
}

// domainEndpoint resolves a configured endpoint path (or absolute URL)
// against the configured Kinde domain, as kinde.New does.
func (c *Client) domainEndpoint(path, def string) string {
	if path == "" {
		path = def
	}
	if strings.Contains(path, "://") {
		return path
	}
	d := strings.TrimSpace(c.cfg.Domain)
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimRight(d, "/") + path
}

func (c *Client) debug(ctx context.Context, msg string, args ...any) {
	if c.cfg.Debug && c.cfg.Logger != nil {
		c.cfg.Logger.DebugContext(ctx, "kinde account: "+msg, args...)
	}
}

func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

func (c *Client) httpClient() *http.Client {
	if c.cfg.HTTPClient != nil {
		return c.cfg.HTTPClient
	}
	return http.DefaultClient
}

// call sends a request authenticated with the session's access token and
// returns the body of a 2xx reply. Other replies become *Error.
func (c *Client) call(ctx context.Context, method, endpoint string, form url.Values) ([]byte, string, error) {
	bearer, err := c.accessToken(ctx)
	if err != nil {
		return nil, "", err
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return nil, "", fmt.Errorf("account: build request to %s: %w", endpoint, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.UserAgent != "" {
		req.Header.Set("Kinde-SDK", c.cfg.UserAgent)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	name := method + " " + req.URL.Path
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, name, fmt.Errorf("account: %s failed: %w", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, name, fmt.Errorf("account: read reply of %s: %w", name, err)
	}
	c.debug(ctx, "reply", "endpoint", name, "status", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, name, apiError(name, resp, b, c.now())
	}
	return b, name, nil
}

// callJSON is call plus decoding of the JSON reply into out.
func (c *Client) callJSON(ctx context.Context, method, endpoint string, form url.Values, out any) error {
	b, name, err := c.call(ctx, method, endpoint, form)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("account: reply of %s is not the expected JSON (check that KINDE_DOMAIN points at your Kinde domain): %w", name, err)
	}
	return nil
}

// get calls GET /account_api/v1/<route>.
func (c *Client) get(ctx context.Context, route string, q url.Values, out any) error {
	if err := c.ready(); err != nil {
		return err
	}
	endpoint := c.base() + "/account_api/v1/" + route
	if len(q) > 0 {
		endpoint += "?" + q.Encode()
	}
	return c.callJSON(ctx, http.MethodGet, endpoint, nil, out)
}

type pageMeta struct {
	HasMore bool   `json:"has_more"`
	Next    string `json:"next_page_starting_after"`
}

// page is the envelope of every Account API reply: {"data": …, "metadata": …}.
// A reply without metadata has no more pages.
type page[D any] struct {
	Data     D        `json:"data"`
	Metadata pageMeta `json:"metadata"`
}

// maxPages bounds a listing, in case a server keeps saying has_more.
const maxPages = 10000

// paginate reads every page of route, handing each page's data to yield
// until yield returns false. It follows metadata.has_more and
// next_page_starting_after as js-utils' callAccountApiPaginated does.
func paginate[D any](ctx context.Context, c *Client, route string, p params, yield func(D) bool) error {
	after := ""
	seen := map[string]bool{}
	for range maxPages {
		q := url.Values{}
		if p.pageSize > 0 {
			q.Set("page_size", strconv.Itoa(p.pageSize))
		}
		if after != "" {
			q.Set("starting_after", after)
		}
		var pg page[D]
		if err := c.get(ctx, route, q, &pg); err != nil {
			return err
		}
		if !yield(pg.Data) || !pg.Metadata.HasMore {
			return nil
		}
		next := pg.Metadata.Next
		if next == "" || seen[next] {
			return fmt.Errorf("account: GET /account_api/v1/%s: Kinde reported more pages without a new next_page_starting_after", route)
		}
		seen[next] = true
		after = next
	}
	return fmt.Errorf("account: GET /account_api/v1/%s: more than %d pages; stopped", route, maxPages)
}
