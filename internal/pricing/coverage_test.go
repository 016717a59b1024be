package pricing_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/internal/cost"
	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers"
)

// exampleFleet is the fleet of the example stacks (two tenants, one
// autoscaled with more storage; a fanout to two queues of its own and a
// tenant's), in the form every cloud accepts: a cloud with no example stack
// yet is covered with it.
const exampleFleet = `
tenantfleet:tenants:
  - id: acme
    database: {tier: small, deletionProtection: false}
    web: {image: docker.io/tenantfleet/tenant-app:1.0.0, port: 8080}
    worker: {image: docker.io/tenantfleet/tenant-worker:2.1.0}
  - id: globex
    database: {tier: small, storageGB: 50}
    web: {image: docker.io/tenantfleet/tenant-app:1.0.0, port: 8080, minInstances: 1, maxInstances: 3}
    queue: {maxReceiveCount: 6}
    worker: {image: docker.io/tenantfleet/tenant-worker:2.1.0}
tenantfleet:fanout:
  name: account-events
  subscribers:
    - {name: billing}
    - {name: audit}
    - {name: acme-inbox, tenant: acme}
`

// stackConfig is the cloud's example stack (Pulumi.<cloud>.yaml). A cloud
// with none yet runs exampleFleet with the settings its offline plan gives
// it (providers.Cloud.PlanConfig), as `cost plan` does.
func stackConfig(t *testing.T, cloud string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("../../Pulumi." + cloud + ".yaml")
	if errors.Is(err, os.ErrNotExist) {
		c, err := providers.Lookup(cloud)
		if err != nil {
			t.Fatal(err)
		}
		cfg := clone(c.PlanConfig)
		if err := yaml.Unmarshal([]byte(exampleFleet), &cfg); err != nil {
			t.Fatal(err)
		}
		cfg["tenantfleet:cloud"] = cloud
		return clone(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Config
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// variants are the example stack with every tier, autoscaling web apps, and
// (AWS) HTTPS: together they make the adapter emit every type and size it has.
func variants(t *testing.T, cloud string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, tier := range []string{"small", "medium", "large"} {
		cfg := clone(stackConfig(t, cloud))
		for _, raw := range cfg["tenantfleet:tenants"].([]any) {
			tenant := raw.(map[string]any)
			db, _ := tenant["database"].(map[string]any)
			if db == nil {
				db = map[string]any{}
			}
			db["tier"] = tier
			tenant["database"] = db
			web := tenant["web"].(map[string]any)
			if tier == "large" {
				web["minInstances"], web["maxInstances"] = 2, 4
			}
		}
		if cloud == "aws" && tier == "large" {
			cfg["tenantfleet:aws"] = map[string]any{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
		}
		out[tier] = cfg
	}
	return out
}

// TestEveryTypeAndSKUIsPriced runs each adapter (under its mocks) over every
// tier and every catalog region, and prices all it registers: a type that is
// neither priced nor declared free or usage-only, or a SKU missing from the
// catalog, fails.
func TestEveryTypeAndSKUIsPriced(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	for _, cloud := range cost.PlanClouds() {
		t.Run(cloud, func(t *testing.T) {
			t.Parallel()

			regions := cat.Regions(cloud)
			if len(regions) == 0 {
				t.Fatalf("the catalog prices no region of %s", cloud)
			}
			seen := map[string]bool{}
			for _, region := range regions {
				for name, cfg := range variants(t, cloud) {
					providers.SetRegion(cfg, cloud, region)
					res, err := cost.Record(t.Context(), cloud, "cover", cfg)
					if err != nil {
						t.Fatalf("%s %s: %v", region, name, err)
					}
					est, err := pricing.NewEstimator(cat, map[string]string{cloud: region}, nil)
					if err != nil {
						t.Fatal(err)
					}
					stack := pricing.NewStack(res)
					for _, r := range res {
						p, err := est.PriceIn(r, stack)
						var unknown *pricing.UnknownTypeError
						var missing *pricing.MissingPriceError
						switch {
						case errors.As(err, &unknown), errors.As(err, &missing):
							t.Errorf("%s %s: %v", region, name, err)
							continue
						case err != nil:
							t.Errorf("%s %s: %s: %v", region, name, r.URN, err)
							continue
						}
						seen[fmt.Sprintf("%s %s", r.Type, p.Kind)] = true
						if p.Kind == pricing.Sized {
							if total, _ := p.Monthly(); total <= 0 {
								t.Errorf("%s %s: %s is sized but costs %v", region, name, r.URN, total)
							}
						}
					}
				}
			}
			t.Logf("%s: %d type/kind pairs over %d regions", cloud, len(seen), len(regions))
		})
	}
}
