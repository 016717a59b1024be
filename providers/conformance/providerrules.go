package conformance

import (
	"cmp"
	"maps"
	"strings"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// Variant is one way to run the scenario for the provider-rules check: a
// stack name, adapter options and changes to the tenants, each something a
// user may do that the cloud's own rules must still accept.
type Variant struct {
	Name string
	// Stack is the stack name (default Stack).
	Stack string
	// Config is merged over Profile.Config (adapter options of the cloud).
	Config map[string]string
	// Tenants changes the scenario's tenants (nil: as they are).
	Tenants func(ts []components.TenantSpec)
}

// variants are the neutral variants every adapter runs (every tier, both
// placements where the cloud has shared servers, tenant ids that are
// PostgreSQL reserved words or as long as allowed, stack names that collide
// with cloud prefixes or are long), then the profile's own.
func variants(p *Profile) []Variant {
	vs := []Variant{{Name: "scenario"}}
	placements := []string{components.PlacementDedicated}
	if capabilitiesOf(mustAdapter(p)).SharedDatabases {
		placements = append(placements, components.PlacementShared)
	}
	for _, tier := range components.Tiers() {
		for _, placement := range placements {
			vs = append(vs, Variant{Name: "tier " + string(tier) + ", " + placement, Tenants: func(ts []components.TenantSpec) {
				for i := range ts {
					ts[i].Database.Tier, ts[i].Database.Placement = tier, placement
					if placement == components.PlacementShared {
						// A shared server runs one PostgreSQL version.
						ts[i].Database.Version = components.DefaultPostgresVersion
					}
				}
			}})
		}
	}
	vs = append(vs,
		// Tenant ids become database, user and resource names; these are
		// valid DNS labels that PostgreSQL reserves as keywords.
		Variant{Name: "tenant ids that are SQL keywords", Tenants: renameTenants("user", "order")},
		Variant{Name: "tenant ids of the longest length", Tenants: renameTenants(
			strings.Repeat("a", components.MaxTenantIDLength), "z"+strings.Repeat("9", components.MaxTenantIDLength-1))},
		// Pulumi stack names are [A-Za-z0-9_.-]{1,100}: they reach names whose
		// clouds forbid some prefixes (sg- on AWS security groups,
		// internal- on load balancers) or limit the length.
		Variant{Name: "stack named sg-prod", Stack: "sg-prod"},
		Variant{Name: "stack named internal", Stack: "internal"},
		Variant{Name: "stack with capitals, dots and underscores", Stack: "Prod_EU.2"},
		Variant{Name: "long stack name", Stack: "production-" + strings.Repeat("x", 89)},
	)
	return append(vs, p.Variants...)
}

// renameTenants gives the scenario's tenants new ids; the fanout's tenant
// subscriber follows the first.
func renameTenants(ids ...string) func(ts []components.TenantSpec) {
	return func(ts []components.TenantSpec) {
		for i := range ts {
			ts[i].ID = ids[i]
		}
	}
}

// checkProviderRules runs every variant in preview and update and checks
// each registered input against the profile's provider rules. A rule that
// selects no value in any variant is a finding too (its type token or path
// is misspelt or stale, or no variant sets the input: it checks nothing),
// and so is a rule without a source or a description.
func checkProviderRules(fs *findings, p *Profile) {
	if len(p.Rules) == 0 {
		fs.add("provider-rules", "the profile lists no provider rules")
		return
	}
	for i, r := range p.Rules {
		if r.Type == "" || r.Source == "" || r.Check.Describe == "" {
			fs.add("provider-rules", "rule %d (%s %s) lacks a type, a source or a described check", i, r.Type, r.Path)
		}
	}
	selected := make([]int, len(p.Rules))
	for _, v := range variants(p) {
		tenants := p.tenants()
		firstID := tenants[0].ID
		if v.Tenants != nil {
			v.Tenants(tenants)
		}
		fanout := Fanout(p.SupportsFilters)
		for i := range fanout.Subscribers {
			if fanout.Subscribers[i].Tenant == firstID {
				fanout.Subscribers[i].Tenant = tenants[0].ID
			}
		}
		cfg := maps.Clone(p.Config)
		if cfg == nil {
			cfg = map[string]string{}
		}
		maps.Copy(cfg, v.Config)
		stack := cmp.Or(v.Stack, Stack)
		// One finding per resource, rule and value across both phases.
		reported := map[string]bool{}
		for _, dryRun := range []bool{true, false} {
			phase := "update"
			if dryRun {
				phase = "preview"
			}
			g, _, err := runOn(p, stack, cfg, dryRun, scenarioOf(tenants, fanout))
			if err != nil {
				fs.add("provider-rules", "%s, %s: the scenario fails: %v", v.Name, phase, err)
				continue
			}
			for _, r := range g.Custom() {
				for i, rule := range p.Rules {
					if rule.Type == r.Type {
						selected[i] += rules.Selects(rule, r.Inputs)
					}
				}
				for _, viol := range rules.Evaluate(p.Rules, r.Type, r.Inputs) {
					key := r.Name + viol.String()
					if reported[key] {
						continue
					}
					reported[key] = true
					fs.add("provider-rules", "%s, %s: %s %q: %s", v.Name, phase, r.Type, r.Name, viol)
				}
			}
		}
	}
	for i, r := range p.Rules {
		if selected[i] == 0 {
			fs.add("provider-rules", "rule %s %q (%s) selects no value in any variant: it checks nothing "+
				"(a misspelt type or path, or no variant sets the input: add one)", r.Type, r.Path, r.Check.Describe)
		}
	}
}
