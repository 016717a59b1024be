package conformance

import (
	"fmt"
	"slices"
	"testing"
)

// Finding is one rule an adapter broke.
type Finding struct {
	// Check names the rule ("tagged", "parented", ...), stable for tests.
	Check  string
	Detail string
}

func (f Finding) String() string { return f.Check + ": " + f.Detail }

// Report is the outcome of running the suite on one adapter.
type Report struct {
	Findings []Finding
	// Graph is the update run's recorded graph (nil when the program failed).
	Graph *Graph
}

// Has reports whether any finding is of check.
func (r Report) Has(check string) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Check == check })
}

type findings []Finding

func (fs *findings) add(check, format string, args ...any) {
	*fs = append(*fs, Finding{Check: check, Detail: fmt.Sprintf(format, args...)})
}

// Check runs the whole suite on the profile's adapter and returns every finding.
func Check(p *Profile) Report {
	var fs findings
	// What the adapter states it provides, before running anything.
	checkCapabilities(&fs, mustAdapter(p))
	// Preview first, as `pulumi preview` would: it must succeed on its own.
	if _, _, err := run(p, true, scenario(p)); err != nil {
		fs.add("preview", "the scenario fails in preview: %v", err)
	}
	g, o, err := run(p, false, scenario(p))
	if err != nil {
		fs.add("update", "the scenario fails: %v", err)
		return Report{Findings: fs}
	}
	checkKinds(&fs, p, g)
	checkParents(&fs, g)
	checkUnique(&fs, p, g)
	checkTags(&fs, p, g)
	checkSecrets(&fs, g, o)
	checkDatabase(&fs, p, g)
	checkWorkloads(&fs, p, g)
	checkFanout(&fs, p, g, o)
	checkInvalid(&fs, p)
	checkProviderRules(&fs, p)
	return Report{Findings: fs, Graph: g}
}

// Run runs the suite and reports each finding as a test error.
func Run(t *testing.T, p *Profile) *Graph {
	t.Helper()
	r := Check(p)
	for _, f := range r.Findings {
		t.Errorf("conformance: %s", f)
	}
	return r.Graph
}
