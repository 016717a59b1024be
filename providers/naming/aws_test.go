package naming

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// awsPatterns is each AWS rule as terraform-provider-aws or the AWS API
// states it, to check shaped names against the cloud's grammar rather than
// the Rule's fields. refused lists what the pattern cannot say: reserved
// words and prefixes.
var awsPatterns = map[string]struct {
	rule    Rule
	pattern *regexp.Regexp
	refused func(string) bool
}{
	// internal/service/rds/validate.go validIdentifier; CreateDBInstance: 1-63.
	"RDSInstance": {AWS.RDSInstance, regexp.MustCompile(`^[a-z](-?[0-9a-z]){0,62}$`), nil},
	// validSubnetGroupName.
	"DBSubnetGroup": {AWS.DBSubnetGroup, regexp.MustCompile(`^[0-9a-z_ .-]{1,255}$`), func(s string) bool { return strings.EqualFold(s, "default") }},
	// CreateDBInstance DBName and MasterUsername (PostgreSQL).
	"DatabaseName": {AWS.DatabaseName, regexp.MustCompile(`^[A-Za-z][0-9A-Za-z_]{0,62}$`), reservedIn(PostgresKeywords, RDSReservedDatabases)},
	"DatabaseUser": {AWS.DatabaseUser, regexp.MustCompile(`^[A-Za-z][0-9A-Za-z_]{0,62}$`), func(s string) bool {
		return reservedIn(PostgresKeywords, RDSReservedUsers)(s) || strings.HasPrefix(s, "pg_")
	}},
	// sqs/queue.go and sns/topic.go CustomizeDiff.
	"SQSQueue": {AWS.SQSQueue, regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`), nil},
	"SNSTopic": {AWS.SNSTopic, regexp.MustCompile(`^[0-9A-Za-z_-]{1,256}$`), nil},
	// ECS CreateCluster, CreateService, task definition family.
	"ECSCluster": {AWS.ECSCluster, regexp.MustCompile(`^[0-9A-Za-z_-]{1,255}$`), nil},
	"ECSService": {AWS.ECSService, regexp.MustCompile(`^[0-9A-Za-z_-]{1,255}$`), nil},
	"TaskFamily": {AWS.TaskFamily, regexp.MustCompile(`^[0-9A-Za-z_-]{1,255}$`), nil},
	// iam/role.go validResourceName(64).
	"IAMRole": {AWS.IAMRole, regexp.MustCompile(`^[\w+=,.@-]{1,64}$`), nil},
	// vpc_security_group.go name; CreateSecurityGroup GroupName charset.
	"SecurityGroup": {AWS.SecurityGroup, regexp.MustCompile(`^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}$`), prefixed("sg-")},
	// elbv2/validate.go validName and validTargetGroupName.
	"LoadBalancer": {AWS.LoadBalancer, regexp.MustCompile(`^[0-9A-Za-z]([0-9A-Za-z-]{0,30}[0-9A-Za-z])?$`), prefixed("internal-")},
	"TargetGroup":  {AWS.TargetGroup, regexp.MustCompile(`^[0-9A-Za-z]([0-9A-Za-z-]{0,30}[0-9A-Za-z])?$`), nil},
	// logs/validate.go validLogGroupName.
	"LogGroup": {AWS.LogGroup, regexp.MustCompile(`^[0-9A-Za-z_./#-]{1,512}$`), nil},
}

func reservedIn(lists ...[]string) func(string) bool {
	return func(s string) bool {
		return slices.ContainsFunc(slices.Concat(lists...), func(w string) bool { return strings.EqualFold(w, s) })
	}
}

func prefixed(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}

func TestAWSRulesHoldForAwkwardInputs(t *testing.T) {
	t.Parallel()

	inputs := []struct {
		parts  []string
		reason string
	}{
		{[]string{"dev", "acme", "web"}, "an ordinary name"},
		{[]string{"Prod_EU.2", "acme"}, "Pulumi stack names take capitals, dots and underscores"},
		{[]string{"production-" + strings.Repeat("x", 89), strings.Repeat("t", 32), "workload"}, "the longest stack and tenant ids"},
		{[]string{"sg-prod", "acme", "lb"}, "security group names cannot begin with sg-"},
		{[]string{"SG-Prod", "acme", "lb"}, "SG- is not sg- (terraform-provider-aws matches ^sg- with case): kept, as names valid before are"},
		{[]string{"internal", "acme"}, "load balancer names cannot begin with internal-"},
		{[]string{"internal-api", "acme"}, "the same, longer"},
		{[]string{"user"}, "a PostgreSQL reserved word"},
		{[]string{"order"}, "another"},
		{[]string{"admin"}, "RDS for PostgreSQL refuses it as master user"},
		{[]string{"rdsadmin"}, "RDS's own role and database"},
		{[]string{"public"}, "PostgreSQL reserves the role name"},
		{[]string{"pg-x"}, "pg_ is PostgreSQL's role namespace"},
		{[]string{"default"}, "a subnet group may not be called default"},
		{[]string{"9lives", "x"}, "names that must start with a letter"},
		{[]string{"--", "--"}, "nothing readable left"},
	}
	for name, r := range awsPatterns {
		for _, in := range inputs {
			for fn, f := range map[string]func(...string) string{"Name": r.rule.Name, "Unique": r.rule.Unique} {
				got := f(in.parts...)
				if !r.pattern.MatchString(got) || (r.refused != nil && r.refused(got)) {
					t.Errorf("%s.%s(%q) = %q (%d characters), which AWS refuses (%s)", name, fn, in.parts, got, len(got), in.reason)
				}
			}
		}
	}
}

// TestAWSNamesValidBeforeAreKept: a name the rules accepted before
// Reserved and ForbiddenPrefixes existed is kept as is, so no existing
// stack's resources are renamed (which would replace them).
func TestAWSNamesValidBeforeAreKept(t *testing.T) {
	t.Parallel()

	before := func(r Rule) Rule { r.Reserved, r.ForbiddenPrefixes = nil, nil; return r }
	cases := []struct {
		name  string
		rule  Rule
		parts []string
	}{
		{"database of tenant acme", AWS.DatabaseName, []string{"acme"}},
		{"database of tenant users", AWS.DatabaseName, []string{"users"}},
		{"database of tenant postgres", AWS.DatabaseName, []string{"postgres"}},
		{"user of tenant acme-corp", AWS.DatabaseUser, []string{"acme-corp"}},
		{"user of tenant pgx", AWS.DatabaseUser, []string{"pgx"}},
		{"user of tenant pg", AWS.DatabaseUser, []string{"pg"}},
		{"security group of stack prod", AWS.SecurityGroup, []string{"prod", "acme", "lb"}},
		{"security group of stack sgprod", AWS.SecurityGroup, []string{"sgprod", "acme", "db"}},
		{"load balancer of stack internalapi", AWS.LoadBalancer, []string{"internalapi", "acme"}},
		{"load balancer of stack prod-internal", AWS.LoadBalancer, []string{"prod-internal", "acme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			if got, want := tc.rule.Unique(tc.parts...), before(tc.rule).Unique(tc.parts...); got != want {
				t.Errorf("Unique(%q) = %q, was %q: an existing stack would be renamed", tc.parts, got, want)
			}
			if got, want := tc.rule.Name(tc.parts...), before(tc.rule).Name(tc.parts...); got != want {
				t.Errorf("Name(%q) = %q, was %q: an existing stack would be renamed", tc.parts, got, want)
			}
		})
	}
}

func TestAWSRefusedNamesAreShaped(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name, got, want, reason string
	}{
		{"database user", AWS.DatabaseName.Name("user"), "user_" + rawHash("user"), "USER is reserved: hash suffix"},
		{"master user order", AWS.DatabaseUser.Name("order"), "order_" + rawHash("order"), "ORDER is reserved"},
		{"master user admin", AWS.DatabaseUser.Name("admin"), "admin_" + rawHash("admin"), "RDS refuses admin"},
		{"master user pg-x", AWS.DatabaseUser.Name("pg-x"), "xpg_x_" + rawHash("pg-x"), "pg_ is PostgreSQL's"},
		{"database pg-x", AWS.DatabaseName.Name("pg-x"), "pg_x_" + rawHash("pg-x"), "databases may start with pg_: unchanged"},
		{"security group of stack sg-prod", AWS.SecurityGroup.Unique("sg-prod", "acme", "lb"),
			"xsg-prod-acme-lb-" + rawHash("sg-prod\x00acme\x00lb"), "an x in front, the hash as before"},
		{"load balancer of stack internal", AWS.LoadBalancer.Unique("internal", "acme"),
			"xinternal-acme-" + rawHash("internal\x00acme"), "an x in front, the hash as before"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q (%s)", tc.name, tc.got, tc.want, tc.reason)
		}
	}
}
