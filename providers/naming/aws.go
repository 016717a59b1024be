package naming

import (
	"slices"
	"strings"
)

// AWS holds AWS's naming rules, one per kind of resource tenantfleet names.
var AWS = struct {
	RDSInstance, DBSubnetGroup, DatabaseName, DatabaseUser     Rule
	SQSQueue, SNSTopic                                         Rule
	ECSCluster, ECSService, TaskFamily, IAMRole, SecurityGroup Rule
	LoadBalancer, TargetGroup, LogGroup                        Rule
}{
	// DB instance identifier: 1-63 letters, digits or hyphens, first a letter,
	// no two consecutive hyphens, no trailing hyphen, stored lowercase.
	RDSInstance: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	// DB subnet groups may not be called "default" (validSubnetGroupName).
	DBSubnetGroup: Rule{MaxLen: 255, Sep: "-", Lower: true, StartLetter: true, Reserved: []string{"default"}},
	// PostgreSQL identifiers: 63 bytes, letters, digits, underscores; RDS
	// needs a leading letter and refuses the engine's reserved words
	// (CreateDBInstance DBName and MasterUsername) and its own names.
	DatabaseName: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true,
		Reserved: slices.Concat(PostgresKeywords, RDSReservedDatabases)},
	// PostgreSQL also reserves role names starting with pg_ (CreateRole).
	DatabaseUser: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true,
		Reserved: slices.Concat(PostgresKeywords, RDSReservedUsers), ForbiddenPrefixes: []string{"pg_"}},
	// SQS: up to 80 alphanumerics, hyphens and underscores.
	SQSQueue: Rule{MaxLen: 80, Sep: "-", Extra: "_"},
	// SNS: up to 256 alphanumerics, hyphens and underscores.
	SNSTopic:   Rule{MaxLen: 256, Sep: "-", Extra: "_"},
	ECSCluster: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	ECSService: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	TaskFamily: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	// IAM role names: 64 characters of [\w+=,.@-].
	IAMRole: Rule{MaxLen: 64, Sep: "-", Extra: "_+=,.@"},
	// Security group names may not start with sg- (CreateSecurityGroup GroupName).
	SecurityGroup: Rule{MaxLen: 255, Sep: "-", Extra: "_", ForbiddenPrefixes: []string{"sg-"}},
	// ALB and target group names: 32 alphanumerics or hyphens, no leading or
	// trailing hyphen; a load balancer's may not start with internal-.
	LoadBalancer: Rule{MaxLen: 32, Sep: "-", ForbiddenPrefixes: []string{"internal-"}},
	TargetGroup:  Rule{MaxLen: 32, Sep: "-"},
	LogGroup:     Rule{MaxLen: 512, Sep: "-", Extra: "_/.#"},
}

// AWSTags shapes tags to AWS's rules: keys up to 128 and values up to 256
// characters of letters, digits, spaces and _.:/=+-@, keys not starting with "aws:".
func AWSTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		k = awsTagChars(strings.TrimPrefix(k, "aws:"), 128)
		out[k] = awsTagChars(v, 256)
	}
	return out
}

func awsTagChars(s string, maxLen int) string {
	return Rule{MaxLen: maxLen, Sep: "-", Extra: " _.:/=+@"}.Name(s)
}

// RDSReservedUsers are master user names RDS for PostgreSQL refuses besides
// PostgreSQL's keywords (PostgresKeywords): "public" and "none", which
// PostgreSQL reserves as role names (postgres/postgres
// src/backend/parser/gram.y RoleId); rdsadmin and rdstopmgr, roles RDS
// creates on every instance (Amazon RDS User Guide, "Understanding
// PostgreSQL roles"); and "admin", which RDS refuses for PostgreSQL ("MasterUsername
// admin cannot be used as it is a reserved word used by the engine";
// aws-cloudformation/cfn-lint#4425 checked rdsadmin and admin against real
// deployments).
var RDSReservedUsers = []string{"public", "none", "rdsadmin", "rdstopmgr", "admin"}

// RDSReservedDatabases are database names RDS for PostgreSQL refuses besides
// PostgreSQL's keywords: rdsadmin, RDS's own database on every instance.
var RDSReservedDatabases = []string{"rdsadmin"}
