package conformance

import (
	"slices"

	"github.com/tenantfleet/tenantfleet/components"
)

// checkKinds checks that every tenant unit and fanout has a resource of
// each role: a database, a queue, a web app and a worker per tenant, a
// topic and a subscription per fanout.
func checkKinds(fs *findings, p *Profile, g *Graph) {
	perUnit := map[string][]string{
		components.TenantUnitType:      {"database", "queue", "web", "worker"},
		components.MessagingFanoutType: {"topic", "subscription"},
	}
	for _, comp := range g.Resources {
		roles, ok := perUnit[comp.Type]
		if !ok {
			continue
		}
		for _, role := range roles {
			found := false
			for _, r := range g.Custom() {
				if c, ok := componentOf(g, r); ok && c.URN == comp.URN && slices.Contains(p.Kinds[role], r.Type) {
					found = true
				}
			}
			if !found {
				fs.add("kinds", "%s has no %s resource (one of %v)", comp, role, p.Kinds[role])
			}
		}
	}
}
