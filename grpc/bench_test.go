package kindegrpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	kindegrpc "github.com/gokinde/kinde/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// benchPool is how many distinct tokens the cold benchmarks cycle through,
// as in the repository's bench/ module (docs/performance.md).
const benchPool = 256

// BenchmarkUnaryInterceptor is the unary interceptor in process, no
// network, with the method of docs/performance.md: the tokens of a user
// with 62 permissions (about 4 KB), "hot" re-sends one token (the verified
// token cache answers), "cold" cycles through 256 distinct tokens with the
// cache switched off. "rule" adds a permission rule to the hot path.
func BenchmarkUnaryInterceptor(b *testing.B) {
	srv := kindetest.Start(b, kindetest.WithNow(time.Now()))
	user := srv.AddUser(kindetest.User{Email: "bench@example.com"})
	org := srv.AddOrganization(kindetest.Organization{Name: "Bench"})
	perms := []string{"read:todos", "create:todos"}
	for i := range 60 {
		perms = append(perms, fmt.Sprintf("read:resource_%02d", i))
	}
	srv.AddRole(kindetest.Role{Key: "admin", Name: "Admin", Permissions: perms})
	if err := srv.AddMember(org.Code, user.ID, "admin"); err != nil {
		b.Fatal(err)
	}
	ctxs := make([]context.Context, benchPool)
	for i := range ctxs {
		tok, err := srv.IssueTokens(user.ID, kindetest.IssueOptions{Audience: []string{testAPI}})
		if err != nil {
			b.Fatal(err)
		}
		ctxs[i] = metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok.AccessToken))
	}
	info := &grpc.UnaryServerInfo{FullMethod: "/todo.v1.Todos/List"}
	handler := func(ctx context.Context, req any) (any, error) {
		if kinde.SessionFrom(ctx) == nil {
			return nil, fmt.Errorf("no session")
		}
		return req, nil
	}
	for _, mode := range []struct {
		name  string
		cache int
		ctx   func(i int) context.Context
		opts  []kindegrpc.Option
	}{
		{"hot", 0, func(int) context.Context { return ctxs[0] }, nil},
		{"hot+rule", 0, func(int) context.Context { return ctxs[0] }, []kindegrpc.Option{
			kindegrpc.WithRule("/todo.v1.Todos/List", kinde.RulePermissions("read:todos"))}},
		{"cold", -1, func(i int) context.Context { return ctxs[i%benchPool] }, nil},
	} {
		b.Run(mode.name, func(b *testing.B) {
			web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: srv.URL(), Audience: []string{testAPI},
				TokenCacheSize: mode.cache, Now: srv.Now}))
			if err != nil {
				b.Fatal(err)
			}
			auth, err := kindegrpc.NewInterceptor(web, mode.opts...)
			if err != nil {
				b.Fatal(err)
			}
			unary := auth.Unary()
			// Warm the key set so no iteration pays for the JWKS fetch.
			if _, err := unary(ctxs[0], nil, info, handler); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := unary(mode.ctx(i), nil, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
