package pricing

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
)

// The fixtures under testdata/aws/offers mirror the offer files' URLs and
// their shape byte for byte (Jackson pretty printing, products before terms,
// on-demand and reserved terms; testdata/README.md cites where each shape
// comes from), with the decoys the real files hold: other engines and
// deployments, a Local Zone, Outposts and trust-store load balancer hours,
// Fargate Spot and Windows, the legacy unprefixed CloudWatch SKUs, inbound
// and inter-region transfer, FIFO and fair SQS queues, free tiers.

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

// awsOfferServices maps a SKU key's first part to its offer code.
var awsOfferServices = map[string]string{"rds": "AmazonRDS", "rds-storage": "AmazonRDS", "rds-backup-storage": "AmazonRDS",
	"secretsmanager": "AWSSecretsManager", "fargate": "AmazonECS", "alb": "AWSELB", "vpc": "AmazonVPC",
	"egress": "AWSDataTransfer", "logs": "AmazonCloudWatch", "cloudwatch": "AmazonCloudWatch",
	"sqs": "AWSQueueService", "sns": "AmazonSNS"}

// TestRefreshAWS refreshes every SKU of the embedded catalog's us-east-1
// (so every matcher it uses meets a real-shaped offer file, and one that
// matches nothing fails the refresh), the other engines the RDS matcher
// maps, and eu-west-1's region-prefixed usage types.
func TestRefreshAWS(t *testing.T) {
	t.Parallel()

	srv := awsOfferServer(t)
	cat, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	embedded := cat.clouds["aws"].Regions["us-east-1"]
	current := &CloudCatalog{Cloud: "aws", Version: "2000-01-01", Currency: "USD", Regions: map[string]map[string]Price{
		"us-east-1": {},
		"eu-west-1": awsCurrent(map[string][]string{"eu-west-1": {
			"rds:db.t4g.micro:postgresql:single-az", "rds:db.t4g.micro:postgresql:multi-az",
			"rds-storage:gp3:single-az", "rds-storage:gp3:multi-az", "rds-backup-storage"}}).Regions["eu-west-1"],
	}}
	for sku, p := range embedded {
		current.Regions["us-east-1"][sku] = p
	}
	for _, sku := range []string{"rds:db.t4g.micro:mysql:single-az", "rds:db.t4g.micro:mariadb:single-az"} {
		current.Regions["us-east-1"][sku] = Price{USD: 99, Unit: "hours", Source: "stale", Retrieved: "2000-01-01"}
	}
	got, err := RefreshAWS(t.Context(), srv.Client(), srv.URL+"/", current, "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		"us-east-1": {
			"alb:hour":                               0.0225, // not the trust store hour (TS-LoadBalancerUsage) nor Outposts
			"alb:lcu-hour":                           0.008,  // not reserved LCUs nor the network load balancer's
			"cloudwatch:alarm-month":                 0.1,    // not high resolution
			"cloudwatch:metric-month":                0.3,    // first tier
			"egress:internet-gb":                     0.09,   // AWS Outbound, first tier; not inter-region
			"fargate:linux-arm:gb-hour":              0.00356,
			"fargate:linux-arm:vcpu-hour":            0.03238,
			"fargate:linux-x86:gb-hour":              0.004445,
			"fargate:linux-x86:vcpu-hour":            0.04048, // not Spot nor Windows
			"logs:ingested-gb":                       0.5,     // prefixed and legacy SKUs agree; not IA nor vended
			"logs:insights-scanned-gb":               0.005,
			"logs:stored-gb-month":                   0.03,
			"rds-backup-storage":                     0.095, // not Aurora's nor RDS Custom's
			"rds-storage:gp2:multi-az":               0.23,
			"rds-storage:gp2:single-az":              0.115,
			"rds-storage:gp3:multi-az":               0.23, // not the readable-standbys cluster
			"rds-storage:gp3:single-az":              0.115,
			"rds:db.m7g.large:postgresql:multi-az":   0.336,
			"rds:db.m7g.large:postgresql:single-az":  0.168,
			"rds:db.r7g.xlarge:postgresql:multi-az":  0.956, // not Multi-AZ (readable standbys)
			"rds:db.r7g.xlarge:postgresql:single-az": 0.478, // not MySQL's 0.43 nor Aurora's
			"rds:db.t4g.micro:postgresql:multi-az":   0.032,
			"rds:db.t4g.micro:postgresql:single-az":  0.016, // not the Local Zone's 0.099
			"rds:db.t4g.micro:mysql:single-az":       0.016,
			"rds:db.t4g.micro:mariadb:single-az":     0.016,
			"secretsmanager:secret-month":            0.4, // not the API requests
			"sns:http-deliveries":                    0.6, // the first paid tier after the free 100K
			"sns:publishes":                          0.5, // the first paid tier after the free 1M
			"sqs:fifo-requests":                      0.5,
			"sqs:standard-requests":                  0.4, // first tier, per 1M; not fair queues
			"vpc:public-ipv4-hour":                   0.005,
		},
		"eu-west-1": {
			"rds:db.t4g.micro:postgresql:single-az": 0.018,
			"rds:db.t4g.micro:postgresql:multi-az":  0.036,
			"rds-storage:gp3:single-az":             0.127,
			"rds-storage:gp3:multi-az":              0.254,
			"rds-backup-storage":                    0.095,
		},
	}
	if got.Cloud != "aws" || got.Currency != "USD" || got.Version != "2026-12-01" {
		t.Errorf("header: got cloud %q currency %q version %q, want aws USD 2026-12-01", got.Cloud, got.Currency, got.Version)
	}
	var diffs []string
	for region, skus := range want {
		for sku, usd := range skus {
			service := awsOfferServices[strings.Split(sku, ":")[0]]
			w := Price{USD: usd, Unit: current.Regions[region][sku].Unit, Retrieved: "2026-12-01", Method: "AWS bulk offer file",
				Source: srv.URL + "/offers/v1.0/aws/" + service + "/current/" + region + "/index.json"}
			if g, ok := got.Regions[region][sku]; !ok || g != w {
				diffs = append(diffs, fmt.Sprintf("%s %s:\n-want %+v\n+got  %+v", region, sku, w, g))
			}
		}
		if len(got.Regions[region]) != len(skus) || len(current.Regions[region]) != len(skus) {
			diffs = append(diffs, fmt.Sprintf("%s: refreshed %d of %d SKUs, the test expects %d", region,
				len(got.Regions[region]), len(current.Regions[region]), len(skus)))
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}

// TestAWSMatchersAreExercised: every fixed matcher is a SKU of the embedded
// catalog's us-east-1, which TestRefreshAWS refreshes from the fixtures.
func TestAWSMatchersAreExercised(t *testing.T) {
	t.Parallel()

	cat, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	for key := range awsFixedOffers {
		if _, ok := cat.clouds["aws"].Regions["us-east-1"][key]; !ok {
			t.Errorf("%s has a matcher but is not in the embedded us-east-1 catalog, so no test refreshes it", key)
		}
	}
}

// TestAWSUsageType: a usage type matches with or without its region's
// billing code, never with another prefix (AWSELB's us-east-1 file has
// TS-LoadBalancerUsage, the mutual-TLS trust store hour, at a quarter of the
// load balancer hour).
func TestAWSUsageType(t *testing.T) {
	t.Parallel()

	lb := awsUsageType("LoadBalancerUsage")
	for _, tc := range []struct {
		usage, reason string
		want          bool
	}{
		{"LoadBalancerUsage", "us-east-1 has no prefix", true},
		{"USE1-LoadBalancerUsage", "a three-letter billing code with a digit", true},
		{"EU-LoadBalancerUsage", "eu-west-1 keeps the old EU prefix", true},
		{"APS3-LoadBalancerUsage", "ap-south-1", true},
		{"TS-LoadBalancerUsage", "the trust store hour in us-east-1, not a region", false},
		{"USE1-TS-LoadBalancerUsage", "the trust store hour elsewhere", false},
		{"Outposts-LoadBalancerUsage", "Outposts", false},
		{"EU-Outposts-LoadBalancerUsage", "Outposts in a region", false},
		{"USE1-BOS1-LoadBalancerUsage", "a Local Zone", false},
		{"ReservedLoadBalancerUsage", "another usage type with the same ending", false},
	} {
		if got := lb.MatchString(tc.usage); got != tc.want {
			t.Errorf("%s (%s): matched %v, want %v", tc.usage, tc.reason, got, tc.want)
		}
	}
}

func TestRefreshAWSErrors(t *testing.T) {
	t.Parallel()

	srv := awsOfferServer(t)
	cases := []struct {
		name, reason string
		current      *CloudCatalog
		want         []string // every one must be in the error
	}{
		{
			name: "sku not in the offer file", reason: "a SKU the price list lacks must fail, not keep its stale price",
			current: awsCurrent(map[string][]string{"us-east-1": {"rds:db.t4g.micro:postgresql:single-az", "rds:db.r7g.4xlarge:postgresql:multi-az"}}),
			want:    []string{"rds:db.r7g.4xlarge:postgresql:multi-az", "AmazonRDS", "us-east-1"},
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
			t.Parallel()

			_, err := RefreshAWS(t.Context(), srv.Client(), srv.URL, tc.current, "2026-12-01")
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
// (here PostgreSQL's and MySQL's db.r7g.xlarge) is an error listing them,
// never one picked at random.
func TestAWSDecodeOfferAmbiguous(t *testing.T) {
	t.Parallel()

	f, err := os.Open("testdata/aws/offers/v1.0/aws/AmazonRDS/current/us-east-1/index.json")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read-only
	spec := awsOfferSpec{service: "AmazonRDS", family: "Database Instance",
		attrs: map[string]string{"instanceType": "db.r7g.xlarge", "deploymentOption": "Single-AZ"}}
	_, err = awsDecodeOffer(f, "us-east-1", map[string]awsOfferSpec{"any-engine": spec})
	if err == nil || !strings.Contains(err.Error(), "different prices") || !strings.Contains(err.Error(), " at 0.43") ||
		!strings.Contains(err.Error(), " at 0.478") {
		t.Errorf("got %v, want an error naming the products with different prices", err)
	}
}

// TestAWSOfferSpecMatches: products sold outside the region itself are never
// the region's price, whichever way the offer file says where they are.
func TestAWSOfferSpecMatches(t *testing.T) {
	t.Parallel()

	egress := awsFixedOffers["egress:internet-gb"]
	outbound := func(extra map[string]string) awsOfferProduct {
		attrs := map[string]string{"transferType": "AWS Outbound", "fromLocation": "US East (N. Virginia)",
			"fromLocationType": "AWS Region", "fromRegionCode": "us-east-1", "toLocation": "External",
			"usagetype": "DataTransfer-Out-Bytes"}
		for k, v := range extra {
			attrs[k] = v
		}
		return awsOfferProduct{SKU: "X", ProductFamily: "Data Transfer", Attributes: attrs}
	}
	for _, tc := range []struct {
		reason  string
		product awsOfferProduct
		want    bool
	}{
		{"out of the region to the internet", outbound(nil), true},
		{"out of a Local Zone of the region", outbound(map[string]string{"fromLocationType": "AWS Local Zone"}), false},
		{"out of another region", outbound(map[string]string{"fromRegionCode": "us-east-2"}), false},
		{"to another region", outbound(map[string]string{"transferType": "InterRegion Outbound"}), false},
	} {
		if got := egress.matches(tc.product, "us-east-1"); got != tc.want {
			t.Errorf("%s: matched %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestAWSDecodeOfferShape(t *testing.T) {
	t.Parallel()

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
			t.Parallel()

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
	t.Parallel()

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
