package conformance

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
		t.Errorf("resource graph differs from %s (-want +got); run go test -update if intended:\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
