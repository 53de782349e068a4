// Package browser holds the end-to-end tests of the starter apps in
// examples/: each starter is built with `go build`, run as a program with
// PORT=0 (it then signs in against its built-in Kinde emulator), and driven
// in headless Chromium through sign-in, the dashboard, the admin page and
// sign-out, for an admin and for a member; its todo API is called with real
// access tokens.
//
// The tests need Chromium (apt-get install chromium) and fail without it;
// CHROMIUM_BIN overrides the browser to use. Screenshots of the pages are written to
// testout/screenshots/ at the repository root.
package browser
