package kindetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TokenEdit changes the claims and the JOSE header of a token before it is
// signed again with Sign. It may delete claims, add them or change the
// header (Alg "none", another Key, Kid "-" to omit the key id).
type TokenEdit func(claims map[string]any, h *Header)

// Tamperer is an emulator whose token endpoint replies can be altered on
// their way out: the ID token or access token of the next successful reply
// is decoded, changed by a TokenEdit and signed again. Everything else,
// including the authorization code, PKCE and nonce checks, stays the
// emulator's. It lets relying-party tests deliver tokens that no honest
// Kinde issues (signed with alg none, with a wrong issuer, without a nonce)
// through the real code flow.
type Tamperer struct {
	*Server

	mu     sync.Mutex
	id     []TokenEdit
	access []TokenEdit
}

// StartTampering starts an emulator on a loopback test server behind a
// Tamperer; tb.Cleanup closes both. Options are those of NewServer; the
// issuer is the test server's URL.
func StartTampering(tb testing.TB, opts ...Option) *Tamperer {
	tb.Helper()
	ts := httptest.NewUnstartedServer(nil)
	t := &Tamperer{Server: New(append(opts, WithIssuer("http://"+ts.Listener.Addr().String()))...)}
	ts.Config.Handler = t.handler()
	ts.Start()
	tb.Cleanup(ts.Close)
	tb.Cleanup(t.Close) // runs first: ends injected delays before ts.Close waits for requests
	return t
}

// EditNextIDToken applies edit to the ID token of the next successful token
// reply that carries one. Edits queue up, one per reply.
func (t *Tamperer) EditNextIDToken(edit TokenEdit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.id = append(t.id, edit)
}

// EditNextAccessToken applies edit to the access token of the next
// successful token reply. Edits queue up, one per reply.
func (t *Tamperer) EditNextAccessToken(edit TokenEdit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.access = append(t.access, edit)
}

// Pending reports how many queued edits have not been applied yet.
func (t *Tamperer) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.id) + len(t.access)
}

func (t *Tamperer) handler() http.Handler {
	inner := t.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/token" || t.Pending() == 0 {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			body = t.rewrite(body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// rewrite applies the first queued edits to a token reply.
func (t *Tamperer) rewrite(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var reply map[string]any
	if dec.Decode(&reply) != nil {
		return body
	}
	for _, f := range []struct {
		field string
		queue *[]TokenEdit
	}{{"id_token", &t.id}, {"access_token", &t.access}} {
		tok, _ := reply[f.field].(string)
		if tok == "" {
			continue
		}
		t.mu.Lock()
		var edit TokenEdit
		if len(*f.queue) > 0 {
			edit = (*f.queue)[0]
			*f.queue = (*f.queue)[1:]
		}
		t.mu.Unlock()
		if edit == nil {
			continue
		}
		claims, ok := tokenClaims(tok)
		if !ok {
			continue
		}
		var h Header
		edit(claims, &h)
		reply[f.field] = t.Sign(claims, h)
	}
	out, err := json.Marshal(reply)
	if err != nil {
		return body
	}
	return out
}

// tokenClaims decodes the claims of a token the emulator signed.
func tokenClaims(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var claims map[string]any
	if dec.Decode(&claims) != nil {
		return nil, false
	}
	return claims, true
}
