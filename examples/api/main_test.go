package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clearKindeEnv unsets the variables the starter reads.
func clearKindeEnv(t *testing.T) {
	for _, k := range []string{"KINDE_DOMAIN", "KINDE_AUDIENCE", "KINDE_CLIENT_ID", "KINDE_CLIENT_SECRET", "KINDE_REDIRECT_URL"} {
		t.Setenv(k, "")
	}
}

// call sends method path with token (none when empty) and returns the
// status, body and WWW-Authenticate challenge.
func call(t *testing.T, base, method, path, token, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("WWW-Authenticate")
}

func get(t *testing.T, target string) string {
	t.Helper()
	status, body, _ := call(t, target, http.MethodGet, "", "", "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, status, body)
	}
	return body
}

// Both routes with a user token and a machine token from the emulator, and
// each refused with the wrong one (issue "Protect APIs", part 7).
func TestRoutes(t *testing.T) {
	dev, err := startDevKinde(defaultAudience)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: dev.URL(), Audience: []string{dev.audience}}))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(newHandler(web))
	defer ts.Close()

	alice := get(t, dev.DevTokenURL(dev.reader.Email, dev.audience, ""))
	bob := get(t, dev.DevTokenURL(dev.stranger.Email, dev.audience, ""))
	m2m, err := kinde.New(kinde.Config{Domain: dev.URL(), ManagementClientID: dev.machine.ID, ManagementClientSecret: dev.machine.Secret})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := m2m.ClientCredentials(t.Context(), dev.audience)
	if err != nil {
		t.Fatal(err)
	}
	// A token of the same Kinde for another API.
	dev.AddAPI("https://other-api.example.com")
	foreign := get(t, dev.DevTokenURL(dev.reader.Email, "https://other-api.example.com", ""))
	idToken, err := dev.IssueTokens(dev.reader.ID, kindetest.IssueOptions{Audience: []string{dev.audience}})
	if err != nil {
		t.Fatal(err)
	}

	const report = `{"name":"weekly"}`
	tests := []struct {
		name, method, path, token, body string
		want                            int
		wantBody, challenge             string
	}{
		{"user with read:todos", "GET", "/api/todos", alice, "", 200, `"user":"` + dev.reader.ID + `"`, ""},
		{"machine with write:reports", "POST", "/api/reports", machine.AccessToken, report, 201, `"requested_by":"` + dev.machine.ID + `"`, ""},
		{"user on the machine route", "POST", "/api/reports", alice, report, 403, `needs scopes \"write:reports\"`, `error="insufficient_scope", scope="write:reports"`},
		{"machine on the user route", "GET", "/api/todos", machine.AccessToken, "", 403, `needs permissions \"read:todos\"`, `error="insufficient_scope"`},
		{"user without the permission", "GET", "/api/todos", bob, "", 403, `needs permissions \"read:todos\"`, `error="insufficient_scope"`},
		{"no token", "GET", "/api/todos", "", "", 401, "unauthenticated", `Bearer realm="` + dev.URL() + `"`},
		{"no token, machine route", "POST", "/api/reports", "", report, 401, "unauthenticated", "Bearer"},
		{"another API's token", "GET", "/api/todos", foreign, "", 401, "invalid_token", `error="invalid_token"`},
		{"ID token", "GET", "/api/todos", idToken.IDToken, "", 401, "invalid_token", `error="invalid_token"`},
		{"machine with a bad body", "POST", "/api/reports", machine.AccessToken, `{"title":"x"}`, 400, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, challenge := call(t, ts.URL, tt.method, tt.path, tt.token, tt.body)
			if status != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s %s: %d %s, want %d with %q", tt.method, tt.path, status, body, tt.want, tt.wantBody)
			}
			if !strings.Contains(challenge, tt.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to contain %q", challenge, tt.challenge)
			}
		})
	}
}

var (
	listeningRE = regexp.MustCompile(`^API starter listening on (http://127\.0\.0\.1:\d+)$`)
	userCurlRE  = regexp.MustCompile(`TOKEN=\$\(curl -s '([^']+)'\)`)
	m2mCurlRE   = regexp.MustCompile(`-d client_id=(\S+) -d client_secret=(\S+) -d audience=(\S+) (\S+/oauth2/token)`)
)

// The starter as `go run ./examples/api` runs it: the printed instructions
// get both tokens, and both routes take them.
func TestRunPrintsWorkingInstructions(t *testing.T) {
	clearKindeEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "127.0.0.1:0", pw)
		pw.Close()
	}()
	var out strings.Builder
	apiURL := ""
	sc := bufio.NewScanner(pr)
	for apiURL == "" && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
			apiURL = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if apiURL == "" {
		t.Fatalf("no listening line:\n%s", out.String())
	}
	printed := out.String()

	u := userCurlRE.FindStringSubmatch(printed)
	m := m2mCurlRE.FindStringSubmatch(printed)
	if u == nil || m == nil || !strings.Contains(printed, "curl -H \"Authorization: Bearer $TOKEN\" "+apiURL+"/api/todos") ||
		!strings.Contains(printed, apiURL+"/api/reports") || !strings.Contains(printed, "API audience: "+defaultAudience) {
		t.Fatalf("instructions incomplete:\n%s", printed)
	}
	user := get(t, u[1])
	if status, body, _ := call(t, apiURL, "GET", "/api/todos", user, ""); status != http.StatusOK {
		t.Errorf("GET /api/todos with the printed user token: %d %s", status, body)
	}
	domain := strings.TrimSuffix(m[4], "/oauth2/token")
	c, err := kinde.New(kinde.Config{Domain: domain, ManagementClientID: m[1], ManagementClientSecret: m[2]})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := c.ClientCredentials(t.Context(), m[3])
	if err != nil {
		t.Fatalf("client credentials with the printed application: %v", err)
	}
	if status, body, _ := call(t, apiURL, "POST", "/api/reports", machine.AccessToken, `{"name":"weekly"}`); status != http.StatusCreated {
		t.Errorf("POST /api/reports with the printed machine credentials: %d %s", status, body)
	}
	http.DefaultClient.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// With real Kinde the audience is required: the starter stops at start with
// a message naming KINDE_AUDIENCE instead of accepting every token.
func TestRealKindeNeedsAnAudience(t *testing.T) {
	clearKindeEnv(t)
	t.Setenv("KINDE_DOMAIN", "https://yourbusiness.kinde.com")
	err := run(t.Context(), "127.0.0.1:0", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "KINDE_AUDIENCE") {
		t.Fatalf("run = %v, want an error naming KINDE_AUDIENCE", err)
	}
}
