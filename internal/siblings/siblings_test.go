// Package siblings checks that the framework adapters keep one shape. It
// has tests only.
//
// The sibling modules (echo and echov5, fiber and fiberv3) must have the same
// files, and in each file the same imports, the same declarations (function
// and method names and signatures, types with their fields, constants and
// variables) and the same helper structure (which package-level functions,
// types, variables and methods each declaration refers to), once the
// framework's own differences are normalised: import paths (echo/v4 and
// echo/v5, fiber/v2 and fiber/v3, the adapters' module paths) and the
// context types (Echo v4's echo.Context interface and Echo v5's
// *echo.Context struct; Fiber v2's *fiber.Ctx struct and Fiber v3's
// fiber.Ctx interface). Parameter names and function bodies are not
// compared, only the package-level names they refer to (method calls are
// left out: without type information a framework's Context() cannot be
// told from the adapter's). The comparison reads the syntax with go/ast; it
// is not a text diff.
//
// The Gin, Echo and Fiber adapters must export the same names.
//
// Real framework differences that remain are listed, with their reason, in
// allowed; any other difference fails the test.
package siblings

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pairs are the sibling modules, as folders of the repository.
var pairs = [][2]string{{"echo", "echov5"}, {"fiber", "fiberv3"}}

// normalise maps each framework's spelling to a common one, in type
// expressions and import paths.
var normalise = strings.NewReplacer(
	"github.com/labstack/echo/v4", "github.com/labstack/echo/vN",
	"github.com/labstack/echo/v5", "github.com/labstack/echo/vN",
	"github.com/gofiber/fiber/v2", "github.com/gofiber/fiber/vN",
	"github.com/gofiber/fiber/v3", "github.com/gofiber/fiber/vN",
	`"github.com/gokinde/kinde/echov5"`, `"github.com/gokinde/kinde/echo"`,
	`"github.com/gokinde/kinde/fiberv3"`, `"github.com/gokinde/kinde/fiber"`,
	"*echo.Context", "echo.Context", // Echo v5's handlers take *echo.Context
	"*fiber.Ctx", "fiber.Ctx", // Fiber v3's handlers take the fiber.Ctx interface
)

// difference is one item found in one sibling only.
type difference struct {
	folder, file, item string
}

// allowed are the differences between siblings that the frameworks, or work
// outside the adapters, impose. Each names the folder that has the item.
var allowed = map[difference]string{
	{"fiberv3", "webhook_test.go", "import github.com/gofiber/fiber/vN"}: "app.Test takes a fiber.TestConfig in v3 (an int of milliseconds in v2)",
}

// TestSiblingsHaveOneShape compares each pair of sibling modules.
func TestSiblingsHaveOneShape(t *testing.T) {
	root := repoRoot(t)
	used := map[difference]bool{}
	for _, pair := range pairs {
		a, b := readPackage(t, filepath.Join(root, pair[0])), readPackage(t, filepath.Join(root, pair[1]))
		if a.name != b.name {
			t.Errorf("%s is package %s, %s is package %s", pair[0], a.name, pair[1], b.name)
		}
		for _, d := range compare(pair[0], a, pair[1], b) {
			if _, ok := allowed[d]; ok {
				used[d] = true
				continue
			}
			t.Errorf("%s/%s: %s (only there, not in its sibling)", d.folder, d.file, d.item)
		}
	}
	for d, why := range allowed {
		if !used[d] {
			t.Errorf("allowed difference %s/%s %q (%s) is no longer found: remove it from the list", d.folder, d.file, d.item, why)
		}
	}
}

// TestAdaptersExportTheSameNames compares the exported names of the Gin,
// Echo and Fiber adapters.
func TestAdaptersExportTheSameNames(t *testing.T) {
	root := repoRoot(t)
	want := readPackage(t, filepath.Join(root, "gin")).exported()
	for _, folder := range []string{"echo", "echov5", "fiber", "fiberv3"} {
		got := readPackage(t, filepath.Join(root, folder)).exported()
		if !slices.Equal(got, want) {
			t.Errorf("%s exports %v,\ngin exports %v", folder, got, want)
		}
	}
	for _, name := range []string{"Register", "Middleware", "SessionFrom", "RequireAuth", "RequirePermission",
		"RequireRole", "RequireOrg", "RequireFlag", "Require", "RequireBearer", "RequireScope", "RequirePermissionOrScope",
		"ContextKey", "Config", "WithConfig"} {
		if !slices.Contains(want, name) {
			t.Errorf("the adapters do not export %s", name)
		}
	}
}

// TestComparisonSeesDifferences makes sure the comparison can fail: a
// renamed helper, a changed signature and an extra file are all reported.
func TestComparisonSeesDifferences(t *testing.T) {
	base := `package p
import "github.com/labstack/echo/v4"
func helper(c echo.Context) error { return nil }
func Guard() echo.MiddlewareFunc { _ = helper; return nil }
`
	for name, other := range map[string]map[string]string{
		"renamed helper": {"a.go": strings.ReplaceAll(base, "helper", "assist")},
		"signature":      {"a.go": strings.Replace(base, "error { return nil }", "bool { return false }", 1)},
		"extra file":     {"a.go": base, "b.go": "package p\n"},
		"extra import":   {"a.go": strings.Replace(base, `import "github.com/labstack/echo/v4"`, "import (\n\"github.com/labstack/echo/v4\"\n\"net/http\"\n)", 1)},
	} {
		a := parsePackage(t, map[string]string{"a.go": base})
		b := parsePackage(t, other)
		if d := compare("a", a, "b", b); len(d) == 0 {
			t.Errorf("%s: no difference found", name)
		}
	}
	v5 := strings.NewReplacer("echo/v4", "echo/v5", "c echo.Context", "c *echo.Context").Replace(base)
	if d := compare("a", parsePackage(t, map[string]string{"a.go": base}), "b", parsePackage(t, map[string]string{"a.go": v5})); len(d) != 0 {
		t.Errorf("Echo v4 and v5 spellings differ after normalising: %v", d)
	}
}

// pkg is the shape of a package: its name and its files.
type pkg struct {
	name  string
	files map[string]set
}

// set is a set of items describing a file.
type set map[string]bool

// exported returns the exported top-level names of the package's non-test
// files, sorted.
func (p pkg) exported() []string {
	var out []string
	for file, items := range p.files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		for item := range items {
			kind, rest, _ := strings.Cut(item, " ")
			if kind != "func" && kind != "type" && kind != "const" && kind != "var" {
				continue
			}
			name := rest
			if i := strings.IndexAny(name, "( "); i >= 0 {
				name = name[:i]
			}
			if ast.IsExported(name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// compare returns the items of a found only in a and those of b found only
// in b, file by file.
func compare(na string, a pkg, nb string, b pkg) []difference {
	var out []difference
	only := func(folder string, x, y pkg) {
		for file, items := range x.files {
			other, ok := y.files[file]
			if !ok {
				out = append(out, difference{folder, file, "file"})
				continue
			}
			for item := range items {
				if !other[item] {
					out = append(out, difference{folder, file, item})
				}
			}
		}
	}
	only(na, a, b)
	only(nb, b, a)
	return out
}

// repoRoot returns the repository root (the folder with go.work).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("no go.work in %s: %v", root, err)
	}
	return root
}

// readPackage reads the Go files of dir.
func readPackage(t *testing.T, dir string) pkg {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		src[e.Name()] = string(b)
	}
	return parsePackage(t, src)
}

// parsePackage describes the files of one package given as sources by name.
func parsePackage(t *testing.T, src map[string]string) pkg {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for name, s := range src {
		f, err := parser.ParseFile(fset, name, s, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	// The names a declaration may refer to: top-level names and methods.
	top := set{}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					top[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						top[s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							top[n.Name] = true
						}
					}
				}
			}
		}
	}
	delete(top, "_")
	p := pkg{files: map[string]set{}}
	for name, f := range files {
		if !strings.HasSuffix(name, "_test.go") {
			p.name = f.Name.Name
		}
		p.files[name] = describe(fset, f, top)
	}
	return p
}

// describe lists the imports and declarations of f and what each
// declaration refers to.
func describe(fset *token.FileSet, f *ast.File, top set) set {
	items := set{}
	imported := set{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		} else if strings.HasPrefix(name, "v") && strings.Count(path, "/") > 1 {
			name = filepath.Base(filepath.Dir(path)) // echo/v4 is package echo
		}
		imported[name] = true
		items["import "+strings.Trim(normalise.Replace(strconv.Quote(path)), `"`)] = true
	}
	refs := func(what string, n ast.Node) {
		found := set{}
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && imported[id.Name] {
					return false // a name of another package
				}
				ast.Inspect(n.X, func(m ast.Node) bool {
					if id, ok := m.(*ast.Ident); ok && top[id.Name] {
						found[id.Name] = true
					}
					return true
				})
				return false
			case *ast.Ident:
				if top[n.Name] {
					found[n.Name] = true
				}
			}
			return true
		})
		delete(found, strings.TrimPrefix(what, "."))
		if len(found) > 0 {
			names := make([]string, 0, len(found))
			for k := range found {
				names = append(names, k)
			}
			slices.Sort(names)
			items["refs "+what+": "+strings.Join(names, " ")] = true
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			what := d.Name.Name
			desc := "func "
			if d.Recv != nil {
				recv := typeString(fset, d.Recv.List[0].Type)
				desc += "(" + recv + ") "
				what = "." + what
			}
			items[desc+d.Name.Name+strings.TrimPrefix(typeString(fset, d.Type), "func")] = true
			refs(what, d)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					items["type "+s.Name.Name+" "+typeString(fset, s.Type)] = true
					refs(s.Name.Name, s.Type)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						desc := d.Tok.String() + " " + n.Name
						if s.Type != nil {
							desc += " " + typeString(fset, s.Type)
						}
						items[desc] = true
						refs(n.Name, s)
					}
				}
			}
		}
	}
	return items
}

// typeString prints a type expression on one line, without the names of
// function parameters and results, with the frameworks' spellings
// normalised.
func typeString(fset *token.FileSet, expr ast.Expr) string {
	ast.Inspect(expr, func(n ast.Node) bool {
		if ft, ok := n.(*ast.FuncType); ok {
			for _, fl := range []*ast.FieldList{ft.Params, ft.Results} {
				if fl == nil {
					continue
				}
				var unnamed []*ast.Field
				for _, field := range fl.List {
					for range max(1, len(field.Names)) {
						unnamed = append(unnamed, &ast.Field{Type: field.Type})
					}
				}
				fl.List = unnamed
			}
		}
		if f, ok := n.(*ast.Field); ok {
			f.Doc, f.Comment, f.Tag = nil, nil, nil
		}
		return true
	})
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, fset, expr); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return normalise.Replace(strings.Join(strings.Fields(buf.String()), " "))
}
