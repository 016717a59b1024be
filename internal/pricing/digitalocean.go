package pricing

import (
	"fmt"
	"strconv"
)

// DigitalOcean: every type the DigitalOcean adapter (providers/digitalocean)
// registers. Database clusters and apps have a fixed monthly part; the rest
// is free or part of a cluster. Prices: catalog/digitalocean.yaml.
//
// DigitalOcean prices by the month (it bills by the hour up to the monthly
// price), so every fixed component is a count of monthly units, priced with
// ctx.Unit: node-months for database nodes, container-months for app
// containers, GiB-months for added disk. A resource kept all month costs
// exactly its monthly price, with no 730-hour conversion to round.

// Usage-file keys of the DigitalOcean types.
const doKeyEgressOverageGiB = "monthly_egress_overage_gib"

// doPostgresIncludedGiB is the disk each PostgreSQL node size comes with;
// storageSizeMib above it is billed as added storage.
var doPostgresIncludedGiB = map[string]float64{
	"db-s-1vcpu-1gb":   10,
	"db-s-1vcpu-2gb":   30,
	"db-s-2vcpu-4gb":   60,
	"db-s-4vcpu-8gb":   140,
	"db-s-6vcpu-16gb":  290,
	"db-s-8vcpu-32gb":  580,
	"db-s-16vcpu-64gb": 1120,
}

// doEngines names the database engines priced, by their engine input.
var doEngines = map[string]string{"pg": "PostgreSQL", "kafka": "Kafka"}

// digitaloceanPrices prices the types of Pulumi's digitalocean package.
var digitaloceanPrices = priceTable{TypePrefix: "digitalocean:", Types: digitaloceanTypes()}

func digitaloceanTypes() map[string]TypeInfo {
	const inCluster = "included in its database cluster's price"
	return map[string]TypeInfo{
		"digitalocean:index/databaseCluster:DatabaseCluster": {
			Kind:  Sized,
			Price: priceDODatabaseCluster,
			Note: "each node (a primary or a standby; Kafka's brokers) is priced at its size's monthly price; " +
				"backups and the included disk are part of it; disk added above the size's own is priced per node",
		},
		"digitalocean:index/app:App": {
			Kind:  Sized,
			Price: priceDOApp,
			UsageKeys: map[string]string{
				doKeyEgressOverageGiB: "outbound GiB per month beyond the allowance the app's containers include (pooled per app)",
			},
			Note: "each service and worker container at its size's monthly price (an autoscaled service at its minimum); " +
				"outbound transfer within the containers' included allowance is free",
		},
		"digitalocean:index/project:Project":                   {Kind: Free, Note: "a project only groups resources: no charge"},
		"digitalocean:index/databaseFirewall:DatabaseFirewall": {Kind: Free, Note: "a database's trusted sources: " + inCluster},
		"digitalocean:index/databaseDb:DatabaseDb":             {Kind: Free, Note: "a database in a cluster: " + inCluster},
		"digitalocean:index/databaseUser:DatabaseUser":         {Kind: Free, Note: "a database or Kafka user: " + inCluster},
		"digitalocean:index/databaseKafkaTopic:DatabaseKafkaTopic": {
			Kind: Free, Note: "a topic on the Kafka cluster: " + inCluster + " (its messages use the cluster's disk)",
		},
	}
}

// priceDODatabaseCluster: size × nodes, and for PostgreSQL the disk added
// above the size's own (per node).
func priceDODatabaseCluster(ctx *Context, r Resource) ([]Component, error) {
	engine, size := Str(r.Inputs, "engine"), Str(r.Inputs, "size")
	label, ok := doEngines[engine]
	if !ok {
		return nil, fmt.Errorf("database engine %q is not priced (pg and kafka are)", engine)
	}
	nodes := Num(r.Inputs, "nodeCount")
	if nodes == 0 {
		nodes = 1 // the provider's default
	}
	comps := []Component{}
	c, err := ctx.Unit(fmt.Sprintf("%s nodes (%s)", label, size), "do:db:"+size+":"+engine, nodes)
	if err != nil {
		return nil, err
	}
	comps = append(comps, c)
	raw := Str(r.Inputs, "storageSizeMib")
	if raw == "" {
		return comps, nil
	}
	mib, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return nil, fmt.Errorf("storageSizeMib %q: %w", raw, err)
	}
	included, ok := doPostgresIncludedGiB[size]
	if !ok || engine != "pg" {
		return nil, fmt.Errorf("added storage of a %s cluster of size %s is not priced (the size's own disk is unknown)", label, size)
	}
	if extra := mib/1024 - included; extra > 0 {
		c, err := ctx.Unit(fmt.Sprintf("Added storage (%s GiB × %s nodes)", strconv.FormatFloat(extra, 'f', -1, 64),
			strconv.FormatFloat(nodes, 'f', -1, 64)), "do:db:storage", extra*nodes)
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// priceDOApp: each service's and worker's containers at their size's
// monthly price, and outbound transfer beyond the allowance as usage.
func priceDOApp(ctx *Context, r Resource) ([]Component, error) {
	var comps []Component
	for _, kind := range []struct{ field, label string }{{"spec.services", "Service"}, {"spec.workers", "Worker"}} {
		list, _ := get(r.Inputs, kind.field).([]any)
		for i, raw := range list {
			comp, _ := raw.(map[string]any)
			name, slug := Str(comp, "name"), Str(comp, "instanceSizeSlug")
			if slug == "" {
				return nil, fmt.Errorf("%s[%d] (%s): no instanceSizeSlug", kind.field, i, name)
			}
			count := Num(comp, "instanceCount")
			if minCount := Num(comp, "autoscaling.minInstanceCount"); minCount > 0 {
				count = minCount
			}
			if count == 0 {
				count = 1 // App Platform's default
			}
			c, err := ctx.Unit(fmt.Sprintf("%s %s (%s × %s)", kind.label, name, strconv.FormatFloat(count, 'f', -1, 64), slug),
				"do:apps:"+slug, count)
			if err != nil {
				return nil, err
			}
			comps = append(comps, c)
		}
	}
	for _, field := range []string{"spec.jobs", "spec.functions"} {
		if list, _ := get(r.Inputs, field).([]any); len(list) > 0 {
			return nil, fmt.Errorf("%s: App Platform jobs and functions are not priced", field)
		}
	}
	c, err := ctx.Usage("Outbound transfer beyond the allowance", "do:apps:bandwidth-overage", doKeyEgressOverageGiB, 1)
	if err != nil {
		return nil, err
	}
	return append(comps, c), nil
}
