package naming

import (
	"slices"
	"strings"
)

// DigitalOcean holds DigitalOcean's naming rules, one per kind of resource
// tenantfleet names. Clusters, apps and projects are unique per team and
// topics and users per cluster, so the adapter builds those with Unique; the
// names inside a tenant's own cluster (its database and user) are read by
// people and built with Name.
var DigitalOcean = struct {
	DatabaseCluster, App, AppComponent, Project Rule
	DatabaseName, DatabaseUser                  Rule
	KafkaTopic, KafkaUser                       Rule
}{
	// Database cluster: at most 63 lowercase letters, digits and hyphens,
	// starting with a letter (it becomes the first label of the cluster's
	// host name, so also the DNS label rules).
	DatabaseCluster: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	// App Platform app: 2-32 lowercase letters, digits and hyphens, starting
	// with a letter and ending with a letter or digit.
	App: Rule{MaxLen: 32, Sep: "-", Lower: true, StartLetter: true},
	// App component (service, worker): the same 2-32 rule as apps.
	AppComponent: Rule{MaxLen: 32, Sep: "-", Lower: true, StartLetter: true},
	// Project: at most 175 characters of any kind; kept to the cluster rule
	// so it reads like the rest.
	Project: Rule{MaxLen: 175, Sep: "-", Lower: true, StartLetter: true},
	// PostgreSQL identifiers (database and role), at most 63 bytes; lower
	// case and underscores so they need no quoting in SQL. A database may
	// not be one every DigitalOcean cluster already has, a role not a role
	// every cluster already has (databases and roles are different
	// namespaces); PostgreSQL reserves role names starting with pg_
	// (src/backend/commands/user.c, IsReservedName), which a tenant id such
	// as "pg-main" would otherwise become. PostgreSQL keywords are not
	// reserved: no DigitalOcean source says its API refuses them, and a
	// tenant id such as "user" has named its database "user" since the
	// first release (a new name would replace the database).
	DatabaseName: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true, Reserved: DigitalOceanPostgresDatabases},
	DatabaseUser: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true, Reserved: DigitalOceanPostgresRoles, ForbiddenPrefixes: []string{"pg_"}},
	// Kafka topic: at most 249 of [a-zA-Z0-9._-]. Only '-' is used: Kafka
	// warns that '.' and '_' collide in its metric names, and a '*' would
	// turn a DigitalOcean ACL into a pattern.
	KafkaTopic: Rule{MaxLen: 249, Sep: "-", Lower: true, StartLetter: true},
	// Kafka user (SASL/SCRAM name, also the user part of tenantfleet's
	// kafka:// URLs): lowercase letters, digits and hyphens, at most 63, so
	// it needs no escaping anywhere.
	KafkaUser: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
}

// DigitalOceanPostgresDatabases are the databases every DigitalOcean
// PostgreSQL cluster already has: its default database defaultdb ("you
// can't delete" it, docs.digitalocean.com/products/databases/postgresql/
// how-to/manage-users-and-databases), DigitalOcean's _dodb, and
// PostgreSQL's postgres, template0 and template1.
var DigitalOceanPostgresDatabases = []string{"defaultdb", "_dodb", "postgres", "template0", "template1"}

// DigitalOceanPostgresRoles are the roles every DigitalOcean PostgreSQL
// cluster already has: its default administrative user doadmin (the same
// page) and PostgreSQL's bootstrap role postgres.
var DigitalOceanPostgresRoles = []string{"doadmin", "postgres"}

// digitalOceanTag is DigitalOcean's tag rule: at most 255 letters, digits,
// colons, hyphens and underscores.
var digitalOceanTag = Rule{MaxLen: 255, Sep: "-", Extra: ":_"}

// DigitalOceanTags shapes tags to DigitalOcean's, which are plain strings:
// each key and value becomes "key:value", sorted. A pair that already fits is
// kept verbatim; anything else is sanitized and suffixed with a hash of the
// original, so two tags never collapse onto one. ParseDigitalOceanTags reads
// them back.
func DigitalOceanTags(tags map[string]string) []string {
	out := make([]string, 0, len(tags))
	for k, v := range tags {
		out = append(out, digitalOceanTag.Name(k+":"+v))
	}
	slices.Sort(out)
	return out
}

// ParseDigitalOceanTags reads "key:value" tags back into a map, splitting
// each at its first colon (tenantfleet's keys hold none); a tag without a
// colon is a key with an empty value.
func ParseDigitalOceanTags(tags []string) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v, _ := strings.Cut(t, ":")
		out[k] = v
	}
	return out
}
