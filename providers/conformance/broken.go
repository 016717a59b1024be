package conformance

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Broken is an adapter with one rule broken and the check that must report it.
type Broken[A any] struct {
	Name  string
	Wrap  func(A) components.Adapter
	Check string
	// Detail, when set, must be in the finding's detail: a check that may
	// report something else too must report this.
	Detail string
}

// CatchesBroken shows the suite can fail: for each case it runs the suite on
// the case's broken adapter, wrapped around a fresh one from base, and fails
// t when the case's check is not among the findings.
func CatchesBroken[A any](t *testing.T, profile func() *Profile, base func() (A, error), cases []Broken[A]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p := profile()
			p.New = func(*pulumi.Context) (components.Adapter, error) {
				a, err := base()
				if err != nil {
					return nil, err
				}
				return tc.Wrap(a), nil
			}
			r := Check(p)
			if !slices.ContainsFunc(r.Findings, func(f Finding) bool {
				return f.Check == tc.Check && strings.Contains(f.Detail, tc.Detail)
			}) {
				t.Fatalf("the suite did not report %q with %q; findings: %v", tc.Check, tc.Detail, r.Findings)
			}
		})
	}
}
