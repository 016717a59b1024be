package pricing

import (
	"fmt"
	"strconv"
	"strings"
)

// AWS pricing: every type the AWS adapter (providers/aws) registers. SKU
// keys name what the bulk offer files sell (refresh_aws.go maps each back to
// its offer-file product):
//
//	rds:<instance class>:<engine>:<single-az|multi-az>   instance hours
//	rds-storage:<gp3|gp2>:<single-az|multi-az>           GB-months
//	rds-backup-storage                                    GB-months beyond the free allocation
//	secretsmanager:secret-month                           one secret a month
//	fargate:linux-<x86|arm>:<vcpu-hour|gb-hour>           Fargate task size by the hour
//	alb:hour, alb:lcu-hour                                Application Load Balancer
//	vpc:public-ipv4-hour                                  one public IPv4 address an hour
//	egress:internet-gb                                    data out to the internet (first paid tier)
//	logs:ingested-gb, logs:stored-gb-month, logs:insights-scanned-gb
//	cloudwatch:metric-month, cloudwatch:alarm-month
//	sqs:standard-requests, sqs:fifo-requests              per 1M requests (first paid tier)
//	sns:publishes, sns:http-deliveries                    per 1M (first paid tier)
var awsPrices = priceTable{
	TypePrefix: "aws:",
	Types:      awsTypes,
	PriceList:  &PriceList{URL: "https://pricing.us-east-1.amazonaws.com", Refresh: RefreshAWS},
}

// awsFreeTierNote is said wherever AWS's always-free allowance applies: it is
// per account, so an estimate per resource cannot subtract it.
const awsFreeTierNote = "not subtracted: the free tier is per account, not per resource"

var awsTypes = map[string]TypeInfo{
	// Priced by size.
	"aws:rds/instance:Instance": {
		Kind:  Sized,
		Price: priceAWSDBInstance,
		UsageKeys: map[string]string{
			"backup_storage_gb": "backup storage beyond the free allocation (which equals the provisioned storage), GB",
		},
		Note: "Multi-AZ uses AWS's Multi-AZ instance and storage prices (twice Single-AZ); " +
			"Secrets Manager API calls for the managed password are not included",
	},
	"aws:ecs/taskDefinition:TaskDefinition": {
		Kind:  Sized,
		Price: priceAWSFargateTask,
		UsageKeys: map[string]string{
			"tasks": "average number of tasks running from this task definition (default 1)",
		},
		Note: "Fargate vCPU and memory are priced here, on the task definition, as tasks running all month: " +
			"one task unless the usage file sets tasks (a service's inputs name its task definition by ARN only, " +
			"so its desiredCount and autoscaling cannot reach this price)",
	},
	"aws:ecs/service:Service": {
		Kind:  Sized,
		Price: priceAWSECSService,
		Note: "the service's Fargate vCPU and memory are priced on its task definition (one task unless the usage file " +
			"sets tasks there); the service is charged here only for its tasks' public IPv4 addresses",
	},
	"aws:lb/loadBalancer:LoadBalancer": {
		Kind:  Sized,
		Price: priceAWSLoadBalancer,
		UsageKeys: map[string]string{
			"lcu_hours":         "load balancer capacity units used a month, LCU-hours (average LCUs × 730)",
			"monthly_egress_gb": "data sent to the internet a month, GB",
		},
		Note: "data transfer out uses the first paid tier (up to 10 TB); the first 100 GB a month are free, " + awsFreeTierNote,
	},
	"aws:appautoscaling/policy:Policy": {
		Kind:  Sized,
		Price: priceAWSScalingPolicy,
		Note:  "a target-tracking policy creates two CloudWatch alarms (scale out and in), charged as standard alarms",
	},

	// Pay per use.
	"aws:cloudwatch/logGroup:LogGroup": {
		Kind:  UsageOnly,
		Price: priceAWSLogGroup,
		UsageKeys: map[string]string{
			"monthly_data_ingested_gb": "log data ingested a month, GB",
			"storage_gb":               "log data stored (compressed), GB",
			"monthly_data_scanned_gb":  "data scanned by Logs Insights queries a month, GB",
		},
		Note: "5 GB a month of ingestion, storage and scanned data are free, " + awsFreeTierNote,
	},
	"aws:ecs/cluster:Cluster": {
		Kind:  UsageOnly,
		Price: priceAWSECSCluster,
		UsageKeys: map[string]string{
			"container_insights_metrics":     "Container Insights metrics (charged as custom metrics)",
			"container_insights_ingested_gb": "Container Insights performance log events ingested a month, GB",
		},
		Note: "an ECS cluster has no charge of its own on Fargate; Container Insights, when enabled, is charged as " +
			"CloudWatch custom metrics (first 10,000 tier) and log ingestion",
	},
	"aws:sqs/queue:Queue": {
		Kind:  UsageOnly,
		Price: priceAWSQueue,
		UsageKeys: map[string]string{
			"monthly_requests": "SQS requests a month (each 64 KB chunk of a payload is one request)",
		},
		Note: "the first 1M requests a month are free, " + awsFreeTierNote + "; priced at the first paid tier (up to 100B requests)",
	},
	"aws:sns/topic:Topic": {
		Kind:  UsageOnly,
		Price: priceAWSTopic,
		UsageKeys: map[string]string{
			"monthly_requests": "publishes a month (each 64 KB chunk of a payload is one request)",
		},
		Note: "the first 1M publishes a month are free, " + awsFreeTierNote + "; deliveries to SQS and Lambda are free; " +
			"KMS requests for the AWS-managed SNS key are not included",
	},
	"aws:sns/topicSubscription:TopicSubscription": {
		Kind:  UsageOnly,
		Price: priceAWSTopicSubscription,
		UsageKeys: map[string]string{
			"monthly_deliveries": "HTTP(S) notifications delivered a month (SQS and Lambda deliveries are free)",
		},
		Note: "deliveries to SQS queues and Lambda functions are free; the SQS requests they make are priced on the queue",
	},

	// No charge of their own.
	"aws:iam/role:Role":                                 {Kind: Free, Note: "IAM has no charge"},
	"aws:iam/rolePolicy:RolePolicy":                     {Kind: Free, Note: "IAM has no charge"},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {Kind: Free, Note: "IAM has no charge"},
	"aws:ec2/securityGroup:SecurityGroup":               {Kind: Free, Note: "security groups have no charge"},
	"aws:ec2/securityGroupRule:SecurityGroupRule":       {Kind: Free, Note: "security group rules have no charge"},
	"aws:rds/subnetGroup:SubnetGroup":                   {Kind: Free, Note: "DB subnet groups have no charge"},
	"aws:lb/targetGroup:TargetGroup":                    {Kind: Free, Note: "target groups have no charge: traffic is priced as the load balancer's LCUs"},
	"aws:lb/listener:Listener":                          {Kind: Free, Note: "listeners have no charge (public ACM certificates are free); traffic is priced as the load balancer's LCUs"},
	"aws:sqs/queuePolicy:QueuePolicy":                   {Kind: Free, Note: "queue policies have no charge"},
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy":     {Kind: Free, Note: "redrive allow policies have no charge"},
	"aws:appautoscaling/target:Target":                  {Kind: Free, Note: "Application Auto Scaling has no charge; tasks it runs above the service's desiredCount are not in the estimate (set the task definition's tasks usage to the expected average)"},
}

// awsRDSEngines maps a Pulumi RDS engine to its SKU key part.
var awsRDSEngines = map[string]string{"postgres": "postgresql", "mysql": "mysql", "mariadb": "mariadb"}

// awsDeployment is the SKU key part of a Single-AZ or Multi-AZ deployment.
func awsDeployment(multiAZ bool) (key, label string) {
	if multiAZ {
		return "multi-az", "Multi-AZ"
	}
	return "single-az", "Single-AZ"
}

// priceAWSDBInstance: instance hours, storage, backup storage beyond the
// free allocation (usage), and the Secrets Manager secret of a managed
// master password.
func priceAWSDBInstance(ctx *Context, r Resource) ([]Component, error) {
	class := Str(r.Inputs, "instanceClass")
	if class == "" {
		return nil, fmt.Errorf("instanceClass is unknown: an RDS instance is priced by its class")
	}
	engine, ok := awsRDSEngines[Str(r.Inputs, "engine")]
	if !ok {
		return nil, fmt.Errorf("RDS engine %q is not priced (priced: postgres, mysql, mariadb)", Str(r.Inputs, "engine"))
	}
	storageGB := Num(r.Inputs, "allocatedStorage")
	if storageGB <= 0 {
		return nil, fmt.Errorf("allocatedStorage is unknown: RDS storage is priced by its size")
	}
	storageType := Str(r.Inputs, "storageType")
	if storageType == "" {
		storageType = "gp2" // the provider's default without iops
	}
	az, azLabel := awsDeployment(Bool(r.Inputs, "multiAz"))

	var out []Component
	add := func(c Component, err error) error {
		if err == nil {
			out = append(out, c)
		}
		return err
	}
	if err := add(ctx.Hourly(fmt.Sprintf("Database instance (on-demand, %s, %s)", azLabel, class),
		"rds:"+class+":"+engine+":"+az, 1)); err != nil {
		return nil, err
	}
	if err := add(ctx.Unit(fmt.Sprintf("Storage (%s, %s)", storageType, azLabel),
		"rds-storage:"+storageType+":"+az, storageGB)); err != nil {
		return nil, err
	}
	if err := add(ctx.Usage("Backup storage (beyond the free allocation)", "rds-backup-storage", "backup_storage_gb", 1)); err != nil {
		return nil, err
	}
	if Bool(r.Inputs, "manageMasterUserPassword") {
		if err := add(ctx.Unit("Secrets Manager secret (RDS-managed master password)", "secretsmanager:secret-month", 1)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// priceAWSFargateTask: vCPU and memory of tasks of a Fargate task definition
// running all month (one task, or the usage file's tasks).
func priceAWSFargateTask(ctx *Context, r Resource) ([]Component, error) {
	if !awsFargateCompatible(r.Inputs) {
		return nil, fmt.Errorf("only Fargate task definitions are priced (requiresCompatibilities has no FARGATE)")
	}
	if family := Str(r.Inputs, "runtimePlatform.operatingSystemFamily"); family != "" && family != "LINUX" {
		return nil, fmt.Errorf("operating system %s on Fargate is not priced (priced: LINUX)", family)
	}
	arch := "x86"
	switch a := Str(r.Inputs, "runtimePlatform.cpuArchitecture"); a {
	case "", "X86_64":
	case "ARM64":
		arch = "arm"
	default:
		return nil, fmt.Errorf("CPU architecture %q on Fargate is not priced (priced: X86_64, ARM64)", a)
	}
	cpuUnits, err := awsNumberInput(r.Inputs, "cpu")
	if err != nil {
		return nil, err
	}
	memMiB, err := awsNumberInput(r.Inputs, "memory")
	if err != nil {
		return nil, err
	}
	vcpu, memGB := cpuUnits/1024, memMiB/1024

	tasks, fromUsage := 1.0, false
	probe, err := ctx.Usage("", "fargate:linux-"+arch+":vcpu-hour", "tasks", 1)
	if err != nil {
		return nil, err
	}
	if probe.MonthlyQuantity != nil {
		tasks, fromUsage = *probe.MonthlyQuantity, true
	}
	count := "1 task, always on"
	if fromUsage {
		count = fmt.Sprintf("%s tasks from usage", awsFormat(tasks))
	}
	cpuComp, err := ctx.Unit(fmt.Sprintf("Fargate vCPU (%s vCPU, %s)", awsFormat(vcpu), count),
		"fargate:linux-"+arch+":vcpu-hour", HoursPerMonth*vcpu*tasks)
	if err != nil {
		return nil, err
	}
	memComp, err := ctx.Unit(fmt.Sprintf("Fargate memory (%s GB, %s)", awsFormat(memGB), count),
		"fargate:linux-"+arch+":gb-hour", HoursPerMonth*memGB*tasks)
	if err != nil {
		return nil, err
	}
	return []Component{cpuComp, memComp}, nil
}

func awsFargateCompatible(in map[string]any) bool {
	list, _ := get(in, "requiresCompatibilities").([]any)
	for _, v := range list {
		if v == "FARGATE" {
			return true
		}
	}
	return false
}

// awsNumberInput reads a number given as a number or a string ("256").
func awsNumberInput(in map[string]any, key string) (float64, error) {
	if s := Str(in, key); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return 0, fmt.Errorf("%s %q is not a positive number", key, s)
		}
		return f, nil
	}
	if f := Num(in, key); f > 0 {
		return f, nil
	}
	return 0, fmt.Errorf("%s is unknown: a Fargate task is priced by its size", key)
}

// priceAWSECSService: the public IPv4 address of each task when the service
// assigns them (desiredCount tasks; autoscaling may run more).
func priceAWSECSService(ctx *Context, r Resource) ([]Component, error) {
	if !Bool(r.Inputs, "networkConfiguration.assignPublicIp") {
		return nil, nil
	}
	desired := Num(r.Inputs, "desiredCount")
	if desired <= 0 {
		return nil, nil
	}
	c, err := ctx.Hourly(fmt.Sprintf("Public IPv4 addresses (%s tasks at desiredCount, the autoscaling minimum)", awsFormat(desired)),
		"vpc:public-ipv4-hour", desired)
	if err != nil {
		return nil, err
	}
	return []Component{c}, nil
}

// priceAWSLoadBalancer: an Application Load Balancer's hours, its public IPv4
// addresses (internet-facing: one per subnet), LCUs and egress (usage).
func priceAWSLoadBalancer(ctx *Context, r Resource) ([]Component, error) {
	if t := Str(r.Inputs, "loadBalancerType"); t != "" && t != "application" {
		return nil, fmt.Errorf("load balancer type %q is not priced (priced: application)", t)
	}
	var out []Component
	hours, err := ctx.Hourly("Application load balancer", "alb:hour", 1)
	if err != nil {
		return nil, err
	}
	out = append(out, hours)
	if !Bool(r.Inputs, "internal") {
		subnets, _ := get(r.Inputs, "subnets").([]any)
		if mappings, _ := get(r.Inputs, "subnetMappings").([]any); len(mappings) > len(subnets) {
			subnets = mappings
		}
		n, name := float64(len(subnets)), fmt.Sprintf("Public IPv4 addresses (one per subnet, %d)", len(subnets))
		if n < 2 {
			n, name = 2, "Public IPv4 addresses (one per subnet, at least 2)"
		}
		ip, err := ctx.Hourly(name, "vpc:public-ipv4-hour", n)
		if err != nil {
			return nil, err
		}
		out = append(out, ip)
	}
	lcu, err := ctx.Usage("Load balancer capacity units", "alb:lcu-hour", "lcu_hours", 1)
	if err != nil {
		return nil, err
	}
	egress, err := ctx.Usage("Data transfer out to the internet", "egress:internet-gb", "monthly_egress_gb", 1)
	if err != nil {
		return nil, err
	}
	return append(out, lcu, egress), nil
}

// priceAWSScalingPolicy: the two alarms a target-tracking policy creates.
func priceAWSScalingPolicy(ctx *Context, r Resource) ([]Component, error) {
	if Str(r.Inputs, "policyType") != "TargetTrackingScaling" {
		return nil, nil // step and predictive policies use alarms the program creates itself
	}
	c, err := ctx.Unit("CloudWatch alarms (2, created by target tracking)", "cloudwatch:alarm-month", 2)
	if err != nil {
		return nil, err
	}
	return []Component{c}, nil
}

// priceAWSLogGroup: ingestion, storage and Logs Insights scans (usage).
func priceAWSLogGroup(ctx *Context, r Resource) ([]Component, error) {
	if class := Str(r.Inputs, "logGroupClass"); class != "" && class != "STANDARD" {
		return nil, fmt.Errorf("log group class %q is not priced (priced: STANDARD)", class)
	}
	return awsUsages(ctx,
		awsUsage{"Data ingested", "logs:ingested-gb", "monthly_data_ingested_gb", 1},
		awsUsage{"Archival storage", "logs:stored-gb-month", "storage_gb", 1},
		awsUsage{"Insights queries data scanned", "logs:insights-scanned-gb", "monthly_data_scanned_gb", 1},
	)
}

// priceAWSECSCluster: Container Insights, when enabled (usage).
func priceAWSECSCluster(ctx *Context, r Resource) ([]Component, error) {
	settings, _ := get(r.Inputs, "settings").([]any)
	for _, s := range settings {
		m, _ := s.(map[string]any)
		if m["name"] != "containerInsights" {
			continue
		}
		switch v, _ := m["value"].(string); v {
		case "disabled":
		case "enabled":
			return awsUsages(ctx,
				awsUsage{"Container Insights metrics", "cloudwatch:metric-month", "container_insights_metrics", 1},
				awsUsage{"Container Insights performance logs ingested", "logs:ingested-gb", "container_insights_ingested_gb", 1},
			)
		default:
			return nil, fmt.Errorf("containerInsights %q is not priced (priced: enabled, disabled)", v)
		}
	}
	return nil, nil
}

// priceAWSQueue: requests per million (usage).
func priceAWSQueue(ctx *Context, r Resource) ([]Component, error) {
	sku, name := "sqs:standard-requests", "Requests (standard queue)"
	if Bool(r.Inputs, "fifoQueue") {
		sku, name = "sqs:fifo-requests", "Requests (FIFO queue)"
	}
	return awsUsages(ctx, awsUsage{name, sku, "monthly_requests", 1e6})
}

// priceAWSTopic: publishes per million (usage).
func priceAWSTopic(ctx *Context, r Resource) ([]Component, error) {
	if Bool(r.Inputs, "fifoTopic") {
		return nil, fmt.Errorf("FIFO SNS topics are not priced (priced: standard topics)")
	}
	return awsUsages(ctx, awsUsage{"Publish requests", "sns:publishes", "monthly_requests", 1e6})
}

// priceAWSTopicSubscription: HTTP(S) deliveries per million (usage); SQS and
// Lambda deliveries are free.
func priceAWSTopicSubscription(ctx *Context, r Resource) ([]Component, error) {
	switch p := strings.ToLower(Str(r.Inputs, "protocol")); p {
	case "sqs", "lambda":
		return nil, nil
	case "http", "https":
		return awsUsages(ctx, awsUsage{"HTTP(S) notifications", "sns:http-deliveries", "monthly_deliveries", 1e6})
	default:
		return nil, fmt.Errorf("SNS subscription protocol %q is not priced (priced: sqs, lambda, http, https)", p)
	}
}

// awsUsage is one usage-priced component: name, SKU, usage key, scale.
type awsUsage struct {
	name, sku, key string
	per            float64
}

func awsUsages(ctx *Context, us ...awsUsage) ([]Component, error) {
	out := make([]Component, 0, len(us))
	for _, u := range us {
		c, err := ctx.Usage(u.name, u.sku, u.key, u.per)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// awsFormat prints a quantity in a component name: 0.25, 2, 1.5.
func awsFormat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
