package kindegrpc_test

import (
	"context"
	"fmt"
	"log"
	"net"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	kindegrpc "github.com/gokinde/kinde/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// A gRPC service protected by Kinde access tokens, configured only by the
// Kinde domain and the API's audience (in production: KINDE_DOMAIN and
// KINDE_AUDIENCE with kinde.NewWeb(kinde.ResourceServer())). Here the
// emulator stands in for Kinde and gRPC's health service for the API.
func ExampleNewInterceptor() {
	emu := kindetest.NewServer()
	defer emu.Close()
	const api = "https://todos.example.com"
	emu.AddAPI(api, "read:todos")

	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: emu.URL(), Audience: []string{api}}))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := kindegrpc.NewInterceptor(web,
		kindegrpc.WithRule("/grpc.health.v1.Health/", kinde.RulePermissionsOrScopes("read:todos")),
		kindegrpc.WithPublicMethods("/grpc.reflection.v1.ServerReflection/"),
	)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary()), grpc.ChainStreamInterceptor(auth.Stream()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	conn, stop := serveInMemory(srv)
	defer stop()
	client := healthpb.NewHealthClient(conn)

	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())

	worker := emu.AddClient(kindetest.Client{Type: "m2m"})
	if err := emu.AuthorizeM2M(worker.ID, api, "read:todos"); err != nil {
		log.Fatal(err)
	}
	tok, err := emu.IssueM2MToken(worker.ID, api)
	if err != nil {
		log.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok.AccessToken)
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	// Output:
	// Unauthenticated missing access token: send the metadata "authorization: Bearer <access token>"
	// SERVING <nil>
}

// A service calls another with a machine-to-machine token: core's token
// source asks Kinde for it once, caches it and renews it before it expires.
func ExamplePerRPCCredentials() {
	emu := kindetest.NewServer()
	defer emu.Close()
	const api = "https://todos.example.com"
	emu.AddAPI(api, "read:todos")
	worker := emu.AddClient(kindetest.Client{Type: "m2m"})
	if err := emu.AuthorizeM2M(worker.ID, api, "read:todos"); err != nil {
		log.Fatal(err)
	}

	// The called service.
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: emu.URL(), Audience: []string{api}}))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := kindegrpc.NewInterceptor(web, kindegrpc.WithDefaultRule(kinde.RuleScopes("read:todos")))
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary()), grpc.ChainStreamInterceptor(auth.Stream()))
	healthpb.RegisterHealthServer(srv, health.NewServer())

	// The caller: KINDE_DOMAIN and its machine-to-machine application's
	// KINDE_CLIENT_ID and KINDE_CLIENT_SECRET in production.
	kc, err := kinde.New(kinde.Config{Domain: emu.URL(), ClientID: worker.ID, ClientSecret: worker.Secret})
	if err != nil {
		log.Fatal(err)
	}
	creds := kindegrpc.PerRPCCredentials(kc.ClientCredentialsTokenSource(api),
		kindegrpc.AllowInsecureTransport()) // in-memory connection; use TLS across a network
	conn, stop := serveInMemory(srv, grpc.WithPerRPCCredentials(creds))
	defer stop()

	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	// Output:
	// SERVING <nil>
}

// serveInMemory serves srv on an in-memory listener and returns a client
// connection to it and the function that stops both.
func serveInMemory(srv *grpc.Server, opts ...grpc.DialOption) (*grpc.ClientConn, func()) {
	lis := bufconn.Listen(1 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		log.Fatal(err)
	}
	return conn, func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	}
}
