package kindegrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	kindegrpc "github.com/gokinde/kinde/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// testAPI is the audience of the API the tests protect.
const testAPI = "https://todos.example.com"

// todoMethods are the unary methods of the hand-written test service
// todo.v1.Todos (no generated code): each answers with the caller's subject.
var todoMethods = []string{"List", "Delete", "Write", "Admin", "Acme", "Beta", "Custom", "Other"}

// todoServer is the handler type of the test service.
type todoServer interface{ isTodoServer() }

type todos struct{}

func (todos) isTodoServer() {}

// whoami answers with the caller the interceptor attached, read with both
// accessors, which must agree: the user's ID, or the client ID (azp) of a
// machine-to-machine token, which has no user.
func whoami(ctx context.Context) (*wrapperspb.StringValue, error) {
	s := kindegrpc.SessionFrom(ctx)
	if s == nil || s != kinde.SessionFrom(ctx) {
		return nil, status.Error(codes.Internal, "the handler's context has no session")
	}
	if id := s.UserID(); id != "" {
		return wrapperspb.String(id), nil
	}
	return wrapperspb.String(s.AccessClaims().AuthorizedParty), nil
}

// todoDesc describes todo.v1.Todos: the unary methods above and a
// server-streaming Watch that sends the caller's subject three times.
var todoDesc = func() grpc.ServiceDesc {
	d := grpc.ServiceDesc{ServiceName: "todo.v1.Todos", HandlerType: (*todoServer)(nil)}
	for _, name := range todoMethods {
		d.Methods = append(d.Methods, grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return whoami(ctx) }
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/todo.v1.Todos/" + name}, h)
		}})
	}
	d.Streams = []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: func(_ any, stream grpc.ServerStream) error {
		in := new(wrapperspb.StringValue)
		if err := stream.RecvMsg(in); err != nil {
			return err
		}
		for range 3 {
			who, err := whoami(stream.Context())
			if err != nil {
				return err
			}
			if err := stream.SendMsg(who); err != nil {
				return err
			}
		}
		return nil
	}}}
	return d
}()

// fixture is an emulator with users, an API and a machine client, and a
// gRPC server on an in-memory connection protected by the interceptor.
type fixture struct {
	srv          *kindetest.Server
	web          *kinde.Web
	lis          *bufconn.Listener
	conn         *grpc.ClientConn
	alice, bob   kindetest.User // alice is an admin of acme, bob a member
	acme         kindetest.Organization
	m2m          kindetest.Client // granted read:todos on testAPI
	aliceToken   string
	bobToken     string
	machineToken string
}

// newEmulator registers the API, two users with roles in one organization
// and a machine-to-machine client.
func newEmulator(t testing.TB, f *fixture) {
	t.Helper()
	// Roles in access tokens are a token customization in Kinde
	// (kinde-oss/documentation build/tokens/token-customization.mdx).
	f.srv = kindetest.Start(t, kindetest.WithTokenCustomization(kindetest.TokenCustomization{Roles: true}))
	f.srv.AddAPI(testAPI, "read:todos", "write:todos")
	f.acme = f.srv.AddOrganization(kindetest.Organization{Name: "Acme"})
	f.srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: []string{"read:todos", "delete:todos"}})
	f.srv.AddRole(kindetest.Role{Key: "member", Name: "Member", Permissions: []string{"read:todos"}})
	f.alice = f.srv.AddUser(kindetest.User{Email: "alice@example.com"})
	f.bob = f.srv.AddUser(kindetest.User{Email: "bob@example.com"})
	for _, m := range []struct {
		user, role string
	}{{f.alice.ID, "admin"}, {f.bob.ID, "member"}} {
		if err := f.srv.AddMember(f.acme.Code, m.user, m.role); err != nil {
			t.Fatal(err)
		}
	}
	f.m2m = f.srv.AddClient(kindetest.Client{Type: "m2m", Name: "worker"})
	if err := f.srv.AuthorizeM2M(f.m2m.ID, testAPI, "read:todos"); err != nil {
		t.Fatal(err)
	}
	f.aliceToken = f.userToken(t, f.alice.ID, testAPI)
	f.bobToken = f.userToken(t, f.bob.ID, testAPI)
	m, err := f.srv.IssueM2MToken(f.m2m.ID, testAPI)
	if err != nil {
		t.Fatal(err)
	}
	f.machineToken = m.AccessToken
}

func (f *fixture) userToken(t testing.TB, userID string, audience ...string) string {
	t.Helper()
	tok, err := f.srv.IssueTokens(userID, kindetest.IssueOptions{Audience: audience, OrgCode: f.acme.Code})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// newFixture starts the emulator and a gRPC server whose interceptor is
// built from a ResourceServer configured only by KINDE_DOMAIN and
// KINDE_AUDIENCE, with opts.
func newFixture(t *testing.T, opts ...kindegrpc.Option) *fixture {
	t.Helper()
	f := &fixture{}
	newEmulator(t, f)
	t.Setenv("KINDE_DOMAIN", f.srv.URL())
	t.Setenv("KINDE_AUDIENCE", testAPI)
	web, err := kinde.NewWeb(kinde.ResourceServer())
	if err != nil {
		t.Fatal(err)
	}
	f.web = web
	auth, err := kindegrpc.NewInterceptor(web, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.serve(t, nil, grpc.ChainUnaryInterceptor(auth.Unary()), grpc.ChainStreamInterceptor(auth.Stream()))
	f.conn = f.dial(t, grpc.WithTransportCredentials(insecure.NewCredentials()))
	return f
}

// serve starts a gRPC server with the test service and the health service
// on an in-memory listener; creds, when not nil, are its transport
// credentials.
func (f *fixture) serve(t testing.TB, creds credentials.TransportCredentials, opts ...grpc.ServerOption) {
	t.Helper()
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	s := grpc.NewServer(opts...)
	s.RegisterService(&todoDesc, todos{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	f.lis = bufconn.Listen(1 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(f.lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
}

// dial connects to the fixture's server.
func (f *fixture) dial(t testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return f.lis.DialContext(ctx) }))
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// call invokes a unary method of todo.v1.Todos with the authorization
// metadata values given (none, one or several) and returns the subject the
// handler saw.
func call(ctx context.Context, conn *grpc.ClientConn, method string, authorization ...string) (string, error) {
	for _, a := range authorization {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	out := new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, "/todo.v1.Todos/"+method, wrapperspb.String("hi"), out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// invokeWith invokes todo.v1.Todos/List with call options and returns the
// subject the handler saw.
func invokeWith(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := conn.Invoke(ctx, "/todo.v1.Todos/List", wrapperspb.String("hi"), out, opts...); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// watch opens todo.v1.Todos/Watch and reads the whole stream.
func watch(ctx context.Context, conn *grpc.ClientConn, authorization string) ([]string, error) {
	if authorization != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
	}
	stream, err := conn.NewStream(ctx, &todoDesc.Streams[0], "/todo.v1.Todos/Watch")
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(wrapperspb.String("hi")); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	var got []string
	for {
		out := new(wrapperspb.StringValue)
		if err := stream.RecvMsg(out); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		got = append(got, out.GetValue())
	}
}

// wantStatus fails t unless err has code and a message containing want,
// and makes sure the message does not echo a token.
func wantStatus(t *testing.T, err error, code codes.Code, want string, tokens ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("code %v (%v), want %v", st.Code(), err, code)
	}
	if !strings.Contains(st.Message(), want) {
		t.Fatalf("message %q, want it to contain %q", st.Message(), want)
	}
	for _, tok := range tokens {
		if len(tok) > 16 && strings.Contains(st.Message(), tok[len(tok)-16:]) {
			t.Fatalf("message %q echoes the token", st.Message())
		}
	}
}

// withAuth returns ctx with the authorization metadata a.
func withAuth(ctx context.Context, a string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", a)
}
