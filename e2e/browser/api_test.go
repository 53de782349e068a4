package browser

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// checkTodoAPI calls the starter's /api/todos with access tokens from its
// emulator and returns the title of the todo it created (in Acme).
func checkTodoAPI(t *testing.T, app *runningApp) string {
	t.Helper()
	alice := accessToken(t, app, "alice@example.com")
	bob := accessToken(t, app, "bob@example.com")
	newcomer := accessToken(t, app, "newcomer@example.com") // signs up: no organization, no permissions

	status, body, hdr := callAPI(t, app, http.MethodGet, "", "")
	if status != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("GET /api/todos without a token: %d %q (WWW-Authenticate %q), want 401 with a Bearer challenge",
			status, body, hdr.Get("WWW-Authenticate"))
	}
	if status, body, _ := callAPI(t, app, http.MethodGet, alice, ""); status != http.StatusOK || body != `{"todos":[]}` {
		t.Errorf("GET /api/todos as Alice: %d %s, want 200 with no todos", status, body)
	}

	title := "Check the " + app.dir + " starter"
	status, body, _ = callAPI(t, app, http.MethodPost, alice, `{"title":"`+title+`"}`)
	var created struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || created.Title != title || created.ID == 0 {
		t.Errorf("POST /api/todos as Alice: %d %s, want 201 with the todo %q", status, body, title)
	}
	if status, body, _ := callAPI(t, app, http.MethodPost, alice, `{"name":"no title"}`); status != http.StatusBadRequest {
		t.Errorf("POST /api/todos with a wrong body: %d %s, want 400", status, body)
	}
	if status, body, _ := callAPI(t, app, http.MethodGet, bob, ""); status != http.StatusOK || !strings.Contains(body, title) {
		t.Errorf("GET /api/todos as Bob (same organization): %d %s, want 200 with %q", status, body, title)
	}
	if status, body, _ := callAPI(t, app, http.MethodGet, newcomer, ""); status != http.StatusForbidden {
		t.Errorf("GET /api/todos without read:todos: %d %s, want 403", status, body)
	}
	if status, body, _ := callAPI(t, app, http.MethodPost, newcomer, `{"title":"x"}`); status != http.StatusForbidden {
		t.Errorf("POST /api/todos without create:todos: %d %s, want 403", status, body)
	}
	return title
}

func callAPI(t *testing.T, app *runningApp, method, token, body string) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, app.url+"/api/todos", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s /api/todos: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s /api/todos: %v", method, err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

var (
	requestIDRE = regexp.MustCompile(`name="request" value="([^"]+)"`)
	userIDRE    = regexp.MustCompile(`data-user="([^"]+)" data-email="([^"]+)"`)
)

// accessToken signs email in at the app's emulator the way a client
// application would (authorization code with PKCE, to the app's allowed
// callback URL, asking for the API's audience) and returns the access
// token. An email the emulator does not know signs up.
func accessToken(t *testing.T, app *runningApp, email string) string {
	t.Helper()
	if app.audience == "" {
		t.Fatalf("%s printed no API audience", app.dir)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client, err := kinde.New(kinde.Config{
		Domain:       app.emulator,
		ClientID:     kindetest.DefaultClientID,
		ClientSecret: kindetest.DefaultClientSecret,
		RedirectURL:  app.url + kinde.DefaultPaths().Callback,
		Audience:     []string{app.audience},
	})
	if err != nil {
		t.Fatal(err)
	}
	ar, err := client.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := fetchPage(ctx, t, hc, ar.URL)
	m := requestIDRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the emulator's sign-in page has no request id:\n%s", page)
	}
	form := url.Values{"request": {m[1]}, "action": {"register"}, "new_email": {email}}
	for _, u := range userIDRE.FindAllStringSubmatch(page, -1) {
		if u[2] == email {
			form = url.Values{"request": {m[1]}, "user": {u[1]}}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.emulator+"/oauth2/auth/approve", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in of %s: %d, Location %q: want a redirect with a code", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	tokens, err := client.ExchangeCode(ctx, ar, loc.Query())
	if err != nil {
		t.Fatalf("exchange the code of %s: %v", email, err)
	}
	return tokens.AccessToken
}

func fetchPage(ctx context.Context, t *testing.T, hc *http.Client, target string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", req.URL.Redacted(), resp.StatusCode, err, b)
	}
	return string(b)
}
