package pricing_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// Prices of testdata/azure/catalog (westeurope), which the expected costs
// are computed from, so a refreshed embedded catalog does not move them.
const (
	tB1ms, tE4ds            = 0.02, 0.5
	tStorage, tLRS, tGRS    = 0.125, 0.1, 0.2
	tVCPUSec, tGiBSec, tReq = 0.00003, 0.000004, 0.5
	tBusBase                = 0.0125
	tOps13, tOps100, tConn  = 0.8, 0.5, 0.03
	tIngest, tRetain        = 3, 0.125
	tZone, tQueries         = 0.5, 0.4
)

// known is a component with a monthly quantity: cost is computed as the
// estimator does (quantity × unit price, at run time).
func known(name, unit, sku string, quantity, price float64, usageKey string) pricing.Component {
	cost := quantity * price
	return pricing.Component{Name: name, Unit: unit, MonthlyQuantity: &quantity, UnitPrice: price, MonthlyCost: &cost,
		SKU: sku, UsageKey: usageKey}
}

// unknown is a usage-priced component without usage: no quantity, no cost.
func unknown(name, unit, sku string, price float64, usageKey string) pricing.Component {
	return pricing.Component{Name: name, Unit: unit, UnitPrice: price, SKU: sku, UsageKey: usageKey}
}

func azureURN(typ, name string) string {
	return "urn:pulumi:test::tenantfleet::tenantfleet:index:TenantUnit$" + typ + "::" + name
}

func postgres(sku, tier string, gb float64, ha, geo string) map[string]any {
	return map[string]any{
		"sku":              map[string]any{"name": sku, "tier": tier},
		"storage":          map[string]any{"storageSizeGB": gb, "autoGrow": "Enabled"},
		"backup":           map[string]any{"backupRetentionDays": 7.0, "geoRedundantBackup": geo},
		"highAvailability": map[string]any{"mode": ha},
	}
}

func containerApp(minReplicas float64, containers ...[2]any) map[string]any {
	var cs []any
	for i, c := range containers {
		cs = append(cs, map[string]any{"name": fmt.Sprint("c", i), "image": "nginx",
			"resources": map[string]any{"cpu": c[0], "memory": c[1]}})
	}
	return map[string]any{
		"workloadProfileName": "Consumption",
		"template": map[string]any{"containers": cs,
			"scale": map[string]any{"minReplicas": minReplicas, "maxReplicas": 4.0}},
	}
}

func TestAzurePricing(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("testdata/azure/catalog")
	if err != nil {
		t.Fatal(err)
	}
	usage := &pricing.Usage{
		Version: 1,
		Defaults: map[string]map[string]float64{
			// Every workspace ingests 20 GB unless a resource says otherwise.
			"azure-native:operationalinsights:Workspace": {"monthly_data_ingested_gb": 20},
		},
		Resources: map[string]map[string]float64{
			"db-large":       {"additional_backup_storage_gb": 100},
			"web-app":        {"monthly_requests": 3e6, "additional_replica_hours": 100},
			"bus-used":       {"monthly_messaging_operations": 150e6, "brokered_connections": 3000},
			"bus-huge":       {"monthly_messaging_operations": 3000e6},
			"logs-long":      {"monthly_retained_gb": 40},
			"dns-zone-quiet": {"monthly_queries": 0},
		},
	}
	withUsage, err := pricing.NewEstimator(cat, map[string]string{"azure": "westeurope"}, usage)
	if err != nil {
		t.Fatal(err)
	}
	without, err := pricing.NewEstimator(cat, map[string]string{"azure": "westeurope"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const month = 730 * 3600.0
	for _, tc := range []struct {
		reason string
		typ    string
		name   string
		inputs map[string]any
		usage  bool
		kind   pricing.Kind
		want   []pricing.Component
	}{
		{
			reason: "small server: one instance, provisioned storage, backup beyond the free amount unknown",
			typ:    "azure-native:dbforpostgresql:Server", name: "db-small",
			inputs: postgres("Standard_B1ms", "Burstable", 32, "Disabled", "Disabled"),
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("Compute (Standard_B1ms)", "hours", "postgresql-flexible:Standard_B1ms:compute", 730, tB1ms, ""),
				known("Storage (32 GB)", "GB-months", "postgresql-flexible:storage-gb", 32, tStorage, ""),
				unknown("Additional backup storage (LRS)", "GB-months", "postgresql-flexible:backup-lrs-gb", tLRS,
					"additional_backup_storage_gb"),
			},
		},
		{
			reason: "large server with zone-redundant HA: compute and storage twice; geo-redundant backup from usage",
			typ:    "azure-native:dbforpostgresql:Server", name: "db-large", usage: true,
			inputs: postgres("Standard_E4ds_v5", "MemoryOptimized", 128, "ZoneRedundant", "Enabled"),
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("Compute (Standard_E4ds_v5, primary + HA standby)", "hours", "postgresql-flexible:Standard_E4ds_v5:compute",
					1460, tE4ds, ""),
				known("Storage (128 GB, primary + HA standby)", "GB-months", "postgresql-flexible:storage-gb", 256, tStorage, ""),
				known("Additional backup storage (geo-redundant)", "GB-months", "postgresql-flexible:backup-grs-gb", 100, tGRS,
					"additional_backup_storage_gb"),
			},
		},
		{
			reason: "container app scaled to zero: nothing always on, all usage unknown",
			typ:    "azure-native:app:ContainerApp", name: "worker-app",
			inputs: containerApp(0, [2]any{0.5, "1Gi"}),
			kind:   pricing.Sized,
			want: []pricing.Component{
				unknown("vCPU (additional replicas)", "vCPU-seconds", "container-apps:vcpu-second", tVCPUSec, "additional_replica_hours"),
				unknown("Memory (additional replicas)", "GiB-seconds", "container-apps:gib-second", tGiBSec, "additional_replica_hours"),
				unknown("Requests", "1M requests", "container-apps:requests", tReq, "monthly_requests"),
			},
		},
		{
			reason: "container app with two replicas of two containers, scale-out and requests from usage",
			typ:    "azure-native:app:ContainerApp", name: "web-app", usage: true,
			inputs: containerApp(2, [2]any{0.5, "1Gi"}, [2]any{0.25, "512Mi"}),
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("vCPU (always-on replicas: 2 × 0.75 vCPU)", "vCPU-seconds", "container-apps:vcpu-second", 2*0.75*month, tVCPUSec, ""),
				known("Memory (always-on replicas: 2 × 1.5 GiB)", "GiB-seconds", "container-apps:gib-second", 2*1.5*month, tGiBSec, ""),
				known("vCPU (additional replicas)", "vCPU-seconds", "container-apps:vcpu-second", 100*0.75*3600, tVCPUSec,
					"additional_replica_hours"),
				known("Memory (additional replicas)", "GiB-seconds", "container-apps:gib-second", 100*1.5*3600, tGiBSec,
					"additional_replica_hours"),
				known("Requests", "1M requests", "container-apps:requests", 3, tReq, "monthly_requests"),
			},
		},
		{
			reason: "Standard namespace: base charge; operations and connections unknown",
			typ:    "azure-native:servicebus:Namespace", name: "bus",
			inputs: map[string]any{"sku": map[string]any{"name": "Standard", "tier": "Standard"}},
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("Base charge (Standard)", "hours", "servicebus:standard-base", 730, tBusBase, ""),
				unknown("Messaging operations (13M-100M)", "1M operations", "servicebus:standard-operations-13m-100m", tOps13,
					"monthly_messaging_operations"),
				unknown("Brokered connections (over 1K)", "connections", "servicebus:standard-brokered-connection", tConn,
					"brokered_connections"),
			},
		},
		{
			reason: "Standard namespace with usage: 13M operations and 1,000 connections included, then tiers",
			typ:    "azure-native:servicebus:Namespace", name: "bus-used", usage: true,
			inputs: map[string]any{"sku": map[string]any{"name": "Standard", "tier": "Standard"}},
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("Base charge (Standard)", "hours", "servicebus:standard-base", 730, tBusBase, ""),
				known("Messaging operations (13M-100M)", "1M operations", "servicebus:standard-operations-13m-100m", 87, tOps13,
					"monthly_messaging_operations"),
				known("Messaging operations (100M-2,500M)", "1M operations", "servicebus:standard-operations-100m-2500m", 50, tOps100,
					"monthly_messaging_operations"),
				known("Brokered connections (over 1K)", "connections", "servicebus:standard-brokered-connection", 2000, tConn,
					"brokered_connections"),
			},
		},
		{
			reason: "Standard namespace with 3,000M operations reaches every tier; connections still unknown",
			typ:    "azure-native:servicebus:Namespace", name: "bus-huge", usage: true,
			inputs: map[string]any{"sku": map[string]any{"name": "Standard", "tier": "Standard"}},
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("Base charge (Standard)", "hours", "servicebus:standard-base", 730, tBusBase, ""),
				known("Messaging operations (13M-100M)", "1M operations", "servicebus:standard-operations-13m-100m", 87, tOps13,
					"monthly_messaging_operations"),
				known("Messaging operations (100M-2,500M)", "1M operations", "servicebus:standard-operations-100m-2500m", 2400, tOps100,
					"monthly_messaging_operations"),
				known("Messaging operations (over 2,500M)", "1M operations", "servicebus:standard-operations-over-2500m", 500, 0.2,
					"monthly_messaging_operations"),
				unknown("Brokered connections (over 1K)", "connections", "servicebus:standard-brokered-connection", tConn,
					"brokered_connections"),
			},
		},
		{
			reason: "Log Analytics workspace without usage: ingestion unknown, 30 days' retention included",
			typ:    "azure-native:operationalinsights:Workspace", name: "logs",
			inputs: map[string]any{"sku": map[string]any{"name": "PerGB2018"}, "retentionInDays": 30.0},
			kind:   pricing.UsageOnly,
			want: []pricing.Component{
				unknown("Log data ingestion", "GB", "log-analytics:ingestion-gb", tIngest, "monthly_data_ingested_gb"),
			},
		},
		{
			reason: "Log Analytics workspace with usage: the type's default ingestion, 90 days' retention",
			typ:    "azure-native:operationalinsights:Workspace", name: "logs-long", usage: true,
			inputs: map[string]any{"sku": map[string]any{"name": "PerGB2018"}, "retentionInDays": 90.0},
			kind:   pricing.UsageOnly,
			want: []pricing.Component{
				known("Log data ingestion", "GB", "log-analytics:ingestion-gb", 20, tIngest, "monthly_data_ingested_gb"),
				known("Log data retention (90 days, beyond 31)", "GB-months", "log-analytics:retention-gb", 40, tRetain,
					"monthly_retained_gb"),
			},
		},
		{
			reason: "private DNS zone: a zone a month; zero queries is a known zero, not unknown",
			typ:    "azure-native:privatedns:PrivateZone", name: "dns-zone-quiet", usage: true,
			inputs: map[string]any{"location": "global"},
			kind:   pricing.Sized,
			want: []pricing.Component{
				known("Private DNS zone", "zone-months", "private-dns:zone", 1, tZone, ""),
				known("DNS queries", "1M queries", "private-dns:queries", 0, tQueries, "monthly_queries"),
			},
		},
		{
			reason: "a VNet link to a zone with registration disabled has no charge of its own",
			typ:    "azure-native:privatedns:VirtualNetworkLink", name: "dns-link",
			inputs: map[string]any{"registrationEnabled": false},
			kind:   pricing.Free,
		},
		{
			reason: "the Consumption environment is free: its apps are priced",
			typ:    "azure-native:app:ManagedEnvironment", name: "apps",
			kind: pricing.Free,
		},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			est := without
			if tc.usage {
				est = withUsage
			}
			got, err := est.Price(pricing.Resource{URN: azureURN(tc.typ, tc.name), Type: tc.typ, Inputs: tc.inputs})
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tc.kind {
				t.Errorf("kind: got %s, want %s", got.Kind, tc.kind)
			}
			if got.Note == "" {
				t.Errorf("no note")
			}
			if !reflect.DeepEqual(got.Components, tc.want) {
				t.Errorf("components (-want +got):\n%s", diffComponents(tc.want, got.Components))
			}
		})
	}
}

func TestAzurePricingErrors(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("testdata/azure/catalog")
	if err != nil {
		t.Fatal(err)
	}
	est, err := pricing.NewEstimator(cat, map[string]string{"azure": "westeurope"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dedicated := containerApp(1, [2]any{1.0, "2Gi"})
	dedicated["workloadProfileName"] = "D4"
	for _, tc := range []struct {
		reason, typ string
		inputs      map[string]any
		want        string
	}{
		{"a size the catalog lacks names the SKU", "azure-native:dbforpostgresql:Server",
			postgres("Standard_D64ds_v5", "GeneralPurpose", 32, "Disabled", "Disabled"), "postgresql-flexible:Standard_D64ds_v5:compute"},
		{"a server without a SKU", "azure-native:dbforpostgresql:Server", map[string]any{}, "sku.name is not set"},
		{"a Dedicated workload profile", "azure-native:app:ContainerApp", dedicated, `workload profile "D4"`},
		{"a memory size Container Apps does not take", "azure-native:app:ContainerApp",
			containerApp(1, [2]any{0.5, "1GB"}), `"1GB" is not a memory size`},
		{"an unknown Service Bus tier", "azure-native:servicebus:Namespace",
			map[string]any{"sku": map[string]any{"name": "Gold"}}, `"Gold" is not a Service Bus tier`},
		{"a legacy Log Analytics SKU", "azure-native:operationalinsights:Workspace",
			map[string]any{"sku": map[string]any{"name": "PerNode"}}, "only PerGB2018"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			_, err := est.Price(pricing.Resource{URN: azureURN(tc.typ, "x"), Type: tc.typ, Inputs: tc.inputs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestAzureCatalogs: the embedded catalog prices the same SKUs in every
// region, and the test catalog has exactly those SKUs.
func TestAzureCatalogs(t *testing.T) {
	t.Parallel()

	embedded, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	test, err := pricing.LoadCatalog("testdata/azure/catalog")
	if err != nil {
		t.Fatal(err)
	}
	skus := func(cc *pricing.CloudCatalog, region string) []string {
		var out []string
		for sku := range cc.Regions[region] {
			out = append(out, sku)
		}
		slices.Sort(out)
		return out
	}
	want := skus(test.Cloud("azure"), "westeurope")
	for _, region := range embedded.Regions("azure") {
		if got := skus(embedded.Cloud("azure"), region); !slices.Equal(got, want) {
			t.Errorf("embedded azure %s prices\n%v\nthe test catalog\n%v", region, got, want)
		}
	}
}

func diffComponents(want, got []pricing.Component) string {
	show := func(c pricing.Component) string {
		f := func(p *float64) string {
			if p == nil {
				return "nil"
			}
			return fmt.Sprint(*p)
		}
		return fmt.Sprintf("%q %s q=%s price=%v cost=%s sku=%s usage=%s", c.Name, c.Unit, f(c.MonthlyQuantity), c.UnitPrice,
			f(c.MonthlyCost), c.SKU, c.UsageKey)
	}
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = show(want[i])
		}
		if i < len(got) {
			g = show(got[i])
		}
		if w != g {
			fmt.Fprintf(&b, "-%s\n+%s\n", w, g)
		}
	}
	return b.String()
}
