package starter

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"

	kinde "github.com/gokinde/kinde/core"
)

//go:embed templates
var templateFS embed.FS

// Content types of Response.
const (
	ContentTypeHTML = "text/html; charset=utf-8"
	ContentTypeJSON = "application/json; charset=utf-8"
)

// maxBodyBytes bounds the JSON body of POST /api/todos.
const maxBodyBytes = 4096

// Response is a finished answer; each framework writes it its own way
// (Gin's c.Data, Echo's c.Blob, Fiber's c.Send, or Send for net/http).
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Send writes r to a net/http response.
func (r Response) Send(w http.ResponseWriter) {
	w.Header().Set("Content-Type", r.ContentType)
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body) // the client went away; nothing to do
}

// Site renders the starter's pages and answers its todo API.
type Site struct {
	framework string
	url       string
	paths     kinde.Paths
	demoUsers []DemoUser
	kinde     *Kinde // for the dashboard's API card; set by Run
	todos     *Todos
	pages     map[string]*template.Template
	css       template.CSS
}

// NewSite returns the site of an app built with framework and served at
// appURL; demoUsers are listed on the home page (the emulator's users, or nil).
func NewSite(framework, appURL string, demoUsers []DemoUser) *Site {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	s := &Site{
		framework: framework,
		url:       appURL,
		paths: kinde.Paths{Login: kinde.DefaultPaths().Login, Register: kinde.DefaultPaths().Register,
			CreateOrg: kinde.DefaultPaths().CreateOrg, Logout: kinde.DefaultPaths().Logout, SwitchOrg: kinde.DefaultPaths().SwitchOrg},
		demoUsers: demoUsers,
		todos:     NewTodos(),
		pages:     map[string]*template.Template{},
		css:       template.CSS(css), // our own embedded file
	}
	for _, name := range []string{"home", "dashboard", "admin", "error"} {
		s.pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return s
}

// page is the data of every template.
type page struct {
	Framework string
	URL       string
	Title     string
	CSS       template.CSS
	Paths     kinde.Paths
	View      View
	DemoUsers []DemoUser
	Todos     []Todo
	Error     kinde.ErrorPage
	API       APIView
}

// APIView is what the dashboard says about calling the todo API.
type APIView struct {
	// Audience is the API audience its access tokens must be issued for; ""
	// when none is configured.
	Audience string
	// TokenURL answers an access token for the signed-in user and
	// organization: the emulator's dev token endpoint, "" with real Kinde.
	TokenURL string
}

func (s *Site) render(name, title string, status int, sess *kinde.Session, fill func(*page)) Response {
	p := page{Framework: s.framework, URL: s.url, Title: title, CSS: s.css, Paths: s.paths, View: NewView(sess)}
	if fill != nil {
		fill(&p)
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		return Response{Status: http.StatusInternalServerError, ContentType: "text/plain; charset=utf-8",
			Body: []byte("cannot render the page: " + err.Error())}
	}
	return Response{Status: status, ContentType: ContentTypeHTML, Body: buf.Bytes()}
}

// Home is the landing page: sign-in links for visitors, a greeting for users.
func (s *Site) Home(sess *kinde.Session) Response {
	return s.render("home", "Home", http.StatusOK, sess, func(p *page) { p.DemoUsers = s.demoUsers })
}

// Dashboard shows the user, organization, permissions, roles and feature flags.
func (s *Site) Dashboard(sess *kinde.Session) Response {
	return s.render("dashboard", "Dashboard", http.StatusOK, sess, func(p *page) {
		if s.kinde != nil {
			p.API = APIView{Audience: s.kinde.Audience(), TokenURL: s.kinde.TokenURL(p.View.User.Email, p.View.Org.Code)}
		}
	})
}

// Admin lists the organization's todos; its route requires AdminPermission.
func (s *Site) Admin(sess *kinde.Session) Response {
	return s.render("admin", "Admin", http.StatusOK, sess, func(p *page) { p.Todos = s.todos.List(p.View.Org.Code) })
}

// ErrorPage renders the SDK's error pages (sign-in failures, 403) in the
// site's layout. Pass it to kinde.WithErrorPage (App.WebOptions does).
func (s *Site) ErrorPage(x kinde.Exchange, e kinde.ErrorPage) {
	r := s.render("error", e.Title, e.Status, kinde.SessionFrom(x.Context()), func(p *page) { p.Error = e })
	x.SetHeader("Cache-Control", "no-store")
	x.Write(r.Status, r.ContentType, r.Body)
}

// ListTodos answers GET /api/todos: the todos of the caller's organization.
func (s *Site) ListTodos(sess *kinde.Session) Response {
	if sess == nil {
		return jsonError(http.StatusUnauthorized, "unauthenticated", "send an access token")
	}
	return jsonResponse(http.StatusOK, map[string]any{"todos": s.todos.List(sess.Organization().Code)})
}

// CreateTodo answers POST /api/todos with a JSON body {"title": "…"}. The
// organization's limit is the caller's max_todos feature flag.
func (s *Site) CreateTodo(sess *kinde.Session, body io.Reader) Response {
	if sess == nil {
		return jsonError(http.StatusUnauthorized, "unauthenticated", "send an access token")
	}
	var in struct {
		Title string `json:"title"`
	}
	dec := json.NewDecoder(io.LimitReader(body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return jsonError(http.StatusBadRequest, "invalid_request", `send a JSON object such as {"title": "Buy milk"}`)
	}
	limit, err := sess.IntFlag("max_todos", DefaultMaxTodos)
	if err != nil {
		limit = DefaultMaxTodos
	}
	td, err := s.todos.Add(sess.Organization().Code, sess.UserID(), in.Title, limit)
	switch {
	case errors.Is(err, ErrTitle):
		return jsonError(http.StatusBadRequest, "invalid_title", err.Error())
	case err != nil:
		return jsonError(http.StatusConflict, "limit_reached", err.Error())
	}
	return jsonResponse(http.StatusCreated, td)
}

func jsonResponse(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Response{Status: http.StatusInternalServerError, ContentType: ContentTypeJSON, Body: []byte(`{"error":"server_error"}`)}
	}
	return Response{Status: status, ContentType: ContentTypeJSON, Body: b}
}

func jsonError(status int, code, desc string) Response {
	return jsonResponse(status, map[string]string{"error": code, "error_description": desc})
}
