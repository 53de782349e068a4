package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-redirect", "http://localhost:3000/cb"}, pw, &stderr)
		pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.HasPrefix(k, "KINDE_") {
			env[k] = v
		}
		if strings.HasPrefix(sc.Text(), "Users:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for _, k := range []string{"KINDE_DOMAIN", "KINDE_CLIENT_ID", "KINDE_CLIENT_SECRET", "KINDE_MANAGEMENT_CLIENT_ID", "KINDE_MANAGEMENT_CLIENT_SECRET", "KINDE_POST_LOGOUT_REDIRECT_URL"} {
		if env[k] == "" {
			t.Errorf("%s not printed", k)
		}
	}
	if env["KINDE_REDIRECT_URL"] != "http://localhost:3000/cb" {
		t.Errorf("KINDE_REDIRECT_URL = %q", env["KINDE_REDIRECT_URL"])
	}
	resp, err := http.Get(env["KINDE_DOMAIN"] + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"issuer":"`+env["KINDE_DOMAIN"]+`"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v (stderr %s)", err, stderr.String())
	}
}

func TestRunRejectsNonLoopback(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-addr", "0.0.0.0:0"}, &out, &errb); err == nil {
		t.Fatal("run accepted a non-loopback address")
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantAPI []apiSpec
		wantM2M []m2mSpec
		wantErr string
	}{
		{"API with scopes", []string{"-api", "https://api.example.com=read:todos, write:todos,,read:todos"},
			[]apiSpec{{"https://api.example.com", []string{"read:todos", "write:todos"}}}, nil, ""},
		{"API without scopes", []string{"-api", "https://api.example.com"}, []apiSpec{{audience: "https://api.example.com"}}, nil, ""},
		{"audience with '=' and an empty scope list", []string{"-api", "https://api.example.com/?v=1="},
			[]apiSpec{{audience: "https://api.example.com/?v=1"}}, nil, ""},
		{"machine app", []string{"-m2m", "reporter=https://api.example.com=write:reports"}, nil,
			[]m2mSpec{{"reporter", apiSpec{"https://api.example.com", []string{"write:reports"}}}}, ""},
		{"machine app for all scopes", []string{"-m2m", "ops=https://api.example.com"}, nil,
			[]m2mSpec{{"ops", apiSpec{audience: "https://api.example.com"}}}, ""},
		{"empty audience", []string{"-api", "=read:todos"}, nil, nil, "want AUDIENCE"},
		{"audience with a comma", []string{"-api", "a,b=read"}, nil, nil, "space or a comma"},
		{"scope with a space", []string{"-api", "https://api.example.com=read todos"}, nil, nil, "contains a space"},
		{"machine app without a name", []string{"-m2m", "=https://api.example.com"}, nil, nil, "want NAME=AUDIENCE"},
		{"machine app without an audience", []string{"-m2m", "reporter"}, nil, nil, "want NAME=AUDIENCE"},
		{"stray argument", []string{"https://api.example.com"}, nil, nil, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual([]apiSpec(o.apis), tt.wantAPI) || !reflect.DeepEqual([]m2mSpec(o.m2m), tt.wantM2M) {
				t.Errorf("apis %+v, m2m %+v; want %+v, %+v", o.apis, o.m2m, tt.wantAPI, tt.wantM2M)
			}
			if !o.devTokens {
				t.Error("the dev token endpoint is off by default")
			}
		})
	}
}

// served is the emulator the command sets up for args, served on loopback,
// and what it printed.
type served struct {
	url string
	out string
}

func serveEmulator(t *testing.T, args ...string) served {
	t.Helper()
	o, err := parseFlags(append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	emu, err := setUp(o, "http://"+ln.Addr().String(), slog.New(slog.DiscardHandler), &out)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(emu.Handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() { ts.Close(); emu.Close() })
	return served{url: ts.URL, out: out.String()}
}

// value returns what follows prefix on the first line of s that has it
// (after leading spaces), up to the end of the line.
func value(t *testing.T, s, prefix string) string {
	t.Helper()
	for line := range strings.Lines(s) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return v
		}
	}
	t.Fatalf("no line starts with %q in:\n%s", prefix, s)
	return ""
}

// after returns the part of s from the first line that contains marker.
func after(t *testing.T, s, marker string) string {
	t.Helper()
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("%q not printed:\n%s", marker, s)
	}
	return s[i:]
}

const docsAPI = "https://api.example.com" // the audience docs/apis.md and docs/m2m.md use

// The docs' own API gets tokens: a machine caller with the printed
// credentials and a user through the dev token endpoint, and an API that
// knows only the domain and the audience accepts them (issue "Protect APIs",
// part 5).
func TestAPIsAndMachineApplications(t *testing.T) {
	e := serveEmulator(t, "-api", docsAPI+"=read:todos,write:todos", "-m2m", "reporter="+docsAPI+"=write:todos")
	ctx := t.Context()

	reporter := after(t, e.out, `Machine-to-machine application "reporter", authorized for `+docsAPI+" (scopes: write:todos)")
	m2m, err := kinde.New(kinde.Config{Domain: e.url,
		ManagementClientID:     value(t, reporter, "KINDE_MANAGEMENT_CLIENT_ID="),
		ManagementClientSecret: value(t, reporter, "KINDE_MANAGEMENT_CLIENT_SECRET=")})
	if err != nil {
		t.Fatal(err)
	}
	machine, err := m2m.ClientCredentials(ctx, docsAPI)
	if err != nil {
		t.Fatalf("client credentials for %s: %v", docsAPI, err)
	}
	if machine.Scope != "write:todos" {
		t.Errorf("machine token scope %q, want write:todos", machine.Scope)
	}
	// The printed curl line is the same request.
	tokenCurl := value(t, reporter, "a token: curl -s ")
	if !strings.Contains(tokenCurl, "-d audience="+docsAPI+" "+e.url+"/oauth2/token") {
		t.Errorf("token request line: %s", tokenCurl)
	}

	api := after(t, e.out, "API "+docsAPI+", scopes: read:todos write:todos")
	if got := value(t, api, "an API that checks its tokens: "); got != "KINDE_DOMAIN="+e.url+" KINDE_AUDIENCE="+docsAPI {
		t.Errorf("API configuration line: %s", got)
	}
	devURL := strings.Trim(value(t, api, "curl -s "), "'")
	user := httpGet(t, devURL)

	// The default management application is not authorized for the API, as
	// in Kinde, where each application is authorized for each API and a
	// request for another audience fails (docs.kinde.com
	// machine-to-machine-applications/about-m2m/authenticate-with-m2m;
	// unauthorized_client per troubleshoot-m2m-token-errors).
	mgmt, err := kinde.New(kinde.Config{Domain: e.url, ManagementClientID: value(t, e.out, "KINDE_MANAGEMENT_CLIENT_ID="),
		ManagementClientSecret: value(t, e.out, "KINDE_MANAGEMENT_CLIENT_SECRET=")})
	if err != nil {
		t.Fatal(err)
	}
	var te *kinde.TokenError
	if _, err := mgmt.ClientCredentials(ctx, docsAPI); !errors.As(err, &te) || te.Code != "unauthorized_client" {
		t.Errorf("management application for %s: %v, want unauthorized_client", docsAPI, err)
	}

	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: e.url, Audience: []string{docsAPI}}))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("/todos", web.RequireBearer()(web.RequirePermission("read:todos")(ok)))
	mux.Handle("/write", web.RequireBearer()(web.RequireScope("write:todos")(ok)))
	mux.Handle("/read", web.RequireBearer()(web.RequireScope("read:todos")(ok)))
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"user with the permission", "/todos", user, http.StatusNoContent},
		{"machine with the scope", "/write", machine.AccessToken, http.StatusNoContent},
		{"machine without the scope", "/read", machine.AccessToken, http.StatusForbidden},
		{"machine where a user permission is needed", "/todos", machine.AccessToken, http.StatusForbidden},
		{"user where a machine scope is needed", "/write", user, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			web.Middleware(mux).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

// Without -api the docs' audience is unknown, as in a Kinde business where
// it is not registered, and without -dev-tokens there is no dev endpoint.
func TestWithoutAPIs(t *testing.T) {
	e := serveEmulator(t)
	if strings.Contains(e.out, "\nAPI ") || strings.Contains(e.out, "Machine-to-machine application") {
		t.Errorf("APIs or applications printed without flags:\n%s", e.out)
	}
	status, body := httpStatus(t, e.url+"/dev/token?user=alice@example.com&audience="+docsAPI)
	if status != http.StatusBadRequest || !strings.Contains(body, "-api "+docsAPI) {
		t.Errorf("dev token for an unregistered API: %d %s, want 400 naming -api", status, body)
	}
	e = serveEmulator(t, "-dev-tokens=false", "-api", docsAPI)
	if strings.Contains(e.out, "/dev/token") {
		t.Errorf("dev token URL printed with -dev-tokens=false:\n%s", e.out)
	}
	if status, _ := httpStatus(t, e.url+"/dev/token?user=alice@example.com"); status != http.StatusNotFound {
		t.Errorf("dev token with -dev-tokens=false: %d, want 404", status)
	}
}

func TestMachineCredentialsAreStable(t *testing.T) {
	id1, secret1 := m2mCredentials("reporter")
	id2, secret2 := m2mCredentials("reporter")
	id3, secret3 := m2mCredentials("ops")
	if id1 != id2 || secret1 != secret2 {
		t.Error("the same name gave other credentials")
	}
	if id1 == id3 || secret1 == secret3 || len(id1) != 32 {
		t.Errorf("credentials %s/%s and %s/%s", id1, secret1, id3, secret3)
	}
}

func httpStatus(t *testing.T, target string) (int, string) {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func httpGet(t *testing.T, target string) string {
	t.Helper()
	status, body := httpStatus(t, target)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, status, body)
	}
	return body
}
