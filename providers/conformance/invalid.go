package conformance

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// checkInvalid checks that every invalid spec, neutral or the profile's,
// is refused naming its field, before anything is registered.
func checkInvalid(fs *findings, p *Profile) {
	cases := append(invalidTenants(), p.InvalidTenants...)
	if !capabilitiesOf(mustAdapter(p)).SharedDatabases {
		cases = append(cases, InvalidTenant{"the cloud has no shared database servers", "database.placement",
			func(s *components.TenantSpec) { s.Database.Placement = components.PlacementShared }})
	}
	for _, tc := range cases {
		spec := Tenants()[0]
		tc.Mutate(&spec)
		g, _, err := run(p, true, func(ctx *pulumi.Context, cloud components.Adapter, _ *outcome) error {
			_, err := components.NewTenantUnit(ctx, "bad", &components.TenantUnitArgs{Spec: spec, Cloud: cloud})
			return err
		})
		switch {
		case err == nil:
			fs.add("invalid", "%s: the spec was accepted", tc.Reason)
		case !strings.Contains(err.Error(), tc.Field+":"):
			fs.add("invalid", "%s: the error does not name %s: %v", tc.Reason, tc.Field, err)
		}
		if n := len(g.Custom()) + len(g.OfType(components.TenantUnitType)); n > 0 {
			fs.add("invalid", "%s: %d resources were registered before the spec was refused", tc.Reason, n)
		}
	}
}
