package kindegrpc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
	kindegrpc "github.com/gokinde/kinde/grpc"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// newTLSFixture is newFixture over TLS with a certificate for "bufnet"
// made for the test; it returns the client's transport credentials.
func newTLSFixture(t *testing.T, opts ...kindegrpc.Option) (*fixture, credentials.TransportCredentials) {
	t.Helper()
	f := &fixture{}
	newEmulator(t, f)
	web, err := kinde.NewWeb(kinde.ResourceServer(), kinde.WithConfig(kinde.Config{Domain: f.srv.URL(), Audience: []string{testAPI}}))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := kindegrpc.NewInterceptor(web, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t, "bufnet")
	f.serve(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}),
		grpc.ChainUnaryInterceptor(auth.Unary()), grpc.ChainStreamInterceptor(auth.Stream()))
	return f, credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "bufnet", MinVersion: tls.VersionTLS13})
}

// selfSigned returns a certificate for host and a pool that trusts it.
func selfSigned(t *testing.T, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// A service calls another with a machine-to-machine token that core's token
// source gets from Kinde (the emulator) and caches: one token request for
// many calls, unary and streaming, over TLS with the default settings.
func TestPerRPCCredentialsMachineToMachine(t *testing.T) {
	f, tlsCreds := newTLSFixture(t, kindegrpc.WithRule("/todo.v1.Todos/", kinde.RuleScopes("read:todos")))
	client, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.m2m.ID, ClientSecret: f.m2m.Secret})
	if err != nil {
		t.Fatal(err)
	}
	creds := kindegrpc.PerRPCCredentials(client.ClientCredentialsTokenSource(testAPI))
	if !creds.RequireTransportSecurity() {
		t.Fatal("the credentials do not require transport security by default")
	}
	conn := f.dial(t, grpc.WithTransportCredentials(tlsCreds), grpc.WithPerRPCCredentials(creds))
	f.srv.ResetRequests()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := call(t.Context(), conn, "List")
			if err == nil && got != f.m2m.ID {
				t.Errorf("the server saw %q, want the machine client %q", got, f.m2m.ID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := watch(t.Context(), conn, "")
	if err != nil || len(got) != 3 || got[0] != f.m2m.ID {
		t.Fatalf("stream: %q, %v", got, err)
	}
	if n := f.srv.Requests("/oauth2/token"); n != 1 {
		t.Fatalf("%d token requests for 9 calls, want 1 (the token source caches)", n)
	}
}

// The credentials attach per call too (grpc.PerRPCCredentials), and a
// connection without them is refused by the server.
func TestPerRPCCredentialsPerCall(t *testing.T) {
	f, tlsCreds := newTLSFixture(t)
	conn := f.dial(t, grpc.WithTransportCredentials(tlsCreds))
	_, err := call(t.Context(), conn, "List")
	wantStatus(t, err, codes.Unauthenticated, "missing access token")
	src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.bobToken, TokenType: "bearer"})
	who, err := invokeWith(t.Context(), conn, grpc.PerRPCCredentials(kindegrpc.PerRPCCredentials(src)))
	if err != nil || who != f.bob.ID {
		t.Fatalf("got %q, %v; want %q", who, err, f.bob.ID)
	}
}

// Bearer tokens never travel over an insecure connection unless the
// program says so with AllowInsecureTransport (loopback, tests).
func TestPerRPCCredentialsTransportSecurity(t *testing.T) {
	f := newFixture(t)
	src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.aliceToken, TokenType: "bearer"})

	// On a connection, grpc refuses to build it.
	_, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(kindegrpc.PerRPCCredentials(src)))
	if err == nil || !strings.Contains(err.Error(), "require transport level security") {
		t.Fatalf("NewClient: err = %v, want a refusal to send credentials without transport security", err)
	}
	// Per call too.
	_, err = invokeWith(t.Context(), f.conn, grpc.PerRPCCredentials(kindegrpc.PerRPCCredentials(src)))
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "insecure connection") {
		t.Fatalf("err = %v, want Unauthenticated: cannot send credentials on an insecure connection", err)
	}

	creds := kindegrpc.PerRPCCredentials(src, kindegrpc.AllowInsecureTransport())
	if creds.RequireTransportSecurity() {
		t.Fatal("AllowInsecureTransport still requires transport security")
	}
	insecureConn := f.dial(t, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
	if got, err := call(t.Context(), insecureConn, "List"); err != nil || got != f.alice.ID {
		t.Fatalf("got %q, %v; want %q", got, err, f.alice.ID)
	}
}

// A token that cannot be had fails the call before it is sent:
// Unauthenticated when the setup is wrong, Unavailable when Kinde is.
func TestPerRPCCredentialsErrors(t *testing.T) {
	f := newFixture(t)
	newClient := func(secret string) *kinde.Client {
		c, err := kinde.New(kinde.Config{Domain: f.srv.URL(), ClientID: f.m2m.ID, ClientSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name  string
		src   oauth2.TokenSource
		fault bool
		code  codes.Code
		want  string
	}{
		{"nil token source", nil, false, codes.Unauthenticated, "no token source"},
		{"wrong client secret", newClient("wrong").ClientCredentialsTokenSource(testAPI), false, codes.Unauthenticated, "invalid_client"},
		{"no client secret", newClient("").ClientCredentialsTokenSource(testAPI), false, codes.Unauthenticated, "KINDE_MANAGEMENT_CLIENT_SECRET"},
		{"API not authorized for the client", newClient(f.m2m.Secret).ClientCredentialsTokenSource("https://other.example.com"), false, codes.Unauthenticated, "unauthorized_client"},
		{"Kinde unavailable", newClient(f.m2m.Secret).ClientCredentialsTokenSource(testAPI), true, codes.Unavailable, "getting an access token"},
		{"empty token", oauth2.StaticTokenSource(&oauth2.Token{}), false, codes.Unauthenticated, "no access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault {
				f.srv.SetFault("/oauth2/token", kindetest.Fault{Status: 503})
				defer f.srv.ClearFault("/oauth2/token")
			}
			_, err := invokeWith(t.Context(), f.conn, grpc.PerRPCCredentials(kindegrpc.PerRPCCredentials(tt.src, kindegrpc.AllowInsecureTransport())))
			wantStatus(t, err, tt.code, tt.want)
		})
	}
}
