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
// hand-made pages in the Retail Prices API's response shape (no network
// here), with items the refresh must skip (other products, series, sizes,
// price types, regions and tiers). The PostgreSQL answer has two pages.
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
	srv := newAzurePriceServer(t)
	current := embeddedAzure(t, "westeurope")
	got, err := RefreshAzure(t.Context(), srv.Client(), srv.URL+"/", current, "2027-01-02")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"postgresql-flexible:Standard_B1ms:compute":    0.0185,   // B1ms, not B2s nor the dev/test price
		"postgresql-flexible:Standard_D2ds_v5:compute": 0.1964,   // page 2
		"postgresql-flexible:Standard_E4ds_v5:compute": 0.5544,   // not the reservation
		"postgresql-flexible:storage-gb":               0.1311,   // "Az DB ..." product name
		"postgresql-flexible:backup-lrs-gb":            0.105,    //
		"postgresql-flexible:backup-grs-gb":            0.21,     //
		"container-apps:vcpu-second":                   0.000034, // 0.1224 an hour
		"container-apps:gib-second":                    0.000004, // 0.0144 an hour
		"container-apps:requests":                      0.56,     // the paid tier after the free 2M
		"servicebus:standard-base":                     0.01344,  //
		"servicebus:standard-operations-13m-100m":      0.8,      //
		"servicebus:standard-operations-100m-2500m":    0.5,      //
		"servicebus:standard-operations-over-2500m":    0.2,      //
		"servicebus:standard-brokered-connection":      0.03,     //
		"servicebus:basic-operations":                  0.05,     //
		"servicebus:premium-messaging-unit":            0.9275,   // 22.26 a day
		"log-analytics:ingestion-gb":                   2.99,     // after the free 5 GB
		"log-analytics:retention-gb":                   0.13,     //
		"private-dns:zone":                             0.5,      // region-less, first 25 zones
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
			_, err := RefreshAzure(t.Context(), srv.Client(), tc.baseURL, tc.current, "2027-01-02")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAzureConvertPrice(t *testing.T) {
	for _, tc := range []struct {
		price    float64
		unit, to string
		want     float64
		wantErr  bool
	}{
		{0.0185, "1 Hour", "hours", 0.0185, false},
		{1.5, "100 Hours", "hours", 0.015, false},
		{22.26, "1/Day", "hours", 0.9275, false},
		{9.8112, "1/Month", "hours", 0.01344, false},
		{0.115, "1 GB/Month", "GB-months", 0.115, false},
		{2.99, "1 GB", "GB", 2.99, false},
		{0.1224, "1 Hour", "vCPU-seconds", 0.000034, false},
		{0.000034, "1 Second", "vCPU-seconds", 0.000034, false},
		{0.000004, "1 GiB Second", "GiB-seconds", 0.000004, false},
		{0.8, "1M", "1M operations", 0.8, false},
		{0.04, "10K", "1M requests", 4, false},
		{0.5, "1", "zone-months", 0.5, false},
		{0.03, "1/Month", "connections", 0.03, false},
		{0.115, "1 GB/Month", "hours", 0, true},
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
