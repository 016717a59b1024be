package conformance

import (
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
)

// ValidationCase is a change to the scenario's first tenant and the field
// errors an adapter's ValidateTenant must answer with (none: accepted), each
// as the stack would name it under its tenant.
type ValidationCase struct {
	Name   string
	Mutate func(*components.TenantSpec)
	Want   []string
	Reason string
}

// ExpectValidation runs each case through cloud.ValidateTenant. Every wanted
// error must survive components.Prefix, which unwraps one level of
// errors.Join only: an adapter must join its field errors flat.
func ExpectValidation(t *testing.T, cloud components.Adapter, cases []ValidationCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			spec := Tenants()[0]
			tc.Mutate(&spec)
			err := cloud.ValidateTenant(spec.WithDefaults())
			if len(tc.Want) == 0 && err != nil {
				t.Fatalf("got %v, want no error (%s)", err, tc.Reason)
			}
			if len(tc.Want) > 0 && err == nil {
				t.Fatalf("the spec was accepted, want %q (%s)", tc.Want, tc.Reason)
			}
			prefixed := components.Prefix("tenantfleet:tenants[0].", err)
			for _, w := range tc.Want {
				if !strings.Contains(prefixed.Error(), "tenantfleet:tenants[0]."+w) {
					t.Errorf("prefixed error does not contain %q (%s):\n%v", w, tc.Reason, prefixed)
				}
			}
		})
	}
}
