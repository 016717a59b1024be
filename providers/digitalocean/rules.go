package digitalocean

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// The resource types the adapter registers (pulumi-digitalocean v4.55.0,
// which bridges terraform-provider-digitalocean v2.69.0).
const (
	TypeProject  = "digitalocean:index/project:Project"
	TypeCluster  = "digitalocean:index/databaseCluster:DatabaseCluster"
	TypeDatabase = "digitalocean:index/databaseDb:DatabaseDb"
	TypeUser     = "digitalocean:index/databaseUser:DatabaseUser"
	TypeFirewall = "digitalocean:index/databaseFirewall:DatabaseFirewall"
	TypeTopic    = "digitalocean:index/databaseKafkaTopic:DatabaseKafkaTopic"
	TypeApp      = "digitalocean:index/app:App"
)

// Where the rules come from. The provider's schemas cannot run here
// (github.com/digitalocean/terraform-provider-digitalocean is not on the Go
// module proxy at v2.69.0 or as a pseudo-version, and pulumi-digitalocean's
// provider module replaces it with a git submodule), so they are transcribed
// from the v2.69.0 tag, the commit pulumi-digitalocean v4.55.0 pins.
const (
	tf      = "digitalocean/terraform-provider-digitalocean v2.69.0 digitalocean/"
	api     = "digitalocean/openapi specification/resources/"
	tfTags  = tf + "tag/tags.go TagsSchema, ValidateTag (tagNameRe)"
	apiTags = api + "tags/models/tags.yml name (pattern, maxLength 255)"
)

// Patterns DigitalOcean documents.
const (
	// appNamePattern is an app's and a component's name (2-32 characters).
	appNamePattern = `^[a-z][a-z0-9-]{0,30}[a-z0-9]$`
	tagPattern     = `^[a-zA-Z0-9:\-_]{1,255}$`
	envKeyPattern  = `^[_A-Za-z][_A-Za-z0-9]*$`
	// kafkaTopicPattern is Apache Kafka's own topic rule.
	kafkaTopicPattern = `^[a-zA-Z0-9._-]{1,249}$`
)

// Rules are what DigitalOcean and its provider refuse about the inputs the
// adapter registers, each with its source.
var Rules = slices.Concat(projectRules, clusterRules, databaseRules, userRules, firewallRules, topicRules, appRules)

var projectRules = []rules.Rule{
	{Type: TypeProject, Path: "name", Check: rules.Length(1, 175),
		Source: tf + "project/resource_project.go ResourceDigitalOceanProject name (StringLenBetween(1, 175)); " + api + "projects/models/project.yml name maxLength 175"},
	{Type: TypeProject, Path: "description", Check: rules.Length(0, 255),
		Source: tf + "project/resource_project.go description (StringLenBetween(0, 255)); " + api + "projects/models/project.yml description maxLength 255"},
	{Type: TypeProject, Path: "purpose", Check: rules.Length(0, 255),
		Source: tf + "project/resource_project.go purpose (StringLenBetween(0, 255))"},
}

var clusterRules = []rules.Rule{
	{Type: TypeCluster, Path: "name", Check: rules.Length(1, 0), Source: tf + "database/resource_database_cluster.go name (NoZeroValues)"},
	{Type: TypeCluster, Path: "name", Check: rules.Matches(`^[a-z][a-z0-9-]{0,61}[a-z0-9]$`),
		Source: api + "databases/responses (connection.host \"backend-do-user-19081923-0.db.ondigitalocean.com\"): the name starts the cluster's DNS host label (RFC 1035 label characters)"},
	{Type: TypeCluster, Path: "engine", Check: rules.OneOf("pg", "mysql", "redis", "valkey", "mongodb", "kafka", "opensearch"),
		Source: tf + "database/resource_database_cluster.go engine (NoZeroValues); " + api + "databases/models/database_cluster.yml engine enum"},
	{Type: TypeCluster, Path: "region", Check: rules.OneOf(databaseRegions...), Source: optionsSource + " regions"},
	{Type: TypeCluster, Path: "tags", Check: rules.Each(rules.Matches(tagPattern)), Source: tfTags + "; " + apiTags},
	{Type: TypeCluster, Path: "tags", Check: rules.Func("no two tags equal without regard to case", distinctIgnoringCase),
		Source: tfTags + " (Set: util.HashStringIgnoreCase: tags differing in case only collapse into one)"},
	{Type: TypeCluster, Check: rules.Func("version is set", func(v resource.PropertyValue) string {
		if s, ok := rules.String(v, "version"); ok && s == "" || !rules.Present(v, "version") {
			return "has no version: the provider requires one"
		}
		return ""
	}), Source: tf + "database/resource_database_cluster.go transitionVersionToRequired"},
	{Type: TypeCluster, Check: rules.Func("the engine offers the version", func(v resource.PropertyValue) string {
		engine, ok1 := rules.String(v, "engine")
		version, ok2 := rules.String(v, "version")
		if !ok1 || !ok2 || databaseVersions[engine] == nil || slices.Contains(databaseVersions[engine], version) {
			return ""
		}
		return fmt.Sprintf("%s %s is not offered for new clusters (offered: %s)", engine, version, strings.Join(databaseVersions[engine], ", "))
	}), Source: optionsSource + " versions, version_availability"},
	{Type: TypeCluster, Check: rules.Func("the engine offers the size with that many nodes", func(v resource.PropertyValue) string {
		engine, ok1 := rules.String(v, "engine")
		size, ok2 := rules.String(v, "size")
		nodes, ok3 := rules.Int(v, "nodeCount")
		if !ok1 || !ok2 || !ok3 || databaseLayouts[engine] == nil || offersLayout(engine, size, nodes) {
			return ""
		}
		if engine == "pg" && nodes > 1 && offersLayout(engine, size, 1) {
			return fmt.Sprintf("size %s takes no standby nodes (nodeCount %d): the smallest plan runs single-node clusters only", size, nodes)
		}
		return fmt.Sprintf("%s does not offer %d nodes of size %s", engine, nodes, size)
	}), Source: optionsSource + " layouts (pg: db-s-1vcpu-1gb with num_nodes 1 only; kafka: num_nodes 3 on db-s-2vcpu-2gb, db-s-2vcpu-4gb, gd-2vcpu-8gb, gd-4vcpu-16gb); docs.digitalocean.com/products/databases/ Cluster Configuration (no standby nodes on the smallest plan)"},
	{Type: TypeCluster, Check: rules.Func("storageSizeMib is a whole number of MiB, 10 GiB steps, at least the size's own disk, and only on PostgreSQL", checkStorage),
		Source: tf + "database/resource_database_cluster.go resourceDigitalOceanDatabaseClusterCreate (ParseUint, a value that does not parse is dropped); docs/resources/database_cluster.md storage_size_mib (\"MySQL and PostgreSQL clusters based on predefined ranges for each slug\"); " +
			api + "databases/models/database_storage_autoscale_params.yml increment_gib minimum 10; resource_database_cluster_test.go WithAdditionalStorage (30720 -> 61440) and datasource_database_cluster_test.go (db-s-1vcpu-1gb, 10240)"},
	{Type: TypeCluster, Check: rules.Func("sqlMode only on MySQL, evictionPolicy only on Redis or Valkey", func(v resource.PropertyValue) string {
		engine, _ := rules.String(v, "engine")
		if s, _ := rules.String(v, "sqlMode"); s != "" && engine != "mysql" {
			return "sets sqlMode on a " + engine + " cluster"
		}
		if s, _ := rules.String(v, "evictionPolicy"); s != "" && engine != "redis" && engine != "valkey" {
			return "sets evictionPolicy on a " + engine + " cluster"
		}
		return ""
	}), Source: tf + "database/resource_database_cluster.go validateExclusiveAttributes"},
}

var databaseRules = []rules.Rule{
	{Type: TypeDatabase, Path: "name", Check: rules.Length(1, 63),
		Source: tf + "database/resource_database_db.go name (NoZeroValues); PostgreSQL NAMEDATALEN-1 = 63 bytes (postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)"},
	{Type: TypeDatabase, Path: "name", Check: rules.NotReserved("database every DigitalOcean PostgreSQL cluster already has", naming.DigitalOceanPostgresDatabases...),
		Source: "docs.digitalocean.com/products/databases/postgresql/how-to/manage-users-and-databases (the default database defaultdb, which you can't delete); a DigitalOcean cluster's pg_database (_dodb, defaultdb, template0, template1: prisma/dataguide content/03-postgresql/07-create-and-delete-databases-and-tables.mdx); see naming.DigitalOceanPostgresDatabases"},
	{Type: TypeDatabase, Path: "name", Check: rules.NotMatches(`^_do`, "starts with _do, DigitalOcean's prefix for its own databases and roles (_dodb, _doadmin_*)"),
		Source: "a DigitalOcean cluster's pg_database (_dodb) and roles (_doadmin_*, _dodb*)"},
	{Type: TypeDatabase, Path: "clusterId", Check: rules.Length(1, 0), Source: tf + "database/resource_database_db.go cluster_id (NoZeroValues)"},
}

var userRules = []rules.Rule{
	{Type: TypeUser, Path: "name", Check: rules.Length(1, 0), Source: tf + "database/resource_database_user.go name (NoZeroValues)"},
	{Type: TypeUser, Path: "clusterId", Check: rules.Length(1, 0), Source: tf + "database/resource_database_user.go cluster_id (NoZeroValues)"},
	{Type: TypeUser, Path: "settings[*].acls[*].permission", Check: rules.OneOf("admin", "consume", "produce", "produceconsume"),
		Source: tf + "database/resource_database_user.go userACLSchema permission (StringInSlice)"},
	{Type: TypeUser, Path: "settings[*].acls[*].topic", Check: rules.Length(1, 0), Source: tf + "database/resource_database_user.go userACLSchema topic (NoZeroValues)"},
	// A user without Kafka ACLs is a PostgreSQL role.
	{Type: TypeUser, Check: pgRole(rules.Length(1, 63)), Source: "PostgreSQL NAMEDATALEN-1 = 63 bytes (postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)"},
	{Type: TypeUser, Check: pgRole(rules.NotReserved("role every DigitalOcean PostgreSQL cluster already has", naming.DigitalOceanPostgresRoles...)),
		Source: "docs.digitalocean.com/products/databases/postgresql/how-to/manage-users-and-databases (the default administrative user doadmin, which you can't delete); PostgreSQL's bootstrap role postgres; see naming.DigitalOceanPostgresRoles"},
	{Type: TypeUser, Check: pgRole(rules.NotMatches(`^pg_`, "starts with pg_, which PostgreSQL reserves for its own roles")),
		Source: "postgres/postgres src/backend/commands/user.c CreateRole (IsReservedName: role names starting with \"pg_\" are reserved)"},
	{Type: TypeUser, Check: pgRole(rules.NotMatches(`^_do`, "starts with _do, DigitalOcean's prefix for its own roles (_doadmin_*, _dodb*)")),
		Source: "a DigitalOcean cluster's roles (_doadmin_*, _dodb*)"},
}

var firewallRules = []rules.Rule{
	{Type: TypeFirewall, Path: "clusterId", Check: rules.Length(1, 0), Source: tf + "database/resource_database_firewall.go cluster_id (NoZeroValues)"},
	{Type: TypeFirewall, Check: rules.Func("at least one rule", func(v resource.PropertyValue) string {
		if r, ok := rules.Lookup(v, "rules"); ok && r.IsArray() && len(r.ArrayValue()) == 0 || !rules.Present(v, "rules") {
			return "has no rule: rule is a required block"
		}
		return ""
	}), Source: tf + "database/resource_database_firewall.go rule (Required)"},
	{Type: TypeFirewall, Path: "rules[*].type", Check: rules.OneOf("ip_addr", "droplet", "k8s", "tag", "app"),
		Source: tf + "database/resource_database_firewall.go rule.type (StringInSlice)"},
	{Type: TypeFirewall, Path: "rules[*].value", Check: rules.Length(1, 0), Source: tf + "database/resource_database_firewall.go rule.value (NoZeroValues)"},
	{Type: TypeFirewall, Path: "rules[*]", Check: rules.Func("an ip_addr rule names an IPv4 address or CIDR", func(v resource.PropertyValue) string {
		typ, _ := rules.String(v, "type")
		value, ok := rules.String(v, "value")
		if typ != "ip_addr" || !ok {
			return ""
		}
		ip := net.ParseIP(value)
		if _, cidr, err := net.ParseCIDR(value); err == nil {
			ip = cidr.IP
		}
		switch {
		case ip == nil:
			return fmt.Sprintf("ip_addr %q is not an address or CIDR", value)
		case ip.To4() == nil:
			return fmt.Sprintf("ip_addr %q is IPv6, which trusted sources do not take", value)
		}
		return ""
	}), Source: "docs.digitalocean.com/products/databases/postgresql/details/limits (\"You currently cannot add IPv6 rules to a database cluster's trusted sources\")"},
}

var topicRules = []rules.Rule{
	{Type: TypeTopic, Path: "name", Check: rules.Matches(kafkaTopicPattern),
		Source: tf + "database/resource_database_kafka_topic.go name (NoZeroValues); apache/kafka clients/src/main/java/org/apache/kafka/common/internals/Topic.java validate (legal characters, MAX_NAME_LENGTH 249)"},
	{Type: TypeTopic, Path: "name", Check: rules.NotReserved("name Kafka forbids", ".", ".."),
		Source: "apache/kafka clients/src/main/java/org/apache/kafka/common/internals/Topic.java validate (\"Topic name cannot be \\\".\\\" or \\\"..\\\"\")"},
	{Type: TypeTopic, Path: "clusterId", Check: rules.Length(1, 0), Source: tf + "database/resource_database_kafka_topic.go cluster_id (NoZeroValues)"},
	{Type: TypeTopic, Path: "partitionCount", Check: rules.Between(3, 2048), Source: tf + "database/resource_database_kafka_topic.go partition_count (IntBetween(3, 2048))"},
	{Type: TypeTopic, Path: "replicationFactor", Check: rules.Between(2, 3),
		Source: tf + "database/resource_database_kafka_topic.go replication_factor (IntAtLeast(2)); at most the brokers of a 3-node cluster (" + optionsSource + " kafka layouts; Kafka refuses a factor above its broker count)"},
	{Type: TypeTopic, Path: "configs[*].cleanupPolicy", Check: rules.OneOf("delete", "compact", "compact_delete"),
		Source: tf + "database/resource_database_kafka_topic.go config.cleanup_policy (StringInSlice)"},
	{Type: TypeTopic, Path: "configs[*].minInsyncReplicas", Check: rules.Between(1, 2048),
		Source: tf + "database/resource_database_kafka_topic.go config.min_insync_replicas (IntAtLeast(1))"},
	{Type: TypeTopic, Path: "configs[*].retentionMs", Check: int64String(-1),
		Source: tf + "database/resource_database_kafka_topic.go config.retention_ms (validateInt64); apache/kafka TopicConfig retention.ms (at least -1)"},
	{Type: TypeTopic, Check: rules.Func("minInsyncReplicas is at most replicationFactor", func(v resource.PropertyValue) string {
		rf, ok := rules.Int(v, "replicationFactor")
		if !ok {
			return ""
		}
		cfgs, _ := rules.Lookup(v, "configs")
		if !cfgs.IsArray() {
			return ""
		}
		for _, c := range cfgs.ArrayValue() {
			if m, ok := rules.Int(c, "minInsyncReplicas"); ok && m > rf {
				return fmt.Sprintf("minInsyncReplicas %d exceeds replicationFactor %d: every acks=all write would fail with NotEnoughReplicas", m, rf)
			}
		}
		return ""
	}), Source: "kafka.apache.org/documentation/#topicconfigs_min.insync.replicas"},
}

// appComponents are the App Platform component lists the adapter fills.
var appComponents = []string{"services", "workers"}

var appRules = func() []rules.Rule {
	rs := []rules.Rule{
		{Type: TypeApp, Path: "spec.name", Check: rules.Matches(appNamePattern),
			Source: tf + "app/app_spec.go appSpecSchema name (StringLenBetween(2, 32)); " + api + "apps/models/app_spec.yml name (pattern, 2-32)"},
		{Type: TypeApp, Path: "spec.region", Check: rules.OneOf(appRegions...), Source: api + "apps/models/app_spec.yml region enum"},
		{Type: TypeApp, Path: "spec.ingress.rules[*].component.name", Check: rules.Matches(appNamePattern),
			Source: api + "apps/models/app_component_base.yml name (pattern, 2-32)"},
		{Type: TypeApp, Path: "spec.ingress.rules[*].match.path.prefix", Check: rules.Length(0, 256),
			Source: api + "apps/models/app_ingress_spec_rule_string_match_prefix.yml prefix maxLength 256"},
		{Type: TypeApp, Path: "spec", Check: rules.Func("component names are unique within the app", func(v resource.PropertyValue) string {
			seen := map[string]bool{}
			for _, kind := range appComponents {
				list, _ := rules.Lookup(v, kind)
				if !list.IsArray() {
					continue
				}
				for _, c := range list.ArrayValue() {
					if n, ok := rules.String(c, "name"); ok {
						if seen[n] {
							return "has two components named " + n
						}
						seen[n] = true
					}
				}
			}
			return ""
		}), Source: api + "apps/models/app_component_base.yml name (\"Must be unique across all components within the same app\")"},
	}
	for _, kind := range appComponents {
		c := "spec." + kind + "[*]"
		rs = append(rs,
			rules.Rule{Type: TypeApp, Path: c + ".name", Check: rules.Matches(appNamePattern),
				Source: api + "apps/models/app_component_base.yml name (pattern, 2-32)"},
			rules.Rule{Type: TypeApp, Path: c + ".instanceSizeSlug", Check: rules.OneOf(appInstanceSizes...),
				Source: api + "apps/models/app_component_instance_base.yml instance_size_slug enum"},
			rules.Rule{Type: TypeApp, Path: c + ".instanceCount", Check: rules.Between(1, 250),
				Source: api + "apps/models/app_component_instance_base.yml instance_count minimum 1"},
			rules.Rule{Type: TypeApp, Path: c + ".envs[*].key", Check: rules.Matches(envKeyPattern),
				Source: api + "apps/models/app_variable_definition.yml key pattern"},
			rules.Rule{Type: TypeApp, Path: c + ".envs[*].scope", Check: rules.OneOf("UNSET", "RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"),
				Source: tf + "app/app_spec.go appSpecEnvSchema scope (StringInSlice)"},
			rules.Rule{Type: TypeApp, Path: c + ".envs[*].type", Check: rules.OneOf("GENERAL", "SECRET"),
				Source: tf + "app/app_spec.go appSpecEnvSchema type (StringInSlice)"},
			rules.Rule{Type: TypeApp, Path: c + ".image.registryType", Check: rules.OneOf("DOCKER_HUB", "DOCR", "GHCR"),
				Source: tf + "app/app_spec.go appSpecImageSourceSchema registry_type (StringInSlice); " + api + "apps/models/apps_image_source_spec.yml registry_type enum"},
			rules.Rule{Type: TypeApp, Path: c + ".image", Check: rules.Func("a DOCR image names no registry; a tag or a digest, not both", func(v resource.PropertyValue) string {
				typ, _ := rules.String(v, "registryType")
				registry, _ := rules.String(v, "registry")
				tag, _ := rules.String(v, "tag")
				digest, _ := rules.String(v, "digest")
				switch {
				case typ == "DOCR" && registry != "":
					return "names registry " + registry + " for DOCR, which must be left empty"
				case typ != "DOCR" && registry == "":
					return "names no registry (owner) for " + typ
				case tag != "" && digest != "":
					return "sets both a tag and a digest"
				}
				return ""
			}), Source: tf + "app/app_spec.go appSpecImageSourceSchema (registry: \"Must be left empty for the DOCR registry type\"; tag: \"Cannot be specified if digest is provided\"); " + api + "apps/models/apps_image_source_spec.yml"},
			rules.Rule{Type: TypeApp, Path: c, Check: rules.Func("autoscaling min < max, and no instanceCount beside autoscaling", func(v resource.PropertyValue) string {
				if !rules.Present(v, "autoscaling") {
					return ""
				}
				if rules.Present(v, "instanceCount") {
					return "sets instanceCount beside autoscaling"
				}
				lo, ok1 := rules.Int(v, "autoscaling.minInstanceCount")
				hi, ok2 := rules.Int(v, "autoscaling.maxInstanceCount")
				if ok1 && ok2 && lo >= hi {
					return fmt.Sprintf("autoscaling minInstanceCount %d is not below maxInstanceCount %d", lo, hi)
				}
				return ""
			}), Source: tf + "app/app_spec.go appSpecAutoscalingSchema (\"Must be less than max_instance_count\"); " + api + "apps/models/app_component_instance_base.yml instance_count (\"Must not be set if autoscaling is used\")"},
		)
	}
	// Only services autoscale (the adapter runs one container per worker,
	// forwarders included); the adapter sets no health check port (App
	// Platform checks the service's http_port).
	svc := "spec.services[*]"
	rs = append(rs,
		rules.Rule{Type: TypeApp, Path: svc + ".httpPort", Check: rules.Between(1, 65535), Source: api + "apps/models/app_service_spec.yml http_port (1-65535)"},
		rules.Rule{Type: TypeApp, Path: svc + ".autoscaling.minInstanceCount", Check: rules.Between(1, 250),
			Source: tf + "app/app_spec.go appSpecAutoscalingSchema min_instance_count (IntAtLeast(1))"},
		rules.Rule{Type: TypeApp, Path: svc + ".autoscaling.maxInstanceCount", Check: rules.Between(1, 250),
			Source: tf + "app/app_spec.go appSpecAutoscalingSchema max_instance_count (IntAtLeast(1)); " + api + "apps/models/app_autoscaling_spec.yml max_instance_count maximum 250"},
		rules.Rule{Type: TypeApp, Path: svc + ".autoscaling.metrics.cpu.percent", Check: rules.Between(1, 100),
			Source: tf + "app/app_spec.go appSpecAutoscalingSchema metrics.cpu.percent (IntBetween(1, 100))"},
	)
	return rs
}()

// pgRole applies c to the name of a user that has no Kafka ACLs: a
// PostgreSQL role (the adapter gives every Kafka user ACLs).
func pgRole(c rules.Check) rules.Check {
	return rules.Func("a PostgreSQL role's name: "+c.Describe, func(v resource.PropertyValue) string {
		if rules.Present(v, "settings") {
			return ""
		}
		name, ok := rules.Lookup(v, "name")
		if !ok {
			return ""
		}
		for _, viol := range rules.Evaluate([]rules.Rule{{Type: "-", Path: "name", Check: c}}, "-", resource.PropertyMap{"name": name}) {
			return viol.Problem
		}
		return ""
	})
}

// int64String wants a decimal int64 string of at least floor.
func int64String(floor int64) rules.Check {
	return rules.Func(fmt.Sprintf("a decimal integer of at least %d", floor), func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a string"
		}
		n, err := strconv.ParseInt(v.StringValue(), 10, 64)
		switch {
		case err != nil:
			return "is not an int64"
		case n < floor:
			return fmt.Sprintf("is below %d", floor)
		}
		return ""
	})
}

// checkStorage judges a cluster's storageSizeMib.
func checkStorage(v resource.PropertyValue) string {
	raw, ok := rules.String(v, "storageSizeMib")
	if !ok {
		return ""
	}
	engine, _ := rules.String(v, "engine")
	if engine != "pg" && engine != "mysql" {
		return "sets storageSizeMib on a " + engine + " cluster: only MySQL and PostgreSQL take it"
	}
	mib, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return fmt.Sprintf("storageSizeMib %q is not a whole number: the provider drops it silently", raw)
	}
	if mib%(10*1024) != 0 {
		return fmt.Sprintf("storageSizeMib %d is not a multiple of 10 GiB (10240 MiB)", mib)
	}
	size, _ := rules.String(v, "size")
	if base, ok := pgBaseDiskGiB[size]; ok && mib < uint64(base)*1024 {
		return fmt.Sprintf("storageSizeMib %d is below the %d GiB size %s comes with", mib, base, size)
	}
	return ""
}

// distinctIgnoringCase refuses a list with two strings equal without regard to case.
func distinctIgnoringCase(v resource.PropertyValue) string {
	if !v.IsArray() {
		return ""
	}
	seen := map[string]string{}
	for _, e := range v.ArrayValue() {
		if !e.IsString() {
			continue
		}
		k := strings.ToLower(e.StringValue())
		if prev, ok := seen[k]; ok {
			return fmt.Sprintf("tags %q and %q differ in case only", prev, e.StringValue())
		}
		seen[k] = e.StringValue()
	}
	return ""
}
