package pricing

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// AzureRetailPricesURL is the public Azure Retail Prices API: no
// credentials, USD by default.
const AzureRetailPricesURL = "https://prices.azure.com"

// azureRetailAPIVersion is the API version the queries ask for.
const azureRetailAPIVersion = "2023-01-01-preview"

// azureRefreshMethod is the method a refreshed price records.
const azureRefreshMethod = "Azure Retail Prices API"

// RefreshAzure rebuilds the Azure catalog from the Azure Retail Prices API:
// for every region and SKU key of current it queries baseURL (""
// for AzureRetailPricesURL) for the SKU's service in the region (Azure DNS
// without a region: its prices are global), follows NextPageLink, picks the
// item of the SKU's product, SKU name, meter and price tier, and converts
// its retailPrice from unitOfMeasure to the catalog's unit. The new catalog
// has version retrieved and records the query URL, the date and the method
// of each price. A SKU the API has no item for is an error naming it. Each
// service and region is fetched once.
//
// It needs the network and is never run in CI (its tests serve fixtures in
// the API's response shape from testdata/azure).
func RefreshAzure(ctx context.Context, client *http.Client, baseURL string, current *CloudCatalog, retrieved string) (*CloudCatalog, error) {
	if current == nil || current.Cloud != "azure" {
		return nil, fmt.Errorf("refresh azure prices: the current catalog is not Azure's")
	}
	if retrieved == "" {
		return nil, fmt.Errorf("refresh azure prices: the retrieval date is required")
	}
	if client == nil {
		client = http.DefaultClient
	}
	if baseURL == "" {
		baseURL = AzureRetailPricesURL
	}
	baseURL = strings.TrimSuffix(baseURL, "/")
	out := &CloudCatalog{Cloud: current.Cloud, Version: retrieved, Currency: "USD", Regions: map[string]map[string]Price{}}
	fetched := map[string][]azureRetailItem{}
	for _, region := range azureSortedKeys(current.Regions) {
		out.Regions[region] = map[string]Price{}
		for _, sku := range azureSortedKeys(current.Regions[region]) {
			old := current.Regions[region][sku]
			m, err := azureMeterFor(sku)
			if err != nil {
				return nil, fmt.Errorf("refresh azure prices: %s/%s: %w", region, sku, err)
			}
			query := azureRetailQuery(baseURL, m.service, region, m.global)
			items, ok := fetched[query]
			if !ok {
				if items, err = azureFetchAll(ctx, client, query); err != nil {
					return nil, fmt.Errorf("refresh azure prices: %s/%s: %w", region, sku, err)
				}
				fetched[query] = items
			}
			item, err := m.pick(items, region, old.Unit)
			if err != nil {
				return nil, fmt.Errorf("refresh azure prices: %s/%s: %w (query %s)", region, sku, err, query)
			}
			usd, err := azureConvertPrice(item.RetailPrice, item.UnitOfMeasure, old.Unit)
			if err != nil {
				return nil, fmt.Errorf("refresh azure prices: %s/%s: %w", region, sku, err)
			}
			out.Regions[region][sku] = Price{USD: usd, Unit: old.Unit, Source: query, Retrieved: retrieved, Method: azureRefreshMethod}
		}
	}
	return out, nil
}

// azureRetailItem is one item of a Retail Prices API response (the fields
// the refresh reads).
type azureRetailItem struct {
	CurrencyCode         string  `json:"currencyCode"`
	TierMinimumUnits     float64 `json:"tierMinimumUnits"`
	RetailPrice          float64 `json:"retailPrice"`
	UnitPrice            float64 `json:"unitPrice"`
	ArmRegionName        string  `json:"armRegionName"`
	Location             string  `json:"location"`
	MeterName            string  `json:"meterName"`
	ProductName          string  `json:"productName"`
	SkuName              string  `json:"skuName"`
	ArmSkuName           string  `json:"armSkuName"`
	ServiceName          string  `json:"serviceName"`
	UnitOfMeasure        string  `json:"unitOfMeasure"`
	Type                 string  `json:"type"`
	IsPrimaryMeterRegion bool    `json:"isPrimaryMeterRegion"`
}

// azureRetailPage is one page of a Retail Prices API response.
type azureRetailPage struct {
	Items        []azureRetailItem `json:"Items"`
	NextPageLink string            `json:"NextPageLink"`
}

// azureRetailQuery is the query URL of a service's consumption prices in a
// region (or everywhere, for global services).
func azureRetailQuery(baseURL, service, region string, global bool) string {
	filter := "serviceName eq '" + service + "'"
	if !global {
		filter += " and armRegionName eq '" + region + "'"
	}
	filter += " and priceType eq 'Consumption'"
	escaped := strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	return baseURL + "/api/retail/prices?api-version=" + azureRetailAPIVersion + "&$filter=" + escaped
}

// azureMaxPages stops a paging loop that never ends.
const azureMaxPages = 1000

// azureFetchAll reads every page of a query.
func azureFetchAll(ctx context.Context, client *http.Client, query string) ([]azureRetailItem, error) {
	var items []azureRetailItem
	seen := map[string]bool{}
	for next, pages := query, 0; next != ""; pages++ {
		if pages == azureMaxPages || seen[next] {
			return nil, fmt.Errorf("GET %s: paging does not end", query)
		}
		seen[next] = true
		page, err := azureFetchPage(ctx, client, next)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		next = page.NextPageLink
	}
	return items, nil
}

func azureFetchPage(ctx context.Context, client *http.Client, link string) (*azureRetailPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", link, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", link, err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only: a close error loses nothing
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", link, resp.Status)
	}
	var page azureRetailPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("GET %s: decode response: %w", link, err)
	}
	return &page, nil
}

// azureMeter says where a catalog SKU is in the Retail Prices API: the
// service it is queried by, and what its item's productName, skuName and
// meterName match (nil: anything; case and the kind of space do not matter:
// some PostgreSQL product names have no-break spaces). paidTier picks among
// the matching items with a price, by tierMinimumUnits (0: the first paid
// tier; free included tiers are skipped).
type azureMeter struct {
	service             string
	global              bool
	product, sku, meter *regexp.Regexp
	paidTier            int
}

// azureRe anchors a pattern, case-insensitive, each space in it matching any
// run of spaces and no-break spaces (U+00A0): the API names General Purpose
// and Memory Optimized flexible server products "Azure Database for
// PostgreSQL Flexible Server General Purpose\u00a0Ddsv5\u00a0Series Compute"
// and "Azure\u00a0Database for PostgreSQL Flexible Server\u00a0Memory
// Optimized\u00a0Edsv5\u00a0Series Compute".
func azureRe(pattern string) *regexp.Regexp {
	return regexp.MustCompile("(?i)^(?:" + strings.ReplaceAll(pattern, " ", `[\s\x{00A0}]+`) + ")$")
}

const (
	azurePostgres      = "Azure Database for PostgreSQL"
	azureContainerApps = "Azure Container Apps"
	azureServiceBus    = "Service Bus"
	azureLogAnalytics  = "Log Analytics"
	azureDNS           = "Azure DNS"
	azurePostgresFlex  = `(?:Azure Database|Az DB) for PostgreSQL Flexible Server`
	// azureAnalyticsLogs is Log Analytics' pay-as-you-go SKU (workspace SKU
	// PerGB2018); it was "Pay-as-you-go" with "Pay-as-you-go Data Ingestion"
	// meters before.
	azureAnalyticsLogs = "Analytics Logs"
)

// azureMeters are the SKU keys azure.go asks for, but compute, which
// azureMeterFor derives from the VM size.
var azureMeters = map[string]azureMeter{
	"postgresql-flexible:storage-gb": {service: azurePostgres,
		product: azureRe(azurePostgresFlex + ` Storage`), meter: azureRe(`Storage Data Stored`)},
	"postgresql-flexible:backup-lrs-gb": {service: azurePostgres,
		product: azureRe(azurePostgresFlex + ` Backup Storage`), meter: azureRe(`Backup Storage LRS Data Stored`)},
	"postgresql-flexible:backup-grs-gb": {service: azurePostgres,
		product: azureRe(azurePostgresFlex + ` Backup Storage`), meter: azureRe(`Backup Storage GRS Data Stored`)},

	"container-apps:vcpu-second": {service: azureContainerApps, meter: azureRe(`(?:Standard )?vCPU Active Usage`)},
	"container-apps:gib-second":  {service: azureContainerApps, meter: azureRe(`(?:Standard )?Memory Active Usage`)},
	"container-apps:requests":    {service: azureContainerApps, meter: azureRe(`(?:Standard )?Requests`)},

	// The base charge is listed twice, "1/Hour" and "1/Month": pick takes
	// the hour.
	"servicebus:standard-base": {service: azureServiceBus, sku: azureRe(`Standard`), meter: azureRe(`Standard Base Unit`)},
	"servicebus:standard-operations-13m-100m": {service: azureServiceBus, sku: azureRe(`Standard`),
		meter: azureRe(`Standard Messaging Operations`)},
	"servicebus:standard-operations-100m-2500m": {service: azureServiceBus, sku: azureRe(`Standard`),
		meter: azureRe(`Standard Messaging Operations`), paidTier: 1},
	"servicebus:standard-operations-over-2500m": {service: azureServiceBus, sku: azureRe(`Standard`),
		meter: azureRe(`Standard Messaging Operations`), paidTier: 2},
	"servicebus:standard-brokered-connection": {service: azureServiceBus, sku: azureRe(`Standard`),
		meter: azureRe(`Standard Brokered Connections?`)},
	"servicebus:basic-operations":       {service: azureServiceBus, sku: azureRe(`Basic`), meter: azureRe(`Basic Messaging Operations`)},
	"servicebus:premium-messaging-unit": {service: azureServiceBus, sku: azureRe(`Premium`), meter: azureRe(`Premium Messaging Unit`)},

	"log-analytics:ingestion-gb": {service: azureLogAnalytics, sku: azureRe(azureAnalyticsLogs),
		meter: azureRe(azureAnalyticsLogs + ` Data Ingestion`)},
	"log-analytics:retention-gb": {service: azureLogAnalytics, sku: azureRe(azureAnalyticsLogs),
		meter: azureRe(azureAnalyticsLogs + ` Data Retention`)},

	"private-dns:zone":    {service: azureDNS, global: true, sku: azureRe(`Private`), meter: azureRe(`Private Zones?`)},
	"private-dns:queries": {service: azureDNS, global: true, sku: azureRe(`Private`), meter: azureRe(`Private Queries`)},
}

// azurePostgresSize is a flexible server VM size: Standard_B1ms,
// Standard_D2ds_v5, Standard_E4ds_v5.
var azurePostgresSize = regexp.MustCompile(`^Standard_([BDE])(\d+)([a-z]*)(?:_(v\d+))?$`)

// azureMeterFor returns where a SKU key is in the Retail Prices API.
func azureMeterFor(key string) (azureMeter, error) {
	if m, ok := azureMeters[key]; ok {
		return m, nil
	}
	if size, ok := strings.CutPrefix(key, "postgresql-flexible:"); ok {
		if size, ok := strings.CutSuffix(size, ":compute"); ok {
			return azurePostgresComputeMeter(size)
		}
	}
	return azureMeter{}, fmt.Errorf("no Retail Prices API meter is known for SKU %s", key)
}

// azurePostgresComputeMeter finds a flexible server size: Burstable sizes
// have their own SKU and meter (B1ms), the others a "<vCores> vCore" SKU of
// the series' product (Ddsv5) with the vCore meter, priced for the server.
func azurePostgresComputeMeter(size string) (azureMeter, error) {
	p := azurePostgresSize.FindStringSubmatch(size)
	if p == nil {
		return azureMeter{}, fmt.Errorf("%q is not a flexible server size such as Standard_D2ds_v5", size)
	}
	family, cores, features, version := p[1], p[2], p[3], p[4]
	if family == "B" {
		name := regexp.QuoteMeta(strings.TrimPrefix(size, "Standard_"))
		return azureMeter{service: azurePostgres,
			product: azureRe(azurePostgresFlex + ` Burstable (?:- )?BS Series Compute`),
			sku:     azureRe(name), meter: azureRe(name + `(?: vCore)?`)}, nil
	}
	tier := map[string]string{"D": "General Purpose", "E": "Memory Optimized"}[family]
	series := family + features + version
	return azureMeter{service: azurePostgres,
		product: azureRe(azurePostgresFlex + ` ` + tier + ` (?:- )?` + series + ` Series Compute`),
		sku:     azureRe(cores + ` vCore`), meter: azureRe(`vCore`)}, nil
}

// pick returns the one item of the meter in region (global meters: the
// region-less item, else Azure DNS's "Zone 1", which holds Europe and North
// America) at its paid tier. Items of one tier that differ are told apart by
// the catalog's unit: one listing in that unit ("1/Hour" for hours) is taken
// over the same meter listed in another ("1/Month"), a primary meter region
// over a non-primary one; otherwise they are ambiguous.
func (m azureMeter) pick(items []azureRetailItem, region, unit string) (azureRetailItem, error) {
	best := map[int][]azureRetailItem{}
	for _, it := range items {
		if it.ServiceName != m.service || (it.Type != "" && it.Type != "Consumption") ||
			!azureMatch(m.product, it.ProductName) || !azureMatch(m.sku, it.SkuName) || !azureMatch(m.meter, it.MeterName) {
			continue
		}
		if it.CurrencyCode != "" && it.CurrencyCode != "USD" {
			return azureRetailItem{}, fmt.Errorf("item %q is priced in %s, not USD", it.MeterName, it.CurrencyCode)
		}
		rank := 0
		switch {
		case !m.global && strings.EqualFold(it.ArmRegionName, region):
		case m.global && it.ArmRegionName == "":
		case m.global && (strings.EqualFold(it.ArmRegionName, "Zone 1") || strings.EqualFold(it.Location, "Zone 1")):
			rank = 1
		default:
			continue
		}
		if it.RetailPrice > 0 {
			best[rank] = append(best[rank], it)
		}
	}
	candidates := best[0]
	if len(candidates) == 0 {
		candidates = best[1]
	}
	sort.SliceStable(candidates, func(i, j int) bool { return candidates[i].TierMinimumUnits < candidates[j].TierMinimumUnits })
	var tiers []azureRetailItem
	for start := 0; start < len(candidates); {
		end := start + 1
		for end < len(candidates) && candidates[end].TierMinimumUnits == candidates[start].TierMinimumUnits {
			end++
		}
		it, err := azureOneOfTier(candidates[start:end], unit)
		if err != nil {
			return azureRetailItem{}, err
		}
		tiers = append(tiers, it)
		start = end
	}
	if m.paidTier >= len(tiers) {
		return azureRetailItem{}, fmt.Errorf("no item matches (service %q, product %v, SKU %v, meter %v, paid tier %d)",
			m.service, m.product, m.sku, m.meter, m.paidTier)
	}
	return tiers[m.paidTier], nil
}

// azureOneOfTier picks the item of a tier (see pick).
func azureOneOfTier(items []azureRetailItem, unit string) (azureRetailItem, error) {
	same := true
	for _, it := range items[1:] {
		same = same && it.RetailPrice == items[0].RetailPrice && it.UnitOfMeasure == items[0].UnitOfMeasure
	}
	if same {
		return items[0], nil
	}
	// Of the items that convert to the catalog's unit, those of a primary
	// meter region, then those already in that unit.
	var usable []azureRetailItem
	var values []float64
	var direct []bool
	primary := false
	for _, it := range items {
		v, exact, err := azureConvert(it.RetailPrice, it.UnitOfMeasure, unit)
		if err != nil {
			continue
		}
		usable, values, direct = append(usable, it), append(values, v), append(direct, exact)
		primary = primary || it.IsPrimaryMeterRegion
	}
	for _, filter := range []func(i int) bool{
		func(int) bool { return true },
		func(i int) bool { return !primary || usable[i].IsPrimaryMeterRegion },
		func(i int) bool { return (!primary || usable[i].IsPrimaryMeterRegion) && direct[i] },
	} {
		var kept []int
		for i := range usable {
			if filter(i) {
				kept = append(kept, i)
			}
		}
		agree := len(kept) > 0
		for _, i := range kept {
			agree = agree && values[i] == values[kept[0]]
		}
		if agree {
			return usable[kept[0]], nil
		}
	}
	a, b := items[0], items[1]
	return azureRetailItem{}, fmt.Errorf("ambiguous: items %q (%s, %v per %q) and %q (%s, %v per %q) both match",
		a.ProductName, a.SkuName, a.RetailPrice, a.UnitOfMeasure, b.ProductName, b.SkuName, b.RetailPrice, b.UnitOfMeasure)
}

func azureMatch(re *regexp.Regexp, s string) bool { return re == nil || re.MatchString(s) }

// azureUnitOfMeasure splits an API unit of measure into a count, an
// optional K or M multiplier and the rest: "1 Hour", "1/Hour", "100 Hours",
// "1/Day", "1/Month", "1 GB", "1 GB/Month", "1 GiB/Month", "1 Second",
// "1 GiB Second", "1", "1M", "10K".
var azureUnitOfMeasure = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*([KM]\b)?\s*(.*?)\s*$`)

// azureConvertPrice turns a price per unitOfMeasure into a price per the
// catalog's unit.
func azureConvertPrice(price float64, unitOfMeasure, catalogUnit string) (float64, error) {
	out, _, err := azureConvert(price, unitOfMeasure, catalogUnit)
	return out, err
}

// azureTime names the period a unit word is: hour, day, month, second,
// minute, or "".
func azureTime(word string) string {
	switch word {
	case "hour", "hours", "hr", "hrs":
		return "hour"
	case "day", "days":
		return "day"
	case "month", "months":
		return "month"
	case "second", "seconds":
		return "second"
	case "minute", "minutes":
		return "minute"
	}
	return ""
}

// azureConvert is azureConvertPrice, also saying whether the unit of
// measure was already the catalog's (no change of period: "1/Hour" for
// hours, not "1/Month").
func azureConvert(price float64, unitOfMeasure, catalogUnit string) (float64, bool, error) {
	p := azureUnitOfMeasure.FindStringSubmatch(unitOfMeasure)
	if p == nil {
		return 0, false, fmt.Errorf("unit of measure %q is not understood", unitOfMeasure)
	}
	count, _ := strconv.ParseFloat(p[1], 64)
	switch p[2] {
	case "K":
		count *= 1e3
	case "M":
		count *= 1e6
	}
	if count <= 0 {
		return 0, false, fmt.Errorf("unit of measure %q is not understood", unitOfMeasure)
	}
	each := price / count
	// "GB/Month" is a measure per period; "Hour", "/Hour" and "" are a
	// period or a count alone.
	measure, period, _ := strings.Cut(strings.ToLower(p[3]), "/")
	measure, period = strings.TrimSpace(measure), strings.TrimSpace(period)
	alone := "" // the period of a unit that is only one: "Hour", "/Hour", "100 Hours"
	switch {
	case measure == "" && period != "":
		alone = azureTime(period)
	case period == "":
		alone = azureTime(measure)
	}
	gb := measure == "gb" || measure == "gib"
	var out float64
	exact := false
	switch catalogUnit {
	case "hours":
		switch alone {
		case "hour":
			out, exact = each, true
		case "minute":
			out = each * 60
		case "second":
			out = each * 3600
		case "day":
			out = each / 24
		case "month":
			out = each / HoursPerMonth
		}
	case "GB-months":
		if gb && azureTime(period) == "month" {
			out, exact = each, true
		}
	case "GB":
		if gb && period == "" {
			out, exact = each, true
		}
	case "vCPU-seconds", "GiB-seconds":
		switch {
		case period == "" && (strings.HasSuffix(measure, "second") || strings.HasSuffix(measure, "seconds")):
			out, exact = each, true
		case alone == "hour":
			out = each / 3600
		}
	case "1M requests", "1M operations", "1M queries":
		if measure == "" && period == "" {
			out, exact = each*1e6, true
		}
	case "zone-months", "connections":
		if measure == "" && (period == "" || azureTime(period) == "month") {
			out, exact = each, true
		}
	default:
		return 0, false, fmt.Errorf("catalog unit %q has no conversion from the Retail Prices API", catalogUnit)
	}
	if out == 0 && price != 0 {
		return 0, false, fmt.Errorf("unit of measure %q does not convert to %s", unitOfMeasure, catalogUnit)
	}
	// Ten significant digits: no float noise (0.0864/3600) in the catalog.
	out, err := strconv.ParseFloat(strconv.FormatFloat(out, 'g', 10, 64), 64)
	return out, exact, err
}

func azureSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
