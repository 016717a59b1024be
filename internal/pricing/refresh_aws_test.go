package pricing

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
)

// The fixtures under testdata/aws/offers mirror the offer files' URLs and
// shape (products with sku/productFamily/attributes; terms.OnDemand and
// terms.Reserved), with decoys the refresh must not pick: another engine,
// a Local Zone, Fargate Spot, SQL Server storage, tiers and free tiers.

func awsOfferServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata/aws")))
	t.Cleanup(srv.Close)
	return srv
}

// awsCurrent is a catalog naming the SKUs to refresh, at stale prices.
func awsCurrent(regions map[string][]string) *CloudCatalog {
	cc := &CloudCatalog{Cloud: "aws", Version: "2000-01-01", Currency: "USD", Regions: map[string]map[string]Price{}}
	for region, skus := range regions {
		cc.Regions[region] = map[string]Price{}
		for _, sku := range skus {
			cc.Regions[region][sku] = Price{USD: 99, Unit: "unit of " + sku, Source: "stale", Retrieved: "2000-01-01", Method: "by hand"}
		}
	}
	return cc
}

func TestRefreshAWS(t *testing.T) {
	srv := awsOfferServer(t)
	current := awsCurrent(map[string][]string{
		"us-east-1": {
			"rds:db.t4g.micro:postgresql:single-az", "rds:db.t4g.micro:postgresql:multi-az",
			"rds-storage:gp3:single-az", "rds-storage:gp3:multi-az", "rds-backup-storage",
			"sqs:standard-requests", "sqs:fifo-requests", "sns:publishes", "sns:http-deliveries",
			"fargate:linux-x86:vcpu-hour", "fargate:linux-x86:gb-hour", "fargate:linux-arm:vcpu-hour",
		},
		"eu-west-1": {"rds:db.t4g.micro:postgresql:single-az", "rds-storage:gp3:single-az"},
	})
	got, err := RefreshAWS(context.Background(), srv.Client(), srv.URL+"/", current, "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	offer := func(service, region string) string {
		return srv.URL + "/offers/v1.0/aws/" + service + "/current/" + region + "/index.json"
	}
	want := map[string]map[string]float64{
		"us-east-1": {
			"rds:db.t4g.micro:postgresql:single-az": 0.016, // not the MySQL 0.015 nor the Local Zone 0.099
			"rds:db.t4g.micro:postgresql:multi-az":  0.032,
			"rds-storage:gp3:single-az":             0.115, // PostgreSQL and MySQL agree; SQL Server is not asked for
			"rds-storage:gp3:multi-az":              0.23,
			"rds-backup-storage":                    0.095, // not Aurora's
			"sqs:standard-requests":                 0.4,   // first tier, per 1M
			"sqs:fifo-requests":                     0.5,
			"sns:publishes":                         0.5, // the first paid tier after the free 1M
			"sns:http-deliveries":                   0.6,
			"fargate:linux-x86:vcpu-hour":           0.04048, // not Spot
			"fargate:linux-x86:gb-hour":             0.004445,
			"fargate:linux-arm:vcpu-hour":           0.03238,
		},
		"eu-west-1": {
			"rds:db.t4g.micro:postgresql:single-az": 0.018,
			"rds-storage:gp3:single-az":             0.127,
		},
	}
	if got.Cloud != "aws" || got.Currency != "USD" || got.Version != "2026-12-01" {
		t.Errorf("header: got cloud %q currency %q version %q, want aws USD 2026-12-01", got.Cloud, got.Currency, got.Version)
	}
	var diffs []string
	for region, skus := range want {
		for sku, usd := range skus {
			service := map[string]string{"rds": "AmazonRDS", "rds-storage": "AmazonRDS", "rds-backup-storage": "AmazonRDS",
				"sqs": "AWSQueueService", "sns": "AmazonSNS", "fargate": "AmazonECS"}[strings.Split(sku, ":")[0]]
			w := Price{USD: usd, Unit: "unit of " + sku, Source: offer(service, region), Retrieved: "2026-12-01", Method: "AWS bulk offer file"}
			if g, ok := got.Regions[region][sku]; !ok || g != w {
				diffs = append(diffs, fmt.Sprintf("%s %s:\n-want %+v\n+got  %+v", region, sku, w, g))
			}
		}
		if len(got.Regions[region]) != len(skus) {
			diffs = append(diffs, fmt.Sprintf("%s: got %d SKUs, want %d", region, len(got.Regions[region]), len(skus)))
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	if len(got.Regions) != len(want) {
		t.Errorf("got regions %v, want us-east-1 and eu-west-1", awsSortedKeys(got.Regions))
	}
}

func TestRefreshAWSErrors(t *testing.T) {
	srv := awsOfferServer(t)
	cases := []struct {
		name, reason string
		current      *CloudCatalog
		want         []string // every one must be in the error
	}{
		{
			name: "sku not in the offer file", reason: "a SKU the price list lacks must fail, not keep its stale price",
			current: awsCurrent(map[string][]string{"us-east-1": {"rds:db.t4g.micro:postgresql:single-az", "rds:db.r7g.xlarge:postgresql:multi-az"}}),
			want:    []string{"rds:db.r7g.xlarge:postgresql:multi-az", "AmazonRDS", "us-east-1"},
		},
		{
			name: "sku without an offer mapping", reason: "a key refresh cannot map must be named",
			current: awsCurrent(map[string][]string{"us-east-1": {"rds:db.t4g.micro:oracle-se2:single-az"}}),
			want:    []string{"rds:db.t4g.micro:oracle-se2:single-az", "no AWS offer-file mapping"},
		},
		{
			name: "region without offer files", reason: "an HTTP error names the file",
			current: awsCurrent(map[string][]string{"ap-south-1": {"sqs:standard-requests"}}),
			want:    []string{"404", "/offers/v1.0/aws/AWSQueueService/current/ap-south-1/index.json"},
		},
		{
			name: "empty catalog", reason: "nothing to refresh is an error",
			current: awsCurrent(nil),
			want:    []string{"no regions"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RefreshAWS(context.Background(), srv.Client(), srv.URL, tc.current, "2026-12-01")
			if err == nil {
				t.Fatalf("%s: got no error", tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not contain %q", tc.reason, err, w)
				}
			}
		})
	}
}

// TestAWSDecodeOfferAmbiguous: a spec that matches products at two prices
// (here both engines) is an error listing them, never one picked at random.
func TestAWSDecodeOfferAmbiguous(t *testing.T) {
	f, err := os.Open("testdata/aws/offers/v1.0/aws/AmazonRDS/current/us-east-1/index.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec := awsOfferSpec{service: "AmazonRDS", family: "Database Instance",
		attrs: map[string]string{"instanceType": "db.t4g.micro", "deploymentOption": "Single-AZ"}}
	_, err = awsDecodeOffer(f, "us-east-1", map[string]awsOfferSpec{"any-engine": spec})
	if err == nil || !strings.Contains(err.Error(), "different prices") || !strings.Contains(err.Error(), "T4GMICROMY1") {
		t.Errorf("got %v, want an error naming the products with different prices", err)
	}
}

func TestAWSDecodeOfferShape(t *testing.T) {
	spec := map[string]awsOfferSpec{"alb:hour": awsFixedOffers["alb:hour"]}
	for _, tc := range []struct{ name, doc, want string }{
		{"terms before products", `{"terms":{"OnDemand":{}},"products":{}}`, "products come after terms"},
		{"no products", `{"terms":{"OnDemand":{}}}`, "no products"},
		{"not an object", `[]`, "expected {"},
		{"truncated", `{"products":{"X":{"sku":"X"`, "product X"},
		{"only free tiers", `{"products":{"X":{"sku":"X","productFamily":"Load Balancer-Application","attributes":{"usagetype":"LoadBalancerUsage"}}},
			"terms":{"OnDemand":{"X":{"X.T":{"priceDimensions":{"X.T.R":{"unit":"Hrs","pricePerUnit":{"USD":"0"}}}}}}}}`, "no paid on-demand USD price"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := awsDecodeOffer(strings.NewReader(tc.doc), "us-east-1", spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestAWSCatalogSKUsHaveOffers: refresh can map every SKU of the embedded
// catalog to its offer file (so a new SKU cannot be added without one).
func TestAWSCatalogSKUsHaveOffers(t *testing.T) {
	cat, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	cc := cat.clouds["aws"]
	if cc == nil {
		t.Fatal("no aws catalog")
	}
	for region, skus := range cc.Regions {
		for sku := range skus {
			if _, err := awsOfferFor(sku); err != nil {
				t.Errorf("%s: %v", region, err)
			}
		}
	}
}
