package kindetest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// DevTokenPath is the path of the emulator's dev token endpoint (see
// WithDevTokens). Kinde has no such endpoint.
const DevTokenPath = "/dev/token"

// WithDevTokens turns on GET /dev/token (DevTokenPath), an endpoint that
// exists only in the emulator: it hands out a user's access token without a
// sign-in, so that an API can be tried locally with curl. It answers the
// access token as text/plain. Query parameters:
//
//   - user: the user's email or ID (required);
//   - audience: the API the token is for (repeatable); each must be
//     registered with AddAPI;
//   - org_code: the organization the token is for (default: the user's
//     first organization), whose roles give the token its permissions.
//
// The token is the one a sign-in with those parameters would give (scopes
// openid, profile and email). With real Kinde an app signs the user in, or a
// command-line tool uses the device flow, to get one. Off by default: tests
// of Kinde's behaviour should not see an endpoint Kinde lacks. Anyone who can
// reach the emulator can mint tokens with it; the kinde-emulator command
// listens on loopback only.
func WithDevTokens(on bool) Option {
	return func(c *config) { c.devTokens = on }
}

// DevTokenURL returns the URL of the dev token endpoint (see WithDevTokens)
// for user (an email or a user ID), for audience and orgCode when they are
// not empty. Its query keeps ':', '/' and '@' readable, which RFC 3986
// allows in a query, so that it can be shown in a shell command.
func (s *Server) DevTokenURL(user, audience, orgCode string) string {
	q := url.Values{"user": {user}}
	if audience != "" {
		q.Set("audience", audience)
	}
	if orgCode != "" {
		q.Set("org_code", orgCode)
	}
	return s.URL() + DevTokenPath + "?" + readableQuery.Replace(q.Encode())
}

var readableQuery = strings.NewReplacer("%40", "@", "%3A", ":", "%2F", "/")

// devTokenScopes are the scopes of a dev token: what a sign-in asks for,
// without offline, since nothing refreshes it.
var devTokenScopes = []string{"openid", "profile", "email"}

func (s *Server) handleDevToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID, err := s.devTokenUser(strings.TrimSpace(q.Get("user")), q["audience"])
	if err != nil {
		devTokenError(w, http.StatusBadRequest, err.Error())
		return
	}
	tr, err := s.IssueTokens(userID, IssueOptions{OrgCode: q.Get("org_code"), Audience: q["audience"], Scopes: devTokenScopes})
	if err != nil {
		devTokenError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "kindetest: "))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = fmt.Fprintln(w, tr.AccessToken)
}

// devTokenUser finds the user named by who (an email, case-insensitive, or
// an ID) and checks that every audience is a registered API.
func (s *Server) devTokenUser(who string, audiences []string) (string, error) {
	if who == "" {
		return "", fmt.Errorf("name the user: %s?user=alice@example.com (an email or a user ID)", DevTokenPath)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, aud := range audiences {
		if _, ok := s.st.apis[aud]; !ok {
			return "", fmt.Errorf("unknown API %q: register it first (kinde-emulator -api %s, or Server.AddAPI)", aud, aud)
		}
	}
	u, ok := s.st.users[who]
	if !ok {
		for _, id := range s.st.userOrder {
			if c := s.st.users[id]; c != nil && c.Email != "" && strings.EqualFold(c.Email, who) {
				u, ok = c, true
				break
			}
		}
	}
	switch {
	case !ok:
		return "", fmt.Errorf("no user %q: give the email or ID of a user of the emulator", who)
	case u.Suspended:
		return "", fmt.Errorf("user %q is suspended", who)
	}
	return u.ID, nil
}

func devTokenError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, "error: "+msg)
}
