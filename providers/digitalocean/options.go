package digitalocean

import "slices"

// What DigitalOcean offers, as its API reference documents it. The adapter's
// config validation and its provider rules (rules.go) both read these tables.

// optionsSource is where the managed-database tables below come from: the
// example answer of GET /v2/databases/options in DigitalOcean's API
// reference (updated 2025-01-30, "Updated dbaas options response" #972).
// `doctl databases options slugs --engine pg` lists an account's current ones.
const optionsSource = "digitalocean/openapi specification/resources/databases/responses/options.yml (GET /v2/databases/options)"

// databaseRegions are the datacenters offering managed PostgreSQL and Kafka
// (the same list for both engines).
var databaseRegions = []string{
	"ams3", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1", "ric1", "atl1",
}

// appRegions are App Platform's regions (digitalocean/openapi
// specification/resources/apps/models/app_spec.yml, region enum). A
// datacenter's app region is its letters: "fra1" runs apps in "fra". Richmond
// (ric1) has managed databases but no App Platform region.
var appRegions = []string{"atl", "nyc", "sfo", "tor", "ams", "fra", "lon", "blr", "sgp", "syd"}

// databaseVersions are the versions each engine offers for new clusters.
// Kafka: only 3.8 is documented (3.6 and 3.7 reached end of availability in
// 2024-07 and 2025-01; terraform-provider-digitalocean v2.69.0's docs still
// show 3.5 and its acceptance tests 3.7).
var databaseVersions = map[string][]string{
	"pg":    {"13", "14", "15", "16", "17"},
	"kafka": {"3.8"},
}

// pgSizes lists the PostgreSQL node sizes of every layout, smallest first
// within each family. The 1 vCPU / 1 GB sizes take no standby nodes: they
// are offered with one node only ("Standby nodes can be added ... with the
// exception of the smallest plan of single node clusters",
// docs.digitalocean.com/products/databases/, Cluster Configuration).
var (
	pgSingleNodeOnly = []string{"db-s-1vcpu-1gb", "db-intel-1vcpu-1gb", "db-amd-1vcpu-1gb"}
	pgSizes          = []string{
		"db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb", "db-s-6vcpu-16gb",
		"gd-2vcpu-8gb", "gd-4vcpu-16gb", "gd-8vcpu-32gb", "gd-16vcpu-64gb", "gd-32vcpu-128gb", "gd-40vcpu-160gb",
		"so1_5-2vcpu-16gb", "so1_5-4vcpu-32gb", "so1_5-8vcpu-64gb", "so1_5-16vcpu-128gb", "so1_5-24vcpu-192gb", "so1_5-32vcpu-256gb",
		"db-intel-1vcpu-2gb", "db-amd-1vcpu-2gb", "db-amd-2vcpu-4gb", "db-intel-2vcpu-4gb", "db-amd-2vcpu-8gb", "db-intel-2vcpu-8gb",
		"db-intel-4vcpu-8gb", "db-amd-4vcpu-8gb", "db-amd-4vcpu-16gb", "db-intel-4vcpu-16gb", "db-intel-8vcpu-32gb", "db-amd-8vcpu-32gb",
		"db-intel-16vcpu-64gb", "db-amd-16vcpu-64gb",
	}
)

// databaseLayouts are the node sizes each engine offers per node count.
var databaseLayouts = map[string]map[int][]string{
	"pg": {
		1: append(slices.Clone(pgSingleNodeOnly), pgSizes...),
		2: pgSizes,
		3: pgSizes,
	},
	"kafka": {
		3:  {"gd-2vcpu-8gb", "gd-4vcpu-16gb", "db-s-2vcpu-4gb", "db-s-2vcpu-2gb"},
		6:  {"gd-2vcpu-8gb", "gd-4vcpu-16gb"},
		9:  {"gd-2vcpu-8gb", "gd-4vcpu-16gb"},
		15: {"gd-2vcpu-8gb", "gd-4vcpu-16gb"},
	},
}

// offersLayout reports whether engine takes nodes nodes of size.
func offersLayout(engine, size string, nodes int) bool {
	return slices.Contains(databaseLayouts[engine][nodes], size)
}

// pgBaseDiskGiB is the disk a PostgreSQL node size comes with, which a
// cluster's storage_size_mib may not go below. From the provider's
// acceptance tests (terraform-provider-digitalocean v2.69.0
// digitalocean/database/resource_database_cluster_test.go
// TestAccDigitalOceanDatabaseCluster_WithAdditionalStorage: db-s-1vcpu-2gb
// reads 30720 MiB without storage_size_mib; datasource_database_cluster_test.go
// creates db-s-1vcpu-1gb with 10240); db-s-2vcpu-4gb and db-s-4vcpu-8gb
// from the adapter's earlier tier table (DigitalOcean's pricing page, which
// the API reference points to for storage ranges and which could not be
// read here). No reachable source gives a size's maximum.
var pgBaseDiskGiB = map[string]int{
	"db-s-1vcpu-1gb": 10,
	"db-s-1vcpu-2gb": 30,
	"db-s-2vcpu-4gb": 60,
	"db-s-4vcpu-8gb": 140,
}

// appInstanceSizes are App Platform's container sizes
// (digitalocean/openapi specification/resources/apps/models/app_component_instance_base.yml).
var appInstanceSizes = []string{
	"apps-s-1vcpu-0.5gb", "apps-s-1vcpu-1gb-fixed", "apps-s-1vcpu-1gb", "apps-s-1vcpu-2gb", "apps-s-2vcpu-4gb",
	"apps-d-1vcpu-0.5gb", "apps-d-1vcpu-1gb", "apps-d-1vcpu-2gb", "apps-d-1vcpu-4gb", "apps-d-2vcpu-4gb",
	"apps-d-2vcpu-8gb", "apps-d-4vcpu-8gb", "apps-d-4vcpu-16gb", "apps-d-8vcpu-32gb",
}
