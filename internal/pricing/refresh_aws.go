package pricing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// awsOfferMethod is the Method of a price read from a bulk offer file.
const awsOfferMethod = "AWS bulk offer file"

// awsOfferSpec says which product of which offer file a SKU key is, and how
// its offer-file price turns into the catalog's unit.
type awsOfferSpec struct {
	service string // offer (service) code: AmazonRDS, AmazonECS, ...
	family  string // productFamily, "" for any
	// attrs must equal the product's attributes.
	attrs map[string]string
	// anyOf: the attribute, when the product has it, is one of these.
	anyOf map[string][]string
	// usageType matches the product's usagetype attribute, nil for any.
	usageType *regexp.Regexp
	// scale multiplies the offer price (1e6: a price per request → per 1M).
	scale float64
}

// awsUsageType matches a usagetype with or without its region's billing code
// ("USE1-", "APS3-", eu-west-1's "EU-"; us-east-1 often has none). The code
// must look like one, three letters and a digit or EU: AWSELB's us-east-1
// file also has TS-LoadBalancerUsage, the trust store hour, at a quarter of
// the load balancer hour (infracost/infracost
// internal/resources/aws/lb.go applicationLBCostComponents matches the same
// way).
func awsUsageType(suffix string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:(?:EU|[A-Z]{3}[0-9])-)?` + regexp.QuoteMeta(suffix) + `$`)
}

// awsRDSOfferEngines maps a SKU key engine to the offer file's databaseEngine.
var awsRDSOfferEngines = map[string]string{"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}

// awsRDSVolumeTypes maps a storage type to the offer file's volumeType.
var awsRDSVolumeTypes = map[string]string{"gp3": "General Purpose-GP3", "gp2": "General Purpose"}

var awsDeployments = map[string]string{"single-az": "Single-AZ", "multi-az": "Multi-AZ"}

// awsFixedOffers are the SKU keys with no parameters.
var awsFixedOffers = map[string]awsOfferSpec{
	"rds-backup-storage":          {service: "AmazonRDS", family: "Storage Snapshot", usageType: awsUsageType("RDS:ChargedBackupUsage")},
	"secretsmanager:secret-month": {service: "AWSSecretsManager", family: "Secret", usageType: awsUsageType("AWSSecretsManager-Secrets")},
	"fargate:linux-x86:vcpu-hour": {service: "AmazonECS", usageType: awsUsageType("Fargate-vCPU-Hours:perCPU")},
	"fargate:linux-x86:gb-hour":   {service: "AmazonECS", usageType: awsUsageType("Fargate-GB-Hours")},
	"fargate:linux-arm:vcpu-hour": {service: "AmazonECS", usageType: awsUsageType("Fargate-ARM-vCPU-Hours:perCPU")},
	"fargate:linux-arm:gb-hour":   {service: "AmazonECS", usageType: awsUsageType("Fargate-ARM-GB-Hours")},
	"alb:hour":                    {service: "AWSELB", family: "Load Balancer-Application", usageType: awsUsageType("LoadBalancerUsage")},
	"alb:lcu-hour":                {service: "AWSELB", family: "Load Balancer-Application", usageType: awsUsageType("LCUUsage")},
	"vpc:public-ipv4-hour":        {service: "AmazonVPC", usageType: awsUsageType("PublicIPv4:InUseAddress")},
	"egress:internet-gb": {service: "AWSDataTransfer", family: "Data Transfer", usageType: awsUsageType("DataTransfer-Out-Bytes"),
		attrs: map[string]string{"transferType": "AWS Outbound"}},
	"logs:ingested-gb":         {service: "AmazonCloudWatch", family: "Data Payload", usageType: awsUsageType("DataProcessing-Bytes")},
	"logs:stored-gb-month":     {service: "AmazonCloudWatch", family: "Storage Snapshot", usageType: awsUsageType("TimedStorage-ByteHrs")},
	"logs:insights-scanned-gb": {service: "AmazonCloudWatch", family: "Data Payload", usageType: awsUsageType("DataScanned-Bytes")},
	"cloudwatch:metric-month":  {service: "AmazonCloudWatch", usageType: awsUsageType("CW:MetricMonitorUsage")},
	"cloudwatch:alarm-month":   {service: "AmazonCloudWatch", usageType: awsUsageType("CW:AlarmMonitorUsage")},
	// SQS requests by queue type: the usage type is Requests-RBP (and
	// Requests-FIFO-RBP, Requests-Fair-RBP) in current files, where older
	// files and bills say Requests-Tier1 (testdata/README.md).
	"sqs:standard-requests": {service: "AWSQueueService", family: "API Request", scale: 1e6,
		attrs: map[string]string{"queueType": "Standard"}},
	"sqs:fifo-requests": {service: "AWSQueueService", family: "API Request", scale: 1e6,
		attrs: map[string]string{"queueType": "FIFO (first-in, first-out)"}},
	"sns:publishes":       {service: "AmazonSNS", family: "API Request", usageType: awsUsageType("Requests-Tier1"), scale: 1e6},
	"sns:http-deliveries": {service: "AmazonSNS", family: "Message Delivery", usageType: awsUsageType("DeliveryAttempts-HTTP"), scale: 1e6},
}

// awsOfferFor maps a catalog SKU key to its offer-file product.
func awsOfferFor(key string) (awsOfferSpec, error) {
	if s, ok := awsFixedOffers[key]; ok {
		return s, nil
	}
	parts := strings.Split(key, ":")
	switch {
	case parts[0] == "rds" && len(parts) == 4:
		engine, ok1 := awsRDSOfferEngines[parts[2]]
		deployment, ok2 := awsDeployments[parts[3]]
		if ok1 && ok2 {
			return awsOfferSpec{service: "AmazonRDS", family: "Database Instance", attrs: map[string]string{
				"instanceType": parts[1], "databaseEngine": engine, "deploymentOption": deployment,
			}}, nil
		}
	case parts[0] == "rds-storage" && len(parts) == 3:
		volume, ok1 := awsRDSVolumeTypes[parts[1]]
		deployment, ok2 := awsDeployments[parts[2]]
		if ok1 && ok2 {
			return awsOfferSpec{service: "AmazonRDS", family: "Database Storage",
				attrs: map[string]string{"volumeType": volume, "deploymentOption": deployment},
				// Storage is one price for the open-source engines.
				anyOf: map[string][]string{"databaseEngine": {"Any", "PostgreSQL", "MySQL", "MariaDB"}},
			}, nil
		}
	}
	return awsOfferSpec{}, fmt.Errorf("SKU %q has no AWS offer-file mapping (refresh_aws.go)", key)
}

// matches: the product is the spec's, sold in the region itself (regional
// offer files also list Local Zones and Outposts; AWSDataTransfer's products
// have from* attributes instead of location ones).
func (s awsOfferSpec) matches(p awsOfferProduct, region string) bool {
	if s.family != "" && p.ProductFamily != s.family {
		return false
	}
	for _, k := range []string{"regionCode", "fromRegionCode"} {
		if v, ok := p.Attributes[k]; ok && v != region {
			return false
		}
	}
	for _, k := range []string{"locationType", "fromLocationType"} {
		if v, ok := p.Attributes[k]; ok && v != "AWS Region" {
			return false
		}
	}
	for k, v := range s.attrs {
		if p.Attributes[k] != v {
			return false
		}
	}
	for k, vs := range s.anyOf {
		if v, ok := p.Attributes[k]; ok && !slices.Contains(vs, v) {
			return false
		}
	}
	return s.usageType == nil || s.usageType.MatchString(p.Attributes["usagetype"])
}

// awsOfferProduct is one entry of an offer file's products.
type awsOfferProduct struct {
	SKU           string            `json:"sku"`
	ProductFamily string            `json:"productFamily"`
	Attributes    map[string]string `json:"attributes"`
}

// awsOfferTerm is one OnDemand term of a product.
type awsOfferTerm struct {
	PriceDimensions map[string]struct {
		Unit         string            `json:"unit"`
		BeginRange   string            `json:"beginRange"`
		Description  string            `json:"description"`
		PricePerUnit map[string]string `json:"pricePerUnit"`
	} `json:"priceDimensions"`
}

// RefreshAWS rebuilds the AWS catalog from AWS's public bulk offer files
// (<baseURL>/offers/v1.0/aws/<service code>/current/<region>/index.json; no
// credentials): for each region and SKU key in current, it finds the
// product by its attributes and takes its on-demand price (the first paid
// tier of a tiered price). A SKU it cannot find, or finds with two
// different prices, is an error naming it. Offer files are streamed, never
// held whole (RDS's is hundreds of MB).
func RefreshAWS(ctx context.Context, client *http.Client, baseURL string, current *CloudCatalog, retrieved string) (*CloudCatalog, error) {
	if current == nil || len(current.Regions) == 0 {
		return nil, fmt.Errorf("the current aws catalog has no regions to refresh")
	}
	if client == nil {
		client = http.DefaultClient
	}
	baseURL = strings.TrimRight(baseURL, "/")
	out := &CloudCatalog{Cloud: current.Cloud, Version: retrieved, Currency: "USD", Regions: map[string]map[string]Price{}}
	for _, region := range awsSortedKeys(current.Regions) {
		// One offer file per service code, each read once for all its SKUs.
		byService := map[string]map[string]awsOfferSpec{}
		for key := range current.Regions[region] {
			spec, err := awsOfferFor(key)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", region, err)
			}
			if byService[spec.service] == nil {
				byService[spec.service] = map[string]awsOfferSpec{}
			}
			byService[spec.service][key] = spec
		}
		prices := map[string]Price{}
		for _, service := range awsSortedKeys(byService) {
			url := fmt.Sprintf("%s/offers/v1.0/aws/%s/current/%s/index.json", baseURL, service, region)
			found, err := awsReadOffer(ctx, client, url, region, byService[service])
			if err != nil {
				return nil, fmt.Errorf("%s offer file for %s (%s): %w", service, region, url, err)
			}
			for key, usd := range found {
				prices[key] = Price{USD: usd, Unit: current.Regions[region][key].Unit, Source: url, Retrieved: retrieved, Method: awsOfferMethod}
			}
		}
		out.Regions[region] = prices
	}
	return out, nil
}

// awsReadOffer streams one offer file and returns each spec's price.
func awsReadOffer(ctx context.Context, client *http.Client, url, region string, specs map[string]awsOfferSpec) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read-only: a close error loses nothing
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: %s", resp.Status)
	}
	return awsDecodeOffer(resp.Body, region, specs)
}

// awsDecodeOffer reads an offer file token by token: products (which must
// come before terms, as AWS writes them) pick the SKUs each spec matches;
// terms.OnDemand gives their prices; everything else is skipped unread.
func awsDecodeOffer(r io.Reader, region string, specs map[string]awsOfferSpec) (map[string]float64, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	// wanted maps an offer-file sku to the spec keys it matched.
	wanted := map[string][]string{}
	// got maps a spec key to the price of each offer sku matched.
	got := map[string]map[string]float64{}
	sawProducts, sawTerms := false, false

	if err := awsExpectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		field, err := awsKey(dec)
		if err != nil {
			return nil, err
		}
		switch field {
		case "products":
			if sawTerms {
				return nil, errors.New("products come after terms: the offer file is not in the shape AWS publishes")
			}
			sawProducts = true
			if err := awsEachEntry(dec, func(sku string) error {
				var p awsOfferProduct
				if err := dec.Decode(&p); err != nil {
					return fmt.Errorf("product %s: %w", sku, err)
				}
				for key, spec := range specs {
					if spec.matches(p, region) {
						wanted[sku] = append(wanted[sku], key)
					}
				}
				return nil
			}); err != nil {
				return nil, err
			}
		case "terms":
			sawTerms = true
			if err := awsEachEntry(dec, func(termType string) error {
				if termType != "OnDemand" {
					return awsSkip(dec)
				}
				return awsEachEntry(dec, func(sku string) error {
					keys := wanted[sku]
					if len(keys) == 0 {
						return awsSkip(dec)
					}
					var terms map[string]awsOfferTerm
					if err := dec.Decode(&terms); err != nil {
						return fmt.Errorf("terms of %s: %w", sku, err)
					}
					usd, err := awsOnDemandPrice(terms)
					if err != nil {
						return fmt.Errorf("product %s: %w", sku, err)
					}
					for _, key := range keys {
						if got[key] == nil {
							got[key] = map[string]float64{}
						}
						got[key][sku] = usd
					}
					return nil
				})
			}); err != nil {
				return nil, err
			}
		default:
			if err := awsSkip(dec); err != nil {
				return nil, err
			}
		}
	}
	if !sawProducts {
		return nil, errors.New("no products in the offer file")
	}

	out := map[string]float64{}
	var missing []string
	for _, key := range awsSortedKeys(specs) {
		found := got[key]
		if len(found) == 0 {
			missing = append(missing, key)
			continue
		}
		distinct := map[float64][]string{}
		for sku, usd := range found {
			distinct[usd] = append(distinct[usd], sku)
		}
		if len(distinct) > 1 {
			var list []string
			for usd, skus := range distinct {
				sort.Strings(skus)
				list = append(list, fmt.Sprintf("%s at %v", strings.Join(skus, ","), usd))
			}
			sort.Strings(list)
			return nil, fmt.Errorf("SKU %s matches products with different prices: %s", key, strings.Join(list, "; "))
		}
		for usd := range distinct {
			scale := specs[key].scale
			if scale == 0 {
				scale = 1
			}
			out[key] = awsRound(usd * scale)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no on-demand price for SKU %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// awsOnDemandPrice is a product's USD price per unit: its only price, or,
// when tiered, the first paid tier (free allowances are per account).
func awsOnDemandPrice(terms map[string]awsOfferTerm) (float64, error) {
	best, bestBegin, found := 0.0, math.Inf(1), false
	for _, term := range terms {
		for _, dim := range term.PriceDimensions {
			s, ok := dim.PricePerUnit["USD"]
			if !ok {
				continue
			}
			usd, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, fmt.Errorf("price %q: %w", s, err)
			}
			if usd <= 0 {
				continue
			}
			begin := 0.0
			if dim.BeginRange != "" {
				if begin, err = strconv.ParseFloat(dim.BeginRange, 64); err != nil {
					return 0, fmt.Errorf("beginRange %q: %w", dim.BeginRange, err)
				}
			}
			if !found || begin < bestBegin {
				best, bestBegin, found = usd, begin, true
			}
		}
	}
	if !found {
		return 0, errors.New("no paid on-demand USD price")
	}
	return best, nil
}

// awsRound drops the float noise of scaling (0.0000004 × 1e6).
func awsRound(f float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 12, 64), 64)
	return r
}

func awsKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected an object key, got %v", tok)
	}
	return key, nil
}

func awsExpectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %v, got %v", want, tok)
	}
	return nil
}

// awsEachEntry walks an object, calling each with a key; each must consume
// the value.
func awsEachEntry(dec *json.Decoder, each func(key string) error) error {
	if err := awsExpectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		key, err := awsKey(dec)
		if err != nil {
			return err
		}
		if err := each(key); err != nil {
			return err
		}
	}
	return awsExpectDelim(dec, '}')
}

// awsSkip consumes one value token by token, holding none of it.
func awsSkip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func awsSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
