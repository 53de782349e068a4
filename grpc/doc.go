// Package kindegrpc protects gRPC services with Kinde access tokens and
// lets gRPC clients send them.
//
// # Servers
//
// A service that only checks tokens is configured with the Kinde domain and
// its API's audience (KINDE_DOMAIN and KINDE_AUDIENCE, or kinde.WithConfig):
//
//	web, err := kinde.NewWeb(kinde.ResourceServer())
//	if err != nil {
//		log.Fatal(err) // names the missing setting
//	}
//	auth, err := kindegrpc.NewInterceptor(web,
//		kindegrpc.WithRule("/todo.v1.Todos/Delete", kinde.RulePermissions("delete:todos")),
//		kindegrpc.WithRule("/todo.v1.Todos/", kinde.RulePermissionsOrScopes("read:todos")),
//		kindegrpc.WithPublicMethods("/grpc.health.v1.Health/"),
//	)
//	if err != nil {
//		log.Fatal(err)
//	}
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(auth.Unary()),
//		grpc.ChainStreamInterceptor(auth.Stream()),
//	)
//
// Every call must carry the metadata "authorization: Bearer <access token>".
// The token is verified as core's RequireBearer verifies it (signature by a
// key of the domain's JWKS, issuer, expiry, the web's audience; ID and
// refresh tokens refused), then the rules of the method apply: the rules
// given for the full method name, else those given for its service, else
// the default rules (WithDefaultRule; none by default, so any valid token
// passes). Handlers read the caller with SessionFrom(ctx), or
// kinde.SessionFrom(ctx), which returns the same session.
//
// Refusals are gRPC status errors whose message says what to send or what
// is missing, and never contains the token:
//
//   - codes.Unauthenticated: no authorization metadata, a value that is not
//     "Bearer <token>", or a token that is not a valid access token for this
//     API (expired, another audience, another issuer, a bad signature, an ID
//     or refresh token);
//   - codes.PermissionDenied: a valid token that does not meet the method's
//     rules (the message names the rule, e.g. `this request needs
//     permissions "delete:todos"`);
//   - codes.Unavailable: Kinde's signing keys could not be fetched to verify
//     the token (retry later).
//
// Mistakes in the setup (a nil or unusable *kinde.Web, an empty or
// malformed method name, a zero kinde.Rule, a method that is both public
// and ruled) make NewInterceptor return an error, never a per-call failure.
//
// # Clients
//
// PerRPCCredentials attaches "Bearer <token>" from an oauth2.TokenSource to
// every call. For service-to-service calls, use core's cached, self-renewing
// machine-to-machine source:
//
//	client, err := kinde.New(kinde.ConfigFromEnv()) // KINDE_DOMAIN and the M2M app's ID and secret
//	creds := kindegrpc.PerRPCCredentials(client.ClientCredentialsTokenSource("https://todos.example.com"))
//	conn, err := grpc.NewClient(addr,
//		grpc.WithTransportCredentials(credentials.NewTLS(nil)),
//		grpc.WithPerRPCCredentials(creds))
//
// The credentials require a secure transport, as bearer tokens must not
// travel in clear text; AllowInsecureTransport lifts that for loopback
// connections and tests.
package kindegrpc
