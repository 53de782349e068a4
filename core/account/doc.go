// Package account calls Kinde's Account API for a signed-in user: billing
// entitlements and plans, the self-serve portal link, the user profile, token
// introspection, and the user's permissions, roles, feature flags and
// properties as Kinde sees them now (the token helpers of *kinde.Session read
// the claims instead, which are as old as the access token).
//
// Build a Client from the application's *kinde.Client and the user's
// *kinde.Session; it is cheap, so make one per request or keep one per
// session:
//
//	acct := account.New(client, sess)
//	for e, err := range acct.Entitlements(ctx) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(e.FeatureKey)
//	}
//
// Every call authenticates with the session's access token and goes to the
// Kinde domain that issued it. When that token has expired, the call first
// refreshes the session in place (kinde.Session.Refresh) if it holds a
// refresh token; store sess.Tokens() afterwards, as after any refresh. With
// no refresh token, or when the refresh fails, the call fails with an error
// that matches kinde.ErrUnauthenticated.
//
// Replies that are not a success are returned as *Error, which errors.Is
// matches against kinde.ErrUnauthenticated, kinde.ErrForbidden and
// kinde.ErrRateLimited.
//
// Roles: Kinde puts the roles claim into access tokens only when the
// application's token customization turns it on, so kinde.Session.Roles may
// be empty although the user holds roles. Client.Roles asks the Account API
// instead, and Client.RolesFromTokenOrAPI reads the claim when the token has
// one and asks the API otherwise.
package account
