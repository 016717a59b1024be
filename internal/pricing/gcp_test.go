package pricing_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// gcpDOCase is one hand-built resource and the components it must price to
// (shared by the GCP and DigitalOcean tests).
type gcpDOCase struct {
	reason string
	typ    string
	// name is the resource's name, the usage file's resources key.
	name   string
	inputs map[string]any
	want   []string
	// total is the known monthly cost, written out by hand.
	total float64
}

// gcpDOLine renders a component as one comparable line: name, unit,
// quantity, unit price, cost, SKU and usage key, amounts to a millionth.
func gcpDOLine(c pricing.Component) string {
	amount := func(f *float64) string {
		if f == nil {
			return "nil"
		}
		return fmt.Sprintf("%.6f", *f)
	}
	return fmt.Sprintf("%s | %s | %s × %s = %s | %s | %s",
		c.Name, c.Unit, amount(c.MonthlyQuantity), amount(&c.UnitPrice), amount(c.MonthlyCost), c.SKU, c.UsageKey)
}

// gcpDOWant renders an expected component the way gcpDOLine renders a priced one.
func gcpDOWant(name, unit string, quantity *float64, price float64, sku, key string) string {
	c := pricing.Component{Name: name, Unit: unit, MonthlyQuantity: quantity, UnitPrice: price, SKU: sku, UsageKey: key}
	if quantity != nil {
		cost := *quantity * price
		c.MonthlyCost = &cost
	}
	return gcpDOLine(c)
}

func gcpDOQty(f float64) *float64 { return &f }

// gcpDORun prices each case with est and compares its components, "-want +got".
func gcpDORun(t *testing.T, cloud string, est *pricing.Estimator, cases []gcpDOCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := pricing.Resource{URN: "urn:pulumi:test::tenantfleet::" + tc.typ + "::" + tc.name, Type: tc.typ, Inputs: tc.inputs}
			p, err := est.Price(r)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if p.Kind != pricing.Sized && p.Kind != pricing.UsageOnly {
				t.Errorf("%s: kind %s, want a priced kind", tc.reason, p.Kind)
			}
			got := make([]string, len(p.Components))
			for i, c := range p.Components {
				got[i] = gcpDOLine(c)
			}
			if diff := gcpDOLineDiff(tc.want, got); diff != "" {
				t.Errorf("%s: %s components (-want +got):\n%s", tc.reason, cloud, diff)
			}
			if total, _ := p.Monthly(); math.Abs(total-tc.total) > 1e-6 {
				t.Errorf("%s: monthly total %.6f, want %.6f", tc.reason, total, tc.total)
			}
		})
	}
}

// gcpDOLineDiff is an empty string when want and got are equal, else every
// line of each that differs, "-want +got".
func gcpDOLineDiff(want, got []string) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w == g {
			continue
		}
		if w != "" {
			fmt.Fprintf(&b, "-%s\n", w)
		}
		if g != "" {
			fmt.Fprintf(&b, "+%s\n", g)
		}
	}
	return b.String()
}

func cloudSQL(tier, edition, availability string, diskGB float64) map[string]any {
	return map[string]any{"settings": map[string]any{
		"tier": tier, "edition": edition, "availabilityType": availability, "diskType": "PD_SSD", "diskSize": diskGB,
	}}
}

func cloudRun(minInstances float64, cpu, memory string, cpuIdle bool) map[string]any {
	return map[string]any{"template": map[string]any{
		"scaling": map[string]any{"minInstanceCount": minInstances, "maxInstanceCount": max(minInstances, 1)},
		"containers": []any{map[string]any{"resources": map[string]any{
			"limits": map[string]any{"cpu": cpu, "memory": memory}, "cpuIdle": cpuIdle,
		}}},
	}}
}

// TestGCPPricing prices hand-built GCP resources in europe-west1, with
// usage for some and none for others (their usage components unknown).
func TestGCPPricing(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	usage := &pricing.Usage{Version: 1, Resources: map[string]map[string]float64{
		"custom":           {"backup_storage_gb": 30},
		"always-on-worker": {"extra_instance_seconds": 100000, "monthly_egress_gb": 10},
		"busy-web":         {"monthly_requests": 5e6},
		"work-topic":       {"monthly_message_gib": 512},
	}}
	est, err := pricing.NewEstimator(cat, map[string]string{"gcp": "europe-west1"}, usage)
	if err != nil {
		t.Fatal(err)
	}
	const (
		sqlDB   = "gcp:sql/databaseInstance:DatabaseInstance"
		run     = "gcp:cloudrunv2/service:Service"
		backups = "cloudsql:backup"
		egress  = "network:internet-egress:premium"
	)
	gcpDORun(t, "gcp", est, []gcpDOCase{{
		reason: "a zonal shared-core instance: the machine per hour, the SSD per GB-month, backups unknown without usage",
		typ:    sqlDB, name: "shared-core",
		inputs: cloudSQL("db-g1-small", "ENTERPRISE", "ZONAL", 20),
		want: []string{
			gcpDOWant("Instance (db-g1-small)", "hours", gcpDOQty(730), 0.0385, "cloudsql:db-g1-small", ""),
			gcpDOWant("Storage (SSD)", "GB-months", gcpDOQty(20), 0.187, "cloudsql:storage:ssd", ""),
			gcpDOWant("Backups", "GB-months", nil, 0.088, backups, "backup_storage_gb"),
		},
		total: 31.845,
	}, {
		reason: "a regional shared-core instance pays the HA rates",
		typ:    sqlDB, name: "shared-core-ha",
		inputs: cloudSQL("db-g1-small", "ENTERPRISE", "REGIONAL", 10),
		want: []string{
			gcpDOWant("Instance (db-g1-small, regional HA)", "hours", gcpDOQty(730), 0.077, "cloudsql:db-g1-small:ha", ""),
			gcpDOWant("Storage (SSD)", "GB-months", gcpDOQty(10), 0.374, "cloudsql:storage:ssd:ha", ""),
			gcpDOWant("Backups", "GB-months", nil, 0.088, backups, "backup_storage_gb"),
		},
		total: 59.95,
	}, {
		reason: "a custom Enterprise machine: 2 vCPU-hours and 7.5 GB-hours an hour, backups from the usage file",
		typ:    sqlDB, name: "custom",
		inputs: cloudSQL("db-custom-2-7680", "ENTERPRISE", "ZONAL", 50),
		want: []string{
			gcpDOWant("vCPU (db-custom-2-7680)", "vCPU-hours", gcpDOQty(730*2), 0.0454, "cloudsql:enterprise:vcpu-hour", ""),
			gcpDOWant("Memory (db-custom-2-7680)", "GB-hours", gcpDOQty(730*7.5), 0.0077, "cloudsql:enterprise:memory-gb-hour", ""),
			gcpDOWant("Storage (SSD)", "GB-months", gcpDOQty(50), 0.187, "cloudsql:storage:ssd", ""),
			gcpDOWant("Backups", "GB-months", gcpDOQty(30), 0.088, backups, "backup_storage_gb"),
		},
		total: 120.4315,
	}, {
		reason: "a regional Enterprise Plus machine: 4 vCPU and 32 GB at the Enterprise Plus HA rates",
		typ:    sqlDB, name: "regional",
		inputs: cloudSQL("db-perf-optimized-N-4", "ENTERPRISE_PLUS", "REGIONAL", 100),
		want: []string{
			gcpDOWant("vCPU (db-perf-optimized-N-4, regional HA)", "vCPU-hours", gcpDOQty(730*4), 0.11812, "cloudsql:enterprise-plus:vcpu-hour:ha", ""),
			gcpDOWant("Memory (db-perf-optimized-N-4, regional HA)", "GB-hours", gcpDOQty(730*32), 0.02002, "cloudsql:enterprise-plus:memory-gb-hour:ha", ""),
			gcpDOWant("Storage (SSD)", "GB-months", gcpDOQty(100), 0.374, "cloudsql:storage:ssd:ha", ""),
			gcpDOWant("Backups", "GB-months", nil, 0.088, backups, "backup_storage_gb"),
		},
		total: 849.9776,
	}, {
		reason: "a service scaling to zero has no fixed part: everything depends on usage, at request-based rates",
		typ:    run, name: "idle-web",
		inputs: cloudRun(0, "1", "512Mi", true),
		want: []string{
			gcpDOWant("Extra instances vCPU (1 vCPU, 0.5 GiB)", "vCPU-seconds", nil, 0.000024, "cloudrun:request:vcpu-second", "extra_instance_seconds"),
			gcpDOWant("Extra instances memory (1 vCPU, 0.5 GiB)", "GiB-seconds", nil, 0.0000025, "cloudrun:request:gib-second", "extra_instance_seconds"),
			gcpDOWant("Requests", "1M requests", nil, 0.40, "cloudrun:request:requests", "monthly_requests"),
			gcpDOWant("Internet egress", "GB", nil, 0.12, egress, "monthly_egress_gb"),
		},
		total: 0,
	}, {
		reason: "one always-allocated instance all month at the instance-based rate; extra instance-seconds become vCPU- and GiB-seconds; no request fee",
		typ:    run, name: "always-on-worker",
		inputs: cloudRun(1, "1", "512Mi", false),
		want: []string{
			gcpDOWant("Minimum instances vCPU (1 × 1 vCPU, 0.5 GiB)", "vCPU-seconds", gcpDOQty(730*3600), 0.000018, "cloudrun:instance:vcpu-second", ""),
			gcpDOWant("Minimum instances memory (1 × 1 vCPU, 0.5 GiB)", "GiB-seconds", gcpDOQty(730*3600*0.5), 0.000002, "cloudrun:instance:gib-second", ""),
			gcpDOWant("Extra instances vCPU (1 vCPU, 0.5 GiB)", "vCPU-seconds", gcpDOQty(100000), 0.000018, "cloudrun:instance:vcpu-second", "extra_instance_seconds"),
			gcpDOWant("Extra instances memory (1 vCPU, 0.5 GiB)", "GiB-seconds", gcpDOQty(50000), 0.000002, "cloudrun:instance:gib-second", "extra_instance_seconds"),
			gcpDOWant("Internet egress", "GB", gcpDOQty(10), 0.12, egress, "monthly_egress_gb"),
		},
		total: 53.032,
	}, {
		reason: "a request-billed service's minimum instances are still priced at the instance-based rate; requests per million",
		typ:    run, name: "busy-web",
		inputs: cloudRun(2, "2", "2Gi", true),
		want: []string{
			gcpDOWant("Minimum instances vCPU (2 × 2 vCPU, 2 GiB)", "vCPU-seconds", gcpDOQty(730*3600*2*2), 0.000018, "cloudrun:instance:vcpu-second", ""),
			gcpDOWant("Minimum instances memory (2 × 2 vCPU, 2 GiB)", "GiB-seconds", gcpDOQty(730*3600*2*2), 0.000002, "cloudrun:instance:gib-second", ""),
			gcpDOWant("Extra instances vCPU (2 vCPU, 2 GiB)", "vCPU-seconds", nil, 0.000024, "cloudrun:request:vcpu-second", "extra_instance_seconds"),
			gcpDOWant("Extra instances memory (2 vCPU, 2 GiB)", "GiB-seconds", nil, 0.0000025, "cloudrun:request:gib-second", "extra_instance_seconds"),
			gcpDOWant("Requests", "1M requests", gcpDOQty(5), 0.40, "cloudrun:request:requests", "monthly_requests"),
			gcpDOWant("Internet egress", "GB", nil, 0.12, egress, "monthly_egress_gb"),
		},
		total: 212.24,
	}, {
		reason: "a secret replicated to one region: one active version",
		typ:    "gcp:secretmanager/secret:Secret", name: "password",
		inputs: map[string]any{"replication": map[string]any{"userManaged": map[string]any{"replicas": []any{map[string]any{"location": "europe-west1"}}}}},
		want: []string{
			gcpDOWant("Active secret versions", "version-months", gcpDOQty(1), 0.06, "secretmanager:active-version", ""),
			gcpDOWant("Access operations", "10K operations", nil, 0.03, "secretmanager:access", "monthly_access_operations"),
		},
		total: 0.06,
	}, {
		reason: "a retaining topic: 512 GiB published is half a TiB; its storage depends on usage",
		typ:    "gcp:pubsub/topic:Topic", name: "work-topic",
		inputs: map[string]any{"messageRetentionDuration": "1209600s"},
		want: []string{
			gcpDOWant("Publish throughput", "TiB", gcpDOQty(0.5), 40, "pubsub:throughput", "monthly_message_gib"),
			gcpDOWant("Retained message storage", "GiB-months", nil, 0.27, "pubsub:storage", "stored_gib"),
		},
		total: 20,
	}})
}

// TestGCPRefusesUnknownTiers: a tier the pricer does not know is an error,
// never $0.
func TestGCPRefusesUnknownTiers(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	est, err := pricing.NewEstimator(cat, map[string]string{"gcp": "us-central1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tier := range []string{"db-n1-standard-2", "db-custom-2", "db-perf-optimized-N-x"} {
		_, err := est.Price(pricing.Resource{URN: "urn:x", Type: "gcp:sql/databaseInstance:DatabaseInstance",
			Inputs: cloudSQL(tier, "ENTERPRISE", "ZONAL", 10)})
		if err == nil || !strings.Contains(err.Error(), tier) {
			t.Errorf("tier %s: got error %v, want one naming the tier", tier, err)
		}
	}
}
