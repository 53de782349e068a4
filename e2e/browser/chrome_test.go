package browser

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findChromium returns the browser to drive: $CHROMIUM_BIN, else chromium
// on PATH. A missing browser fails the test: it is a requirement, not an
// option.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not on PATH: install chromium (apt-get install chromium), or set CHROMIUM_BIN to another Chromium")
	return ""
}

// browser is one headless Chromium with a fresh profile and one tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// stepTimeout bounds one step (a click and the page it leads to, say), so
// that a missing element fails the test soon, with the page it was not on.
const stepTimeout = 30 * time.Second

// newBrowser starts Chromium; it stops at the test's cleanup. Everything
// the browser does must finish within three minutes.
func newBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel() // waits for the browser to exit, before the profile is removed
		cancel()
	})
	// Start the browser now, with the long-lived context: a step's timeout
	// on the first call would stop the whole browser.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return &browser{t: t, ctx: bctx}
}

// do runs steps; when one fails the test ends, saying where the browser was.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fatal(what, err)
	}
}

// get runs one action that returns a value.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fatal(what, err)
	}
	return v
}

func (b *browser) fatal(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf("%s: %v\nbrowser at %s, page text:\n%s", what, err, loc, text)
}

// text returns the visible text of the element with id.
func (b *browser) text(id string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "read #"+id, chromedp.Text(chromedp.ID(id))))
}

// dataValues returns the values of the data attribute attr of the elements
// inside the element with id, in page order.
func (b *browser) dataValues(id, attr string) []string {
	b.t.Helper()
	js := `Array.from(document.querySelectorAll('#` + id + ` [data-` + attr + `]'), e => e.getAttribute('data-` + attr + `'))`
	return get(b, "read the "+attr+" values of #"+id, chromedp.Evaluate[[]string](js))
}

// flags returns the feature flags table of the dashboard: code → value.
func (b *browser) flags() map[string]string {
	b.t.Helper()
	js := `Object.fromEntries(Array.from(document.querySelectorAll('#flags tr[data-flag]'),
		r => [r.getAttribute('data-flag'), r.querySelector('.value').textContent]))`
	return get(b, "read the feature flags", chromedp.Evaluate[map[string]string](js))
}

func (b *browser) wantLocation(want string) {
	b.t.Helper()
	if got := get(b, "read the location", chromedp.Location()); got != want {
		b.t.Fatalf("browser at %s, want %s", got, want)
	}
}

// screenshot saves the whole page as testout/screenshots/<name>.png.
func (b *browser) screenshot(root, name string) {
	b.t.Helper()
	png := get(b, "take a screenshot", chromedp.FullScreenshot(100))
	dir := filepath.Join(root, "testout", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// emulatorButton selects the emulator's sign-in button of the user email.
func emulatorButton(email string) chromedp.CSS {
	return chromedp.CSS(`button[data-email="` + email + `"]`)
}

// signIn starts at a page with the #sign-in link, picks the user on the
// emulator's sign-in page and waits for the dashboard.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.do("sign in as "+email,
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(emulatorButton(email)),
		chromedp.Click(emulatorButton(email)),
		chromedp.WaitVisible(chromedp.ID("dashboard")),
	)
}

// signOut clicks Sign out and waits for the signed-out home page.
func (b *browser) signOut(app *runningApp) {
	b.t.Helper()
	b.do("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("sign-in")))
	b.wantLocation(app.url + "/")
}

// checkAdminJourney: Alice signs in from the home page, sees her admin
// permissions, roles and flags on the dashboard, opens the admin page (which
// lists the todo created through the API), switches to Globex, where she is
// a member and the flags differ, and signs out.
func checkAdminJourney(t *testing.T, b *browser, app *runningApp, todo string) {
	b.do("open the home page", chromedp.Navigate(app.url+"/"), chromedp.WaitVisible(chromedp.ID("sign-in")))
	if got := b.text("framework"); got != app.framework {
		t.Errorf("home page names framework %q, want %q", got, app.framework)
	}
	b.screenshot(repoRoot(t), app.dir+"-home")
	for link, title := range map[string]string{"sign-up": "Create your account", "create-org": "Create your organization"} {
		b.do("follow "+link, chromedp.Click(chromedp.ID(link)), chromedp.WaitVisible(emulatorButton("alice@example.com")))
		if got := get(b, "read the emulator's title", chromedp.Text(chromedp.CSS("h1"))); got != title {
			t.Errorf("%s leads to the emulator page %q, want %q", link, got, title)
		}
		b.do("go back home", chromedp.Navigate(app.url+"/"), chromedp.WaitVisible(chromedp.ID("sign-in")))
	}
	b.signIn("alice@example.com")
	b.wantLocation(app.url + "/dashboard")
	if got := b.text("user-email"); got != "alice@example.com" {
		t.Errorf("dashboard shows email %q, want alice@example.com", got)
	}
	if got := b.text("org-name"); got != "Acme" {
		t.Errorf("dashboard shows organization %q, want Acme", got)
	}
	wantStrings(t, "Alice's permissions", b.dataValues("permissions", "permission"),
		"create:todos", "delete:todos", "read:todos", "update:todos")
	wantStrings(t, "Alice's roles", b.dataValues("roles", "role"), "admin")
	wantFlags := map[string]string{"dark_mode": "false", "max_todos": "10", "theme": "light"}
	if got := b.flags(); !maps.Equal(got, wantFlags) {
		t.Errorf("dashboard flags = %v, want %v", got, wantFlags)
	}
	b.screenshot(repoRoot(t), app.dir+"-dashboard")

	b.do("open the admin page", chromedp.Click(chromedp.ID("nav-admin")), chromedp.WaitVisible(chromedp.ID("admin")))
	b.wantLocation(app.url + "/admin")
	if got := b.text("todos"); !strings.Contains(got, todo) {
		t.Errorf("admin page lists %q, want the todo %q made through the API", got, todo)
	}

	b.do("switch to Globex",
		chromedp.Click(chromedp.ID("nav-dashboard")),
		chromedp.WaitVisible(switchLink("Globex")),
		chromedp.Click(switchLink("Globex")),
		chromedp.WaitVisible(switchLink("Acme")))
	b.wantLocation(app.url + "/dashboard")
	if got := b.text("org-name"); got != "Globex" {
		t.Errorf("after the switch the dashboard shows organization %q, want Globex", got)
	}
	wantStrings(t, "Alice's permissions in Globex", b.dataValues("permissions", "permission"), "create:todos", "read:todos")
	wantFlags = map[string]string{"dark_mode": "false", "max_todos": "100", "theme": "dark"}
	if got := b.flags(); !maps.Equal(got, wantFlags) {
		t.Errorf("Globex flags = %v, want %v", got, wantFlags)
	}
	b.signOut(app)
}

// switchLink selects the dashboard's link that switches to the organization name.
func switchLink(name string) chromedp.CSS {
	return chromedp.CSS(`#orgs a[data-switch="` + name + `"]`)
}

// checkMemberJourney: Bob signs in, sees member permissions and no admin
// link, is refused the admin page with 403, signs out, and the dashboard
// then sends the browser back to Kinde's sign-in.
func checkMemberJourney(t *testing.T, b *browser, app *runningApp) {
	b.do("open the home page", chromedp.Navigate(app.url+"/"), chromedp.WaitVisible(chromedp.ID("sign-in")))
	b.signIn("bob@example.com")
	if got := b.text("user-email"); got != "bob@example.com" {
		t.Errorf("dashboard shows email %q, want bob@example.com", got)
	}
	wantStrings(t, "Bob's permissions", b.dataValues("permissions", "permission"), "create:todos", "read:todos")
	wantStrings(t, "Bob's roles", b.dataValues("roles", "role"), "member")
	if get(b, "look for the admin link", chromedp.Evaluate[bool](`document.getElementById('nav-admin') !== null`)) {
		t.Error("the dashboard shows Bob the admin link")
	}

	resp := get(b, "open /admin as Bob", chromedp.NavigateResponse(app.url+"/admin"))
	if resp.Status != 403 {
		t.Fatalf("GET /admin as Bob: status %d, want 403", resp.Status)
	}
	b.do("wait for the error page", chromedp.WaitVisible(chromedp.ID("error")))
	if got := get(b, "read the error page", chromedp.Text(chromedp.CSS("#error h1"))); got != "Access denied" {
		t.Errorf("403 page title %q, want Access denied", got)
	}
	b.screenshot(repoRoot(t), app.dir+"-forbidden")

	b.do("go home", chromedp.Navigate(app.url+"/"), chromedp.WaitVisible(chromedp.ID("sign-out")))
	b.signOut(app)
	b.do("open the dashboard signed out",
		chromedp.Navigate(app.url+"/dashboard"),
		chromedp.WaitVisible(emulatorButton("bob@example.com")))
	if loc := get(b, "read the location", chromedp.Location()); !strings.HasPrefix(loc, app.emulator+"/oauth2/auth?") {
		t.Errorf("signed out, /dashboard led to %s, want the emulator's sign-in page", loc)
	}
}

func wantStrings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
