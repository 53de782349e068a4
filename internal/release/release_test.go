// Package release checks that the library modules of this repository can be
// installed by an application outside it, at the version they are released
// with. It has tests only; docs/releasing.md describes the release.
//
// The library modules are the modules of go.work but the root module and
// examples/. TestProxyInstall zips each of them at the release version (core's
// Version constant, "v" in front) into a module proxy in a temporary folder, in
// the file layout of GOPROXY, and for each library module alone creates an
// application in another temporary folder that runs `go get module@version`
// through that proxy and builds a program importing every package of the
// module. The application uses no go.work and its own module cache, so
// nothing of the repository reaches it except through the proxy: a library
// that requires a sibling at a version that is not published, or that
// imports a module its go.mod does not require, fails here.
package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kinde "github.com/gokinde/kinde/core"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

// appPath is the module path of the applications that install the modules.
const appPath = "example.com/kindeapp"

// modulePrefix is the path every module of the repository starts with.
const modulePrefix = "github.com/gokinde/kinde"

// houseLayout lists library modules that must stay at the top of the
// repository (the layout users know from the README).
var houseLayout = []string{"core", "gin", "echo", "fiber"}

// releaseVersion is the version the library modules are tagged with.
func releaseVersion() string { return "v" + kinde.Version }

// workModule is one module of go.work.
type workModule struct {
	dir     string // relative to the repository root, "." for the root
	path    string // module path
	gomod   []byte
	file    *modfile.File
	library bool
}

// repoRoot is the directory holding go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test's directory: run the test inside the repository")
		}
		dir = parent
	}
}

// workModules reads every module of root's go.work.
func workModules(t *testing.T, root string) []workModule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	work, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mods []workModule
	for _, use := range work.Use {
		dir := filepath.Clean(filepath.FromSlash(use.Path))
		gomodPath := filepath.Join(root, dir, "go.mod")
		gomod, err := os.ReadFile(gomodPath)
		if err != nil {
			t.Fatalf("go.work uses %s: %v", use.Path, err)
		}
		f, err := modfile.Parse(gomodPath, gomod, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Module == nil {
			t.Fatalf("%s has no module line", gomodPath)
		}
		slashDir := filepath.ToSlash(dir)
		mods = append(mods, workModule{
			dir:     dir,
			path:    f.Module.Mod.Path,
			gomod:   gomod,
			file:    f,
			library: slashDir != "." && slashDir != "examples" && !strings.HasPrefix(slashDir, "examples/"),
		})
	}
	return mods
}

// libraries returns the library modules of go.work and checks the house
// layout.
func libraries(t *testing.T, root string) []workModule {
	t.Helper()
	var libs []workModule
	for _, m := range workModules(t, root) {
		if m.library {
			libs = append(libs, m)
		}
	}
	for _, dir := range houseLayout {
		if !slices.ContainsFunc(libs, func(m workModule) bool { return filepath.ToSlash(m.dir) == dir }) {
			t.Errorf("go.work has no library module in %s/: core/, gin/, echo/ and fiber/ stay at the top of the repository", dir)
		}
	}
	return libs
}

// TestRequiresAtReleaseVersion checks that every module of go.work requires
// the repository's modules at the release version, and that the library
// modules require only library modules of the repository.
func TestRequiresAtReleaseVersion(t *testing.T) {
	root := repoRoot(t)
	version := releaseVersion()
	if !semver.IsValid(version) || semver.Build(version) != "" {
		t.Fatalf("core's Version constant %q is not a semantic version X.Y.Z", kinde.Version)
	}
	if major := semver.Major(version); major != "v0" && major != "v1" {
		t.Fatalf("release version %s needs a /%s suffix on every module path", version, major)
	}
	mods := workModules(t, root)
	libPaths := map[string]bool{}
	for _, m := range mods {
		if m.library {
			libPaths[m.path] = true
		}
		if want := strings.TrimSuffix(modulePrefix+"/"+filepath.ToSlash(m.dir), "/."); m.path != want {
			t.Errorf("%s/go.mod declares module %s; the module of that folder is %s", m.dir, m.path, want)
		}
	}
	for _, m := range mods {
		for _, r := range m.file.Require {
			p := r.Mod.Path
			if p != modulePrefix && !strings.HasPrefix(p, modulePrefix+"/") {
				continue
			}
			if r.Mod.Version != version {
				t.Errorf("%s/go.mod requires %s %s, not the release version %s (core's Version constant): run bash scripts/bump-version.sh %s",
					m.dir, p, r.Mod.Version, version, kinde.Version)
			}
			if m.library && !libPaths[p] {
				t.Errorf("library module %s requires %s, which is not a library module (not published)", m.path, p)
			}
		}
	}
}

// TestProxyInstall installs each library module, alone, into an application
// outside the repository through a module proxy built from the repository.
func TestProxyInstall(t *testing.T) {
	root := repoRoot(t)
	version := releaseVersion()
	libs := libraries(t, root)
	if len(libs) == 0 {
		t.Fatal("go.work has no library modules")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}

	tmp := t.TempDir()
	proxyDir := filepath.Join(tmp, "proxy")
	for _, m := range libs {
		writeProxyModule(t, proxyDir, filepath.Join(root, m.dir), m, version)
	}
	sums := knownSums(t, root)

	// The application's environment: no workspace, a module cache of its own
	// (so the proxy's modules never enter the developer's cache, and a later
	// run sees the current code), the proxy first, then the downloads already
	// in the developer's module cache, then the proxy this machine uses. Only
	// the repository's modules are exempt from the checksum database.
	upstream := goEnv(t, goBin, root, "GOPROXY")
	sharedCache := goEnv(t, goBin, root, "GOMODCACHE")
	proxies := []string{fileURL(proxyDir)}
	if sharedCache != "" {
		proxies = append(proxies, fileURL(filepath.Join(sharedCache, "cache", "download")))
	}
	if upstream != "" {
		proxies = append(proxies, upstream)
	}
	env := append(os.Environ(),
		"GOWORK=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPROXY="+strings.Join(proxies, ","),
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GONOSUMDB="+modulePrefix,
		"GONOPROXY=none",
		"GOPRIVATE=",
		"GOTOOLCHAIN=local",
	)
	t.Logf("release version %s, %d library modules, GOPROXY=%s", version, len(libs), strings.Join(proxies, ","))

	for _, m := range libs {
		t.Run(filepath.ToSlash(m.dir), func(t *testing.T) {
			installAlone(t, goBin, env, sums, m.path, version)
		})
	}
}

// installAlone creates an application that gets modPath@version and builds a
// program importing each of its packages. The application's go.sum starts
// with sums, so that the checksum database is asked only about modules the
// repository does not use.
func installAlone(t *testing.T, goBin string, env []string, sums []byte, modPath, version string) {
	start := time.Now()
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "go.sum"), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = app
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("go %s (in an application outside the repository): %v\n%s%s",
				strings.Join(args, " "), err, stdout.String(), withoutDownloads(stderr.String()))
		}
		return stdout.String()
	}

	run("mod", "init", appPath)
	run("get", modPath+"@"+version)

	var imports, commands []string
	for _, line := range strings.Split(strings.TrimSpace(run("list", "-f", "{{.ImportPath}} {{.Name}}", modPath+"/...")), "\n") {
		importPath, name, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("go list printed %q", line)
		}
		if isInternal(importPath) {
			continue
		}
		if name == "main" {
			commands = append(commands, importPath)
		} else {
			imports = append(imports, importPath)
		}
	}
	if len(imports) == 0 {
		t.Fatalf("%s@%s has no package an application can import", modPath, version)
	}
	var src strings.Builder
	src.WriteString("// Command kindeapp imports every package of one module.\npackage main\n\nimport (\n")
	for _, p := range imports {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run("build", "-trimpath", "-o", filepath.Join(app, "kindeapp"), ".")
	for _, c := range commands {
		run("build", "-trimpath", "-o", filepath.Join(app, "bin")+string(filepath.Separator), c)
	}

	// GOFLAGS=-mod=mod lets the go command add what a go.mod misses, at the
	// newest version: the application must require nothing at a version that
	// no module of its build list asked for.
	if added := ownRequirements(run("mod", "graph")); len(added) > 0 {
		t.Fatalf("installing %s needed modules its go.mod does not require (run go mod tidy in its folder): %s",
			modPath, strings.Join(added, ", "))
	}
	after := run("list", "-m", "all")

	var siblings []string
	for _, line := range strings.Split(strings.TrimSpace(after), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 2 && strings.HasPrefix(fields[0], modulePrefix+"/") && fields[0] != modPath {
			siblings = append(siblings, fields[0]+"@"+fields[1])
		}
	}
	with := "no other module of this repository"
	if len(siblings) > 0 {
		with = strings.Join(siblings, ", ")
	}
	msg := fmt.Sprintf("%s@%s: ok, go get and go build from the proxy alone; %d packages imported", modPath, version, len(imports))
	if len(commands) > 0 {
		msg += fmt.Sprintf(", %d commands built", len(commands))
	}
	t.Logf("%s; with %s; %d modules in the build list; %s",
		msg, with, strings.Count(after, "\n")-1, time.Since(start).Round(100*time.Millisecond))
}

// writeProxyModule adds m at version to the module proxy in proxyDir:
// $module/@v/{list,$version.info,$version.mod,$version.zip}.
func writeProxyModule(t *testing.T, proxyDir, dir string, m workModule, version string) {
	t.Helper()
	escaped, err := module.EscapePath(m.path)
	if err != nil {
		t.Fatal(err)
	}
	escVersion, err := module.EscapeVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(proxyDir, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"list":               []byte(version + "\n"),
		escVersion + ".info": info,
		escVersion + ".mod":  m.gomod,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	zf, err := os.Create(filepath.Join(vdir, escVersion+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	if err := zip.CreateFromDir(zf, module.Version{Path: m.path, Version: version}, dir); err != nil {
		t.Fatalf("zip %s at %s from %s: %v", m.path, version, dir, err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
}

// knownSums returns the lines of every go.sum of the repository and of
// go.work.sum: checksums of third-party modules that were checked against the
// checksum database when they were added. The repository's own modules have
// none (they are replaced by folders).
func knownSums(t *testing.T, root string) []byte {
	t.Helper()
	files := []string{filepath.Join(root, "go.work.sum")}
	for _, m := range workModules(t, root) {
		files = append(files, filepath.Join(root, m.dir, "go.sum"))
	}
	seen := map[string]bool{}
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" && !seen[l] && !strings.HasPrefix(l, modulePrefix+" ") && !strings.HasPrefix(l, modulePrefix+"/") {
				seen[l] = true
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// goEnv returns `go env name` as seen in dir.
func goEnv(t *testing.T, goBin, dir, name string) string {
	t.Helper()
	cmd := exec.Command(goBin, "env", name)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// fileURL returns the file:// URL GOPROXY accepts for an absolute path.
func fileURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return "file://" + p
}

// isInternal reports whether importPath is an internal package, which an
// application cannot import.
func isInternal(importPath string) bool {
	return strings.HasSuffix(importPath, "/internal") || strings.Contains(importPath, "/internal/")
}

// withoutDownloads drops the "go: downloading" lines from the go command's
// messages.
func withoutDownloads(s string) string {
	var kept []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "go: downloading ") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// ownRequirements returns the requirements of the application (in the
// output of `go mod graph`) that no other module requires at that version,
// leaving out the repository's modules, which the application gets itself.
func ownRequirements(graph string) []string {
	var fromApp []string
	byOthers := map[string]bool{}
	for _, line := range strings.Split(graph, "\n") {
		from, to, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if from == appPath {
			fromApp = append(fromApp, to)
		} else {
			byOthers[to] = true
		}
	}
	var own []string
	for _, m := range fromApp {
		path, _, _ := strings.Cut(m, "@")
		if path == "go" || path == "toolchain" || path == modulePrefix || strings.HasPrefix(path, modulePrefix+"/") {
			continue
		}
		if !byOthers[m] {
			own = append(own, m)
		}
	}
	return own
}
