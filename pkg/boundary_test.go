// Package pkg_test holds the framework's boundary check: pkg/ is what an
// outside module imports, so nothing under it may import the repository's
// internal/ tree (nova's own code), and examples/greeter, an outside module
// itself, may import only pkg/.
package pkg_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gonova/gonova/"

// forbiddenImports walks root and returns "file: import" for every Go file
// (tests included) that imports a package of this module for which allowed
// returns false.
func forbiddenImports(t *testing.T, root string, allowed func(importPath string) bool) []string {
	t.Helper()
	var bad []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module) && !allowed(p) {
				bad = append(bad, path+": "+p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// underPkg allows the framework's own packages (pkg/internal/... included).
func underPkg(p string) bool { return strings.HasPrefix(p, module+"pkg/") }

// notNova allows what is not nova's own code or a binary: internal/ and cmd/
// are refused (pkg/internal/... is the framework's and stays allowed).
func notNova(p string) bool {
	return !strings.HasPrefix(p, module+"internal/") && !strings.HasPrefix(p, module+"cmd/")
}

func TestPkgImportsNothingUnderInternal(t *testing.T) {
	for _, b := range forbiddenImports(t, ".", notNova) {
		t.Errorf("the framework imports nova's internal code: %s", b)
	}
}

func TestGreeterExampleImportsOnlyPkg(t *testing.T) {
	for _, b := range forbiddenImports(t, filepath.Join("..", "examples", "greeter"), underPkg) {
		t.Errorf("the outside-module example imports more than pkg/: %s", b)
	}
}

// The check itself must be able to fail: a file that imports internal/ is
// found.
func TestBoundaryCheckFindsAnInternalImport(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\nimport _ \"" + module + "internal/computedb\"\n"
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := forbiddenImports(t, dir, notNova)
	if len(bad) != 1 || !strings.HasSuffix(bad[0], module+"internal/computedb") {
		t.Fatalf("the check missed an internal import: %v", bad)
	}
}
