package pricing

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/providers"
)

// unpriced lists the registered clouds that clouds has no pricing for.
func unpriced(clouds map[string]*Cloud) []string {
	var out []string
	for _, name := range providers.Names() {
		if clouds[name] == nil {
			out = append(out, name)
		}
	}
	return out
}

// TestPriceTables: each registered cloud is priced by the table of its
// types' package, each table prices a registered cloud, and each type in a
// table belongs to its package.
func TestPriceTables(t *testing.T) {
	t.Parallel()

	registered := map[string]string{}
	for name, c := range providers.All() {
		registered[c.TypePrefix] = name
	}
	seen := map[string]bool{}
	for _, table := range priceTables {
		if seen[table.TypePrefix] {
			t.Errorf("two price tables for %s*", table.TypePrefix)
		}
		seen[table.TypePrefix] = true
		if _, ok := registered[table.TypePrefix]; !ok {
			t.Errorf("the price table of %s* prices no registered cloud (providers.Cloud.TypePrefix)", table.TypePrefix)
		}
		for typ := range table.Types {
			if !strings.HasPrefix(typ, table.TypePrefix) {
				t.Errorf("the price table of %s* has %s, another package's type", table.TypePrefix, typ)
			}
		}
	}
	if missing := unpriced(clouds); len(missing) > 0 {
		t.Errorf("registered clouds without a price table: %v", missing)
	}
	for _, name := range providers.Names() {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}

	// The check bites: without the AWS table, AWS is unpriced, and Lookup
	// says so instead of calling it an unknown cloud.
	withoutAWS := slices.DeleteFunc(slices.Clone(priceTables), func(table priceTable) bool { return table.TypePrefix == "aws:" })
	if got := unpriced(pricedClouds(withoutAWS)); !slices.Equal(got, []string{"aws"}) {
		t.Errorf("without the AWS price table, unpriced = %v, want [aws]", got)
	}
	if _, err := Lookup("oracle"); err == nil || !strings.Contains(err.Error(), "valid clouds are aws, azure, digitalocean, gcp, kubernetes, local") {
		t.Errorf("Lookup of an unknown cloud: %v, want the valid ones listed", err)
	}
}
