package pricing_test

import (
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

func doCluster(engine, size string, nodes float64, storageMib string) map[string]any {
	in := map[string]any{"engine": engine, "size": size, "nodeCount": nodes, "region": "fra1"}
	if storageMib != "" {
		in["storageSizeMib"] = storageMib
	}
	return in
}

// TestDigitalOceanPricing prices hand-built DigitalOcean resources in fra1:
// monthly prices as node-months and container-months.
func TestDigitalOceanPricing(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	usage := &pricing.Usage{Version: 1, Resources: map[string]map[string]float64{
		"tenant-app": {"monthly_egress_overage_gib": 100},
	}}
	est, err := pricing.NewEstimator(cat, map[string]string{"digitalocean": "fra1"}, usage)
	if err != nil {
		t.Fatal(err)
	}
	const (
		cluster   = "digitalocean:index/databaseCluster:DatabaseCluster"
		app       = "digitalocean:index/app:App"
		bandwidth = "do:apps:bandwidth-overage"
		overage   = "monthly_egress_overage_gib"
	)
	gcpDORun(t, "digitalocean", est, []gcpDOCase{{
		reason: "a one-node PostgreSQL cluster with the size's own disk (140 GiB): the node's monthly price only",
		typ:    cluster, name: "pg-one-node",
		inputs: doCluster("pg", "db-s-4vcpu-8gb", 1, "143360"),
		want: []string{
			gcpDOWant("PostgreSQL nodes (db-s-4vcpu-8gb)", "node-months", gcpDOQty(1), 120, "do:db:db-s-4vcpu-8gb:pg", ""),
		},
		total: 120,
	}, {
		reason: "a primary and a standby: two nodes; 20 GiB on a 10 GiB size adds 10 GiB on each node",
		typ:    cluster, name: "pg-two-nodes",
		inputs: doCluster("pg", "db-s-1vcpu-1gb", 2, "20480"),
		want: []string{
			gcpDOWant("PostgreSQL nodes (db-s-1vcpu-1gb)", "node-months", gcpDOQty(2), 15, "do:db:db-s-1vcpu-1gb:pg", ""),
			gcpDOWant("Added storage (10 GiB × 2 nodes)", "GiB-months", gcpDOQty(20), 0.21, "do:db:storage", ""),
		},
		total: 34.2,
	}, {
		reason: "the Kafka cluster: three brokers at the Kafka price of their size",
		typ:    cluster, name: "kafka",
		inputs: doCluster("kafka", "db-s-2vcpu-2gb", 3, ""),
		want: []string{
			gcpDOWant("Kafka nodes (db-s-2vcpu-2gb)", "node-months", gcpDOQty(3), 49, "do:db:db-s-2vcpu-2gb:kafka", ""),
		},
		total: 147,
	}, {
		reason: "a web service of 2 containers and a worker of 1, with transfer beyond the allowance from the usage file",
		typ:    app, name: "tenant-app",
		inputs: map[string]any{"spec": map[string]any{
			"services": []any{map[string]any{"name": "web", "instanceSizeSlug": "apps-s-1vcpu-1gb", "instanceCount": 2.0}},
			"workers":  []any{map[string]any{"name": "worker", "instanceSizeSlug": "apps-s-1vcpu-0.5gb", "instanceCount": 1.0}},
		}},
		want: []string{
			gcpDOWant("Service web (2 × apps-s-1vcpu-1gb)", "container-months", gcpDOQty(2), 12, "do:apps:apps-s-1vcpu-1gb", ""),
			gcpDOWant("Worker worker (1 × apps-s-1vcpu-0.5gb)", "container-months", gcpDOQty(1), 5, "do:apps:apps-s-1vcpu-0.5gb", ""),
			gcpDOWant("Outbound transfer beyond the allowance", "GiB", gcpDOQty(100), 0.02, bandwidth, overage),
		},
		total: 31,
	}, {
		reason: "an autoscaled service is priced at its minimum; no usage leaves the transfer unknown",
		typ:    app, name: "autoscaled-app",
		inputs: map[string]any{"spec": map[string]any{
			"services": []any{map[string]any{"name": "web", "instanceSizeSlug": "apps-d-1vcpu-1gb",
				"autoscaling": map[string]any{"minInstanceCount": 2.0, "maxInstanceCount": 4.0}}},
			"workers": []any{map[string]any{"name": "worker", "instanceSizeSlug": "apps-s-1vcpu-1gb", "instanceCount": 1.0}},
		}},
		want: []string{
			gcpDOWant("Service web (2 × apps-d-1vcpu-1gb)", "container-months", gcpDOQty(2), 34, "do:apps:apps-d-1vcpu-1gb", ""),
			gcpDOWant("Worker worker (1 × apps-s-1vcpu-1gb)", "container-months", gcpDOQty(1), 12, "do:apps:apps-s-1vcpu-1gb", ""),
			gcpDOWant("Outbound transfer beyond the allowance", "GiB", nil, 0.02, bandwidth, overage),
		},
		total: 80,
	}})
}

// TestDigitalOceanRefusesWhatItCannotPrice: an engine, size or app part
// with no price is an error naming it, never $0.
func TestDigitalOceanRefusesWhatItCannotPrice(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	est, err := pricing.NewEstimator(cat, map[string]string{"digitalocean": "nyc3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		reason, typ string
		inputs      map[string]any
		want        string
	}{
		{"an engine tenantfleet does not use", "digitalocean:index/databaseCluster:DatabaseCluster",
			doCluster("mysql", "db-s-1vcpu-1gb", 1, ""), `"mysql"`},
		{"a size missing from the catalog", "digitalocean:index/databaseCluster:DatabaseCluster",
			doCluster("pg", "db-s-3vcpu-3gb", 1, ""), "do:db:db-s-3vcpu-3gb:pg"},
		{"added disk on a Kafka cluster", "digitalocean:index/databaseCluster:DatabaseCluster",
			doCluster("kafka", "db-s-2vcpu-2gb", 3, "81920"), "added storage"},
		{"an app job", "digitalocean:index/app:App",
			map[string]any{"spec": map[string]any{"jobs": []any{map[string]any{"name": "migrate"}}}}, "spec.jobs"},
	} {
		_, err := est.Price(pricing.Resource{URN: "urn:x", Type: tc.typ, Inputs: tc.inputs})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %s", tc.reason, err, tc.want)
		}
	}
}
