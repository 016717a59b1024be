package conformance

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Update rewrites golden graphs instead of comparing them: go test -update.
var Update = flag.Bool("update", false, "rewrite testdata/graph.golden")

// Golden compares the graph with testdata/graph.golden under dir, rewriting
// it instead when -update is given.
func Golden(t *testing.T, g *Graph, dir string) {
	t.Helper()
	if g == nil {
		t.Fatal("no graph: the scenario failed")
	}
	path := filepath.Join(dir, "testdata", "graph.golden")
	got := g.Golden()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden graph (run go test -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("resource graph differs from %s (-want +got); run go test -update if intended:\n%s", path,
			cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")))
	}
}
