// Package apisurface checks the size and the documentation of package
// kinde's public API, and keeps the list in docs/architecture.md true.
//
// The count follows the project's rule: exported functions, exported
// methods of exported types, exported types, and exported vars and consts
// of package kinde (struct fields do not count). Run
//
//	go test ./internal/apisurface -update
//
// to rewrite the list in docs/architecture.md after changing the API.
package apisurface

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the exported-name list in docs/architecture.md")

// budget is the most exported top-level names package kinde may have.
const budget = 200

const (
	startMarker = "<!-- kinde-api-names:start -->"
	endMarker   = "<!-- kinde-api-names:end -->"
)

// name is one exported name of the package.
type name struct {
	kind string // func, method, type, var, const
	id   string // e.g. "Client.AuthURL"
	doc  bool   // has a doc comment
	pos  string
}

func exportedNames(t *testing.T, dir string) []name {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []name
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "kinde" {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					out = append(out, name{"func", d.Name.Name, d.Doc != nil, fset.Position(d.Pos()).String()})
					continue
				}
				recv := receiverName(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				out = append(out, name{"method", recv + "." + d.Name.Name, d.Doc != nil, fset.Position(d.Pos()).String()})
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							out = append(out, name{"type", s.Name.Name, s.Doc != nil || d.Doc != nil, fset.Position(s.Pos()).String()})
						}
					case *ast.ValueSpec:
						for _, id := range s.Names {
							if id.IsExported() {
								out = append(out, name{d.Tok.String(), id.Name, s.Doc != nil || d.Doc != nil || s.Comment != nil, fset.Position(id.Pos()).String()})
							}
						}
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func receiverName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.IndexExpr:
		return receiverName(x.X)
	case *ast.IndexListExpr:
		return receiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}

func TestKindeAPISurface(t *testing.T) {
	names := exportedNames(t, filepath.Join("..", "..", "core"))
	t.Logf("package kinde exports %d top-level names (budget %d)", len(names), budget)
	if len(names) > budget {
		t.Errorf("package kinde exports %d names, more than the budget of %d: move optional features into packages below core, unexport plumbing, or keep one way per job", len(names), budget)
	}
	for _, n := range names {
		if !n.doc {
			t.Errorf("%s: exported %s %s has no doc comment", n.pos, n.kind, n.id)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d exported names (budget %d), counted by `internal/apisurface`:\n\n", startMarker, len(names), budget)
	byKind := map[string][]string{}
	for _, n := range names {
		byKind[n.kind] = append(byKind[n.kind], "`"+n.id+"`")
	}
	for _, k := range []string{"type", "func", "method", "var", "const"} {
		if len(byKind[k]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "- %ss (%d): %s\n", k, len(byKind[k]), strings.Join(byKind[k], ", "))
	}
	b.WriteString(endMarker)
	want := b.String()

	doc := filepath.Join("..", "..", "docs", "architecture.md")
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i, j := strings.Index(text, startMarker), strings.Index(text, endMarker)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s … %s section for the list of exported names", doc, startMarker, endMarker)
	}
	got := text[i : j+len(endMarker)]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(doc, []byte(text[:i]+want+text[j+len(endMarker):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the list of exported names in %s is out of date: run go test ./internal/apisurface -update", doc)
}
