package conformance

import (
	"slices"

	"github.com/tenantfleet/tenantfleet/components"
)

// checkTags checks that every taggable resource carries the four
// tenantfleet tags, naming its stack, component and tenant.
func checkTags(fs *findings, p *Profile, g *Graph) {
	for _, r := range g.Custom() {
		if slices.Contains(p.Untaggable, r.Type) {
			continue
		}
		tags, ok := p.Tags(r)
		if !ok {
			fs.add("tagged", "%s carries no tags", r)
			continue
		}
		want := map[string]string{components.TagStack: Stack, components.TagManagedBy: components.ManagedBy}
		tenants := []string{}
		if c, ok := componentOf(g, r); ok {
			switch c.Type {
			case components.TenantUnitType:
				// The scenario names each tenant unit by its tenant id.
				want[components.TagComponent], tenants = components.ComponentTenantUnit, []string{c.Name}
			case components.PlatformType:
				want[components.TagComponent], tenants = components.ComponentPlatform, []string{components.SharedTenant}
			case components.MessagingFanoutType:
				want[components.TagComponent], tenants = components.ComponentFanout, []string{components.SharedTenant}
				for _, sub := range Fanout(p.SupportsFilters).Subscribers {
					if sub.Tenant != "" {
						tenants = append(tenants, sub.Tenant)
					}
				}
			}
		}
		for k, v := range want {
			if tags[k] != v {
				fs.add("tagged", "%s has tag %s=%q, want %q", r, k, tags[k], v)
			}
		}
		if !slices.Contains(tenants, tags[components.TagTenant]) {
			fs.add("tagged", "%s has tag %s=%q, want one of %q", r, components.TagTenant, tags[components.TagTenant], tenants)
		}
	}
}
