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

func stackConfig(t *testing.T, cloud string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("../../Pulumi." + cloud + ".yaml")
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
					for _, r := range res {
						p, err := est.Price(r)
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
