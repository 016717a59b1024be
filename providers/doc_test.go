package providers_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/providers"
)

// adapterDocSections are the headings of an adapter's package doc, in
// order (the template is in doc.go).
var adapterDocSections = []string{"Per stack", "Per tenant", "Per fanout", "Decisions", "Unverified"}

// TestAdapterDocs: every registered cloud's doc.go follows the package-doc
// template of doc.go: the opening sentence, then each section once, in order,
// none empty.
func TestAdapterDocs(t *testing.T) {
	t.Parallel()
	for name := range providers.All() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, filepath.Join(name, "doc.go"), nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc == nil {
				t.Fatalf("%s/doc.go has no package doc", name)
			}
			if problems := adapterDocProblems(name, f.Doc.Text()); len(problems) > 0 {
				t.Errorf("%s/doc.go does not follow the template in providers/doc.go:\n%s", name, strings.Join(problems, "\n"))
			}
		})
	}

	// The check bites: each way a doc can stray from the template is reported.
	good := "Package x is tenantfleet's X adapter: y.\n\n# Per stack\n\na\n\n# Per tenant\n\nb\n\n# Per fanout\n\nc\n\n# Decisions\n\nd\n\n# Unverified\n\ne\n"
	if problems := adapterDocProblems("x", good); len(problems) > 0 {
		t.Fatalf("a doc that follows the template is reported: %q", problems)
	}
	for _, tc := range []struct {
		reason, doc, want string
	}{
		{"another opening", strings.Replace(good, "Package x is tenantfleet's", "Package x provisions", 1), "open with"},
		{"a section missing", strings.Replace(good, "# Unverified\n\ne\n", "", 1), `no "# Unverified"`},
		{"sections out of order", strings.NewReplacer("# Per stack", "# Per tenant", "# Per tenant", "# Per stack").Replace(good), "out of order"},
		{"a section twice", good + "\n# Decisions\n\nf\n", "twice"},
		{"an empty section", strings.Replace(good, "\nc\n", "", 1), "is empty"},
		{"a section of its own", good + "\n# Notes\n\nf\n", `"# Notes" is not`},
	} {
		if got := strings.Join(adapterDocProblems("x", tc.doc), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems = %q, want one saying %q", tc.reason, got, tc.want)
		}
	}
}

// adapterDocProblems lists how the package doc text of adapter name strays
// from the template.
func adapterDocProblems(name, doc string) []string {
	var problems []string
	if opening := "Package " + name + " is tenantfleet's "; !strings.HasPrefix(doc, opening) {
		problems = append(problems, fmt.Sprintf("the doc should open with %q", opening))
	}
	var seen []string
	body := map[string]int{}
	current := ""
	for line := range strings.SplitSeq(doc, "\n") {
		heading, ok := strings.CutPrefix(line, "# ")
		if !ok {
			if current != "" && strings.TrimSpace(line) != "" {
				body[current]++
			}
			continue
		}
		current = heading
		switch {
		case !slices.Contains(adapterDocSections, heading):
			problems = append(problems, fmt.Sprintf("%q is not a section of the template (%s)", "# "+heading, strings.Join(adapterDocSections, ", ")))
		case slices.Contains(seen, heading):
			problems = append(problems, fmt.Sprintf("%q appears twice", "# "+heading))
		}
		seen = append(seen, heading)
	}
	var order []string
	for _, s := range seen {
		if slices.Contains(adapterDocSections, s) && !slices.Contains(order, s) {
			order = append(order, s)
		}
	}
	for _, s := range adapterDocSections {
		if !slices.Contains(seen, s) {
			problems = append(problems, fmt.Sprintf("no %q section", "# "+s))
		} else if body[s] == 0 {
			problems = append(problems, fmt.Sprintf("%q is empty", "# "+s))
		}
	}
	want := slices.DeleteFunc(slices.Clone(adapterDocSections), func(s string) bool { return !slices.Contains(order, s) })
	if !slices.Equal(order, want) {
		problems = append(problems, fmt.Sprintf("sections out of order: %s, want %s", strings.Join(order, ", "), strings.Join(want, ", ")))
	}
	return problems
}
