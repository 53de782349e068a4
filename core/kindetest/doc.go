// Package kindetest is an in-process emulator of Kinde for tests: a strict
// OAuth 2.0 / OpenID Connect provider with Kinde's endpoints, token claims,
// Account API and a subset of the Management API.
//
// Start one per test with Start (or NewServer and Close), add users,
// organizations, roles and flags, and point the code under test at URL():
//
//	srv := kindetest.Start(t)
//	alice := srv.AddUser(kindetest.User{Email: "alice@example.com"})
//	srv.AllowRedirectURI(kindetest.DefaultClientID, "http://localhost/callback")
//	srv.SignInAs(alice.ID) // sign-ins complete without a browser
//
// The emulator rejects what Kinde rejects: redirect URIs match exactly,
// authorization codes are single-use and bound to client, redirect URI and
// PKCE (S256 only), clients authenticate with client_secret_post (HTTP Basic
// is refused), refresh tokens rotate with a 30 second grace period, and M2M
// clients only get audiences and scopes they were authorised for.
//
// Tokens carry Kinde's default claims. Claims Kinde adds only when an
// application's token customization turns them on (roles, org_name, the
// access token's email, properties, the ID token's organizations) stay out
// unless a test turns them on with WithTokenCustomization; SeedDemo turns
// on what its demo dashboard shows.
//
// Served endpoints: /.well-known/openid-configuration, /.well-known/jwks
// (and jwks.json), /oauth2/auth (+ a sign-in page), /oauth2/token (all four
// grants), /oauth2/device/auth and /device, /oauth2/v2/user_profile,
// /oauth2/introspect, /oauth2/revoke, /logout, /account_api/v1/... and
// /api/v1/... (users, organizations, organization users and roles, roles,
// permissions, feature flags). WithDevTokens adds GET /dev/token, which is
// not Kinde's: it hands out a user's access token for trying an API locally.
//
// Choices where Kinde's behaviour is not documented:
//   - An authorize request with org_code for an org the user does not belong
//     to redirects with error=access_denied (unless prompt=create, which
//     joins the user to it); an unknown org_code gives error=invalid_request.
//   - Unknown scopes are dropped silently (as Kinde does with offline_access);
//     audiences requested at /oauth2/auth are not checked against AddAPI.
//   - GET /account_api/v1/permission/{key} answers
//     {"permissionKey","orgCode","isGranted"} at the top level, the shape
//     js-utils' getPermission reads (the route is not in Kinde's spec).
//   - Missing bearer tokens on the Account and Management APIs get 401;
//     invalid tokens get 403 INVALID_CREDENTIALS; a missing management scope
//     gets 403 INSUFFICIENT_SCOPE.
//   - Revoking a refresh token revokes every refresh token of that sign-in.
//
// Time is the emulator's own clock (SetNow, Advance), so expiry and grace
// periods are tested without sleeping. Faults (SetFault) inject errors,
// delays and dropped connections per endpoint; Requests counts calls.
package kindetest
