package conformance

import (
	"bytes"
	"log"
	"log/slog"
	"net/http"
	"testing"

	kinde "github.com/gokinde/kinde/core"
)

// How the front ends hand refusals to the application, where the session is
// found besides SessionFrom, and what a guard does without the session
// middleware.
func init() {
	scenarios = append(scenarios,
		scenario{"session under the context key", testContextKey},
		scenario{"refusal through an error handler that returns nil", testRefusalIgnored},
		scenario{"guard without the session middleware answers 500", testWithoutMiddleware},
	)
}

// testContextKey: logging, rate-limit or policy middleware finds the user
// under the front end's documented key, for a session cookie and for a
// bearer token.
func testContextKey(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false)
	f.wantMe(f.browser().get(PathKey, api), Me{})
	f.wantMe(f.user(f.alice.ID, "").get(PathKey, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
	r := f.browser().get(PathAPIKey, api, "Authorization", "Bearer "+f.bearer(f.bob, Audience))
	f.wantMe(r, f.me(f.bob, OrgCode, []string{APIPermission}, "member"))
}

// testRefusalIgnored: an error handler that returns nil without writing
// (echo-jwt's ContinueOnIgnoredError trap, or a Fiber ErrorHandler that
// swallows errors) neither lets the request through nor turns it into a
// 200; a redirect to sign-in is an answer, not an error, and is unaffected.
func testRefusalIgnored(t *testing.T, start Start) {
	f := setup(t, start, kinde.Paths{}, false, func(a *App) { a.Refusals = RefusalsIgnored })
	refused := func(r *response, status int, challenge string) {
		t.Helper()
		if r.status != status || bytes.Contains(r.body, []byte(`"signed_in"`)) {
			t.Errorf("status %d, want %d without the page; body %s", r.status, status, r.body)
		}
		if got := r.header.Get("WWW-Authenticate"); got != challenge {
			t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
		}
	}
	refused(f.browser().get(PathProtected, api), http.StatusUnauthorized, f.realm())
	refused(f.browser().get(PathAPI, api), http.StatusUnauthorized, f.realm())
	refused(f.browser().get(PathAPI, api, "Authorization", "Basic YWxpY2U6c2VjcmV0"), http.StatusBadRequest,
		f.realm()+`, error="invalid_request"`)
	refused(f.user(f.bob.ID, "").get(PathAdmin, api), http.StatusForbidden, f.realm()+`, error="insufficient_scope"`)
	refused(f.browser().get(PathAPI, api, "Authorization", "Bearer "+f.bearer(f.carol, Audience)), http.StatusForbidden,
		f.realm()+`, error="insufficient_scope"`)
	f.wantRedirect(f.browser().get(PathProtected, navigation), f.loginURL(PathProtected))
	f.wantMe(f.user(f.alice.ID, "").get(PathAdmin, api), f.me(f.alice, OrgCode, []string{Permission, APIPermission}, Role))
}

// testWithoutMiddleware: a guard whose request did not pass through the
// session middleware cannot tell a signed-out user from a missing
// middleware; it answers 500 on every request (and logs the fix), and the
// server keeps serving.
func testWithoutMiddleware(t *testing.T, start Start) {
	// Adapters log the fix with slog's default logger (the guards know no
	// *kinde.Web): keep it out of the test output. Run is never parallel.
	defer setDefaultLogger(slog.New(slog.DiscardHandler))()
	f := setup(t, start, kinde.Paths{}, false, func(a *App) { a.WithoutMiddleware = true })
	b := f.browser()
	for range 2 {
		for _, path := range []string{PathProtected, PathAdmin, PathCustom} {
			for _, k := range []kind{api, navigation} {
				if r := b.get(path, k); r.status != http.StatusInternalServerError {
					t.Errorf("GET %s without the middleware: %d, want 500; body %s", path, r.status, r.body)
				}
			}
		}
	}
	f.wantMe(b.get(PathMe, api), Me{})
}

// setDefaultLogger makes l slog's default logger and returns the function
// that restores the previous one, and the log package's output, which
// slog.SetDefault redirects.
func setDefaultLogger(l *slog.Logger) (restore func()) {
	prev, out, flags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(l)
	return func() {
		slog.SetDefault(prev)
		log.SetOutput(out)
		log.SetFlags(flags)
	}
}
