package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// service is the example's handler in front of an emulator.
type service struct {
	emu *kindetest.Server
	url string
}

func newService(t *testing.T) *service {
	t.Helper()
	emu := kindetest.Start(t)
	emu.AddAPI(devAudience, ReadTodos, CreateTodos)
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: emu.URL(), Audience: []string{devAudience}}))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = newServer(newHandler(web)) // the program's server: HTTP/1.1 and h2c
	ts.Start()
	t.Cleanup(ts.Close)
	return &service{emu: emu, url: ts.URL}
}

// machine returns an HTTP client that sends the tokens of a new
// machine-to-machine application granted scopes, obtained from the
// emulator through core's cached token source, and the application's ID.
func (s *service) machine(t *testing.T, scopes ...string) (*http.Client, string) {
	t.Helper()
	app := s.emu.AddClient(kindetest.Client{Type: "m2m"})
	if err := s.emu.AuthorizeM2M(app.ID, devAudience, scopes...); err != nil {
		t.Fatal(err)
	}
	kc, err := kinde.New(kinde.Config{Domain: s.emu.URL(), ClientID: app.ID, ClientSecret: app.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &oauth2.Transport{Source: kc.ClientCredentialsTokenSource(devAudience)}}, app.ID
}

func (s *service) clients(hc *http.Client, opts ...connect.ClientOption) (*connect.Client[ListTodosRequest, ListTodosResponse], *connect.Client[AddTodoRequest, AddTodoResponse]) {
	opts = append(opts, connect.WithCodec(jsonCodec{}))
	return connect.NewClient[ListTodosRequest, ListTodosResponse](hc, s.url+ListTodosProcedure, opts...),
		connect.NewClient[AddTodoRequest, AddTodoResponse](hc, s.url+AddTodoProcedure, opts...)
}

// A machine calls the service with a token from Kinde (the emulator): its
// scopes decide what it may do, and callers without a valid token get
// CodeUnauthenticated.
func TestMachineCaller(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	writer, writerID := s.machine(t, ReadTodos, CreateTodos)
	list, add := s.clients(writer)
	added, err := add.CallUnary(ctx, connect.NewRequest(&AddTodoRequest{Title: "Ship it"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := added.Msg.Todo; got.Title != "Ship it" || got.Owner != writerID {
		t.Fatalf("added %+v, want the title and the machine's client ID %s as owner", got, writerID)
	}
	listed, err := list.CallUnary(ctx, connect.NewRequest(&ListTodosRequest{}))
	if err != nil || len(listed.Msg.Todos) != 1 {
		t.Fatalf("list: %+v, %v", listed, err)
	}
	if n := s.emu.Requests("/oauth2/token"); n != 1 {
		t.Fatalf("%d token requests for two calls, want 1 (core's token source caches)", n)
	}

	reader, _ := s.machine(t, ReadTodos)
	list, add = s.clients(reader)
	if _, err := list.CallUnary(ctx, connect.NewRequest(&ListTodosRequest{})); err != nil {
		t.Fatalf("reader lists: %v", err)
	}
	_, err = add.CallUnary(ctx, connect.NewRequest(&AddTodoRequest{Title: "No"}))
	wantCode(t, err, connect.CodePermissionDenied, `error="insufficient_scope", scope="create:todos"`)

	// The guards run before the handler; the handler validates the rest.
	_, add = s.clients(writer)
	_, err = add.CallUnary(ctx, connect.NewRequest(&AddTodoRequest{Title: " "}))
	wantCode(t, err, connect.CodeInvalidArgument, "")

	anonymous, _ := s.clients(http.DefaultClient)
	_, err = anonymous.CallUnary(ctx, connect.NewRequest(&ListTodosRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated, `Bearer realm="`+s.emu.URL()+`"`)
}

// Every kind of token an API-only service may be sent, with the code a
// Connect client gets: the API's whole configuration is the domain and the
// audience (issue "Protect APIs": "What it must show").
func TestTokens(t *testing.T) {
	s := newService(t)
	user := s.emu.AddUser(kindetest.User{Email: "carol@example.com"})
	s.emu.AddRole(kindetest.Role{Key: "reader", Permissions: []string{ReadTodos}})
	org := s.emu.AddOrganization(kindetest.Organization{Name: "Acme"})
	if err := s.emu.AddMember(org.Code, user.ID, "reader"); err != nil {
		t.Fatal(err)
	}
	issued, err := s.emu.IssueTokens(user.ID, kindetest.IssueOptions{Audience: []string{devAudience}, OrgCode: org.Code})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := s.emu.IssueTokens(user.ID, kindetest.IssueOptions{Audience: []string{"https://other.example.com"}, OrgCode: org.Code})
	if err != nil {
		t.Fatal(err)
	}
	expired := s.emu.AccessTokenClaims(user.ID, kindetest.IssueOptions{Audience: []string{devAudience}, OrgCode: org.Code})
	expired["exp"] = s.emu.Now().Add(-time.Hour).Unix()
	tests := []struct {
		name, token string
		code        connect.Code // 0 for success
		want        string       // in WWW-Authenticate
	}{
		{"user with the permission", issued.AccessToken, 0, ""},
		{"no token", "", connect.CodeUnauthenticated, `Bearer realm=`},
		{"expired", s.emu.Sign(expired, kindetest.Header{}), connect.CodeUnauthenticated, `error="invalid_token"`},
		{"another API's token", foreign.AccessToken, connect.CodeUnauthenticated, `error="invalid_token"`},
		{"ID token", issued.IDToken, connect.CodeUnauthenticated, `error="invalid_token"`},
		{"refresh token", issued.RefreshToken, connect.CodeUnauthenticated, `error="invalid_token"`},
	}
	for _, proto := range []struct {
		name string
		opts []connect.ClientOption
		hc   *http.Client
	}{
		{"connect", nil, http.DefaultClient},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}, h2cClient()},
	} {
		list, _ := s.clients(proto.hc, proto.opts...)
		for _, tt := range tests {
			t.Run(proto.name+"/"+tt.name, func(t *testing.T) {
				req := connect.NewRequest(&ListTodosRequest{})
				if tt.token != "" {
					req.Header().Set("Authorization", "Bearer "+tt.token)
				}
				_, err := list.CallUnary(t.Context(), req)
				if tt.code == 0 {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				// gRPC clients read only the HTTP status of a refusal.
				if proto.name == "grpc" {
					tt.want = ""
				}
				wantCode(t, err, tt.code, tt.want)
			})
		}
	}
}

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do on loopback.
func h2cClient() *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// wantCode fails t unless err is a Connect error with code whose
// WWW-Authenticate contains challenge.
func wantCode(t *testing.T, err error, code connect.Code, challenge string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		t.Fatalf("err = %v, want code %v", err, code)
	}
	if got := ce.Meta().Get("WWW-Authenticate"); !strings.Contains(got, challenge) {
		t.Fatalf("WWW-Authenticate %q, want it to contain %q", got, challenge)
	}
}

// The program runs against the embedded emulator, as `go run
// ./examples/connect` does without KINDE_DOMAIN, and the commands it prints
// work: the client credentials it names get a token the service accepts.
func TestRunAgainstEmulator(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, func(string) string { return "" }, pw)
		pw.Close()
	}()
	help := readUntil(t, bufio.NewReader(pr), ListTodosProcedure)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	m := regexp.MustCompile(`client ID (\S+), client secret (\S+)`).FindStringSubmatch(help)
	domain := regexp.MustCompile(`emulator at (\S+)`).FindStringSubmatch(help)
	if m == nil || domain == nil {
		t.Fatalf("the help names no client credentials or emulator:\n%s", help)
	}
	kc, err := kinde.New(kinde.Config{Domain: domain[1], ClientID: m[1], ClientSecret: m[2]})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &oauth2.Transport{Source: kc.ClientCredentialsTokenSource(devAudience)}}
	s := &service{url: "http://" + ln.Addr().String()}
	list, add := s.clients(hc)
	if _, err := add.CallUnary(ctx, connect.NewRequest(&AddTodoRequest{Title: "Ship it"})); err != nil {
		t.Fatal(err)
	}
	got, err := list.CallUnary(ctx, connect.NewRequest(&ListTodosRequest{}))
	if err != nil || len(got.Msg.Todos) != 1 {
		t.Fatalf("list: %+v, %v", got, err)
	}
	hc.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// With real Kinde, a missing audience stops the program with the fix.
func TestRunNeedsAudience(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KINDE_DOMAIN": "https://example.kinde.com"}
	err = run(t.Context(), ln, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "KINDE_AUDIENCE") {
		t.Fatalf("err = %v, want it to name KINDE_AUDIENCE", err)
	}
}

// readUntil reads lines until one contains marker and returns them.
func readUntil(t *testing.T, r *bufio.Reader, marker string) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if strings.Contains(line, marker) {
			return b.String()
		}
		if err != nil {
			t.Fatalf("output ended before %q: %v\n%s", marker, err, b.String())
		}
	}
}
