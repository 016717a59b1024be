package naming

import "strings"

// AWS holds AWS's naming rules, one per kind of resource tenantfleet names.
var AWS = struct {
	RDSInstance, DBSubnetGroup, DatabaseName, DatabaseUser     Rule
	SQSQueue, SNSTopic                                         Rule
	ECSCluster, ECSService, TaskFamily, IAMRole, SecurityGroup Rule
	LoadBalancer, TargetGroup, LogGroup                        Rule
}{
	// DB instance identifier: 1-63 letters, digits or hyphens, first a letter,
	// no two consecutive hyphens, no trailing hyphen, stored lowercase.
	RDSInstance:   Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	DBSubnetGroup: Rule{MaxLen: 255, Sep: "-", Lower: true, StartLetter: true},
	// PostgreSQL identifiers: 63 bytes, letters, digits, underscores; RDS needs a leading letter.
	DatabaseName: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true},
	DatabaseUser: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true},
	// SQS: up to 80 alphanumerics, hyphens and underscores.
	SQSQueue: Rule{MaxLen: 80, Sep: "-", Extra: "_"},
	// SNS: up to 256 alphanumerics, hyphens and underscores.
	SNSTopic:   Rule{MaxLen: 256, Sep: "-", Extra: "_"},
	ECSCluster: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	ECSService: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	TaskFamily: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	// IAM role names: 64 characters of [\w+=,.@-].
	IAMRole:       Rule{MaxLen: 64, Sep: "-", Extra: "_+=,.@"},
	SecurityGroup: Rule{MaxLen: 255, Sep: "-", Extra: "_"},
	// ALB and target group names: 32 alphanumerics or hyphens, no leading or trailing hyphen.
	LoadBalancer: Rule{MaxLen: 32, Sep: "-"},
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
