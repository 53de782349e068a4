package management_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gokinde/kinde/management"
	"go.yaml.in/yaml/v3"
	"golang.org/x/oauth2"
)

// specOperation is one operation of the stripped specification.
type specOperation struct {
	ID, Method, Path string
}

// loadOperations reads every operation of the committed (stripped) specification.
func loadOperations(t *testing.T) []specOperation {
	t.Helper()
	raw, err := os.ReadFile("internal/spec/kinde-management-api.yaml")
	if err != nil {
		t.Fatalf("read spec: %v", err)
	}
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse spec: %v", err)
	}
	var ops []specOperation
	for path, item := range doc.Paths {
		for method, node := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
			default:
				continue
			}
			var op struct {
				OperationID string `yaml:"operationId"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("decode %s %s: %v", method, path, err)
			}
			ops = append(ops, specOperation{ID: op.OperationID, Method: strings.ToUpper(method), Path: path})
		}
	}
	slices.SortFunc(ops, func(a, b specOperation) int { return strings.Compare(a.ID, b.ID) })
	return ops
}

type recorded struct {
	method, path, auth string
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestEveryOperation calls each operation of the specification through the generated client
// and checks the method and path (with path parameters substituted) that reach the server.
func TestEveryOperation(t *testing.T) {
	ops := loadOperations(t)
	if len(ops) < 183 {
		t.Fatalf("the specification has %d operations, want at least 183", len(ops))
	}

	var (
		mu  sync.Mutex
		got []recorded
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization")})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := management.New(context.Background(), management.Config{
		Domain:      srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"}),
		HTTPClient:  srv.Client(),
		MaxRetries:  -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := reflect.ValueOf(c.API())
	methods := methodsByOperation(t, client.Type())
	if len(methods) != len(ops) {
		t.Errorf("the generated client has %d operations, the specification %d", len(methods), len(ops))
	}

	ctx := context.Background()
	for _, op := range ops {
		t.Run(op.ID, func(t *testing.T) {
			name, ok := methods[strings.ToLower(op.ID)]
			if !ok {
				t.Fatalf("no generated method for operation %s", op.ID)
			}
			m := client.MethodByName(name)
			args, values := callArgs(ctx, m.Type())
			i := 0
			want := pathParam.ReplaceAllStringFunc(op.Path, func(string) string {
				if i >= len(values) {
					t.Fatalf("%s: more path parameters in %s than in the generated signature", name, op.Path)
				}
				i++
				return values[i-1]
			})
			if i != len(values) {
				t.Fatalf("%s: the generated signature has %d path parameters, %s has %d", name, len(values), op.Path, i)
			}
			mu.Lock()
			got = nil
			mu.Unlock()
			out := m.Call(args)
			if err, _ := out[1].Interface().(error); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%s sent %d requests, want 1", name, len(got))
			}
			if g := got[0]; g.method != op.Method || g.path != want || g.auth != "Bearer tok" {
				t.Errorf("%s sent %s %s (Authorization %q), want %s %s (Bearer tok)", name, g.method, g.path, g.auth, op.Method, want)
			}
		})
	}
}

// methodsByOperation maps lower-cased operation ids to the generated method that calls them: the
// variant taking a raw body when the operation has one, else the plain variant.
func methodsByOperation(t *testing.T, typ reflect.Type) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if base, ok := strings.CutSuffix(name, "WithBodyWithResponse"); ok {
			m[strings.ToLower(base)] = name
		}
	}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if strings.HasSuffix(name, "WithBodyWithResponse") {
			continue
		}
		if base, ok := strings.CutSuffix(name, "WithResponse"); ok {
			if _, dup := m[strings.ToLower(base)]; !dup {
				m[strings.ToLower(base)] = name
			}
		}
	}
	return m
}

// callArgs builds arguments for a generated method: the context, a distinct value for each path
// parameter (returned in order), empty parameter structs, and a JSON body for body variants.
func callArgs(ctx context.Context, mt reflect.Type) ([]reflect.Value, []string) {
	readerType := reflect.TypeFor[io.Reader]()
	var (
		args   []reflect.Value
		values []string
	)
	n := mt.NumIn()
	if mt.IsVariadic() {
		n--
	}
	for i := range n {
		in := mt.In(i)
		switch {
		case i == 0:
			args = append(args, reflect.ValueOf(ctx))
		case in == readerType:
			args = append(args, reflect.ValueOf(io.Reader(strings.NewReader("{}"))))
		case in.Kind() == reflect.String && i+1 < n && mt.In(i+1) == readerType:
			args = append(args, reflect.ValueOf("application/json").Convert(in))
		case in.Kind() == reflect.String:
			v := "p" + string(rune('a'+len(values)))
			values = append(values, v)
			args = append(args, reflect.ValueOf(v).Convert(in))
		case in.Kind() == reflect.Pointer:
			args = append(args, reflect.New(in.Elem()))
		default:
			args = append(args, reflect.Zero(in))
		}
	}
	return args, values
}
