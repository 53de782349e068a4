package kinde

import (
	"context"
	"strings"
)

// cookieValue finds one cookie in Cookie header lines without parsing (and
// allocating) all of them, as net/http's Request.Cookie does. Values the web
// layer reads are sealed and authenticated, so no further validation is
// needed here; surrounding double quotes are removed like net/http does.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			v = strings.TrimRight(v, " \t")
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

type ctxKey struct{}

// requestState is what the web layer attaches to a request, carrying the
// *Web and the session. It is itself the request's new context (the parent
// context plus one value), so attaching it costs one allocation, not two.
// Every state belongs to one request, so the guards may fill it in place.
type requestState struct {
	context.Context // the request's context the state was attached to

	web     *Web
	session *Session
	own     Session      // storage for a session built for this request (bearer tokens)
	http    httpExchange // the request's net/http Exchange, reused by the guards

	// The web layer's cookies, read once (web_cookies.go): cx holds the
	// Exchange of another adapter given to LoadContext; jar is nil until a
	// read finds one of them.
	cx      cookieExchange
	jar     *cookieJar
	jarRead bool
}

// attach makes st a child context of parent that answers ctxKey{} with st.
func (st *requestState) attach(parent context.Context) context.Context {
	st.Context = parent
	return st
}

// Value implements context.Context.
func (st *requestState) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return st
	}
	return st.Context.Value(key)
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(ctxKey{}).(*requestState)
	return st
}
