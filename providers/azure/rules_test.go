package azure

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// TestRulesJudgeInputs evaluates Rules on inputs Azure refuses (each must
// yield a violation naming want) and on inputs it accepts (none may). The
// refused inputs include the exact values the adapter registered before its
// fixes, so a regression shows here as well as in the conformance suite.
func TestRulesJudgeInputs(t *testing.T) {
	t.Parallel()

	ok := ""
	cases := []struct {
		name   string
		typ    string
		inputs map[string]any
		want   string // a substring of the violation; ok: none
		reason string
	}{
		// Service Bus.
		{"old $Default filter rule", ruleType, map[string]any{
			"resourceGroupName": "rg", "namespaceName": "ns", "topicName": "t", "subscriptionName": "billing",
			"ruleName": "$Default", "filterType": "SqlFilter", "sqlFilter": map[string]any{"sqlExpression": "user.[event_type] IN ('invoice.paid')"},
		}, "creates with every subscription", "the adapter before the fix: Service Bus made $Default already, azure-native refuses to create it"},
		{"named filter rule", ruleType, map[string]any{
			"ruleName": filterRuleName, "filterType": "SqlFilter", "sqlFilter": map[string]any{"sqlExpression": "user.[a] IN ('b')"},
		}, ok, "the fixed rule name is a valid rule name"},
		{"sql filter without expression", ruleType, map[string]any{"ruleName": "f", "filterType": "SqlFilter"}, "without sqlFilter.sqlExpression", "a SqlFilter rule needs its expression"},
		{"sql filter too long", ruleType, map[string]any{"ruleName": "f", "filterType": "SqlFilter", "sqlFilter": map[string]any{"sqlExpression": strings.Repeat("x", 1025)}},
			"maximum is 1024", "Service Bus caps filter conditions at 1,024 characters"},
		{"queue name with leading underscore", queueType, map[string]any{"queueName": "_prod-acme-work-05c47839"}, "does not match", "the adapter before the fix, on stack _prod"},
		{"lock duration over 5 minutes", queueType, map[string]any{"queueName": "q", "lockDuration": "PT600S"}, "outside 5 to 300", "Service Bus locks last at most 5 minutes"},
		{"lock duration in days", queueType, map[string]any{"queueName": "q", "lockDuration": "P1D"}, "outside 5 to 300", "a day is longer than 5 minutes"},
		{"lock duration of 5 minutes", queueType, map[string]any{"queueName": "q", "lockDuration": "PT5M", "defaultMessageTimeToLive": "P4D", "maxDeliveryCount": 5}, ok, "the longest lock"},
		{"namespace ending in -sb", namespaceType, map[string]any{"namespaceName": "tenant-platform-sb"}, "-sb or -mgmt", "reserved suffixes of namespace names"},
		{"basic namespace", namespaceType, map[string]any{"namespaceName": "tenant-platform", "sku": map[string]any{"name": "Basic"}}, "is not one of", "topics need Standard or Premium"},

		// PostgreSQL.
		{"keyword database name", databaseType, map[string]any{"databaseName": "user", "charset": "UTF8", "collation": "en_US.utf8"}, ok,
			"tenant user's database since the first release: no Azure source says the API refuses a keyword"},
		{"system database name", databaseType, map[string]any{"databaseName": "postgres"}, "already has", "the adapter before the fix, tenant postgres"},
		{"template database name", databaseType, map[string]any{"databaseName": "template1"}, "already has", "the adapter before the fix, tenant template1"},
		{"tenant database name", databaseType, map[string]any{"databaseName": "acme", "charset": "UTF8", "collation": "en_US.utf8"}, ok, "an ordinary tenant"},
		{"reserved admin login", serverType, map[string]any{"administratorLogin": "admin"}, "Azure reserves", "flexible server refuses admin"},
		{"pg_ admin login", serverType, map[string]any{"administratorLogin": "pg_acme"}, "starts with pg_", "flexible server refuses pg_ logins"},
		{"storage between sizes", serverType, map[string]any{"storage": map[string]any{"storageSizeGB": 100}}, "is not one of Premium SSD sizes", "Premium SSD has fixed sizes"},
		{"retention under a week", serverType, map[string]any{"backup": map[string]any{"backupRetentionDays": 3}}, "outside 7 to 35", "flexible server keeps backups 7 to 35 days"},
		{"retention over 35 days", serverType, map[string]any{"backup": map[string]any{"backupRetentionDays": 36}}, "outside 7 to 35", "flexible server keeps backups 7 to 35 days"},
		{"HA on burstable", serverType, map[string]any{"sku": map[string]any{"name": "Standard_B1ms", "tier": "Burstable"}, "highAvailability": map[string]any{"mode": "ZoneRedundant"}},
			"on the Burstable tier", "no standby on the Burstable tier"},
		{"SKU of another tier", serverType, map[string]any{"sku": map[string]any{"name": "Standard_B1ms", "tier": "GeneralPurpose"}}, "is not a GeneralPurpose size", "B-series is Burstable only"},
		{"public access in a VNet", serverType, map[string]any{"network": map[string]any{"delegatedSubnetResourceId": "/sub", "privateDnsZoneArmResourceId": "/zone", "publicNetworkAccess": "Enabled"}},
			"publicNetworkAccess is Enabled", "VNet integration and public access do not combine"},
		{"password auth without login", serverType, map[string]any{"authConfig": map[string]any{"passwordAuth": "Enabled"}, "administratorLoginPassword": "x"},
			"without administratorLogin", "password authentication needs the admin login"},
		{"the adapter's server", serverType, map[string]any{
			"serverName": "conformance-acme-1a2b3c4d", "administratorLogin": "tf_acme", "administratorLoginPassword": "s3cret", "version": "16",
			"authConfig": map[string]any{"passwordAuth": "Enabled"},
			"sku":        map[string]any{"name": "Standard_E4ds_v5", "tier": "MemoryOptimized"}, "highAvailability": map[string]any{"mode": "ZoneRedundant"},
			"storage": map[string]any{"storageSizeGB": 128, "autoGrow": "Enabled"}, "backup": map[string]any{"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"},
			"network": map[string]any{"delegatedSubnetResourceId": "/sub", "privateDnsZoneArmResourceId": "/zone", "publicNetworkAccess": "Disabled"},
		}, ok, "what the adapter registers for a large tier"},
		{"short password", randomPasswordType, map[string]any{"length": 6, "minUpper": 1, "minLower": 1, "minNumeric": 1}, "outside 8 to 128", "flexible server passwords are 8 to 128 characters"},
		{"two classes", randomPasswordType, map[string]any{"length": 32, "minLower": 1, "minNumeric": 1, "special": false}, "Azure wants three", "three character classes are required"},
		{"the adapter's password", randomPasswordType, map[string]any{"length": 32, "special": false, "minUpper": 1, "minLower": 1, "minNumeric": 1}, ok, "password.New's policy"},

		// Container Apps.
		{"half vCPU with 2 GiB", containerAppType, map[string]any{"template": map[string]any{"containers": []any{
			map[string]any{"name": "web", "resources": map[string]any{"cpu": 0.5, "memory": "2Gi"}}}}}, "not a consumption combination", "2 GiB per vCPU exactly"},
		{"one vCPU with 2 GiB", containerAppType, map[string]any{"template": map[string]any{"containers": []any{
			map[string]any{"name": "web", "resources": map[string]any{"cpu": 1.0, "memory": "2Gi"}}}}}, ok, "a consumption combination"},
		{"unresolved secretRef", containerAppType, map[string]any{
			"configuration": map[string]any{"secrets": []any{map[string]any{"name": "database-password", "value": "x"}}},
			"template": map[string]any{"containers": []any{map[string]any{"name": "web",
				"env": []any{map[string]any{"name": "DATABASE_PASSWORD", "secretRef": "db-password"}}}}},
		}, "does not define", "a secretRef must name a secret of the app"},
		{"app name with --", containerAppType, map[string]any{"containerAppName": "a--b"}, "contains '--'", "Container Apps refuses consecutive hyphens"},
		{"app name of 33", containerAppType, map[string]any{"containerAppName": "a" + strings.Repeat("b", 32)}, "maximum is 32", "Container App names are at most 32"},
		{"probe period", containerAppType, map[string]any{"template": map[string]any{"containers": []any{map[string]any{"name": "web",
			"probes": []any{map[string]any{"type": "Liveness", "periodSeconds": 300}}}}}}, "outside 1 to 240", "probe periods are 1 to 240 seconds"},
		{"more min than max replicas", containerAppType, map[string]any{"template": map[string]any{"scale": map[string]any{"minReplicas": 3, "maxReplicas": 2}}}, "exceeds maxReplicas", "min above max"},

		// Network, DNS, logs, identity, locks, groups.
		{"apps subnet of /28", subnetType, map[string]any{"subnetName": "apps", "addressPrefix": "10.0.0.0/28",
			"delegations": []any{map[string]any{"name": "d", "serviceName": "Microsoft.App/environments"}}}, "smaller than /27", "workload profiles need /27"},
		{"database subnet of /28", subnetType, map[string]any{"subnetName": "databases", "addressPrefix": "10.0.0.0/28",
			"delegations": []any{map[string]any{"name": "d", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}}}, ok, "the /27 minimum is Container Apps'"},
		{"zone outside postgres.database.azure.com", privateZoneType, map[string]any{"privateZoneName": "db.example.com", "location": "global"}, "does not match", "VNet-integrated servers need their zone"},
		{"zone label over 63", privateZoneType, map[string]any{"privateZoneName": strings.Repeat("a", 64) + ".private.postgres.database.azure.com"}, "label", "DNS labels are at most 63"},
		{"workspace retention of 7 days", workspaceType, map[string]any{"workspaceName": "logs", "sku": map[string]any{"name": "PerGB2018"}, "retentionInDays": 7}, "outside 30 to 730", "PerGB2018 keeps 30 to 730 days"},
		{"identity starting with _", identityType, map[string]any{"resourceName": "_prod-acme-web"}, "does not match", "identities start with a letter or digit"},
		{"lock ending in period", lockType, map[string]any{"lockName": "lock.", "level": "CanNotDelete"}, "does not match", "lock names can't end in a period"},
		{"group ending in period", resourceGroupType, map[string]any{"resourceGroupName": "prod."}, "ends with a period", "resource group names can't end in a period"},
		{"tag key with a slash", resourceGroupType, map[string]any{"resourceGroupName": "rg", "tags": map[string]any{"a/b": "c"}}, "contains one of", "tag names can't use / "},
		{"tag value over 256", resourceGroupType, map[string]any{"resourceGroupName": "rg", "tags": map[string]any{"k": strings.Repeat("v", 257)}}, "maximum is 256", "tag values are at most 256"},
		{"51 tags", resourceGroupType, map[string]any{"resourceGroupName": "rg", "tags": manyTags(51)}, "maximum is 50", "at most 50 tags"},
		{"deployment in complete mode is allowed", deploymentType, map[string]any{"deploymentName": "d", "properties": map[string]any{"mode": "Complete"}}, ok, "ARM accepts Complete (the adapter uses Incremental)"},
		{"deployment name with a slash", deploymentType, map[string]any{"deploymentName": "a/b"}, "does not match", "deployment names are alphanumerics, _-.()"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			vs := rules.Evaluate(Rules, tc.typ, resource.NewPropertyMapFromMap(tc.inputs))
			var got []string
			for _, v := range vs {
				got = append(got, v.String())
			}
			joined := strings.Join(got, "\n")
			switch {
			case tc.want == ok && len(vs) > 0:
				t.Errorf("Azure accepts these inputs (%s), the rules refuse them:\n%s", tc.reason, joined)
			case tc.want != ok && !strings.Contains(joined, tc.want):
				t.Errorf("want a violation containing %q (%s), got:\n%s", tc.want, tc.reason, joined)
			}
		})
	}
}

func manyTags(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[strings.Repeat("k", i+1)] = "v"
	}
	return m
}

// TestFilteredSubscriptionName: a filter changes the subscription's name (so
// toggling a filter replaces it and an unfiltered subscription keeps Azure's
// accept-all $Default), without renaming unfiltered subscriptions and
// without a name another subscriber could have.
func TestFilteredSubscriptionName(t *testing.T) {
	t.Parallel()

	filter := &components.FilterSpec{Attribute: "event_type", Values: []string{"invoice.paid"}}
	cases := []struct {
		sub    components.SubscriberSpec
		want   string
		reason string
	}{
		{components.SubscriberSpec{Name: "audit"}, "audit", "unfiltered names are unchanged"},
		{components.SubscriberSpec{Name: "billing", Filter: filter}, "billing_filtered", "'_' is in no subscriber name (DNS labels), so no collision"},
		{components.SubscriberSpec{Name: strings.Repeat("b", 32), Filter: filter}, strings.Repeat("b", 32) + "_filtered", "the longest subscriber name still fits 50"},
	}
	for _, tc := range cases {
		if got := subscriptionName(tc.sub); got != tc.want {
			t.Errorf("subscriptionName(%q) = %q, want %q (%s)", tc.sub.Name, got, tc.want, tc.reason)
		}
	}
}

// TestDefaultRuleTemplate: the ARM template sets exactly the subscription's
// $Default rule, to the FalseFilter.
func TestDefaultRuleTemplate(t *testing.T) {
	t.Parallel()

	res := defaultRuleTemplate()["resources"].(pulumi.Array)
	if len(res) != 1 {
		t.Fatalf("template has %d resources, want the $Default rule only", len(res))
	}
	r := res[0].(pulumi.Map)
	name := string(r["name"].(pulumi.String))
	props := r["properties"].(pulumi.Map)
	expr := string(props["sqlFilter"].(pulumi.Map)["sqlExpression"].(pulumi.String))
	switch {
	case string(r["type"].(pulumi.String)) != "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules":
		t.Errorf("type %v is not a subscription rule", r["type"])
	case !strings.HasSuffix(name, "/$Default', parameters('namespace'), parameters('topic'), parameters('subscription'))]"):
		t.Errorf("name %s is not namespace/topic/subscription/$Default", name)
	case string(props["filterType"].(pulumi.String)) != "SqlFilter" || expr != "1=0":
		t.Errorf("filter %v %q is not the FalseFilter (SqlFilter 1=0): $Default would still match", props["filterType"], expr)
	}
}
