package kindetest

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const devAPI = "https://api.example.com"

// devGet calls the dev token endpoint with the raw query q.
func devGet(t *testing.T, f *fixture, q string) (int, string, http.Header) {
	t.Helper()
	resp, err := f.c.Get(f.srv.URL() + DevTokenPath + "?" + q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

// The dev token endpoint is the emulator's own (Kinde has none): it mints
// the access token IssueTokens would, for a user named by email or ID.
func TestDevTokens(t *testing.T) {
	f := newFixture(t, WithDevTokens(true))
	f.srv.AddAPI(devAPI, "read:reports")
	loner := f.srv.AddUser(User{Email: "loner@example.com"})
	gone := f.srv.AddUser(User{Email: "gone@example.com", Suspended: true})

	tests := []struct {
		name      string
		query     string
		status    int
		wantAud   []string
		wantOrg   string
		wantPerm  string
		wantError string
	}{
		{"by email, for an API", f.srv.DevTokenURL("alice@example.com", devAPI, ""), 200, []string{devAPI}, f.demo.Acme.Code, "delete:todos", ""},
		{"email in another case", "user=ALICE@example.com", 200, []string{}, f.demo.Acme.Code, "delete:todos", ""},
		{"by ID, in another organization", url.Values{"user": {f.alice.ID}, "org_code": {f.demo.Globex.Code}}.Encode(), 200, []string{}, f.demo.Globex.Code, "read:todos", ""},
		{"a user without organizations", "user=loner@example.com", 200, []string{}, "", "", ""},
		{"no user", "audience=" + devAPI, 400, nil, "", "", "name the user"},
		{"unknown user", "user=nobody@example.com", 400, nil, "", "", `no user "nobody@example.com"`},
		{"suspended user", "user=" + gone.Email, 400, nil, "", "", "suspended"},
		{"unregistered API", "user=alice@example.com&audience=https://other.example.com", 400, nil, "", "", "-api https://other.example.com"},
		{"organization of others", url.Values{"user": {loner.ID}, "org_code": {f.demo.Acme.Code}}.Encode(), 400, nil, "", "", "not a member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.query
			if i := strings.IndexByte(q, '?'); i >= 0 {
				q = q[i+1:]
			}
			status, body, hdr := devGet(t, f, q)
			if status != tt.status {
				t.Fatalf("status %d, want %d; body %q", status, tt.status, body)
			}
			if hdr.Get("Cache-Control") != "no-store" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
				t.Errorf("headers %v", hdr)
			}
			if tt.status != 200 {
				if !strings.HasPrefix(body, "error: ") || !strings.Contains(body, tt.wantError) {
					t.Errorf("body %q, want an error containing %q", body, tt.wantError)
				}
				return
			}
			c := claimsOf(t, body)
			if c["sub"] == "" || !slices.Equal(strs(c["aud"]), tt.wantAud) || !slices.Equal(strs(c["scp"]), devTokenScopes) {
				t.Errorf("claims %v", c)
			}
			if org, _ := c["org_code"].(string); org != tt.wantOrg {
				t.Errorf("org_code %q, want %q", org, tt.wantOrg)
			}
			if tt.wantPerm != "" && !slices.Contains(strs(c["permissions"]), tt.wantPerm) {
				t.Errorf("permissions %v lack %s", c["permissions"], tt.wantPerm)
			}
			// It is an access token the emulator knows (introspection says active).
			st, intro := f.post(t, "/oauth2/introspect", url.Values{"token": {body}}, http.Header{"Authorization": {"Bearer " + body}})
			if st != 200 || intro["active"] != true {
				t.Errorf("introspect: %d %v", st, intro)
			}
		})
	}
}

func TestDevTokensOffByDefault(t *testing.T) {
	f := newFixture(t)
	if status, body, _ := devGet(t, f, "user=alice@example.com"); status != http.StatusNotFound {
		t.Fatalf("without WithDevTokens: %d %q, want 404", status, body)
	}
}

func TestDevTokenURL(t *testing.T) {
	srv := New(WithIssuer("http://127.0.0.1:8787"), WithSigningKey(testKey()))
	defer srv.Close()
	tests := []struct {
		user, audience, org, want string
	}{
		{"alice@example.com", "", "", "http://127.0.0.1:8787/dev/token?user=alice@example.com"},
		{"alice@example.com", "https://api.example.com", "org_1", "http://127.0.0.1:8787/dev/token?audience=https://api.example.com&org_code=org_1&user=alice@example.com"},
		{"a+b&c@example.com", "https://api.example.com/v1?x=y", "", "http://127.0.0.1:8787/dev/token?audience=https://api.example.com/v1%3Fx%3Dy&user=a%2Bb%26c@example.com"},
	}
	for _, tt := range tests {
		got := srv.DevTokenURL(tt.user, tt.audience, tt.org)
		if got != tt.want {
			t.Errorf("DevTokenURL(%q, %q, %q) = %s, want %s", tt.user, tt.audience, tt.org, got, tt.want)
		}
		u, err := url.Parse(got)
		if err != nil || u.Query().Get("user") != tt.user || u.Query().Get("audience") != tt.audience || u.Query().Get("org_code") != tt.org {
			t.Errorf("%s does not parse back: %v %v", got, u.Query(), err)
		}
	}
}
