package kindegrpc

import (
	"context"
	"net/http"
	"strings"
)

// exchange is a gRPC call as core's guards see a request: a POST to the
// full method name whose only header is the authorization metadata. The
// guards answer API calls without writing anything (their answers come
// back as *kinde.Denial), so the response side is empty.
type exchange struct {
	ctx           context.Context
	method        string
	authorization string
}

func (x *exchange) Context() context.Context { return x.ctx }
func (x *exchange) Method() string           { return http.MethodPost }
func (x *exchange) Path() string             { return x.method }
func (x *exchange) RawQuery() string         { return "" }
func (x *exchange) Query(string) string      { return "" }

func (x *exchange) Header(name string) string {
	if strings.EqualFold(name, "Authorization") {
		return x.authorization
	}
	return ""
}

func (x *exchange) Cookie(string) (string, bool) { return "", false }
func (x *exchange) RemoteAddr() string           { return "" }
func (x *exchange) IsTLS() bool                  { return false }
func (x *exchange) SetCookie(*http.Cookie)       {}
func (x *exchange) SetHeader(string, string)     {}
func (x *exchange) Redirect(int, string)         {}
func (x *exchange) Write(int, string, []byte)    {}
