package starter

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

// clearKindeEnv unsets the KINDE_* variables DevKinde reads.
func clearKindeEnv(t *testing.T) {
	for _, k := range []string{"KINDE_DOMAIN", "KINDE_CLIENT_ID", "KINDE_CLIENT_SECRET", "KINDE_REDIRECT_URL",
		"KINDE_POST_LOGOUT_REDIRECT_URL", "KINDE_SESSION_SECRET", "KINDE_AUDIENCE", "KINDE_SCOPE"} {
		t.Setenv(k, "")
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func TestDevKindeStartsTheEmulator(t *testing.T) {
	clearKindeEnv(t)
	const app = "http://127.0.0.1:8123"
	k, err := DevKinde(app)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	cfg := k.Config
	if !k.Emulated() || !strings.HasPrefix(cfg.Domain, "http://127.0.0.1:") || cfg.ClientID == "" || cfg.ClientSecret == "" ||
		cfg.RedirectURL != app+"/api/auth/kinde_callback" || cfg.PostLogoutRedirectURL != app+"/" || len(cfg.SessionSecret) < 32 ||
		!slices.Equal(cfg.Audience, []string{DemoAudience}) || k.Audience() != DemoAudience {
		t.Fatalf("config = %+v", cfg)
	}

	// The app's callback is allowed: the sign-in page lists the demo users.
	client, err := kinde.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := client.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{CheckRedirect: noRedirects, Timeout: 10 * time.Second}
	resp, err := hc.Get(ar.URL)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page.String(), "alice@example.com") || !strings.Contains(page.String(), "bob@example.com") {
		t.Errorf("sign-in page: %d\n%s", resp.StatusCode, page.String())
	}
	// So is its sign-out redirect.
	resp, err = hc.Get(client.LogoutURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != app+"/" {
		t.Errorf("sign-out: %d to %q, want 302 to %s/", resp.StatusCode, loc, app)
	}

	var help strings.Builder
	k.PrintHelp(&help, app)
	for _, s := range []string{"built-in emulator at " + cfg.Domain, "open " + app, "alice@example.com", "bob@example.com", "admin of Acme", "member of Acme",
		"API audience: " + DemoAudience + ";", "TOKEN=$(curl -s '" + k.TokenURL("alice@example.com", "") + "')", `curl -H "Authorization: Bearer $TOKEN" ` + app + "/api/todos"} {
		if !strings.Contains(help.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, help.String())
		}
	}
	if users := k.DemoUsers(); len(users) != 2 {
		t.Errorf("demo users = %+v", users)
	}

	k.Close()
	if resp, err := hc.Get(cfg.Domain + "/.well-known/openid-configuration"); err == nil {
		resp.Body.Close()
		t.Error("the emulator still answers after Close")
	}
}

func TestDevKindeUsesRealKinde(t *testing.T) {
	clearKindeEnv(t)
	t.Setenv("KINDE_DOMAIN", "https://yourbusiness.kinde.com")
	t.Setenv("KINDE_CLIENT_ID", "client-id")
	t.Setenv("KINDE_CLIENT_SECRET", "client-secret")
	k, err := DevKinde("http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	cfg := k.Config
	if k.Emulated() || cfg.Domain != "https://yourbusiness.kinde.com" || cfg.ClientID != "client-id" || cfg.ClientSecret != "client-secret" ||
		cfg.RedirectURL != "http://127.0.0.1:8080/api/auth/kinde_callback" || cfg.PostLogoutRedirectURL != "http://127.0.0.1:8080/" {
		t.Errorf("config = %+v", cfg)
	}
	if k.DemoUsers() != nil {
		t.Errorf("demo users with real Kinde: %+v", k.DemoUsers())
	}
	if k.Audience() != "" || k.TokenURL("alice@example.com", "") != "" {
		t.Errorf("audience %q, token URL %q with real Kinde and no KINDE_AUDIENCE", k.Audience(), k.TokenURL("alice@example.com", ""))
	}
	var help strings.Builder
	k.PrintHelp(&help, "http://127.0.0.1:8080")
	if !strings.Contains(help.String(), "https://yourbusiness.kinde.com") || !strings.Contains(help.String(), cfg.RedirectURL) ||
		strings.Contains(help.String(), "open the app at") || !strings.Contains(help.String(), "set KINDE_AUDIENCE") {
		t.Errorf("help:\n%s", help.String())
	}

	t.Setenv("KINDE_REDIRECT_URL", "http://localhost:8080/api/auth/kinde_callback")
	k, err = DevKinde("http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	help.Reset()
	k.PrintHelp(&help, "http://127.0.0.1:8080")
	if !strings.Contains(help.String(), "open the app at http://localhost:8080") {
		t.Errorf("help does not say to open the callback's origin:\n%s", help.String())
	}
}

// The todo API of the demo takes tokens for its audience only, and the
// dashboard's token link gives one that it accepts (issue "Protect APIs",
// part 5).
func TestDemoAPIAudience(t *testing.T) {
	clearKindeEnv(t)
	const app = "http://127.0.0.1:8124"
	k, err := DevKinde(app)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	web, err := kinde.NewWeb(kinde.WithConfig(k.Config))
	if err != nil {
		t.Fatal(err)
	}
	api := web.Middleware(web.RequireBearer()(web.RequirePermission(ReadTodos)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))))
	call := func(token string) int {
		req := httptest.NewRequest(http.MethodGet, app+"/api/todos", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec.Code
	}

	// The dashboard of Alice, signed in to Globex, links to a token for her there.
	demo := k.demo
	tr, err := k.emulator.IssueTokens(demo.Alice.ID, kindetest.IssueOptions{OrgCode: demo.Globex.Code, Audience: k.Config.Audience})
	if err != nil {
		t.Fatal(err)
	}
	client, err := kinde.New(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := client.Session(t.Context(), &kinde.Tokens{AccessToken: tr.AccessToken, IDToken: tr.IDToken})
	if err != nil {
		t.Fatal(err)
	}
	site := NewSite("Test", app, k.DemoUsers())
	site.kinde = k
	page := string(site.Dashboard(sess).Body)
	m := regexp.MustCompile(`<a href="([^"]+)" id="api-token">`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="api-audience">`+DemoAudience+`<`) || !strings.Contains(page, "TOKEN=$(curl -s '"+html.EscapeString(k.TokenURL(demo.Alice.Email, demo.Globex.Code))) {
		t.Fatalf("the dashboard has no token link, audience or curl lines:\n%s", page)
	}
	link := html.UnescapeString(m[1])
	if want := k.TokenURL(demo.Alice.Email, demo.Globex.Code); link != want {
		t.Errorf("token link %s, want %s", link, want)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", link, resp.StatusCode, body)
	}
	if got := call(token); got != http.StatusNoContent {
		t.Errorf("/api/todos with the dashboard's token: %d, want 204", got)
	}
	// A token of the same Kinde without the audience is refused.
	noAud, err := k.emulator.IssueTokens(demo.Alice.ID, kindetest.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := call(noAud.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("/api/todos with a token for no audience: %d, want 401", got)
	}
	// The sign-in asks for the audience.
	ar, err := client.AuthURL()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(ar.URL); err != nil || u.Query().Get("audience") != DemoAudience {
		t.Errorf("sign-in URL %s does not ask for %s", ar.URL, DemoAudience)
	}
}

// KINDE_AUDIENCE names the API in the demo too.
func TestDevKindeKeepsTheAudienceOfTheEnvironment(t *testing.T) {
	clearKindeEnv(t)
	t.Setenv("KINDE_AUDIENCE", "https://todos.example.org")
	k, err := DevKinde("http://127.0.0.1:8125")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if k.Audience() != "https://todos.example.org" {
		t.Fatalf("audience %q", k.Audience())
	}
	resp, err := http.Get(k.TokenURL("bob@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token for the environment's audience: %d", resp.StatusCode)
	}
}
