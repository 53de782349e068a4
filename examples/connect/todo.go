package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"connectrpc.com/connect"
	kinde "github.com/gokinde/kinde/core"
)

// The procedures of todo.v1.TodoService. A protobuf schema would generate
// these names and the message types below; this example writes them by
// hand and sends them as JSON, so it needs no code generation.
const (
	ListTodosProcedure = "/todo.v1.TodoService/ListTodos"
	AddTodoProcedure   = "/todo.v1.TodoService/AddTodo"
)

// The permissions (users) or scopes (machine-to-machine applications) the
// procedures need. In Kinde, define them on the API (Settings > APIs >
// your API > Scopes) and as permissions, and grant the scopes to the
// machine-to-machine application.
const (
	ReadTodos   = "read:todos"
	CreateTodos = "create:todos"
)

// Todo is one todo.
type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	// Owner is who added it: a user ID, or the client ID of a machine.
	Owner string `json:"owner"`
}

// ListTodosRequest asks for every todo.
type ListTodosRequest struct{}

// ListTodosResponse lists the todos.
type ListTodosResponse struct {
	Todos []Todo `json:"todos"`
}

// AddTodoRequest adds a todo.
type AddTodoRequest struct {
	Title string `json:"title"`
}

// AddTodoResponse is the added todo.
type AddTodoResponse struct {
	Todo Todo `json:"todo"`
}

// jsonCodec is encoding/json under the name "json", so Connect sends and
// reads plain Go structs (Content-Type application/json, or
// application/grpc+json with the gRPC protocol). It replaces Connect's
// protobuf JSON codec, which needs generated messages.
type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

func (jsonCodec) Unmarshal(data []byte, v any) error {
	if len(data) == 0 {
		return nil // an empty request body is the empty message
	}
	return json.Unmarshal(data, v)
}

// todoStore keeps the todos in memory.
type todoStore struct {
	mu    sync.Mutex
	todos []Todo
}

// newHandler mounts the Connect service on a mux. Each procedure is an
// ordinary http.Handler, so core's net/http guards wrap it: RequireBearer
// verifies the access token (issuer, signature, expiry, the audience of
// web's configuration) and the next guard checks the permission of a user
// or the scope of a machine. Refusals are 401 and 403 with
// WWW-Authenticate, which Connect clients read as CodeUnauthenticated and
// CodePermissionDenied.
func newHandler(web *kinde.Web) http.Handler {
	store := &todoStore{}
	codec := connect.WithCodec(jsonCodec{})
	protect := func(key string, h http.Handler) http.Handler {
		return web.RequireBearer()(web.RequirePermissionOrScope(key)(h))
	}
	mux := http.NewServeMux()
	mux.Handle(ListTodosProcedure, protect(ReadTodos, connect.NewUnaryHandler(ListTodosProcedure, store.list, codec)))
	mux.Handle(AddTodoProcedure, protect(CreateTodos, connect.NewUnaryHandler(AddTodoProcedure, store.add, codec)))
	return web.Middleware(mux)
}

func (s *todoStore) list(_ context.Context, _ *connect.Request[ListTodosRequest]) (*connect.Response[ListTodosResponse], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return connect.NewResponse(&ListTodosResponse{Todos: append([]Todo{}, s.todos...)}), nil
}

func (s *todoStore) add(ctx context.Context, req *connect.Request[AddTodoRequest]) (*connect.Response[AddTodoResponse], error) {
	title := strings.TrimSpace(req.Msg.Title)
	if title == "" || len(title) > 200 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("title must be 1 to 200 characters"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := Todo{ID: len(s.todos) + 1, Title: title, Owner: caller(kinde.SessionFrom(ctx))}
	s.todos = append(s.todos, t)
	return connect.NewResponse(&AddTodoResponse{Todo: t}), nil
}

// caller names who called: the user's ID, or for a machine-to-machine
// token, which has no user, the application's client ID (azp).
func caller(s *kinde.Session) string {
	if id := s.UserID(); id != "" {
		return id
	}
	return s.AccessClaims().AuthorizedParty
}
