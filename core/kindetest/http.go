package kindetest

import (
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure injected into one endpoint with SetFault.
type Fault struct {
	// Status, when non-zero, is sent instead of the real response, with Body
	// (or a Kinde-shaped default body for the endpoint) and Header.
	Status      int
	Body        string
	ContentType string
	Header      http.Header
	// Delay holds the request this long before answering (or faulting).
	Delay time.Duration
	// Drop closes the connection without a response.
	Drop bool
	// Times is how many requests the fault applies to; 0 means until cleared.
	Times int
}

// SetFault injects f into every request for path (an exact URL path such
// as "/oauth2/token"), replacing any fault already set there.
func (s *Server) SetFault(path string, f Fault) {
	f.Header = f.Header.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults[path] = &f
}

// ClearFault removes the fault on path.
func (s *Server) ClearFault(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.st.faults, path)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.st.faults)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /.well-known/jwks", s.handleJWKS)
	mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	mux.HandleFunc("GET /oauth2/auth", s.handleAuthorize)
	mux.HandleFunc("POST /oauth2/auth/approve", s.handleApprove)
	mux.HandleFunc("/oauth2/token", s.handleToken)
	mux.HandleFunc("GET /logout", s.handleLogout)
	mux.HandleFunc("GET /oauth2/v2/user_profile", s.handleUserProfile)
	mux.HandleFunc("POST /oauth2/introspect", s.handleIntrospect)
	mux.HandleFunc("POST /oauth2/revoke", s.handleRevoke)
	mux.HandleFunc("POST /oauth2/device/auth", s.handleDeviceAuth)
	mux.HandleFunc("GET /device", s.handleDevicePage)
	mux.HandleFunc("POST /device", s.handleDeviceApprove)
	mux.HandleFunc("GET /portal_redirect", s.handlePortalRedirect)
	mux.Handle("/account_api/", s.accountRouter())
	mux.Handle("/api/", s.managementRouter())
	if s.cfg.devTokens {
		mux.HandleFunc("GET "+DevTokenPath, s.handleDevToken)
	}
	return s.withFaults(mux)
}

func (s *Server) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.st.counts[r.URL.Path]++
		var f Fault
		ft, hit := s.st.faults[r.URL.Path]
		if hit {
			f = *ft
			if ft.Times > 0 {
				ft.Times--
				if ft.Times == 0 {
					delete(s.st.faults, r.URL.Path)
				}
			}
		}
		s.mu.Unlock()
		if hit && s.applyFault(w, r, f) {
			return
		}
		s.cfg.logger.Debug("kindetest request", "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

// applyFault reports whether the fault answered (or aborted) the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-s.done:
			t.Stop()
			return true
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, err := hj.Hijack()
			if err == nil {
				closeConn(conn)
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 {
		return false
	}
	for k, v := range f.Header {
		w.Header()[k] = append([]string(nil), v...)
	}
	body, ctype := f.Body, f.ContentType
	if body == "" {
		body, ctype = defaultFaultBody(r.URL.Path, f.Status)
	}
	if ctype == "" {
		ctype = "application/json"
	}
	if f.Status == http.StatusTooManyRequests && w.Header().Get("RateLimit-Reset") == "" {
		w.Header().Set("RateLimit-Reset", "30")
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(body))
	return true
}

func closeConn(c net.Conn) { _ = c.Close() }

func defaultFaultBody(path string, status int) (string, string) {
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/account_api/") {
		code, msg := "INTERNAL_ERROR", "Injected fault"
		switch status {
		case http.StatusTooManyRequests:
			code, msg = "TOO_MANY_REQUESTS", "Request was throttled"
		case http.StatusForbidden:
			code, msg = "INVALID_CREDENTIALS", "Invalid credentials"
		case http.StatusServiceUnavailable:
			code, msg = "SERVICE_UNAVAILABLE", "Service unavailable"
		}
		b, _ := json.Marshal(apiErrorBody(code, msg))
		return string(b), "application/json"
	}
	if strings.HasPrefix(path, "/oauth2/") || strings.HasPrefix(path, "/.well-known/") {
		code := "server_error"
		switch status {
		case http.StatusServiceUnavailable:
			code = "temporarily_unavailable"
		case http.StatusTooManyRequests:
			code = "too_many_requests"
		}
		b, _ := json.Marshal(map[string]string{"error": code, "error_description": "Injected fault (" + strconv.Itoa(status) + ")"})
		return string(b), "application/json"
	}
	return http.StatusText(status), "text/plain; charset=utf-8"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// oauthError writes an RFC 6749 error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func apiErrorBody(code, msg string) map[string]any {
	return map[string]any{"errors": []apiError{{Code: code, Message: msg}}}
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiErrorBody(code, msg))
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Kinde emulator</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.4rem 0;padding:.6rem;font-size:1rem;cursor:pointer}
.err{color:#b00020}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Error}}<p class="err" id="error" data-error="{{.ErrorCode}}">{{.Error}}</p>{{end}}
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if .Link}}<p><a id="{{.Link.ID}}" href="{{.Link.Href}}">{{.Link.Text}}</a></p>{{end}}
{{if .Form}}<form method="post" action="{{.Form.Action}}" id="signin-form">
{{range $k, $v := .Form.Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{range .Form.Users}}<button type="submit" name="user" value="{{.ID}}" id="signin-{{.Email}}" data-user="{{.ID}}" data-email="{{.Email}}">{{.Label}}</button>
{{end}}
{{if .Form.AllowNew}}<p><label>New user email <input type="email" name="new_email" id="new-email"></label>
<button type="submit" name="action" value="register" id="register">{{.Form.NewLabel}}</button></p>{{end}}
<button type="submit" name="action" value="cancel" id="cancel" formnovalidate>Cancel</button>
</form>{{end}}
</body></html>`))

type pageUser struct{ ID, Email, Label string }

type pageForm struct {
	Action   string
	Hidden   map[string]string
	Users    []pageUser
	AllowNew bool
	NewLabel string
}

// pageLink is a link on a page (the portal's way back to the app).
type pageLink struct{ ID, Href, Text string }

type pageData struct {
	Title, Message, Error, ErrorCode string
	Form                             *pageForm
	Link                             *pageLink
}

func writePage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

func errorPage(w http.ResponseWriter, status int, code, msg string) {
	writePage(w, status, pageData{Title: "Something went wrong", Error: msg, ErrorCode: code})
}

func (s *Server) handleIndex(w http.ResponseWriter, _ *http.Request) {
	writePage(w, http.StatusOK, pageData{Title: "Kinde emulator", Message: "Issuer " + s.URL()})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
