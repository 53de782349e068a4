package kindetest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	deviceCodeLifetime = 10 * time.Minute
	deviceInterval     = 5 * time.Second
)

type deviceAuth struct {
	code      string
	userCode  string
	clientID  string
	scopes    []string
	audiences []string
	expires   time.Time
	interval  time.Duration
	lastPoll  time.Time
	userID    string
	orgCode   string
	denied    bool
	requested time.Time
}

func (s *Server) handleDeviceAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.clients[f.Get("client_id")]
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Unknown or missing client_id.")
		return
	}
	if c.Type != "device" {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "Only device applications can use the device authorization flow.")
		return
	}
	var auds []string
	for _, a := range f["audience"] {
		auds = append(auds, strings.Fields(a)...)
	}
	now := s.st.now()
	d := &deviceAuth{
		code:      randHex(24),
		userCode:  strings.ToUpper(randHex(2) + "-" + randHex(2)),
		clientID:  c.ID,
		scopes:    s.st.grantableScopes(strings.Fields(f.Get("scope")), auds),
		audiences: auds,
		expires:   now.Add(deviceCodeLifetime),
		interval:  s.cfg.deviceInterval,
		requested: now,
	}
	s.st.devices[d.code] = d
	s.st.userCode[d.userCode] = d.code
	verify := s.URL() + "/device"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               d.code,
		"user_code":                 d.userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + d.userCode,
		"expires_in":                int64(deviceCodeLifetime / time.Second),
		"interval":                  int64(s.cfg.deviceInterval / time.Second),
	})
}

func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	uc := r.URL.Query().Get("user_code")
	s.mu.Lock()
	_, ok := s.st.userCode[uc]
	var users []pageUser
	for _, id := range s.st.userOrder {
		u := s.st.users[id]
		users = append(users, pageUser{ID: u.ID, Email: u.Email, Label: u.Name() + " <" + u.Email + ">"})
	}
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusBadRequest, "invalid_user_code", "Unknown code. Check the code shown on your device.")
		return
	}
	writePage(w, http.StatusOK, pageData{
		Title:   "Connect your device",
		Message: "Code " + uc + ": choose a user to approve the device.",
		Form:    &pageForm{Action: "/device", Hidden: map[string]string{"user_code": uc}, Users: users},
	})
}

func (s *Server) handleDeviceApprove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "invalid_request", "Malformed form.")
		return
	}
	uc := r.PostForm.Get("user_code")
	var err error
	if r.PostForm.Get("action") == "cancel" {
		err = s.DenyDevice(uc)
	} else {
		err = s.ApproveDevice(uc, r.PostForm.Get("user"))
	}
	if err != nil {
		errorPage(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	writePage(w, http.StatusOK, pageData{Title: "Done", Message: "You can return to your device."})
}

func (st *state) deviceByUserCode(userCode string) (*deviceAuth, error) {
	d, ok := st.devices[st.userCode[userCode]]
	if !ok {
		return nil, fmt.Errorf("kindetest: unknown user code %q", userCode)
	}
	if !st.now().Before(d.expires) {
		return nil, fmt.Errorf("kindetest: user code %q has expired", userCode)
	}
	return d, nil
}

// ApproveDevice completes a pending device authorization as userID.
func (s *Server) ApproveDevice(userCode, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.st.deviceByUserCode(userCode)
	if err != nil {
		return err
	}
	if _, ok := s.st.users[userID]; !ok {
		return fmt.Errorf("kindetest: unknown user %q", userID)
	}
	d.userID = userID
	if orgs := s.st.userOrgs[userID]; len(orgs) > 0 {
		d.orgCode = orgs[0]
	}
	return nil
}

// DenyDevice rejects a pending device authorization.
func (s *Server) DenyDevice(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.st.deviceByUserCode(userCode)
	if err != nil {
		return err
	}
	d.denied = true
	return nil
}

func (s *Server) deviceGrantLocked(c *Client, code string) (TokenResponse, error) {
	st := &s.st
	if code == "" {
		return TokenResponse{}, terr("invalid_request", "Missing device_code.")
	}
	d, ok := st.devices[code]
	if !ok || d.clientID != c.ID {
		return TokenResponse{}, terr("invalid_grant", "The device code is invalid.")
	}
	now := st.now()
	switch {
	case !now.Before(d.expires):
		return TokenResponse{}, terr("expired_token", "The device code has expired.")
	case d.denied:
		st.dropDevice(d)
		return TokenResponse{}, terr("access_denied", "The user denied the request.")
	case d.userID == "":
		tooSoon := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval
		d.lastPoll = now
		if tooSoon {
			d.interval += 5 * time.Second
			return TokenResponse{}, terr("slow_down", fmt.Sprintf("Polling too fast; wait %d seconds between requests.", int(d.interval/time.Second)))
		}
		return TokenResponse{}, terr("authorization_pending", "The user has not yet approved the device.")
	}
	st.dropDevice(d)
	g := &grant{
		id:          randHex(16),
		clientID:    c.ID,
		userID:      d.userID,
		orgCode:     d.orgCode,
		scopes:      d.scopes,
		audiences:   d.audiences,
		authTime:    now,
		requestedAt: d.requested,
	}
	st.grants[g.id] = g
	return s.mintLocked(g, false), nil
}

func (st *state) dropDevice(d *deviceAuth) {
	delete(st.devices, d.code)
	delete(st.userCode, d.userCode)
}
