package pricing

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// azureFixtures maps a query's $filter to its fixture in testdata/azure:
// pages in the Retail Prices API's response shape, every item with every
// field the API returns, product, SKU and meter names and units as the API
// has them (testdata/README.md cites where each comes from; no network
// here), with the items the refresh must skip (other products, series,
// sizes, meters, regions and tiers). The PostgreSQL answer has two pages.
var azureFixtures = map[string]string{
	"serviceName eq 'Azure Database for PostgreSQL' and armRegionName eq 'westeurope' and priceType eq 'Consumption'": "postgresql-westeurope",
	"serviceName eq 'Azure Container Apps' and armRegionName eq 'westeurope' and priceType eq 'Consumption'":          "container-apps-westeurope",
	"serviceName eq 'Service Bus' and armRegionName eq 'westeurope' and priceType eq 'Consumption'":                   "service-bus-westeurope",
	"serviceName eq 'Log Analytics' and armRegionName eq 'westeurope' and priceType eq 'Consumption'":                 "log-analytics-westeurope",
	"serviceName eq 'Azure DNS' and priceType eq 'Consumption'":                                                       "dns",
}

// azurePriceServer serves the fixtures (a filter it has none for is a 404)
// and counts the requests.
type azurePriceServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newAzurePriceServer(t *testing.T) *azurePriceServer {
	t.Helper()
	s := &azurePriceServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.mu.Lock()
		s.requests = append(s.requests, q.Get("$filter")+" skip="+q.Get("$skip"))
		s.mu.Unlock()
		name, ok := azureFixtures[q.Get("$filter")]
		if r.URL.Path != "/api/retail/prices" || q.Get("api-version") != azureRetailAPIVersion || !ok {
			http.NotFound(w, r)
			return
		}
		page := "-1"
		if q.Get("$skip") == "100" {
			page = "-2"
		}
		raw, err := os.ReadFile(filepath.Join("testdata", "azure", name+page+".json"))
		if os.IsNotExist(err) && page == "-1" {
			raw, err = os.ReadFile(filepath.Join("testdata", "azure", name+".json"))
		}
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(strings.ReplaceAll(string(raw), "{{server}}", s.URL)))
	}))
	t.Cleanup(s.Close)
	return s
}

// embeddedAzure returns the embedded Azure catalog, its regions cut to region.
func embeddedAzure(t *testing.T, region string) *CloudCatalog {
	t.Helper()
	cat, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	cc := cat.clouds["azure"]
	if cc == nil || cc.Regions[region] == nil {
		t.Fatalf("the embedded catalog has no azure %s", region)
	}
	return &CloudCatalog{Cloud: cc.Cloud, Version: cc.Version, Currency: cc.Currency,
		Regions: map[string]map[string]Price{region: cc.Regions[region]}}
}

// TestRefreshAzure refreshes every SKU of the embedded catalog's westeurope
// from the fixtures: each price comes from its own item, converted to the
// catalog's unit, with the query, date and method recorded.
func TestRefreshAzure(t *testing.T) {
	t.Parallel()

	srv := newAzurePriceServer(t)
	current := embeddedAzure(t, "westeurope")
	got, err := RefreshAzure(t.Context(), srv.Client(), srv.URL+"/", current, "2027-01-02")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"postgresql-flexible:Standard_B1ms:compute":    0.0199,   // "B1MS", not B2S
		"postgresql-flexible:Standard_D2ds_v5:compute": 0.1964,   // page 2; the product name has no-break spaces; not Ddsv4
		"postgresql-flexible:Standard_E4ds_v5:compute": 0.5544,   // "Azure\u00a0Database ... Memory Optimized\u00a0Edsv5"; not Edsv4
		"postgresql-flexible:storage-gb":               0.1369,   // "Az DB ..." product; not Premium SSD v2 nor IOPS
		"postgresql-flexible:backup-lrs-gb":            0.105,    //
		"postgresql-flexible:backup-grs-gb":            0.21,     // page 2
		"container-apps:vcpu-second":                   0.000034, // "1 Second"; not idle
		"container-apps:gib-second":                    0.000004, // "1 GiB Second"
		"container-apps:requests":                      0.56,     // the paid tier after the free 2M
		"servicebus:standard-base":                     0.0135,   // "1/Hour", not the "1/Month" listing of the same meter
		"servicebus:standard-operations-13m-100m":      0.8,      //
		"servicebus:standard-operations-100m-2500m":    0.5,      //
		"servicebus:standard-operations-over-2500m":    0.2,      //
		"servicebus:standard-brokered-connection":      0.03,     // "Standard Brokered Connection", after the free 1K
		"servicebus:basic-operations":                  0.05,     //
		"servicebus:premium-messaging-unit":            0.928,    // "1/Hour"
		"log-analytics:ingestion-gb":                   2.99,     // "Analytics Logs", after the free 5 GB
		"log-analytics:retention-gb":                   0.13,     // "Analytics Logs Data Retention"
		"private-dns:zone":                             0.5,      // region-less, first 25 zones; not Zone 1 nor US Gov
		"private-dns:queries":                          0.4,      // region-less, first billion
	}
	if got.Cloud != "azure" || got.Version != "2027-01-02" || got.Currency != "USD" || len(got.Regions) != 1 {
		t.Errorf("catalog header: got %s %s %s with %d regions", got.Cloud, got.Version, got.Currency, len(got.Regions))
	}
	prices := got.Regions["westeurope"]
	if len(prices) != len(current.Regions["westeurope"]) {
		t.Errorf("refreshed %d SKUs, the catalog has %d", len(prices), len(current.Regions["westeurope"]))
	}
	for sku, old := range current.Regions["westeurope"] {
		w, ok := want[sku]
		if !ok {
			t.Errorf("%s: the test expects no price for it: add it to want", sku)
			continue
		}
		p := prices[sku]
		if p.USD != w || p.Unit != old.Unit || p.Retrieved != "2027-01-02" || p.Method != "Azure Retail Prices API" {
			t.Errorf("%s: got %v %s retrieved %q method %q, want %v %s retrieved 2027-01-02 method Azure Retail Prices API",
				sku, p.USD, p.Unit, p.Retrieved, p.Method, w, old.Unit)
		}
		if !strings.HasPrefix(p.Source, srv.URL+"/api/retail/prices?api-version=2023-01-01-preview&$filter=serviceName%20eq%20%27") {
			t.Errorf("%s: source %q is not the query", sku, p.Source)
		}
	}
	// One query per service and region (DNS: one), PostgreSQL's two pages.
	if len(srv.requests) != 6 {
		t.Errorf("made %d requests, want 6:\n%s", len(srv.requests), strings.Join(srv.requests, "\n"))
	}
}

func TestRefreshAzureErrors(t *testing.T) {
	t.Parallel()

	srv := newAzurePriceServer(t)
	price := Price{USD: 1, Unit: "hours", Source: "x", Retrieved: "2026-11-25"}
	catalog := func(region, sku string) *CloudCatalog {
		return &CloudCatalog{Cloud: "azure", Version: "1", Currency: "USD",
			Regions: map[string]map[string]Price{region: {sku: price}}}
	}
	for _, tc := range []struct {
		reason  string
		current *CloudCatalog
		baseURL string
		want    string
	}{
		{"a size the API has no item for is named", catalog("westeurope", "postgresql-flexible:Standard_D64ds_v5:compute"),
			srv.URL, "westeurope/postgresql-flexible:Standard_D64ds_v5:compute: no item matches"},
		{"a SKU key with no known meter is named", catalog("westeurope", "cosmosdb:request-unit"),
			srv.URL, "westeurope/cosmosdb:request-unit: no Retail Prices API meter is known"},
		{"an error status fails with the URL", catalog("northeurope", "servicebus:standard-base"),
			srv.URL, "404 Not Found"},
		{"an unreachable API fails", catalog("westeurope", "servicebus:standard-base"),
			"http://127.0.0.1:1", "servicebus:standard-base"},
		{"another cloud's catalog is refused", &CloudCatalog{Cloud: "aws"}, srv.URL, "not Azure's"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			_, err := RefreshAzure(t.Context(), srv.Client(), tc.baseURL, tc.current, "2027-01-02")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAzureConvertPrice(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		price    float64
		unit, to string
		want     float64
		wantErr  bool
	}{
		{0.0135, "1/Hour", "hours", 0.0135, false},  // Service Bus Standard Base Unit, Premium Messaging Unit
		{0.0135, "1 /Hour", "hours", 0.0135, false}, // spacing is not significant
		{0.0185, "1 Hour", "hours", 0.0185, false},
		{1.5, "100 Hours", "hours", 0.015, false},
		{22.26, "1/Day", "hours", 0.9275, false},
		{9.8112, "1/Month", "hours", 0.01344, false},
		{0.115, "1 GB/Month", "GB-months", 0.115, false},
		{0.1369, "1 GiB/Month", "GB-months", 0.1369, false},
		{2.99, "1 GB", "GB", 2.99, false},
		{0.1224, "1 Hour", "vCPU-seconds", 0.000034, false},
		{0.000034, "1 Second", "vCPU-seconds", 0.000034, false},
		{0.000004, "1 GiB Second", "GiB-seconds", 0.000004, false},
		{0.8, "1M", "1M operations", 0.8, false},
		{0.8, "1 M", "1M operations", 0.8, false},
		{0.04, "10K", "1M requests", 4, false},
		{0.5, "1", "zone-months", 0.5, false},
		{0.03, "1/Month", "connections", 0.03, false},
		{0.115, "1 GB/Month", "hours", 0, true},
		{0.0135, "1/Hour", "GB", 0, true},
		{0.0135, "1/Hour", "1M requests", 0, true},
		{0.026, "1/Month", "GB-months", 0, true},    // provisioned IOPS, not storage
		{0.104, "1 GiB/Hour", "GB-months", 0, true}, // per hour, not per month
		{0.8, "1M", "GB", 0, true},
		{1, "per fortnight", "hours", 0, true},
		{1, "1 Hour", "furlongs", 0, true},
	} {
		got, err := azureConvertPrice(tc.price, tc.unit, tc.to)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%v per %q in %s: got %v, %v; want %v (error: %v)", tc.price, tc.unit, tc.to, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestAzureMeterPicks: each meter the current API has is picked from items
// in its real shape, and the shapes the old matchers missed are named.
func TestAzureMeterPicks(t *testing.T) {
	t.Parallel()

	nbsp := "\u00a0"
	it := func(product, sku, meter, unit string, price, tier float64) azureRetailItem {
		service := map[bool]string{true: azurePostgres, false: ""}[strings.Contains(product, "PostgreSQL")]
		if service == "" {
			service = product
		}
		return azureRetailItem{CurrencyCode: "USD", ArmRegionName: "westeurope", Location: "EU West", ServiceName: service,
			ProductName: product, SkuName: sku, MeterName: meter, UnitOfMeasure: unit, RetailPrice: price,
			TierMinimumUnits: tier, Type: "Consumption", IsPrimaryMeterRegion: true}
	}
	for _, tc := range []struct {
		sku, reason string
		items       []azureRetailItem
		want        float64
	}{
		{"log-analytics:ingestion-gb", "the pay-as-you-go SKU is Analytics Logs now", []azureRetailItem{
			it("Log Analytics", "Analytics Logs", "Analytics Logs Data Ingestion", "1 GB", 0, 0),
			it("Log Analytics", "Analytics Logs", "Analytics Logs Data Ingestion", "1 GB", 2.3, 5),
			it("Log Analytics", "Analytics Logs", "Analytics Logs Data Retention", "1 GB/Month", 0.1, 0),
		}, 2.3},
		{"log-analytics:retention-gb", "retention is an Analytics Logs meter too", []azureRetailItem{
			it("Log Analytics", "Analytics Logs", "Analytics Logs Data Ingestion", "1 GB", 2.3, 5),
			it("Log Analytics", "Analytics Logs", "Analytics Logs Data Retention", "1 GB/Month", 0.1, 0),
		}, 0.1},
		{"servicebus:standard-base", "the base charge is listed per hour and per month: the hour is the catalog's unit", []azureRetailItem{
			it("Service Bus", "Standard", "Standard Base Unit", "1/Month", 10, 0),
			it("Service Bus", "Standard", "Standard Base Unit", "1/Hour", 0.0135, 0),
		}, 0.0135},
		{"servicebus:standard-base", "a region that lists only the month is converted", []azureRetailItem{
			it("Service Bus", "Standard", "Standard Base Unit", "1/Month", 9.855, 0),
		}, 0.0135},
		{"servicebus:premium-messaging-unit", "per hour", []azureRetailItem{
			it("Service Bus", "Premium", "Premium Messaging Unit", "1/Hour", 0.928, 0),
		}, 0.928},
		{"postgresql-flexible:Standard_D2ds_v5:compute", "no-break spaces around the series", []azureRetailItem{
			it("Azure Database for PostgreSQL Flexible Server General Purpose"+nbsp+"Ddsv5"+nbsp+"Series Compute", "2 vCore", "vCore", "1 Hour", 0.178, 0),
			it("Azure Database for PostgreSQL Flexible Server General Purpose"+nbsp+"Ddsv4"+nbsp+"Series Compute", "2 vCore", "vCore", "1 Hour", 0.17, 0),
		}, 0.178},
		{"postgresql-flexible:Standard_E4ds_v5:compute", "no-break spaces in the product's own name too", []azureRetailItem{
			it("Azure"+nbsp+"Database for PostgreSQL Flexible Server"+nbsp+"Memory Optimized"+nbsp+"Edsv5"+nbsp+"Series Compute", "4 vCore", "vCore", "1 Hour", 0.5, 0),
		}, 0.5},
		{"postgresql-flexible:Standard_B1ms:compute", "burstable SKUs are upper case", []azureRetailItem{
			it("Azure Database for PostgreSQL Flexible Server Burstable BS Series Compute", "B1MS", "B1MS", "1 Hour", 0.017, 0),
			it("Azure Database for PostgreSQL Flexible Server Burstable BS Series Compute", "B2S", "B2S", "1 Hour", 0.068, 0),
		}, 0.017},
		{"servicebus:premium-messaging-unit", "a primary meter region's item over a non-primary one's", []azureRetailItem{
			func() azureRetailItem {
				i := it("Service Bus", "Premium", "Premium Messaging Unit", "1/Hour", 0.9, 0)
				i.IsPrimaryMeterRegion = false
				return i
			}(),
			it("Service Bus", "Premium", "Premium Messaging Unit", "1/Hour", 0.928, 0),
		}, 0.928},
		{"container-apps:vcpu-second", "per second", []azureRetailItem{
			it("Azure Container Apps", "Standard", "Standard vCPU Active Usage", "1 Second", 0.000024, 0),
			it("Azure Container Apps", "Standard", "Standard vCPU Idle Usage", "1 Second", 0.000003, 0),
		}, 0.000024},
	} {
		t.Run(tc.sku+"/"+tc.reason, func(t *testing.T) {
			t.Parallel()

			m, err := azureMeterFor(tc.sku)
			if err != nil {
				t.Fatal(err)
			}
			unit := map[string]string{"log-analytics:ingestion-gb": "GB", "log-analytics:retention-gb": "GB-months",
				"container-apps:vcpu-second": "vCPU-seconds"}[tc.sku]
			if unit == "" {
				unit = "hours"
			}
			item, err := m.pick(tc.items, "westeurope", unit)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			got, err := azureConvertPrice(item.RetailPrice, item.UnitOfMeasure, unit)
			if err != nil || got != tc.want {
				t.Errorf("%s: got %v (%v), want %v", tc.reason, got, err, tc.want)
			}
		})
	}
}

// TestAzureMeterPickAmbiguous: two items of one meter and tier that the
// catalog's unit cannot tell apart are an error, never one picked at random.
func TestAzureMeterPickAmbiguous(t *testing.T) {
	t.Parallel()

	m, _ := azureMeterFor("servicebus:standard-base")
	item := func(unit string, price float64) azureRetailItem {
		return azureRetailItem{ServiceName: "Service Bus", ProductName: "Service Bus", SkuName: "Standard", MeterName: "Standard Base Unit",
			ArmRegionName: "westeurope", UnitOfMeasure: unit, RetailPrice: price, IsPrimaryMeterRegion: true}
	}
	for _, tc := range []struct {
		reason string
		items  []azureRetailItem
	}{
		{"two hourly prices", []azureRetailItem{item("1/Hour", 0.0135), item("1 Hour", 0.014)}},
		{"two monthly prices, neither in hours", []azureRetailItem{item("1/Month", 10), item("1/Month", 9.81)}},
	} {
		if _, err := m.pick(tc.items, "westeurope", "hours"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
			t.Errorf("%s: got %v, want an ambiguity error", tc.reason, err)
		}
	}
}

// TestAzureMatchersAreExercised: every SKU of the embedded catalog has a
// meter, and westeurope, which TestRefreshAzure refreshes from the fixtures,
// has every SKU any region has.
func TestAzureMatchersAreExercised(t *testing.T) {
	t.Parallel()

	cat, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	we := cat.clouds["azure"].Regions["westeurope"]
	for region, skus := range cat.clouds["azure"].Regions {
		for sku := range skus {
			if _, err := azureMeterFor(sku); err != nil {
				t.Errorf("%s: %v", region, err)
			}
			if _, ok := we[sku]; !ok {
				t.Errorf("%s/%s is not in westeurope, so no test refreshes its meter", region, sku)
			}
		}
	}
	for key := range azureMeters {
		if _, ok := we[key]; !ok {
			t.Errorf("%s has a meter but is not in the embedded westeurope catalog, so no test refreshes it", key)
		}
	}
}
