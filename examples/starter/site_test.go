package starter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	kinde "github.com/gokinde/kinde/core"
	"github.com/gokinde/kinde/core/kindetest"
)

func newTestSite() *Site {
	return NewSite("Test", "http://127.0.0.1:8080", []DemoUser{{Email: "alice@example.com", Name: "Alice", Role: "admin", Can: "all"}})
}

func wantPage(t *testing.T, r Response, status int, contains []string, lacks []string) {
	t.Helper()
	if r.Status != status || r.ContentType != ContentTypeHTML {
		t.Errorf("status %d %q, want %d HTML", r.Status, r.ContentType, status)
	}
	body := string(r.Body)
	for _, s := range contains {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range lacks {
		if strings.Contains(body, s) {
			t.Errorf("page has %q", s)
		}
	}
}

func TestHomeSignedOut(t *testing.T) {
	wantPage(t, newTestSite().Home(nil), http.StatusOK,
		[]string{`href="/api/auth/login" id="sign-in"`, `href="/api/auth/register"`, `href="/api/auth/create_org"`,
			"alice@example.com", `id="framework">Test<`},
		[]string{`id="sign-out"`, `href="/dashboard"`})
}

func TestHomeWithRealKindeHasNoDemoUsers(t *testing.T) {
	wantPage(t, NewSite("Test", "http://127.0.0.1:8080", nil).Home(nil), http.StatusOK, nil, []string{`id="demo-users"`})
}

func TestPagesSignedIn(t *testing.T) {
	d := newDemo(t)
	site := newTestSite()
	alice := d.session(t, d.Alice, "")
	wantPage(t, site.Home(alice), http.StatusOK,
		[]string{"Welcome back, Alice Admin", `href="/api/auth/logout" id="sign-out"`, `id="nav-admin"`},
		[]string{`id="sign-in"`})
	wantPage(t, site.Dashboard(alice), http.StatusOK,
		[]string{`data-permission="delete:todos"`, `data-role="admin"`, `data-flag="max_todos"`,
			`href="/api/auth/switch_org?org_code=` + d.Globex.Code + `"`, "http://127.0.0.1:8080/api/todos"},
		nil)
	wantPage(t, site.Dashboard(d.session(t, d.Bob, "")), http.StatusOK,
		[]string{"bob@example.com", `data-role="member"`}, []string{`id="nav-admin"`, `data-permission="delete:todos"`, "switch_org"})
}

func TestPagesEscapeClaims(t *testing.T) {
	d := newDemo(t)
	mallory := d.srv.AddUser(kindetest.User{Email: "mallory@example.com", GivenName: `<script>alert(1)</script>`})
	if err := d.srv.AddMember(d.Acme.Code, mallory.ID, "member"); err != nil {
		t.Fatal(err)
	}
	wantPage(t, newTestSite().Dashboard(d.session(t, mallory, "")), http.StatusOK,
		[]string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script>alert(1)"})
}

func TestAdminListsTheOrganizationsTodos(t *testing.T) {
	d := newDemo(t)
	site := newTestSite()
	if _, err := site.todos.Add(d.Acme.Code, d.Bob.ID, "Acme's todo", 10); err != nil {
		t.Fatal(err)
	}
	if _, err := site.todos.Add(d.Globex.Code, d.Alice.ID, "Globex's todo", 10); err != nil {
		t.Fatal(err)
	}
	wantPage(t, site.Admin(d.session(t, d.Alice, "")), http.StatusOK, []string{`id="admin"`, "Acme&#39;s todo"}, []string{"Globex&#39;s todo"})
}

func TestErrorPage(t *testing.T) {
	site := newTestSite()
	for _, tc := range []struct {
		page    kinde.ErrorPage
		signIn  bool
		message string
	}{
		{kinde.ErrorPage{Status: 403, Title: "Access denied", Message: "It needs <delete:todos>."}, false, "It needs &lt;delete:todos&gt;."},
		{kinde.ErrorPage{Status: 400, Title: "Sign-in expired", Message: "Please sign in again.", SignInURL: "/api/auth/login"}, true, "Please sign in again."},
	} {
		rec := httptest.NewRecorder()
		site.ErrorPage(kinde.NewHTTPExchange(rec, httptest.NewRequest(http.MethodGet, "/admin", nil)), tc.page)
		body := rec.Body.String()
		if rec.Code != tc.page.Status || !strings.Contains(body, `data-status="`+strconv.Itoa(tc.page.Status)+`"`) ||
			!strings.Contains(body, "<h1>"+tc.page.Title+"</h1>") || !strings.Contains(body, tc.message) {
			t.Errorf("%s: %d\n%s", tc.page.Title, rec.Code, body)
		}
		if got := strings.Contains(body, `href="/api/auth/login" id="sign-in-again"`); got != tc.signIn {
			t.Errorf("%s: sign-in link shown = %v, want %v", tc.page.Title, got, tc.signIn)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", tc.page.Title, rec.Header().Get("Cache-Control"))
		}
	}
}

// apiError decodes a JSON error answer.
func apiError(t *testing.T, r Response) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if r.ContentType != ContentTypeJSON || json.Unmarshal(r.Body, &e) != nil {
		t.Fatalf("answer %d %q %s is not a JSON error", r.Status, r.ContentType, r.Body)
	}
	return e.Error
}

func TestTodoAPI(t *testing.T) {
	d := newDemo(t)
	site := newTestSite()
	alice := d.session(t, d.Alice, "")
	if r := site.ListTodos(alice); r.Status != http.StatusOK || string(r.Body) != `{"todos":[]}` {
		t.Errorf("empty list: %d %s", r.Status, r.Body)
	}
	r := site.CreateTodo(alice, strings.NewReader(`{"title":"Ship the starter"}`))
	var td Todo
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &td) != nil || td.Title != "Ship the starter" ||
		td.OrgCode != d.Acme.Code || td.CreatedBy != d.Alice.ID {
		t.Errorf("create: %d %s", r.Status, r.Body)
	}
	if r := site.ListTodos(d.session(t, d.Bob, "")); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Ship the starter") {
		t.Errorf("Bob, in the same organization, lists %d %s", r.Status, r.Body)
	}
	if r := site.ListTodos(d.session(t, d.Alice, d.Globex.Code)); !strings.Contains(string(r.Body), `"todos":[]`) {
		t.Errorf("Globex lists Acme's todos: %s", r.Body)
	}

	for body, want := range map[string]string{
		`not json`:                  "invalid_request",
		`{"title":"x","done":true}`: "invalid_request",
		`{"title":"` + strings.Repeat("a", maxBodyBytes) + `"}`: "invalid_request",
		`{"title":"   "}`: "invalid_title",
	} {
		r := site.CreateTodo(alice, strings.NewReader(body))
		if got := apiError(t, r); r.Status != http.StatusBadRequest || got != want {
			t.Errorf("body %.20q: %d %s, want 400 %s", body, r.Status, got, want)
		}
	}
	for _, r := range []Response{site.ListTodos(nil), site.CreateTodo(nil, strings.NewReader(`{"title":"x"}`))} {
		if got := apiError(t, r); r.Status != http.StatusUnauthorized || got != "unauthenticated" {
			t.Errorf("no session: %d %s, want 401", r.Status, got)
		}
	}
}

func TestTodoAPILimitComesFromTheFlag(t *testing.T) {
	d := newDemo(t)
	site := newTestSite()
	alice := d.session(t, d.Alice, "") // Acme: max_todos 10
	for i := range 10 {
		if r := site.CreateTodo(alice, strings.NewReader(`{"title":"todo"}`)); r.Status != http.StatusCreated {
			t.Fatalf("todo %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := site.CreateTodo(alice, strings.NewReader(`{"title":"eleventh"}`))
	if got := apiError(t, r); r.Status != http.StatusConflict || got != "limit_reached" {
		t.Errorf("eleventh todo: %d %s, want 409 limit_reached", r.Status, got)
	}
	if r := site.CreateTodo(d.session(t, d.Alice, d.Globex.Code), strings.NewReader(`{"title":"x"}`)); r.Status != http.StatusCreated {
		t.Errorf("Globex (max_todos 100): %d %s", r.Status, r.Body)
	}
}

// With real Kinde the dashboard says how a client gets a token, and warns
// when no audience binds tokens to the API.
func TestDashboardAPICardWithRealKinde(t *testing.T) {
	d := newDemo(t)
	for _, tc := range []struct {
		name     string
		audience []string
		contains []string
		lacks    []string
	}{
		{"no audience", nil, []string{`id="api-no-audience"`, "examples/cli call http://127.0.0.1:8080/api/todos"}, []string{`id="api-token"`, `id="api-audience"`}},
		{"an audience", []string{"https://api.example.com"}, []string{`id="api-audience">https://api.example.com<`}, []string{`id="api-token"`, `id="api-no-audience"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := newTestSite()
			site.kinde = &Kinde{Config: kinde.Config{Domain: "https://yourbusiness.kinde.com", Audience: tc.audience}}
			wantPage(t, site.Dashboard(d.session(t, d.Alice, "")), http.StatusOK, tc.contains, tc.lacks)
		})
	}
}

// Every starter page carries the security headers (security review,
// finding 7).
func TestSecurityHeaders(t *testing.T) {
	h := withSecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "strict-origin-when-cross-origin",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}
