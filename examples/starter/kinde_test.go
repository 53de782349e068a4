package starter

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
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
		cfg.RedirectURL != app+"/api/auth/kinde_callback" || cfg.PostLogoutRedirectURL != app+"/" || len(cfg.SessionSecret) < 32 {
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
	for _, s := range []string{"built-in emulator at " + cfg.Domain, "open " + app, "alice@example.com", "bob@example.com", "admin of Acme", "member of Acme"} {
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
	var help strings.Builder
	k.PrintHelp(&help, "http://127.0.0.1:8080")
	if !strings.Contains(help.String(), "https://yourbusiness.kinde.com") || !strings.Contains(help.String(), cfg.RedirectURL) ||
		strings.Contains(help.String(), "open the app at") {
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
