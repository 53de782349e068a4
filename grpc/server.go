package kindegrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	kinde "github.com/gokinde/kinde/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Option configures an Interceptor.
type Option func(*options) error

type options struct {
	policies    map[string]*policy // by full method name or service prefix
	defaultRule []kinde.Rule
	defaultSet  bool
}

// policy is what applies to one method or service.
type policy struct {
	public bool
	rules  []kinde.Rule
}

// WithRule requires rules, all of them, for method: a full method name
// ("/todo.v1.Todos/Delete") or a whole service ("/todo.v1.Todos/", with the
// trailing slash). The rules of a full method name replace those of its
// service, which replace the default rules. Giving the same method again
// adds rules to it.
func WithRule(method string, rules ...kinde.Rule) Option {
	return func(o *options) error {
		if err := checkMethod("WithRule", method); err != nil {
			return err
		}
		if len(rules) == 0 {
			return fmt.Errorf("kindegrpc: WithRule(%q) has no rule: pass kinde.RulePermissions, kinde.RuleScopes, … (or kinde.RuleSignedIn for any valid token)", method)
		}
		if err := checkRules("WithRule("+quote(method)+")", rules); err != nil {
			return err
		}
		p := o.policy(method)
		if p.public {
			return fmt.Errorf("kindegrpc: %q is given both to WithPublicMethods and to WithRule: a method is either public or ruled", method)
		}
		p.rules = append(p.rules, rules...)
		return nil
	}
}

// WithDefaultRule requires rules, all of them, for the methods that have no
// rule of their own or of their service. Without it any valid access token
// may call those methods.
func WithDefaultRule(rules ...kinde.Rule) Option {
	return func(o *options) error {
		if err := checkRules("WithDefaultRule", rules); err != nil {
			return err
		}
		o.defaultRule = append(o.defaultRule, rules...)
		o.defaultSet = true
		return nil
	}
}

// WithPublicMethods lets anybody call methods, full method names or whole
// services ("/grpc.health.v1.Health/"), without a token: for health checks
// and server reflection ("/grpc.reflection.v1.ServerReflection/"). The
// interceptor does not read their metadata, and SessionFrom returns nil in
// their handlers. A full method name given to WithRule stays protected in a
// public service.
func WithPublicMethods(methods ...string) Option {
	return func(o *options) error {
		for _, m := range methods {
			if err := checkMethod("WithPublicMethods", m); err != nil {
				return err
			}
			p := o.policy(m)
			if len(p.rules) > 0 {
				return fmt.Errorf("kindegrpc: %q is given both to WithPublicMethods and to WithRule: a method is either public or ruled", m)
			}
			p.public = true
		}
		return nil
	}
}

func (o *options) policy(method string) *policy {
	p := o.policies[method]
	if p == nil {
		p = &policy{}
		o.policies[method] = p
	}
	return p
}

// checkMethod accepts "/package.Service/Method" and "/package.Service/".
func checkMethod(opt, m string) error {
	svc, _, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	if !strings.HasPrefix(m, "/") || !ok || svc == "" || strings.Count(m, "/") != 2 {
		return fmt.Errorf("kindegrpc: %s: %q is not a gRPC method: write the full method name \"/package.Service/Method\", or \"/package.Service/\" for a whole service", opt, m)
	}
	return nil
}

// checkRules refuses the zero kinde.Rule, which no constructor returns.
func checkRules(opt string, rules []kinde.Rule) error {
	for i, r := range rules {
		if r.String() == "" {
			return fmt.Errorf("kindegrpc: %s: rule %d is a zero kinde.Rule: build rules with kinde.RulePermissions, kinde.RuleScopes, kinde.RuleRoles, kinde.RuleOrg, kinde.RuleFlag or kinde.RuleFunc", opt, i)
		}
	}
	return nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Interceptor checks the Kinde access token of every call to a gRPC server
// and the rules of the called method. Build it with NewInterceptor and
// install both Unary and Stream on the server; it is safe for concurrent
// use.
type Interceptor struct {
	web         *kinde.Web
	policies    map[string]*policy
	defaultRule []kinde.Rule
}

// NewInterceptor returns the interceptor that verifies access tokens with
// web, usually built with kinde.NewWeb(kinde.ResourceServer()) from the
// Kinde domain and the API's audience. Tokens must carry one of the
// audiences of web's configuration (Config.Audience, KINDE_AUDIENCE); a
// ResourceServer built with kinde.AnyAudience accepts every audience.
//
// It returns an error naming the fix when web is nil or was not built by
// kinde.NewWeb, when web is a sign-in web layer without an audience (it
// would accept tokens Kinde issued for other APIs), and when an option is
// wrong.
func NewInterceptor(web *kinde.Web, opts ...Option) (*Interceptor, error) {
	if web == nil || web.Client() == nil {
		return nil, errors.New("kindegrpc: NewInterceptor needs the *kinde.Web returned by kinde.NewWeb, e.g. kinde.NewWeb(kinde.ResourceServer()) with KINDE_DOMAIN and KINDE_AUDIENCE set")
	}
	// A ResourceServer refuses to be built without an audience unless
	// kinde.AnyAudience was given, so only a sign-in web layer gets here
	// without one by accident.
	if len(web.Client().Config().Audience) == 0 && len(web.Routes()) > 0 {
		return nil, &kinde.ConfigError{Field: "Audience", Env: "KINDE_AUDIENCE",
			Reason: "is required to protect a gRPC service: set it to your API's audience (its identifier under Settings > APIs in Kinde), or build the web layer with kinde.ResourceServer() and kinde.AnyAudience() to accept every access token of the domain"}
	}
	o := options{policies: map[string]*policy{}}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Interceptor{web: web, policies: o.policies, defaultRule: o.defaultRule}, nil
}

// Unary returns the unary server interceptor, for grpc.UnaryInterceptor or
// grpc.ChainUnaryInterceptor.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := i.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the stream server interceptor, for grpc.StreamInterceptor
// or grpc.ChainStreamInterceptor. The handler's stream.Context() carries
// the session.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := i.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

// serverStream is a grpc.ServerStream whose context carries the session.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the session.
func (s *serverStream) Context() context.Context { return s.ctx }

// rules returns the rules of fullMethod, or public true when anybody may
// call it.
func (i *Interceptor) rules(fullMethod string) (rules []kinde.Rule, public bool) {
	if p, ok := i.policies[fullMethod]; ok {
		return p.rules, p.public
	}
	if n := strings.LastIndexByte(fullMethod, '/'); n > 0 {
		if p, ok := i.policies[fullMethod[:n+1]]; ok {
			return p.rules, p.public
		}
	}
	return i.defaultRule, false
}

// authorize verifies the call's access token and applies the method's
// rules. It returns ctx carrying the web layer and the session, or a status
// error.
func (i *Interceptor) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	rules, public := i.rules(fullMethod)
	if public {
		return ctx, nil
	}
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	switch len(values) {
	case 0:
		return nil, status.Error(codes.Unauthenticated, `missing access token: send the metadata "authorization: Bearer <access token>"`)
	case 1:
	default:
		return nil, status.Error(codes.Unauthenticated, `send one "authorization: Bearer <access token>" metadata value, not several`)
	}
	x := &exchange{ctx: i.web.SkipContext(ctx), method: fullMethod, authorization: values[0]}
	if d := kinde.CheckBearer(x); d != nil {
		return nil, refusal(d)
	}
	for _, r := range rules {
		if d := kinde.Check(x, r); d != nil {
			return nil, refusal(d)
		}
	}
	return x.ctx, nil
}

// refusal is the status error of a denial. Its message says what is wrong
// without the token: core's denials never echo it.
func refusal(d *kinde.Denial) error {
	switch d.Status {
	case http.StatusBadRequest:
		return status.Error(codes.Unauthenticated, `malformed authorization metadata: send "Bearer <access token>"`)
	case http.StatusUnauthorized:
		if errors.Is(d, kinde.ErrKeySetUnavailable) {
			return status.Error(codes.Unavailable, "cannot verify the access token now: Kinde's signing keys are unavailable; retry later")
		}
		msg := "invalid access token: " + d.Message()
		var ve *kinde.VerifyError
		// The detail of a claims error describes the caller's own token,
		// such as "this is an ID token; send the access token".
		if errors.As(d, &ve) && errors.Is(ve.Err, kinde.ErrTokenClaims) && ve.Detail != "" {
			msg += ": " + ve.Detail
		}
		return status.Error(codes.Unauthenticated, msg)
	case http.StatusForbidden:
		return status.Error(codes.PermissionDenied, d.Message())
	}
	return status.Error(codes.Internal, "the request could not be authorized")
}

// SessionFrom returns the session of the caller whose access token the
// interceptor verified, or nil in a public method. kinde.SessionFrom(ctx)
// returns the same session.
func SessionFrom(ctx context.Context) *kinde.Session { return kinde.SessionFrom(ctx) }
