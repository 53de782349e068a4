package kindetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testKey is shared by the tests so each server does not generate one.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

const callback = "http://localhost:8080/api/auth/kinde_callback"

type fixture struct {
	srv   *Server
	c     *http.Client
	demo  Demo
	alice User
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	srv := Start(t, append([]Option{WithSigningKey(testKey())}, opts...)...)
	d := srv.SeedDemo()
	srv.AllowRedirectURI(DefaultClientID, callback)
	srv.AllowLogoutURI(DefaultClientID, "http://localhost:8080")
	return &fixture{srv: srv, c: srv.Client(), demo: d, alice: d.Alice}
}

func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + randHex(16)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func authParams(challenge string) url.Values {
	v := url.Values{
		"client_id":     {DefaultClientID},
		"redirect_uri":  {callback},
		"response_type": {"code"},
		"scope":         {"openid profile email offline"},
		"state":         {"st-123"},
		"nonce":         {"n-456"},
	}
	if challenge != "" {
		v.Set("code_challenge", challenge)
		v.Set("code_challenge_method", "S256")
	}
	return v
}

func (f *fixture) get(t *testing.T, path string, q url.Values) *http.Response {
	t.Helper()
	u := f.srv.URL() + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := f.c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// authorize runs /oauth2/auth and returns the redirect query.
func (f *fixture) authorize(t *testing.T, q url.Values) url.Values {
	t.Helper()
	resp := f.get(t, "/oauth2/auth", q)
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize status %d, want 302: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("redirected to %s, want %s", got, callback)
	}
	return loc.Query()
}

func (f *fixture) post(t *testing.T, path string, form url.Values, hdr http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return f.do(t, req)
}

func (f *fixture) do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return resp.StatusCode, m
}

func (f *fixture) bearerGet(t *testing.T, path, tok string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return f.do(t, req)
}

func (f *fixture) bearerJSON(t *testing.T, method, path, tok string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, f.srv.URL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	return f.do(t, req)
}

func codeForm(code, verifier string) url.Values {
	v := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {DefaultClientID},
		"client_secret": {DefaultClientSecret},
		"code":          {code},
		"redirect_uri":  {callback},
	}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return v
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "refresh_token": {rt}}
}

// login signs in userID with PKCE and returns the token response body.
func (f *fixture) login(t *testing.T, userID string, extra url.Values) map[string]any {
	t.Helper()
	f.srv.SignInAs(userID)
	defer f.srv.SignInAs("")
	verifier, challenge := pkce()
	q := authParams(challenge)
	for k, v := range extra {
		q[k] = v
	}
	red := f.authorize(t, q)
	if red.Get("code") == "" {
		t.Fatalf("no code in redirect: %v", red)
	}
	status, body := f.post(t, "/oauth2/token", codeForm(red.Get("code"), verifier), nil)
	if status != http.StatusOK {
		t.Fatalf("token exchange: %d %v", status, body)
	}
	return body
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func errCode(m map[string]any) string {
	s, _ := m["error"].(string)
	return s
}

func apiCode(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func strs(v any) []string {
	a, _ := v.([]any)
	out := []string{}
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
