package pricing

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/tenantfleet/tenantfleet/providers"
)

// Cloud is one registered cloud's pricing: what its descriptor
// (providers.Cloud) says, and how its resource types are priced.
type Cloud struct {
	// Name is the tenantfleet cloud, as registered in providers.
	Name string
	// TypePrefix is the Pulumi package prefix of its types ("aws:").
	TypePrefix string
	// DefaultRegion applies when the config names none ("": the cloud has
	// no regions).
	DefaultRegion string
	Types         map[string]TypeInfo
	// PriceList is the public price list its catalog is refreshed from (nil:
	// the catalog is kept by hand).
	PriceList *PriceList
	// Basis, when set, says how the cloud is priced, in every report of it
	// (Kubernetes: by what each resource requests, at the catalog's rates).
	Basis string
}

// RunsLocally says every resource type of the cloud runs on this machine,
// so everything on it costs $0.
func (c *Cloud) RunsLocally() bool {
	for _, info := range c.Types {
		if info.Kind != Local {
			return false
		}
	}
	return len(c.Types) > 0
}

// PriceList is a cloud's public price list, which its catalog is rebuilt
// from with no credentials (`tenantfleet cost refresh-catalog`).
type PriceList struct {
	// URL is where the list is served.
	URL string
	// Refresh rebuilds current, the cloud's catalog, from the list at
	// baseURL: every SKU of every region, dated retrieved.
	Refresh func(ctx context.Context, client *http.Client, baseURL string, current *CloudCatalog, retrieved string) (*CloudCatalog, error)
}

// priceTable is how the resource types of one Pulumi package are priced
// (one file each: aws.go, azure.go, ...).
type priceTable struct {
	// TypePrefix is the package's type-token prefix ("aws:"), which every
	// key of Types has: the registered cloud with that prefix
	// (providers.Cloud.TypePrefix) is priced by this table.
	TypePrefix string
	Types      map[string]TypeInfo
	PriceList  *PriceList
	Basis      string
}

// priceTables are the Pulumi packages pricing knows.
var priceTables = []priceTable{awsPrices, azurePrices, digitaloceanPrices, gcpPrices, kubernetesPrices, localPrices}

// clouds is every registered cloud with its price table, by name.
var clouds = pricedClouds(priceTables)

// pricedClouds joins each registered cloud to the table of its types.
func pricedClouds(tables []priceTable) map[string]*Cloud {
	out := map[string]*Cloud{}
	for name, c := range providers.All() {
		for _, t := range tables {
			if t.TypePrefix == c.TypePrefix {
				out[name] = &Cloud{Name: name, TypePrefix: t.TypePrefix, DefaultRegion: c.DefaultRegion, Types: t.Types,
					PriceList: t.PriceList, Basis: t.Basis}
			}
		}
	}
	return out
}

// Clouds lists the clouds with pricing, sorted.
func Clouds() []string {
	names := make([]string, 0, len(clouds))
	for n := range clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CloudOf returns the cloud whose types have the type's package prefix, or
// nil for types of no cloud (pulumi:, tenantfleet:, random:).
func CloudOf(typ string) *Cloud {
	for _, c := range clouds {
		if c.TypePrefix != "" && strings.HasPrefix(typ, c.TypePrefix) {
			return c
		}
	}
	return nil
}

// Lookup returns a cloud's pricing.
func Lookup(cloud string) (*Cloud, error) {
	if c, ok := clouds[cloud]; ok {
		return c, nil
	}
	desc, err := providers.Lookup(cloud)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("cloud %q has no pricing: no price table for its types (%s*)", cloud, desc.TypePrefix)
}
