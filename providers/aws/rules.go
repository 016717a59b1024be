package aws

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// Where the rules come from. tfaws is hashicorp/terraform-provider-aws,
// which pulumi-aws v6 wraps: its validators run at preview, the AWS APIs'
// own checks only at update.
const (
	tfaws  = "hashicorp/terraform-provider-aws "
	apiRef = "https://docs.aws.amazon.com/"
)

// Character sets and patterns the rules share.
const (
	// EC2 GroupName/GroupDescription and IpRange/UserIdGroupPair
	// Description: a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (no
	// apostrophe: hashicorp/terraform-provider-aws#18874).
	ec2Text = `^[A-Za-z0-9 \.\_\-\:\/\(\)\#\,\@\[\]\+\=\&\;\{\}\!\$\*]*$`
	// Tag keys and values: Unicode letters, separators and digits, and _.:/=+-@.
	tagChars = `^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`
	// RDS identifiers (instance, final snapshot): a letter first, then
	// letters, digits and single hyphens, no trailing hyphen.
	rdsIdentifier = `^[A-Za-z](-?[0-9A-Za-z])*$`
	// PostgreSQL names RDS creates (master user, first database).
	pgName = `^[A-Za-z][0-9A-Za-z_]*$`
)

var (
	securityGroupRuleDescription = rules.Rule{Check: rules.Matches(ec2Text),
		Source: tfaws + "internal/service/ec2/validate.go validSecurityGroupRuleDescription (regex from " + apiRef + "AWSEC2/latest/APIReference/API_IpRange.html; #18874: no apostrophe)"}
	securityGroupRuleDescriptionLength = rules.Rule{Check: rules.Length(0, 255),
		Source: tfaws + "internal/service/ec2/validate.go validSecurityGroupRuleDescription (255 characters)"}
)

// Rules are what terraform-provider-aws and the AWS APIs refuse in the
// inputs this adapter registers. The conformance suite checks every
// registered input against them, in preview and update, across the neutral
// variants and the adapter's own (see conformance_test.go).
var Rules = slices.Concat([]rules.Rule{
	// EC2 security groups.
	{Type: sgType, Path: "name", Check: rules.Length(1, 255),
		Source: tfaws + "internal/service/ec2/vpc_security_group.go resourceSecurityGroup name: StringLenBetween(0, 255)"},
	{Type: sgType, Path: "name", Check: rules.NotMatches(`^sg-`, "cannot begin with sg-"),
		Source: tfaws + "internal/service/ec2/vpc_security_group.go resourceSecurityGroup name: StringDoesNotMatch(^sg-)"},
	{Type: sgType, Path: "name", Check: rules.Matches(ec2Text),
		Source: apiRef + "AWSEC2/latest/APIReference/API_CreateSecurityGroup.html GroupName: valid characters a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"},
	{Type: sgType, Path: "description", Check: rules.Length(0, 255),
		Source: tfaws + "internal/service/ec2/vpc_security_group.go resourceSecurityGroup description: StringLenBetween(0, 255)"},
	{Type: sgType, Path: "description", Check: rules.Matches(ec2Text),
		Source: apiRef + "AWSEC2/latest/APIReference/API_CreateSecurityGroup.html GroupDescription: valid characters a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$* (hashicorp/terraform-provider-aws#18874)"},
	withPath(sgType, "ingress[*].description", securityGroupRuleDescription),
	withPath(sgType, "ingress[*].description", securityGroupRuleDescriptionLength),
	withPath(sgRuleType, "description", securityGroupRuleDescription),
	withPath(sgRuleType, "description", securityGroupRuleDescriptionLength),
	{Type: sgRuleType, Path: "type", Check: rules.OneOf("ingress", "egress"),
		Source: tfaws + "internal/service/ec2/vpc_security_group_rule.go resourceSecurityGroupRule type: StringInSlice(securityGroupRuleType_Values)"},
	{Type: sgRuleType, Path: "fromPort", Check: rules.Between(-1, 65535),
		Source: apiRef + "AWSEC2/latest/APIReference/API_IpPermission.html FromPort/ToPort: 0-65535 for TCP/UDP, -1 for all"},
	{Type: sgRuleType, Path: "toPort", Check: rules.Between(-1, 65535),
		Source: apiRef + "AWSEC2/latest/APIReference/API_IpPermission.html FromPort/ToPort: 0-65535 for TCP/UDP, -1 for all"},

	// RDS for PostgreSQL.
	{Type: rdsType, Path: "identifier", Check: rules.Matches(`^[0-9a-z-]+$`),
		Source: tfaws + "internal/service/rds/validate.go validIdentifier: only lowercase alphanumeric characters and hyphens"},
	{Type: rdsType, Path: "identifier", Check: rules.Matches(rdsIdentifier),
		Source: tfaws + "internal/service/rds/validate.go validIdentifier: first a letter, no two consecutive hyphens, no trailing hyphen"},
	{Type: rdsType, Path: "identifier", Check: rules.Length(1, 63),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html DBInstanceIdentifier: 1 to 63 letters, numbers, or hyphens"},
	{Type: rdsType, Path: "finalSnapshotIdentifier", Check: rules.Matches(rdsIdentifier),
		Source: tfaws + "internal/service/rds/instance.go final_snapshot_identifier: ^[A-Za-z], ^[0-9A-Za-z-]+$, no --, no trailing hyphen"},
	{Type: rdsType, Path: "finalSnapshotIdentifier", Check: rules.Length(1, 255),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_DeleteDBInstance.html FinalDBSnapshotIdentifier: 1 to 255 letters, numbers, or hyphens"},
	{Type: rdsType, Check: rules.Func("a final snapshot identifier whenever the final snapshot is kept", finalSnapshotNamed),
		Source: tfaws + "internal/service/rds/instance.go resourceInstanceDelete: final_snapshot_identifier is required when skip_final_snapshot is false"},
	{Type: rdsType, Path: "dbName", Check: rules.Matches(pgName),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html DBName (RDS for PostgreSQL): begins with a letter; letters, underscores or digits"},
	{Type: rdsType, Path: "dbName", Check: rules.Length(1, 63),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html DBName (RDS for PostgreSQL): 1 to 63 characters"},
	{Type: rdsType, Path: "dbName", Check: rules.NotReserved("PostgreSQL reserved key word", naming.PostgresKeywords...),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html DBName: can't be a word reserved by the database engine (postgres/postgres src/include/parser/kwlist.h, see naming.PostgresKeywords)"},
	{Type: rdsType, Path: "dbName", Check: rules.NotReserved("database RDS keeps for itself", naming.RDSReservedDatabases...),
		Source: apiRef + "AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html: the rdsadmin database and role exist on every RDS for PostgreSQL instance"},
	{Type: rdsType, Path: "username", Check: rules.Matches(pgName),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html MasterUsername: first character a letter; letters, numbers or underscores"},
	{Type: rdsType, Path: "username", Check: rules.Length(1, 63),
		Source: apiRef + "AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints master user name, PostgreSQL: 1-63 (the API reference's engine-neutral text says 1 to 16, the minimum across engines: aws-cloudformation/aws-cloudformation-resource-providers-rds#158)"},
	{Type: rdsType, Path: "username", Check: rules.NotReserved("PostgreSQL reserved key word", naming.PostgresKeywords...),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html MasterUsername: can't be a reserved word for the chosen database engine (naming.PostgresKeywords)"},
	{Type: rdsType, Path: "username", Check: rules.NotReserved("role name PostgreSQL or RDS reserves", naming.RDSReservedUsers...),
		Source: "postgres/postgres src/backend/parser/gram.y RoleId (\"public\", \"none\" are reserved); RDS: rdsadmin and rdstopmgr are RDS's own roles (" + apiRef + "AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html); \"admin\" and \"rdsadmin\" refused as MasterUsername for PostgreSQL (aws-cloudformation/cfn-lint#4425, verified against real deployments)"},
	{Type: rdsType, Path: "username", Check: rules.NotMatches(`^(?i)pg_`, `starts with "pg_", which PostgreSQL reserves for its own roles`),
		Source: "postgres/postgres src/backend/commands/user.c CreateRole: IsReservedName, \"Role names starting with \\\"pg_\\\" are reserved.\""},
	{Type: rdsType, Path: "backupRetentionPeriod", Check: rules.Between(0, 35),
		Source: tfaws + "internal/service/rds/instance.go backup_retention_period: IntBetween(0, 35)"},
	{Type: rdsType, Path: "storageType", Check: rules.OneOf("standard", "gp2", "gp3", "io1", "io2"),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html StorageType: gp2 | gp3 | io1 | io2 | standard"},
	{Type: rdsType, Check: rules.Func("allocated storage within the storage type's range for RDS for PostgreSQL", storageInRange),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html AllocatedStorage (RDS for PostgreSQL): gp2/gp3 20-65536 GiB, io1/io2 100-65536 GiB, standard 5-3072 GiB"},
	{Type: rdsType, Check: rules.Func("IOPS and throughput only with 400 GiB or more of gp3", gp3Baseline),
		Source: apiRef + "AmazonRDS/latest/UserGuide/CHAP_Storage.html#gp3-storage: for RDS for PostgreSQL below 400 GiB gp3 has a fixed 3,000 IOPS and 125 MiB/s baseline"},
	{Type: rdsType, Path: "instanceClass", Check: rules.Matches(`^db\.[a-z0-9-]+\.[a-z0-9]+$`),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html DBInstanceClass (db.<family>.<size>)"},
	{Type: rdsType, Check: rules.Func("a managed master password and no password", passwordExclusive),
		Source: tfaws + "internal/service/rds/instance.go manage_master_user_password: ConflictsWith password"},
	{Type: subnetGroupType, Path: "name", Check: rules.Matches(`^[0-9a-z_ .-]+$`),
		Source: tfaws + "internal/service/rds/validate.go validSubnetGroupName: only lowercase alphanumeric characters, hyphens, underscores, periods, and spaces"},
	{Type: subnetGroupType, Path: "name", Check: rules.Length(1, 255),
		Source: tfaws + "internal/service/rds/validate.go validSubnetGroupName: 255 characters"},
	{Type: subnetGroupType, Path: "name", Check: rules.NotReserved("name RDS reserves", "default"),
		Source: tfaws + "internal/service/rds/validate.go validSubnetGroupName: \"Default\" is not allowed"},
	{Type: subnetGroupType, Path: "description", Check: rules.Length(1, 0),
		Source: apiRef + "AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html DBSubnetGroupDescription: required"},

	// ECS.
	{Type: clusterType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z_-]{1,255}$`),
		Source: apiRef + "AmazonECS/latest/APIReference/API_CreateCluster.html clusterName: up to 255 letters, numbers, underscores, and hyphens"},
	{Type: clusterType, Path: "settings[*].name", Check: rules.OneOf("containerInsights"),
		Source: apiRef + "AmazonECS/latest/APIReference/API_ClusterSetting.html name: containerInsights"},
	{Type: clusterType, Path: "settings[*].value", Check: rules.OneOf("enhanced", "enabled", "disabled"),
		Source: apiRef + "AmazonECS/latest/APIReference/API_ClusterSetting.html value: enhanced | enabled | disabled"},
	{Type: serviceType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z_-]{1,255}$`),
		Source: apiRef + "AmazonECS/latest/APIReference/API_CreateService.html serviceName: up to 255 letters, numbers, underscores, and hyphens"},
	{Type: serviceType, Path: "launchType", Check: rules.OneOf("EC2", "FARGATE", "EXTERNAL"),
		Source: apiRef + "AmazonECS/latest/APIReference/API_CreateService.html launchType"},
	{Type: serviceType, Path: "propagateTags", Check: rules.OneOf("SERVICE", "TASK_DEFINITION", "NONE"),
		Source: apiRef + "AmazonECS/latest/APIReference/API_CreateService.html propagateTags"},
	{Type: serviceType, Check: rules.Func("a health check grace period only with a load balancer", gracePeriodNeedsLoadBalancer),
		Source: apiRef + "AmazonECS/latest/APIReference/API_CreateService.html healthCheckGracePeriodSeconds: only used when the service is configured to use a load balancer (InvalidParameterException otherwise)"},
	{Type: taskDefType, Path: "family", Check: rules.Matches(`^[0-9A-Za-z_-]{1,255}$`),
		Source: tfaws + "internal/service/ecs/task_definition.go family: StringLenBetween(1, 255), ^[0-9A-Za-z_-]+$"},
	{Type: taskDefType, Check: rules.Func("awsvpc networking and a CPU/memory pair Fargate runs", fargateTask),
		Source: apiRef + "AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size (task CPU and memory) and API_TaskDefinition.html networkMode (Fargate requires awsvpc)"},
	{Type: taskDefType, Path: "containerDefinitions", Check: rules.Func("container names of up to 255 letters, numbers, underscores and hyphens", containerNames),
		Source: apiRef + "AmazonECS/latest/APIReference/API_ContainerDefinition.html name: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens"},

	// Elastic Load Balancing v2.
	{Type: lbType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z-]{1,32}$`),
		Source: tfaws + "internal/service/elbv2/validate.go validName: 32 characters, only alphanumeric characters and hyphens"},
	{Type: lbType, Path: "name", Check: rules.NotMatches(`^-|-$`, "begins or ends with a hyphen"),
		Source: tfaws + "internal/service/elbv2/validate.go validName: cannot begin or end with a hyphen"},
	{Type: lbType, Path: "name", Check: rules.NotMatches(`^internal-`, `cannot begin with "internal-"`),
		Source: tfaws + "internal/service/elbv2/validate.go validName: cannot begin with \"internal-\""},
	{Type: lbType, Path: "loadBalancerType", Check: rules.OneOf("application", "network", "gateway"),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html Type"},
	{Type: lbType, Path: "subnets", Check: rules.Func("at least two subnets", atLeastTwo),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html Subnets: [Application Load Balancers] subnets from at least two Availability Zones, one subnet per zone"},
	{Type: targetGroupType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z-]{1,32}$`),
		Source: tfaws + "internal/service/elbv2/validate.go validTargetGroupName: 32 characters, only alphanumeric characters and hyphens"},
	{Type: targetGroupType, Path: "name", Check: rules.NotMatches(`^-|-$`, "begins or ends with a hyphen"),
		Source: tfaws + "internal/service/elbv2/validate.go validTargetGroupName: cannot begin or end with a hyphen"},
	{Type: targetGroupType, Path: "port", Check: rules.Between(1, 65535),
		Source: tfaws + "internal/service/elbv2/target_group.go port: IntBetween(1, 65535)"},
	{Type: targetGroupType, Path: "deregistrationDelay", Check: rules.Between(0, 3600),
		Source: tfaws + "internal/service/elbv2/target_group.go deregistration_delay: between 0 and 3600"},
	{Type: targetGroupType, Path: "healthCheck.interval", Check: rules.Between(5, 300),
		Source: tfaws + "internal/service/elbv2/target_group.go health_check.interval: IntBetween(5, 300)"},
	{Type: targetGroupType, Path: "healthCheck.healthyThreshold", Check: rules.Between(2, 10),
		Source: tfaws + "internal/service/elbv2/target_group.go health_check.healthy_threshold: IntBetween(2, 10)"},
	{Type: targetGroupType, Path: "healthCheck.unhealthyThreshold", Check: rules.Between(2, 10),
		Source: tfaws + "internal/service/elbv2/target_group.go health_check.unhealthy_threshold: IntBetween(2, 10)"},
	{Type: targetGroupType, Path: "healthCheck.path", Check: rules.Matches(`^/`),
		Source: tfaws + "internal/service/elbv2/target_group.go health_check.path: StringHasPrefix(\"/\")"},
	{Type: targetGroupType, Path: "healthCheck.path", Check: rules.Length(1, 1024),
		Source: tfaws + "internal/service/elbv2/target_group.go health_check.path: StringLenBetween(1, 1024)"},
	{Type: targetGroupType, Path: "healthCheck.matcher", Check: rules.Func("HTTP codes 200-499, as a list or range", httpMatcher),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_Matcher.html HttpCode: Application Load Balancers take values from 200 to 499, e.g. \"200,202\" or \"200-299\""},
	{Type: targetGroupType, Path: "targetType", Check: rules.OneOf("instance", "ip", "lambda", "alb"),
		Source: tfaws + "internal/service/elbv2/target_group.go target_type: enum TargetTypeEnum"},
	{Type: listenerType, Path: "port", Check: rules.Between(1, 65535),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_CreateListener.html Port: 1-65535"},
	{Type: listenerType, Path: "protocol", Check: rules.OneOf("HTTP", "HTTPS"),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_CreateListener.html Protocol: HTTP or HTTPS for Application Load Balancers"},
	{Type: listenerType, Check: rules.Func("a certificate and a TLS policy on HTTPS listeners", httpsHasCertificate),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_CreateListener.html Certificates and SslPolicy: required for HTTPS listeners"},
	{Type: listenerType, Path: "certificateArn", Check: rules.Matches(`^arn:[\w-]+:(acm|iam):[\w-]*:\d{12}:`),
		Source: tfaws + "internal/verify/validate.go ValidARN (an ACM or IAM server certificate ARN)"},
	{Type: listenerType, Path: "defaultActions[*].type", Check: rules.OneOf("forward", "redirect", "fixed-response", "authenticate-cognito", "authenticate-oidc"),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_Action.html Type"},
	{Type: listenerType, Path: "defaultActions[*].redirect.statusCode", Check: rules.OneOf("HTTP_301", "HTTP_302"),
		Source: apiRef + "elasticloadbalancing/latest/APIReference/API_RedirectActionConfig.html StatusCode"},

	// Application Auto Scaling.
	{Type: scalingTargetType, Check: rules.Func("minimum capacity at most the maximum", minAtMostMax),
		Source: apiRef + "autoscaling/application/APIReference/API_RegisterScalableTarget.html MinCapacity/MaxCapacity"},
	{Type: scalingTargetType, Path: "scalableDimension", Check: rules.OneOf("ecs:service:DesiredCount"),
		Source: apiRef + "autoscaling/application/APIReference/API_RegisterScalableTarget.html ScalableDimension (ECS)"},
	{Type: scalingPolicyType, Path: "policyType", Check: rules.OneOf("StepScaling", "TargetTrackingScaling", "PredictiveScaling"),
		Source: apiRef + "autoscaling/application/APIReference/API_PutScalingPolicy.html PolicyType"},

	// SQS and SNS.
	{Type: queueType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z_-]{1,80}$`),
		Source: tfaws + "internal/service/sqs/queue.go resourceQueueCustomizeDiff: ^[0-9A-Za-z_-]{1,80}$"},
	{Type: queueType, Path: "messageRetentionSeconds", Check: rules.Between(60, 1209600),
		Source: tfaws + "internal/service/sqs/queue.go message_retention_seconds: IntBetween(60, 1_209_600)"},
	{Type: queueType, Path: "visibilityTimeoutSeconds", Check: rules.Between(0, 43200),
		Source: tfaws + "internal/service/sqs/queue.go visibility_timeout_seconds: IntBetween(0, 43_200)"},
	{Type: queueType, Path: "redrivePolicy", Check: rules.Func("a redrive policy with maxReceiveCount 1-1000", maxReceiveCount),
		Source: apiRef + "AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html RedrivePolicy maxReceiveCount"},
	{Type: topicType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z_-]{1,256}$`),
		Source: tfaws + "internal/service/sns/topic.go resourceTopicCustomizeDiff: ^[0-9A-Za-z_-]{1,256}$"},
	{Type: subscriptionType, Path: "filterPolicyScope", Check: rules.OneOf("MessageAttributes", "MessageBody"),
		Source: apiRef + "sns/latest/api/API_SetSubscriptionAttributes.html FilterPolicyScope"},
	{Type: subscriptionType, Check: rules.Func("raw message delivery only to SQS, HTTP(S) and Firehose", rawDeliveryProtocol),
		Source: apiRef + "sns/latest/dg/sns-large-payload-raw-message-delivery.html: raw message delivery is for Amazon SQS, HTTP/S and Firehose endpoints"},

	// IAM.
	{Type: roleType, Path: "name", Check: rules.Matches(`^[\w+=,.@-]{1,64}$`),
		Source: tfaws + "internal/service/iam/role.go name: validResourceName(roleNameMaxLen = 64), ^[\\w+=,.@-]*$"},
	{Type: roleType, Path: "assumeRolePolicy", Check: rules.Length(1, 2048),
		Source: apiRef + "IAM/latest/UserGuide/reference_iam-quotas.html role trust policy length: 2,048 characters"},
	{Type: rolePolicyType, Path: "policy", Check: rules.Length(1, 10240),
		Source: apiRef + "IAM/latest/UserGuide/reference_iam-quotas.html role inline policies: 10,240 characters in total"},

	// CloudWatch Logs.
	{Type: logGroupType, Path: "name", Check: rules.Matches(`^[0-9A-Za-z_./#-]{1,512}$`),
		Source: tfaws + "internal/service/logs/validate.go validLogGroupName: 512 characters of ^[0-9A-Za-z_./#-]+$"},
	{Type: logGroupType, Path: "retentionInDays", Check: rules.Func("a retention CloudWatch Logs offers", logRetention),
		Source: tfaws + "internal/service/logs/group.go retention_in_days: IntInSlice (" + apiRef + "AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)"},
}, tagRules(sgType, rdsType, subnetGroupType, clusterType, serviceType, taskDefType, lbType, targetGroupType,
	listenerType, scalingTargetType, queueType, topicType, roleType, logGroupType))

// The resource types the adapter registers.
const (
	sgType            = "aws:ec2/securityGroup:SecurityGroup"
	sgRuleType        = "aws:ec2/securityGroupRule:SecurityGroupRule"
	rdsType           = "aws:rds/instance:Instance"
	subnetGroupType   = "aws:rds/subnetGroup:SubnetGroup"
	clusterType       = "aws:ecs/cluster:Cluster"
	serviceType       = "aws:ecs/service:Service"
	taskDefType       = "aws:ecs/taskDefinition:TaskDefinition"
	lbType            = "aws:lb/loadBalancer:LoadBalancer"
	targetGroupType   = "aws:lb/targetGroup:TargetGroup"
	listenerType      = "aws:lb/listener:Listener"
	scalingTargetType = "aws:appautoscaling/target:Target"
	scalingPolicyType = "aws:appautoscaling/policy:Policy"
	queueType         = "aws:sqs/queue:Queue"
	topicType         = "aws:sns/topic:Topic"
	subscriptionType  = "aws:sns/topicSubscription:TopicSubscription"
	roleType          = "aws:iam/role:Role"
	rolePolicyType    = "aws:iam/rolePolicy:RolePolicy"
	logGroupType      = "aws:cloudwatch/logGroup:LogGroup"
)

// tagRules are AWS's tag restrictions, the same on every taggable type.
func tagRules(types ...string) []rules.Rule {
	const source = apiRef + "tag-editor/latest/userguide/tagging.html (tag naming limits and requirements)"
	var out []rules.Rule
	for _, typ := range types {
		out = append(out,
			rules.Rule{Type: typ, Path: "tags{keys}", Check: rules.Length(1, 128), Source: source + ": keys 1-128 characters"},
			rules.Rule{Type: typ, Path: "tags{keys}", Check: rules.Matches(tagChars), Source: source + ": letters, spaces, numbers and _.:/=+-@"},
			rules.Rule{Type: typ, Path: "tags{keys}", Check: rules.NotMatches(`^(?i)aws:`, `begins with "aws:", which AWS reserves`), Source: source + ": the aws: prefix is reserved"},
			rules.Rule{Type: typ, Path: "tags{}", Check: rules.Length(0, 256), Source: source + ": values 0-256 characters"},
			rules.Rule{Type: typ, Path: "tags{}", Check: rules.Matches(tagChars), Source: source + ": letters, spaces, numbers and _.:/=+-@"},
			rules.Rule{Type: typ, Path: "tags{}", Check: rules.NotMatches(`^(?i)aws:`, `begins with "aws:", which AWS reserves`), Source: source + ": the aws: prefix is reserved in values too"},
		)
	}
	return out
}

func withPath(typ, path string, r rules.Rule) rules.Rule {
	r.Type, r.Path = typ, path
	return r
}

func finalSnapshotNamed(v resource.PropertyValue) string {
	if skip, ok := rules.Lookup(v, "skipFinalSnapshot"); ok && skip.IsBool() && skip.BoolValue() {
		return ""
	}
	if !rules.Present(v, "finalSnapshotIdentifier") {
		return "keeps a final snapshot (skipFinalSnapshot is not true) but names none"
	}
	return ""
}

// storageRange is AllocatedStorage's range per storage type for RDS for PostgreSQL.
var storageRange = map[string][2]int{
	"gp2": {20, 65536}, "gp3": {20, 65536}, "io1": {100, 65536}, "io2": {100, 65536}, "standard": {5, 3072},
}

func storageInRange(v resource.PropertyValue) string {
	gib, ok := rules.Int(v, "allocatedStorage")
	if !ok {
		return ""
	}
	typ, ok := rules.String(v, "storageType")
	if !ok {
		typ = "gp2" // the API's default
	}
	r, known := storageRange[typ]
	if !known {
		return ""
	}
	if gib < r[0] || gib > r[1] {
		return fmt.Sprintf("allocatedStorage %d GiB is outside %s's %d-%d GiB", gib, typ, r[0], r[1])
	}
	return ""
}

func gp3Baseline(v resource.PropertyValue) string {
	typ, _ := rules.String(v, "storageType")
	gib, ok := rules.Int(v, "allocatedStorage")
	if typ != "gp3" || !ok || gib >= 400 {
		return ""
	}
	for _, k := range []string{"iops", "storageThroughput"} {
		if _, set := rules.Lookup(v, k); set {
			return fmt.Sprintf("sets %s on %d GiB of gp3; below 400 GiB the baseline is fixed", k, gib)
		}
	}
	return ""
}

func passwordExclusive(v resource.PropertyValue) string {
	managed, _ := rules.Lookup(v, "manageMasterUserPassword")
	if rules.Present(v, "password") && managed.IsBool() && managed.BoolValue() {
		return "sets both manageMasterUserPassword and password"
	}
	return ""
}

func gracePeriodNeedsLoadBalancer(v resource.PropertyValue) string {
	if !rules.Present(v, "healthCheckGracePeriodSeconds") {
		return ""
	}
	if lbs, ok := rules.Lookup(v, "loadBalancers"); ok && lbs.IsArray() && len(lbs.ArrayValue()) > 0 {
		return ""
	}
	if _, known := rules.Lookup(v, "loadBalancers"); !known && rules.Present(v, "loadBalancers") {
		return "" // unknown in preview
	}
	return "sets healthCheckGracePeriodSeconds without a load balancer"
}

// fargateMemoryMiB is AWS's table of Fargate task sizes: CPU units to the
// memory (MiB) each allows. It is AWS's fact, kept apart from the adapter's
// own mapping (sizes.go) so that the rule can catch a mistake there.
var fargateMemoryMiB = map[int]func(mem int) bool{
	256:   func(m int) bool { return m == 512 || m == 1024 || m == 2048 },
	512:   func(m int) bool { return m >= 1024 && m <= 4096 && m%1024 == 0 },
	1024:  func(m int) bool { return m >= 2048 && m <= 8192 && m%1024 == 0 },
	2048:  func(m int) bool { return m >= 4096 && m <= 16384 && m%1024 == 0 },
	4096:  func(m int) bool { return m >= 8192 && m <= 30720 && m%1024 == 0 },
	8192:  func(m int) bool { return m >= 16384 && m <= 61440 && m%4096 == 0 },
	16384: func(m int) bool { return m >= 32768 && m <= 122880 && m%8192 == 0 },
}

func fargateTask(v resource.PropertyValue) string {
	compat, ok := rules.Lookup(v, "requiresCompatibilities")
	if !ok || !compat.IsArray() || !slices.ContainsFunc(compat.ArrayValue(), func(e resource.PropertyValue) bool {
		return e.IsString() && e.StringValue() == "FARGATE"
	}) {
		return ""
	}
	if mode, ok := rules.String(v, "networkMode"); ok && mode != "awsvpc" {
		return fmt.Sprintf("networkMode %q: Fargate requires awsvpc", mode)
	}
	cpu, okCPU := rules.Int(v, "cpu")
	mem, okMem := rules.Int(v, "memory")
	if !okCPU || !okMem {
		return ""
	}
	allowed, ok := fargateMemoryMiB[cpu]
	if !ok {
		return fmt.Sprintf("cpu %d is not a Fargate task size", cpu)
	}
	if !allowed(mem) {
		return fmt.Sprintf("memory %d MiB is not a Fargate size for %d CPU units", mem, cpu)
	}
	return ""
}

var containerName = regexp.MustCompile(`^[0-9A-Za-z_-]{1,255}$`)

func containerNames(v resource.PropertyValue) string {
	if !v.IsString() {
		return ""
	}
	var defs []struct{ Name string }
	if err := json.Unmarshal([]byte(v.StringValue()), &defs); err != nil {
		return "is not a JSON list of container definitions: " + err.Error()
	}
	for _, d := range defs {
		if !containerName.MatchString(d.Name) {
			return fmt.Sprintf("container name %q does not match %s", d.Name, containerName)
		}
	}
	return ""
}

func atLeastTwo(v resource.PropertyValue) string {
	if !v.IsArray() {
		return ""
	}
	if n := len(v.ArrayValue()); n < 2 {
		return fmt.Sprintf("lists %d subnet(s)", n)
	}
	return ""
}

var httpCodes = regexp.MustCompile(`^[2-4]\d\d(-[2-4]\d\d)?(,[2-4]\d\d(-[2-4]\d\d)?)*$`)

func httpMatcher(v resource.PropertyValue) string {
	if !v.IsString() {
		return "is a " + v.TypeString() + ", want a string"
	}
	if !httpCodes.MatchString(v.StringValue()) {
		return fmt.Sprintf("%q is not HTTP codes 200-499 (\"200\", \"200,202\", \"200-299\")", v.StringValue())
	}
	return ""
}

func httpsHasCertificate(v resource.PropertyValue) string {
	if proto, _ := rules.String(v, "protocol"); proto != "HTTPS" {
		return ""
	}
	for _, k := range []string{"certificateArn", "sslPolicy"} {
		if !rules.Present(v, k) {
			return "an HTTPS listener without " + k
		}
	}
	return ""
}

func minAtMostMax(v resource.PropertyValue) string {
	lo, okLo := rules.Int(v, "minCapacity")
	hi, okHi := rules.Int(v, "maxCapacity")
	if okLo && okHi && lo > hi {
		return fmt.Sprintf("minCapacity %d exceeds maxCapacity %d", lo, hi)
	}
	return ""
}

func maxReceiveCount(v resource.PropertyValue) string {
	if !v.IsString() {
		return ""
	}
	var p struct {
		MaxReceiveCount *int `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(v.StringValue()), &p); err != nil {
		return "is not JSON: " + err.Error()
	}
	if p.MaxReceiveCount == nil || *p.MaxReceiveCount < 1 || *p.MaxReceiveCount > 1000 {
		return "maxReceiveCount is missing or outside 1-1000"
	}
	return ""
}

func rawDeliveryProtocol(v resource.PropertyValue) string {
	raw, ok := rules.Lookup(v, "rawMessageDelivery")
	if !ok || !raw.IsBool() || !raw.BoolValue() {
		return ""
	}
	if proto, ok := rules.String(v, "protocol"); ok && !slices.Contains([]string{"sqs", "http", "https", "firehose"}, proto) {
		return fmt.Sprintf("raw message delivery to protocol %q", proto)
	}
	return ""
}

// cloudWatchRetentionDays are the retentions CloudWatch Logs accepts.
var cloudWatchRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func logRetention(v resource.PropertyValue) string {
	if !v.IsNumber() {
		return "is a " + v.TypeString() + ", want a number"
	}
	if n := int(v.NumberValue()); !slices.Contains(cloudWatchRetentionDays, n) && n != 0 {
		return fmt.Sprintf("%d days is not one of %v (or 0, never expire)", n, cloudWatchRetentionDays)
	}
	return ""
}
