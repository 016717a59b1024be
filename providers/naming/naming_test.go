package naming

import (
	"regexp"
	"strings"
	"testing"
)

func TestRuleName(t *testing.T) {
	t.Parallel()

	rds := AWS.RDSInstance
	cases := []struct {
		name   string
		rule   Rule
		parts  []string
		want   string
		reason string
	}{
		{"fits", rds, []string{"dev", "acme", "db"}, "dev-acme-db", "a name within the rule is kept verbatim, so re-runs never rename"},
		{"case folded", rds, []string{"Dev", "acme"}, "dev-acme-" + hashOf("Dev-acme"), "folding case is lossy: Dev and dev must not share a name"},
		{"bad chars", rds, []string{"my_stack", "acme"}, "my-stack-acme-" + hashOf("my_stack-acme"), "underscores are not allowed in RDS identifiers"},
		{"leading digit", rds, []string{"1dev", "acme"}, "x1dev-acme-" + hashOf("1dev-acme"), "RDS identifiers start with a letter"},
		{"db name", AWS.DatabaseName, []string{"acme"}, "acme", "a tenant id is a valid database name"},
		{"db name hyphen", AWS.DatabaseName, []string{"acme-corp"}, "acme_corp_" + hashOf("acme-corp"), "hyphens are not allowed in database names; acme-corp and acme_corp must differ"},
		{"sqs keeps underscore", AWS.SQSQueue, []string{"dev", "acme_x"}, "dev-acme_x", "SQS allows underscores"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			if got := tc.rule.Name(tc.parts...); got != tc.want {
				t.Errorf("Name(%q) = %q, want %q (%s)", tc.parts, got, tc.want, tc.reason)
			}
		})
	}
}

func hashOf(s string) string { return rawHash(s) }

func TestTruncationKeepsNamesDistinctAndStable(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("tenant", 10)
	a := AWS.LoadBalancer.Name("prod", long+"a", "web")
	b := AWS.LoadBalancer.Name("prod", long+"b", "web")
	if len(a) > 32 || len(b) > 32 {
		t.Fatalf("names exceed 32 characters: %q (%d), %q (%d)", a, len(a), b, len(b))
	}
	if a == b {
		t.Fatalf("two tenants that differ only past the limit share the name %q", a)
	}
	if again := AWS.LoadBalancer.Name("prod", long+"a", "web"); again != a {
		t.Fatalf("shaping is not stable: %q then %q", a, again)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`).MatchString(a) {
		t.Fatalf("%q breaks the load balancer rule", a)
	}
}

func TestUniqueDoesNotAliasHyphenatedParts(t *testing.T) {
	t.Parallel()

	a := AWS.SQSQueue.Unique("prod", "eu-acme", "work")
	b := AWS.SQSQueue.Unique("prod-eu", "acme", "work")
	if a == b {
		t.Fatalf("stack prod/tenant eu-acme and stack prod-eu/tenant acme share %q", a)
	}
	if !strings.HasPrefix(a, "prod-eu-acme-work-") {
		t.Errorf("Unique = %q, want the readable parts first", a)
	}
	if again := AWS.SQSQueue.Unique("prod", "eu-acme", "work"); again != a {
		t.Errorf("Unique is not stable: %q then %q", a, again)
	}
}

// TestRulesHoldForAwkwardInputs checks every AWS and Azure rule against inputs that
// stress it: the output must always satisfy the rule.
func TestRulesHoldForAwkwardInputs(t *testing.T) {
	t.Parallel()

	rules := map[string]Rule{
		"RDSInstance": AWS.RDSInstance, "DatabaseName": AWS.DatabaseName, "SQSQueue": AWS.SQSQueue,
		"IAMRole": AWS.IAMRole, "LoadBalancer": AWS.LoadBalancer, "TargetGroup": AWS.TargetGroup,
		"Azure.ResourceGroup": Azure.ResourceGroup, "Azure.ContainerApp": Azure.ContainerApp,
		"Azure.PostgresServer": Azure.PostgresServer, "Azure.ServiceBusNamespace": Azure.ServiceBusNamespace,
		"Azure.ServiceBusEntity": Azure.ServiceBusEntity, "Azure.ServiceBusSubscription": Azure.ServiceBusSubscription,
		"Azure.ManagedIdentity": Azure.ManagedIdentity, "Azure.LogAnalyticsWorkspace": Azure.LogAnalyticsWorkspace,
	}
	inputs := [][]string{
		{"dev", "a"}, {"Prod.EU", "tenant-x", "worker"}, {strings.Repeat("x", 300)},
		{"--", "--"}, {"9", "lives"}, {"ünïcode", "tenant"}, {"a", "", "b"},
	}
	for name, r := range rules {
		for _, in := range inputs {
			for _, got := range []string{r.Name(in...), r.Unique(in...)} {
				if len(got) == 0 || len(got) > r.MaxLen {
					t.Errorf("%s.Name(%q) = %q: length %d outside 1..%d", name, in, got, len(got), r.MaxLen)
				}
				if r.StartLetter && !regexp.MustCompile(`^[a-zA-Z]`).MatchString(got) {
					t.Errorf("%s.Name(%q) = %q: does not start with a letter", name, in, got)
				}
				if r.Lower && strings.ToLower(got) != got {
					t.Errorf("%s.Name(%q) = %q: not lowercase", name, in, got)
				}
				if r.Sep != "" && (strings.Contains(got, r.Sep+r.Sep) || strings.HasSuffix(got, r.Sep) || strings.HasPrefix(got, r.Sep)) {
					t.Errorf("%s.Name(%q) = %q: doubled, leading or trailing separator", name, in, got)
				}
				allowed := regexp.MustCompile(`^[A-Za-z0-9` + regexp.QuoteMeta(r.Sep+r.Extra) + `]+$`)
				if !allowed.MatchString(got) {
					t.Errorf("%s.Name(%q) = %q: has a character outside the rule", name, in, got)
				}
			}
		}
	}
}

func TestAWSTags(t *testing.T) {
	t.Parallel()

	got := AWSTags(map[string]string{"aws:tenant": "acme", "stack": "org/dev#1"})
	if got["tenant"] != "acme" {
		t.Errorf("the reserved aws: prefix must be dropped, got %v", got)
	}
	if v := got["stack"]; !strings.HasPrefix(v, "org/dev-1-") {
		t.Errorf("stack tag = %q, want org/dev-1-<hash>: '#' is not allowed in AWS tags", v)
	}
}

func TestAzureRules(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		got    string
		want   *regexp.Regexp
		reason string
	}{
		{"resource group fits", Azure.ResourceGroup.Name("dev", "acme"), regexp.MustCompile(`^dev-acme$`), "a short valid name is kept"},
		{"resource group 90", Azure.ResourceGroup.Unique("dev", strings.Repeat("t", 120)), regexp.MustCompile(`^[A-Za-z0-9_-]{1,90}$`), "resource groups hold 1-90 characters"},
		{"resource group no trailing dot", Azure.ResourceGroup.Name("dev.", "acme."), regexp.MustCompile(`^[A-Za-z0-9_-]*[A-Za-z0-9_-]$`), "a resource group may not end in '.'"},
		{"container app 32", Azure.ContainerApp.Unique("Prod", strings.Repeat("x", 40), "worker"), regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`), "2-32 lowercase, starting with a letter"},
		{"container app leading digit", Azure.ContainerApp.Unique("9lives", "web"), regexp.MustCompile(`^[a-z]`), "Container Apps start with a letter"},
		{"postgres 63 lowercase", Azure.PostgresServer.Unique("Prod", strings.Repeat("y", 80)), regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`), "3-63 lowercase letters, digits, hyphens"},
		{"postgres short", Azure.PostgresServer.Unique("a"), regexp.MustCompile(`^.{3,63}$`), "at least 3 characters"},
		{"namespace 6-50", Azure.ServiceBusNamespace.Unique("d"), regexp.MustCompile(`^[a-z][a-z0-9-]{4,48}[a-z0-9]$`), "6-50 characters even for a one-letter stack"},
		{"namespace long", Azure.ServiceBusNamespace.Unique(strings.Repeat("s", 70), "platform"), regexp.MustCompile(`^[a-z][a-z0-9-]{4,48}[a-z0-9]$`), "truncated to 50 with the hash"},
		{"namespace not -sb", Azure.ServiceBusNamespace.Unique("x", "sb"), regexp.MustCompile(`[0-9a-f]{8}$`), "ends in the hash, never -sb or -mgmt"},
		{"queue 260", Azure.ServiceBusEntity.Unique("dev", strings.Repeat("q", 300)), regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,258}[A-Za-z0-9]$`), "queues and topics hold 1-260"},
		{"queue slash", Azure.ServiceBusEntity.Unique("dev", "shared", "events/billing"), regexp.MustCompile(`^[A-Za-z0-9_-]+$`), "'/' would make a path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			if !tc.want.MatchString(tc.got) {
				t.Errorf("got %q (%d characters), want %s (%s)", tc.got, len(tc.got), tc.want, tc.reason)
			}
		})
	}
	if a, b := Azure.ServiceBusNamespace.Unique("prod", "eu-x"), Azure.ServiceBusNamespace.Unique("prod-eu", "x"); a == b {
		t.Errorf("namespaces alias: %q", a)
	}
}

func TestAzureTags(t *testing.T) {
	t.Parallel()

	got := AzureTags(map[string]string{"a/b": "v", "tenant": strings.Repeat("v", 300)})
	if _, ok := got["a/b"]; ok {
		t.Errorf("'/' is not allowed in Azure tag keys: %v", got)
	}
	if v := got["tenant"]; len(v) != 256 {
		t.Errorf("tag value has %d characters, want 256", len(v))
	}
}
