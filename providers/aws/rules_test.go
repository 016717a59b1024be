package aws_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

const (
	sgType  = "aws:ec2/securityGroup:SecurityGroup"
	rdsType = "aws:rds/instance:Instance"
	lbType  = "aws:lb/loadBalancer:LoadBalancer"
)

func props(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

// TestRulesRefuseWhatAWSRefuses evaluates the rules on inputs AWS refuses,
// the adapter's own inputs before issue 13's fixes among them, and on their
// fixed forms: each rule must be seen to fail.
func TestRulesRefuseWhatAWSRefuses(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		typ    string
		inputs map[string]any
		path   string // the path judged; with a trailing "!", accepted there
		reason string
	}{
		{"database security group description before the fix", sgType,
			map[string]any{"description": "tenantfleet acme: PostgreSQL, reachable from the tenant's tasks only"}, "description",
			"EC2 GroupDescription has no apostrophe: every tenant failed at up"},
		{"database security group description", sgType,
			map[string]any{"description": "tenantfleet acme: PostgreSQL, reachable from the tenant tasks only"}, "description!",
			"the fixed description"},
		{"database ingress rule description before the fix", sgType,
			map[string]any{"ingress": []any{map[string]any{"description": "PostgreSQL from the tenant's tasks"}}}, "ingress[0].description",
			"validSecurityGroupRuleDescription refuses the apostrophe at preview (terraform-provider-aws#18874)"},
		{"database ingress rule description", sgType,
			map[string]any{"ingress": []any{map[string]any{"description": "PostgreSQL from the tenant tasks"}}}, "ingress[0].description!",
			"the fixed description"},
		{"security group of stack sg-prod before the fix", sgType, map[string]any{"name": "sg-prod-acme-lb-852ab50d"}, "name",
			"group names cannot begin with sg-"},
		{"security group of stack sg-prod", sgType, map[string]any{"name": "xsg-prod-acme-lb-852ab50d"}, "name!",
			"the shaped name"},
		{"load balancer of stack internal before the fix", lbType, map[string]any{"name": "internal-acme-b4e9af4a"}, "name",
			"load balancer names cannot begin with internal-"},
		{"load balancer of stack internal", lbType, map[string]any{"name": "xinternal-acme-b4e9af4a"}, "name!",
			"the shaped name"},
		{"load balancer name of 33 characters", lbType, map[string]any{"name": strings.Repeat("a", 33)}, "name", "32 at most"},
		{"load balancer with a trailing hyphen", lbType, map[string]any{"name": "acme-"}, "name", "no trailing hyphen"},
		{"load balancer in one subnet", lbType, map[string]any{"subnets": []any{"subnet-0a"}}, "subnets",
			"an ALB needs subnets in two Availability Zones"},
		{"tenant user as database name before the fix", rdsType, map[string]any{"dbName": "user"}, "dbName",
			"USER is a PostgreSQL reserved word"},
		{"tenant order as master user before the fix", rdsType, map[string]any{"username": "order"}, "username",
			"ORDER is a PostgreSQL reserved word"},
		{"master user admin", rdsType, map[string]any{"username": "admin"}, "username", "RDS for PostgreSQL refuses admin"},
		{"master user rdsadmin", rdsType, map[string]any{"username": "rdsadmin"}, "username", "RDS's own role"},
		{"master user public", rdsType, map[string]any{"username": "public"}, "username", "PostgreSQL reserves the role name public"},
		{"master user in the pg_ namespace", rdsType, map[string]any{"username": "pg_x_1234abcd"}, "username",
			"PostgreSQL reserves role names starting with pg_"},
		{"database rdsadmin", rdsType, map[string]any{"dbName": "rdsadmin"}, "dbName", "RDS's own database"},
		{"shaped database name and user", rdsType, map[string]any{"dbName": "user_1a2b3c4d", "username": "xpg_x_1234abcd", "finalSnapshotIdentifier": "acme-final-1a2b3c4d"}, "(all)!",
			"what naming makes of them"},
		{"master user of 64 characters", rdsType, map[string]any{"username": "u" + strings.Repeat("x", 63)}, "username", "63 at most"},
		{"backups kept 36 days", rdsType, map[string]any{"backupRetentionPeriod": 36}, "backupRetentionPeriod", "0-35"},
		{"gp3 of 19 GiB", rdsType, map[string]any{"storageType": "gp3", "allocatedStorage": 19}, "(inputs)", "gp3 starts at 20 GiB"},
		{"gp3 of 20 GiB", rdsType, map[string]any{"storageType": "gp3", "allocatedStorage": 20, "finalSnapshotIdentifier": "acme-final-1a2b3c4d"}, "(all)!", "the smallest gp3 volume"},
		{"gp3 IOPS below 400 GiB", rdsType, map[string]any{"storageType": "gp3", "allocatedStorage": 100, "iops": 12000}, "(inputs)",
			"the gp3 baseline is fixed below 400 GiB"},
		{"final snapshot with two hyphens", rdsType, map[string]any{"finalSnapshotIdentifier": "acme--final"}, "finalSnapshotIdentifier",
			"no consecutive hyphens"},
		{"final snapshot kept but unnamed", rdsType, map[string]any{"skipFinalSnapshot": false}, "(inputs)",
			"deleting the instance would fail"},
		{"identifier with capitals", rdsType, map[string]any{"identifier": "Prod-acme"}, "identifier", "lowercase only"},
		{"Fargate task of 256 CPU units and 4 GiB", "aws:ecs/taskDefinition:TaskDefinition",
			map[string]any{"requiresCompatibilities": []any{"FARGATE"}, "networkMode": "awsvpc", "cpu": "256", "memory": "4096"}, "(inputs)",
			"0.25 vCPU takes 0.5, 1 or 2 GiB"},
		{"Fargate task of 8 vCPU and 20 GiB", "aws:ecs/taskDefinition:TaskDefinition",
			map[string]any{"requiresCompatibilities": []any{"FARGATE"}, "networkMode": "awsvpc", "cpu": "8192", "memory": "20480"}, "(all)!",
			"8 vCPU takes 16-60 GiB in 4 GiB steps"},
		{"grace period without a load balancer", "aws:ecs/service:Service", map[string]any{"healthCheckGracePeriodSeconds": 60}, "(inputs)",
			"ECS refuses it"},
		{"log retention of 31 days", "aws:cloudwatch/logGroup:LogGroup", map[string]any{"retentionInDays": 31}, "retentionInDays",
			"CloudWatch Logs offers fixed retentions"},
		{"tag key in the aws: namespace", "aws:sqs/queue:Queue", map[string]any{"tags": map[string]any{"aws:x": "y"}}, "tags{aws:x}",
			"AWS reserves aws:"},
		{"tag value with a comma", "aws:sqs/queue:Queue", map[string]any{"tags": map[string]any{"x": "a,b"}}, "tags.x",
			"tags take letters, spaces, numbers and _.:/=+-@"},
		{"redrive after 1001 receives", "aws:sqs/queue:Queue", map[string]any{"redrivePolicy": `{"maxReceiveCount":1001}`}, "redrivePolicy",
			"1-1000"},
		{"HTTPS listener without a certificate", "aws:lb/listener:Listener", map[string]any{"protocol": "HTTPS", "port": 443}, "(inputs)",
			"CreateListener needs a certificate for HTTPS"},
		{"health check matcher 600", "aws:lb/targetGroup:TargetGroup", map[string]any{"healthCheck": map[string]any{"matcher": "200-600"}},
			"healthCheck.matcher", "ALB matchers take 200-499"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			// A path ending in "!" is accepted: no violation there ("(all)!":
			// none at all); any other path must be refused.
			path, ok := strings.CutSuffix(tc.path, "!")
			var at []rules.Violation
			for _, v := range rules.Evaluate(aws.Rules, tc.typ, props(tc.inputs)) {
				if v.Path == path || path == "(all)" {
					at = append(at, v)
				}
			}
			switch {
			case ok && len(at) > 0:
				t.Errorf("refused, want accepted (%s): %v", tc.reason, at)
			case !ok && len(at) == 0:
				t.Errorf("no violation at %s, want one (%s)", path, tc.reason)
			}
		})
	}
}
