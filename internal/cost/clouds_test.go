package cost

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers"
)

// TestEveryCloudIsPricedAndPlanned: each registered cloud (providers) has
// its prices (a price table for its types and a catalog with its default
// region, or with pricing.AnyRegion for a cloud without regions) and an offline plan that runs with its plan settings, unless it
// says why it has none. providers' own test checks the rest of each
// cloud's descriptor.
func TestEveryCloudIsPricedAndPlanned(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range providers.All() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			p, err := pricing.Lookup(name)
			if err != nil {
				t.Fatalf("pricing: %v", err)
			}
			if len(p.Types) == 0 {
				t.Errorf("pricing prices no type of %s", name)
			}
			if cat.Cloud(name) == nil {
				t.Errorf("the price catalog has no %s.yaml", name)
			}
			if c.DefaultRegion != "" && !slices.Contains(cat.Regions(name), c.DefaultRegion) {
				t.Errorf("the %s price catalog lacks its default region %s (it has %v)", name, c.DefaultRegion, cat.Regions(name))
			}
			if c.DefaultRegion == "" && !p.RunsLocally() && !slices.Contains(cat.Regions(name), pricing.AnyRegion) {
				t.Errorf("the %s price catalog has no prices: a cloud without regions keeps them under regions.%s", name, pricing.AnyRegion)
			}
			if c.NoPlan != "" {
				if slices.Contains(PlanClouds(), name) {
					t.Errorf("%s has no offline plan (%s), yet PlanClouds lists it", name, c.NoPlan)
				}
				return
			}
			if problem := planProblem(t, c, name); problem != "" {
				t.Error(problem)
			}
		})
	}

	// The check bites: a cloud whose plan settings lack what its adapter
	// requires (GCP's project) is reported.
	gcp, err := providers.Lookup("gcp")
	if err != nil {
		t.Fatal(err)
	}
	gcp.PlanConfig = nil
	if problem := planProblem(t, gcp, "gcp"); !strings.Contains(problem, "tenantfleet:gcp.project") {
		t.Errorf("GCP without its plan settings: %q, want the missing project named", problem)
	}
}

// planProblem runs a one-tenant fleet with a fanout on c offline, in its
// default region, and prices it; it says what went wrong, or "".
func planProblem(t *testing.T, c providers.Cloud, name string) string {
	t.Helper()
	cfg := fleetConfig(name, map[string]string{"acme": "small"}, true)
	for k, v := range planSettings(c, name, "") {
		cfg[k] = v
	}
	cfg = cloneConfig(cfg)
	resources, parents, err := record(t.Context(), name, "plan", cfg)
	if err != nil {
		return name + ": the offline plan fails: " + err.Error()
	}
	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	est, err := pricing.NewEstimator(cat, map[string]string{name: c.DefaultRegion}, nil)
	if err != nil {
		return name + ": " + err.Error()
	}
	r, err := Build("plan", name, c.DefaultRegion, cat, est, StepsFromPlan(resources, parents))
	if err != nil {
		return name + ": pricing the offline plan: " + err.Error()
	}
	if r.Totals.After <= 0 {
		return name + ": the offline plan costs nothing"
	}
	return ""
}
