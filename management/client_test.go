package management_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/management"
	"github.com/gokinde/kinde/management/api"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sleeper records the delays the client asks for instead of waiting.
type sleeper struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
	return ctx.Err()
}

func (s *sleeper) Delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delays)
}

// countingSource counts how often the client asks for a token.
type countingSource struct{ n atomic.Int32 }

func (c *countingSource) Token() (*oauth2.Token, error) {
	c.n.Add(1)
	return &oauth2.Token{AccessToken: "tok"}, nil
}

// newTestClient starts a server with handler and returns a client for it.
func newTestClient(t *testing.T, handler http.HandlerFunc, edit ...func(*management.Config)) (*management.Client, *sleeper) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	s := &sleeper{}
	cfg := management.Config{
		Domain:      srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"}),
		HTTPClient:  srv.Client(),
		Sleep:       s.Sleep,
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := management.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("iteration: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func TestNextTokenPagination(t *testing.T) {
	pages := map[string]map[string]any{
		"":   {"code": "OK", "users": []map[string]any{{"id": "u1"}, {"id": "u2"}}, "next_token": "t1"},
		"t1": {"code": "OK", "users": []map[string]any{{"id": "u3"}}, "next_token": "t2"},
		"t2": {"code": "OK", "users": []map[string]any{{"id": "u4"}}},
	}
	var tokens []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/users" || r.URL.Query().Get("page_size") != "2" {
			t.Errorf("unexpected request %s", r.URL)
		}
		tok := r.URL.Query().Get("next_token")
		tokens = append(tokens, tok)
		writeJSON(w, http.StatusOK, pages[tok])
	})
	size := 2
	var ids []string
	for _, u := range collect(t, c.Users(context.Background(), api.GetUsersParams{PageSize: &size})) {
		ids = append(ids, *u.ID)
	}
	if want := []string{"u1", "u2", "u3", "u4"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if want := []string{"", "t1", "t2"}; !slices.Equal(tokens, want) {
		t.Errorf("next_token sent = %q, want %q", tokens, want)
	}

	// Stopping early fetches no further page.
	tokens = nil
	for range c.Users(context.Background(), api.GetUsersParams{PageSize: &size}) {
		break
	}
	if len(tokens) != 1 {
		t.Errorf("breaking after one item made %d requests, want 1", len(tokens))
	}
}

func TestStartingAfterPagination(t *testing.T) {
	pages := map[string][]map[string]any{
		"":  {{"id": "a"}, {"id": "b"}},
		"b": {{"id": "c"}, {"id": "d"}},
		"d": {{"id": "e"}},
		"e": {},
	}
	var cursors []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		cur := r.URL.Query().Get("starting_after")
		cursors = append(cursors, cur)
		writeJSON(w, http.StatusOK, map[string]any{"code": "OK", "results": pages[cur]})
	})
	var ids []string
	for _, u := range collect(t, c.SearchUsers(context.Background(), api.SearchUsersParams{})) {
		ids = append(ids, *u.ID)
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if want := []string{"", "b", "d", "e"}; !slices.Equal(cursors, want) {
		t.Errorf("starting_after sent = %q, want %q", cursors, want)
	}
}

func TestPaginateGeneric(t *testing.T) {
	tests := []struct {
		name    string
		pages   map[string]management.Page[int]
		want    []int
		wantErr string
	}{
		{"single page", map[string]management.Page[int]{"": {Items: []int{1, 2}}}, []int{1, 2}, ""},
		{"three pages", map[string]management.Page[int]{"": {Items: []int{1}, Next: "x"}, "x": {Items: []int{2}, Next: "y"}, "y": {Items: []int{3}}}, []int{1, 2, 3}, ""},
		{"stuck cursor", map[string]management.Page[int]{"": {Items: []int{1}, Next: "x"}, "x": {Items: []int{2}, Next: "x"}}, []int{1, 2}, "did not advance"},
		{"fetch error", map[string]management.Page[int]{"": {Items: []int{1}, Next: "missing"}}, []int{1}, "no page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetch := func(_ context.Context, cursor string) (management.Page[int], error) {
				p, ok := tt.pages[cursor]
				if !ok {
					return p, errors.New("no page")
				}
				return p, nil
			}
			var got []int
			var gotErr error
			for v, err := range management.Paginate(context.Background(), fetch) {
				if err != nil {
					gotErr = err
					continue
				}
				got = append(got, v)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items = %v, want %v", got, tt.want)
			}
			if (gotErr == nil) != (tt.wantErr == "") || (gotErr != nil && !strings.Contains(gotErr.Error(), tt.wantErr)) {
				t.Errorf("error = %v, want %q", gotErr, tt.wantErr)
			}
		})
	}
}

func TestPageBuilders(t *testing.T) {
	items := []string{"a", "b"}
	next, no, yes := "tok", false, true
	id := func(s string) *string { return &s }
	tests := []struct {
		name string
		page management.Page[string]
		want string
	}{
		{"next token", management.NextTokenPage(&items, &next), "tok"},
		{"no next token", management.NextTokenPage(&items, nil), ""},
		{"nil items", management.NextTokenPage[string](nil, nil), ""},
		{"has more", management.StartingAfterPage(&items, &yes, id), "b"},
		{"no more", management.StartingAfterPage(&items, &no, id), ""},
		{"unknown more", management.StartingAfterPage(&items, nil, id), "b"},
		{"empty page", management.StartingAfterPage(&[]string{}, nil, id), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.page.Next != tt.want {
				t.Errorf("Next = %q, want %q", tt.page.Next, tt.want)
			}
		})
	}
}

func TestRateLimitRetriedAfterReset(t *testing.T) {
	tests := []struct {
		name  string
		reset string
		call  func(*management.Client) error
	}{
		{"GET", "7", func(c *management.Client) error {
			_, err := c.API().GetOrganizationWithResponse(context.Background(), &api.GetOrganizationParams{})
			return err
		}},
		{"POST with body", "2", func(c *management.Client) error {
			_, err := c.CreateOrganization(context.Background(), "Acme")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var bodies []string
			c, s := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				bodies = append(bodies, string(b))
				if calls.Add(1) == 1 {
					w.Header().Set("RateLimit-Reset", tt.reset)
					writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []map[string]string{{"code": "TOO_MANY_REQUESTS", "message": "slow down"}}})
					return
				}
				writeJSON(w, http.StatusOK, map[string]any{"code": "OK", "organization": map[string]string{"code": "org_1"}})
			})
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			if calls.Load() != 2 {
				t.Errorf("server saw %d requests, want 2", calls.Load())
			}
			if want := []time.Duration{time.Duration(mustAtoi(t, tt.reset)) * time.Second}; !slices.Equal(s.Delays(), want) {
				t.Errorf("delays = %v, want %v", s.Delays(), want)
			}
			if bodies[0] != bodies[1] {
				t.Errorf("retried body %q differs from first %q", bodies[1], bodies[0])
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRateLimitGivesUpAfterMaxRetries(t *testing.T) {
	var calls atomic.Int32
	c, s := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []map[string]string{{"code": "TOO_MANY_REQUESTS"}}})
	}, func(cfg *management.Config) { cfg.MaxRetries = 2 })
	_, err := c.API().GetRolesWithResponse(context.Background(), &api.GetRolesParams{})
	var apiErr *management.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("error = %v, want a 429 *APIError", err)
	}
	if calls.Load() != 3 || len(s.Delays()) != 2 {
		t.Errorf("requests = %d, sleeps = %d; want 3 and 2", calls.Load(), len(s.Delays()))
	}
	for i, d := range s.Delays() {
		lo, hi := 250*time.Millisecond<<i, 500*time.Millisecond<<i
		if d < lo || d > hi {
			t.Errorf("delay %d = %v, want within [%v, %v]", i, d, lo, hi)
		}
	}
}

func TestServerErrorRetriedOnlyForIdempotentMethods(t *testing.T) {
	tests := []struct {
		name         string
		call         func(*management.Client) error
		wantRequests int32
		wantErr      bool
	}{
		{"GET is retried", func(c *management.Client) error {
			_, err := c.API().GetPermissionsWithResponse(context.Background(), &api.GetPermissionsParams{})
			return err
		}, 2, false},
		{"DELETE is retried", func(c *management.Client) error {
			_, err := c.API().DeleteRoleWithResponse(context.Background(), "r1")
			return err
		}, 2, false},
		{"POST is not retried", func(c *management.Client) error {
			_, err := c.CreateOrganization(context.Background(), "Acme")
			return err
		}, 1, true},
		{"PATCH is not retried", func(c *management.Client) error {
			_, err := c.API().UpdateRolesWithResponse(context.Background(), "r1", api.UpdateRolesJSONRequestBody{})
			return err
		}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c, s := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				writeJSON(w, http.StatusOK, map[string]any{"code": "OK"})
			})
			err := tt.call(c)
			if calls.Load() != tt.wantRequests {
				t.Errorf("requests = %d, want %d", calls.Load(), tt.wantRequests)
			}
			if tt.wantErr {
				var apiErr *management.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
					t.Fatalf("error = %v, want a 502 *APIError", err)
				}
				if len(s.Delays()) != 0 {
					t.Errorf("slept %v before giving up, want no sleep", s.Delays())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := s.Delays(); len(d) != 1 || d[0] < 250*time.Millisecond || d[0] > 500*time.Millisecond {
				t.Errorf("delays = %v, want one backoff within [250ms, 500ms]", d)
			}
		})
	}
}

func TestAPIErrorForms(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantDetail management.ErrorDetail
		wantCount  int
	}{
		{"404 object form", http.StatusNotFound, `{"errors":{"code":"ROUTE_NOT_FOUND","message":"no route"}}`,
			management.ErrorDetail{Code: "ROUTE_NOT_FOUND", Message: "no route"}, 1},
		{"400 array form", http.StatusBadRequest, `{"errors":[{"code":"ORGANIZATION_REQUIRED","message":"org needed","field":"org_code"},{"code":"USER_INVALID","message":"bad"}]}`,
			management.ErrorDetail{Code: "ORGANIZATION_REQUIRED", Message: "org needed", Field: "org_code"}, 2},
		{"403 array form", http.StatusForbidden, `{"errors":[{"code":"FORBIDDEN","message":"no"}]}`,
			management.ErrorDetail{Code: "FORBIDDEN", Message: "no"}, 1},
		{"not JSON", http.StatusBadRequest, `oops`, management.ErrorDetail{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.AddOrganizationUsers(context.Background(), "org_1", []management.OrgUser{{ID: "u1", Roles: []string{"admin"}}})
			var apiErr *management.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tt.status || len(apiErr.Errors) != tt.wantCount || string(apiErr.Body) != tt.body {
				t.Errorf("got %+v", apiErr)
			}
			if tt.wantCount > 0 && apiErr.Errors[0] != tt.wantDetail {
				t.Errorf("first detail = %+v, want %+v", apiErr.Errors[0], tt.wantDetail)
			}
			if tt.wantCount > 0 && !apiErr.HasCode(tt.wantDetail.Code) {
				t.Errorf("HasCode(%q) = false", tt.wantDetail.Code)
			}
			if apiErr.Method != http.MethodPost || apiErr.Path != "/api/v1/organizations/org_1/users" {
				t.Errorf("request = %s %s", apiErr.Method, apiErr.Path)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("message %q does not mention the status", err)
			}
		})
	}
}

func TestPerRequestTimeout(t *testing.T) {
	tests := []struct {
		name         string
		retries      int
		wantRequests int32
	}{
		{"no retries", -1, 1},
		{"GET retried after timeout", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			release := make(chan struct{})
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}, func(cfg *management.Config) {
				cfg.Timeout = 10 * time.Millisecond
				cfg.MaxRetries = tt.retries
			})
			defer close(release)
			_, err := c.API().GetBusinessWithResponse(context.Background())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want context.DeadlineExceeded", err)
			}
			if calls.Load() != tt.wantRequests {
				t.Errorf("requests = %d, want %d", calls.Load(), tt.wantRequests)
			}
		})
	}
}

func TestCanceledContextStopsRetries(t *testing.T) {
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		cancel()
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err := c.API().GetRolesWithResponse(ctx, &api.GetRolesParams{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("requests = %d, want 1", calls.Load())
	}
}

func TestTokenSourceCalledPerRequest(t *testing.T) {
	src := &countingSource{}
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		writeJSON(w, http.StatusOK, map[string]any{"code": "OK"})
	}, func(cfg *management.Config) { cfg.TokenSource = oauth2.ReuseTokenSource(nil, src) })
	for range 5 {
		if _, err := c.API().GetRolesWithResponse(context.Background(), &api.GetRolesParams{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.n.Load(); n != 1 {
		t.Errorf("token fetched %d times for 5 calls, want 1", n)
	}
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		cfg       management.Config
		wantField string
		wantEnv   string
	}{
		{"no domain", nil, management.Config{ClientID: "id", ClientSecret: "s"}, "Domain", "KINDE_DOMAIN"},
		{"no client id", map[string]string{"KINDE_DOMAIN": "acme.kinde.com"}, management.Config{}, "ClientID", "KINDE_MANAGEMENT_CLIENT_ID"},
		{"no secret", map[string]string{"KINDE_DOMAIN": "acme.kinde.com", "KINDE_MANAGEMENT_CLIENT_ID": "id"}, management.Config{}, "ClientSecret", "KINDE_MANAGEMENT_CLIENT_SECRET"},
		{"plain http", nil, management.Config{Domain: "http://acme.kinde.com", ClientID: "id", ClientSecret: "s"}, "Domain", "KINDE_DOMAIN"},
		{"path in domain", nil, management.Config{Domain: "https://acme.kinde.com/api", ClientID: "id", ClientSecret: "s"}, "Domain", "KINDE_DOMAIN"},
		{"all from env", map[string]string{"KINDE_DOMAIN": "acme.kinde.com", "KINDE_MANAGEMENT_CLIENT_ID": "id", "KINDE_MANAGEMENT_CLIENT_SECRET": "s"}, management.Config{}, "", ""},
		{"token source needs no credentials", nil, management.Config{Domain: "acme.kinde.com", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"KINDE_DOMAIN", "KINDE_MANAGEMENT_CLIENT_ID", "KINDE_MANAGEMENT_CLIENT_SECRET"} {
				t.Setenv(k, tt.env[k])
			}
			_, err := management.New(context.Background(), tt.cfg)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var ce *kinde.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.wantField || ce.Env != tt.wantEnv {
				t.Fatalf("error = %v, want a ConfigError for %s (%s)", err, tt.wantField, tt.wantEnv)
			}
		})
	}
}

func TestConvenienceRequests(t *testing.T) {
	tests := []struct {
		name     string
		call     func(*management.Client) (string, error)
		reply    any
		wantPath string
		wantBody string
		want     string
	}{
		{"CreateOrganization", func(c *management.Client) (string, error) {
			return c.CreateOrganization(context.Background(), "Acme", management.WithExternalID("ext-1"), management.WithHandle("acme"))
		}, map[string]any{"organization": map[string]string{"code": "org_9"}}, "/api/v1/organization",
			`{"external_id":"ext-1","handle":"acme","name":"Acme"}`, "org_9"},
		{"CreateUserWithEmail", func(c *management.Client) (string, error) {
			return c.CreateUserWithEmail(context.Background(), "ada@example.com", "Ada", "Lovelace", management.WithOrganizationCode("org_9"))
		}, map[string]any{"id": "kp_1", "created": true}, "/api/v1/user",
			`{"identities":[{"details":{"email":"ada@example.com"},"type":"email"}],"organization_code":"org_9","profile":{"family_name":"Lovelace","given_name":"Ada"}}`, "kp_1"},
		{"AddOrganizationUsers", func(c *management.Client) (string, error) {
			ids, err := c.AddOrganizationUsers(context.Background(), "org_9", []management.OrgUser{{ID: "kp_1", Roles: []string{"admin"}, Permissions: []string{"read:x"}}, {ID: "kp_2"}})
			return strings.Join(ids, ","), err
		}, map[string]any{"users_added": []string{"kp_1", "kp_2"}}, "/api/v1/organizations/org_9/users",
			`{"users":[{"id":"kp_1","permissions":["read:x"],"roles":["admin"]},{"id":"kp_2"}]}`, "kp_1,kp_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.Method != http.MethodPost || r.URL.Path != tt.wantPath || strings.TrimSpace(string(b)) != tt.wantBody {
					t.Errorf("got %s %s %s\nwant POST %s %s", r.Method, r.URL.Path, b, tt.wantPath, tt.wantBody)
				}
				writeJSON(w, http.StatusOK, tt.reply)
			})
			got, err := tt.call(c)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestConvenienceArgumentErrors(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s", r.URL)
	})
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
	}{
		{"empty org name", second(c.CreateOrganization(ctx, " "))},
		{"empty email", second(c.CreateUserWithEmail(ctx, "", "a", "b"))},
		{"empty org code", second(c.AddOrganizationUsers(ctx, "", nil))},
		{"user without id", second(c.AddOrganizationUsers(ctx, "org", []management.OrgUser{{}}))},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func second[T any](_ T, err error) error { return err }
