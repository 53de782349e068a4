// Package kinde is the core of Kinde for Go: it signs users in with Kinde
// (OAuth 2.0 authorization code with PKCE, OpenID Connect), verifies Kinde's
// tokens, reads their claims, and keeps web sessions. It imports no web
// framework; the modules github.com/gokinde/kinde/gin, /echo and /fiber plug
// it into Gin, Echo and Fiber, and net/http is served from here.
//
// # Client
//
// A [Client] talks to one Kinde domain. Create it once, from a [Config] or
// from the KINDE_* environment variables ([ConfigFromEnv]):
//
//	client, err := kinde.New(kinde.ConfigFromEnv())
//
// Its methods build sign-in and sign-out URLs ([Client.AuthURL],
// [Client.LogoutURL]), exchange and refresh tokens ([Client.ExchangeCode],
// [Client.Refresh]), get machine-to-machine tokens
// ([Client.ClientCredentials], [Client.ClientCredentialsTokenSource]),
// run the device flow for command-line tools ([Client.StartDeviceAuth])
// and verify tokens ([Client.VerifyAccessToken], [Client.VerifyIDToken]).
// Package github.com/gokinde/kinde/core/webhook receives Kinde's webhooks
// with a Client.
//
// # Session
//
// A [Session] is one user's verified tokens with helpers for what they hold:
// [Session.User], [Session.Organization], [Session.Permissions],
// [Session.Roles], feature flags ([Session.Flag], [Session.BoolFlag], …).
// Get one from [Client.Session], or in a web handler from [SessionFrom]
// (net/http) or the adapter's SessionFrom. Package
// github.com/gokinde/kinde/core/account calls Kinde's Account API with the
// session's access token (entitlements, the self-serve portal, the profile,
// roles and permissions as Kinde sees them now).
//
// # Web
//
// [NewWeb] returns the web layer every adapter shares: the routes
// /api/auth/login, /register, /create_org, /kinde_callback, /logout and
// /switch_org, sessions in encrypted cookies or a server-side [Store]
// ([NewMemoryStore], github.com/gokinde/kinde/redisstore), automatic refresh,
// and guards for pages and APIs. For net/http:
//
//	web, err := kinde.NewWeb() // reads the KINDE_* variables
//	mux.Handle("/api/auth/", web.Handler())
//	mux.Handle("GET /dashboard", web.RequireAuth()(dashboard))
//	mux.Handle("GET /api/todos", web.RequireBearer()(web.RequirePermission("read:todos")(todos)))
//	http.ListenAndServe(":8080", web.Middleware(mux))
//
// Errors are typed: [ConfigError] names the setting and its environment
// variable, [TokenError] carries Kinde's OAuth error, [VerifyError] says why
// a token was refused; the sentinel errors (ErrInvalidGrant,
// ErrTokenExpired, ErrSessionTooLarge, …) work with errors.Is.
//
// The package kindetest (github.com/gokinde/kinde/core/kindetest) is an
// in-process Kinde emulator for tests.
package kinde
