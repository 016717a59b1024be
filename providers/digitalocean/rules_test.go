package digitalocean_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	dop "github.com/tenantfleet/tenantfleet/providers/digitalocean"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// TestRulesRefuseWhatDigitalOceanRefuses evaluates the rules on inputs the
// adapter registered before its fixes (each refused) and on what it
// registers now (each accepted), so a rule that stops biting fails here.
func TestRulesRefuseWhatDigitalOceanRefuses(t *testing.T) {
	t.Parallel()

	pm := resource.NewPropertyMapFromMap
	cases := []struct {
		name   string
		typ    string
		inputs resource.PropertyMap
		want   string // a substring of the violation; "" for none
		reason string
	}{
		{"kafka on db-s-4vcpu-8gb", dop.TypeCluster, pm(map[string]any{"name": "dev-kafka", "engine": "kafka", "version": "3.8", "size": "db-s-4vcpu-8gb", "nodeCount": 3, "region": "fra1"}),
			"kafka does not offer 3 nodes of size db-s-4vcpu-8gb", "the old config accepted any db-* slug for Kafka"},
		{"kafka on db-s-2vcpu-2gb", dop.TypeCluster, pm(map[string]any{"name": "dev-kafka", "engine": "kafka", "version": "3.8", "size": "db-s-2vcpu-2gb", "nodeCount": 3, "region": "fra1"}),
			"", "the default Kafka cluster"},
		{"kafka 3.7", dop.TypeCluster, pm(map[string]any{"name": "dev-kafka", "engine": "kafka", "version": "3.7", "size": "db-s-2vcpu-2gb", "nodeCount": 3, "region": "fra1"}),
			"kafka 3.7 is not offered", "3.7 reached end of availability in 2025-01"},
		{"standby on the smallest plan", dop.TypeCluster, pm(map[string]any{"name": "dev-shared-db", "engine": "pg", "version": "16", "size": "db-s-1vcpu-1gb", "nodeCount": 2, "region": "fra1"}),
			"size db-s-1vcpu-1gb takes no standby nodes", "the old config accepted sharedDatabase {size db-s-1vcpu-1gb, nodes 2}"},
		{"smallest plan alone", dop.TypeCluster, pm(map[string]any{"name": "dev-acme-db", "engine": "pg", "version": "16", "size": "db-s-1vcpu-1gb", "nodeCount": 1, "region": "fra1", "storageSizeMib": "20480"}),
			"", "the small tier"},
		{"storage below the size's disk", dop.TypeCluster, pm(map[string]any{"name": "dev-acme-db", "engine": "pg", "version": "16", "size": "db-s-2vcpu-4gb", "nodeCount": 1, "region": "fra1", "storageSizeMib": "20480"}),
			"below the 60 GiB size db-s-2vcpu-4gb comes with", "storage cannot shrink below the plan's"},
		{"storage off the step", dop.TypeCluster, pm(map[string]any{"name": "dev-acme-db", "engine": "pg", "version": "16", "size": "db-s-2vcpu-4gb", "nodeCount": 1, "region": "fra1", "storageSizeMib": "65000"}),
			"not a multiple of 10 GiB", "storage grows in 10 GiB steps"},
		{"tags differing in case", dop.TypeCluster, pm(map[string]any{"name": "dev-acme-db", "engine": "pg", "version": "16", "size": "db-s-2vcpu-4gb", "nodeCount": 1, "region": "fra1",
			"tags": []any{"stack:Prod", "stack:prod"}}), "differ in case only", "the provider's tag set ignores case"},
		{"app in ric", dop.TypeApp, pm(map[string]any{"spec": map[string]any{"name": "dev-acme", "region": "ric"}}),
			"spec.region", "the old config accepted ric1, whose apps would run in ric"},
		{"app in fra", dop.TypeApp, pm(map[string]any{"spec": map[string]any{"name": "dev-acme", "region": "fra"}}), "", "fra1's apps"},
		{"database named user", dop.TypeDatabase, pm(map[string]any{"clusterId": "c", "name": "user"}), "", "tenant id user's database since the first release: no DigitalOcean source says the API refuses a keyword"},
		{"role named order", dop.TypeUser, pm(map[string]any{"clusterId": "c", "name": "order"}), "", "tenant id order's user, likewise"},
		{"role named pg_main", dop.TypeUser, pm(map[string]any{"clusterId": "c", "name": "pg_main_2c3fd1f4"}), "starts with pg_", "tenant id pg-main, before"},
		{"role named doadmin", dop.TypeUser, pm(map[string]any{"clusterId": "c", "name": "doadmin"}), "role every DigitalOcean PostgreSQL cluster already has", "the cluster's own user"},
		{"database named doadmin", dop.TypeDatabase, pm(map[string]any{"clusterId": "c", "name": "doadmin"}), "", "doadmin is a role: the database name is free"},
		{"database named defaultdb", dop.TypeDatabase, pm(map[string]any{"clusterId": "c", "name": "defaultdb"}), "database every DigitalOcean PostgreSQL cluster already has", "the cluster's own database"},
		{"role named defaultdb", dop.TypeUser, pm(map[string]any{"clusterId": "c", "name": "defaultdb"}), "", "defaultdb is a database: the role name is free"},
		{"postgres size the options example lacks", dop.TypeCluster, pm(map[string]any{"name": "dev-shared-db", "engine": "pg", "version": "16", "size": "db-s-3vcpu-3gb", "nodeCount": 2, "region": "fra1"}),
			"pg does not offer 2 nodes of size db-s-3vcpu-3gb", "the config no longer refuses it at preview; the rule still reports it"},
		{"cluster in sfo1", dop.TypeCluster, pm(map[string]any{"name": "dev-kafka", "engine": "kafka", "version": "3.8", "size": "db-s-2vcpu-2gb", "nodeCount": 3, "region": "sfo1"}),
			"region = \"sfo1\": is not one of", "the config no longer refuses a region the options example lacks; the rule still reports it"},
		{"kafka on a Droplet size", dop.TypeCluster, pm(map[string]any{"name": "dev-kafka", "engine": "kafka", "version": "3.8", "size": "s-2vcpu-2gb", "nodeCount": 3, "region": "fra1"}),
			"kafka does not offer 3 nodes of size s-2vcpu-2gb", "the config takes any size slug now; the rule still knows the documented ones"},
		{"service with instanceCount beside autoscaling", dop.TypeApp, pm(map[string]any{"spec": map[string]any{"name": "dev-acme", "region": "fra",
			"services": []any{map[string]any{"name": "web", "instanceCount": 2, "autoscaling": map[string]any{"minInstanceCount": 2, "maxInstanceCount": 6}}}}}),
			"sets instanceCount beside autoscaling", "App Platform refuses both"},
		{"service autoscaling at 0%", dop.TypeApp, pm(map[string]any{"spec": map[string]any{"name": "dev-acme", "region": "fra",
			"services": []any{map[string]any{"name": "web", "autoscaling": map[string]any{"minInstanceCount": 2, "maxInstanceCount": 6, "metrics": map[string]any{"cpu": map[string]any{"percent": 0}}}}}}}),
			"outside 1 to 100", "the CPU target is a percentage"},
		{"kafka user named order", dop.TypeUser, pm(map[string]any{"clusterId": "c", "name": "order",
			"settings": []any{map[string]any{"acls": []any{map[string]any{"topic": "t", "permission": "produce"}}}}}), "", "Kafka users are not PostgreSQL roles"},
		{"kafka acl permission", dop.TypeUser, pm(map[string]any{"clusterId": "c", "name": "u",
			"settings": []any{map[string]any{"acls": []any{map[string]any{"topic": "t", "permission": "write"}}}}}), "is not one of admin", "the provider's ACL permissions"},
		{"topic min.insync above replicas", dop.TypeTopic, pm(map[string]any{"clusterId": "c", "name": "t", "partitionCount": 3, "replicationFactor": 2,
			"configs": []any{map[string]any{"minInsyncReplicas": 3, "retentionMs": "1000"}}}), "exceeds replicationFactor", "acks=all writes would always fail"},
		{"firewall on IPv6", dop.TypeFirewall, pm(map[string]any{"clusterId": "c", "rules": []any{map[string]any{"type": "ip_addr", "value": "::1"}}}),
			"IPv6", "trusted sources take no IPv6"},
		{"firewall admitting nobody", dop.TypeFirewall, pm(map[string]any{"clusterId": "c", "rules": []any{map[string]any{"type": "ip_addr", "value": "127.0.0.1"}}}),
			"", "the shared cluster before any tenant"},
	}
	for _, tc := range cases {
		var got []string
		for _, v := range rules.Evaluate(dop.Rules, tc.typ, tc.inputs) {
			got = append(got, v.String())
		}
		all := strings.Join(got, "\n")
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%s: violations %s, want none (%s)", tc.name, all, tc.reason)
		case tc.want != "" && !strings.Contains(all, tc.want):
			t.Errorf("%s: violations %q, want one containing %q (%s)", tc.name, got, tc.want, tc.reason)
		}
	}
}
