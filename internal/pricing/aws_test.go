package pricing_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// awsTestCatalog is testdata/aws/catalog: fixed prices, so these tests do
// not move when the embedded catalog is refreshed.
func awsTestCatalog(t *testing.T) *pricing.Catalog {
	t.Helper()
	cat, err := pricing.LoadCatalog("testdata/aws/catalog")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func awsResource(typ, name string, inputs map[string]any) pricing.Resource {
	return pricing.Resource{URN: "urn:pulumi:test::tenantfleet::" + typ + "::" + name, Type: typ, Inputs: inputs}
}

// awsFixed is a component with a known quantity: quantity × price, computed as
// the estimator computes it.
func awsFixed(name, unit, sku string, quantity, price float64) pricing.Component {
	cost := quantity * price
	return pricing.Component{Name: name, Unit: unit, MonthlyQuantity: &quantity, UnitPrice: price, MonthlyCost: &cost, SKU: sku}
}

// awsUsageOf is a usage-priced component: quantity nil (depends on usage)
// unless the usage file gives it.
func awsUsageOf(name, unit, sku, key string, price float64, quantity *float64) pricing.Component {
	c := pricing.Component{Name: name, Unit: unit, UnitPrice: price, SKU: sku, UsageKey: key}
	if quantity != nil {
		q := *quantity
		cost := q * price
		c.MonthlyQuantity, c.MonthlyCost = &q, &cost
	}
	return c
}

func awsPtr(f float64) *float64 { return &f }

func awsFmtFloat(f *float64) string {
	if f == nil {
		return "nil"
	}
	return fmt.Sprint(*f)
}

func awsFmtComponent(c pricing.Component) string {
	return fmt.Sprintf("{%q %q qty=%s price=%v cost=%s sku=%s usage=%s}", c.Name, c.Unit,
		awsFmtFloat(c.MonthlyQuantity), c.UnitPrice, awsFmtFloat(c.MonthlyCost), c.SKU, c.UsageKey)
}

func awsDiffComponents(want, got []pricing.Component) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = awsFmtComponent(want[i])
		}
		if i < len(got) {
			g = awsFmtComponent(got[i])
		}
		if w != g {
			fmt.Fprintf(&b, "\n-want %s\n+got  %s", w, g)
		}
	}
	return b.String()
}

var (
	awsSmallDB = map[string]any{
		"engine": "postgres", "instanceClass": "db.t4g.micro", "multiAz": false,
		"allocatedStorage": 20.0, "storageType": "gp3", "manageMasterUserPassword": true,
	}
	awsLargeDB = map[string]any{
		"engine": "postgres", "instanceClass": "db.r7g.xlarge", "multiAz": true,
		"allocatedStorage": 100.0, "storageType": "gp3", "manageMasterUserPassword": true,
	}
	awsALB = map[string]any{
		"loadBalancerType": "application", "internal": false, "subnets": []any{"subnet-a", "subnet-b", "subnet-c"},
	}
	awsWebTask = map[string]any{
		"cpu": "256", "memory": "512", "requiresCompatibilities": []any{"FARGATE"},
		"runtimePlatform": map[string]any{"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
	}
	awsWebService = map[string]any{
		"launchType": "FARGATE", "desiredCount": 2.0, "networkConfiguration": map[string]any{"assignPublicIp": true},
	}
	awsQueue = map[string]any{"messageRetentionSeconds": 345600.0}
)

func TestAWSPricing(t *testing.T) {
	t.Parallel()

	cat := awsTestCatalog(t)
	withUsage := &pricing.Usage{
		Version: 1,
		Defaults: map[string]map[string]float64{
			"aws:sqs/queue:Queue":                   {"monthly_requests": 3e6},
			"aws:ecs/taskDefinition:TaskDefinition": {"tasks": 3},
		},
		Resources: map[string]map[string]float64{
			"web-lb": {"lcu_hours": 100, "monthly_egress_gb": 50},
			"db":     {"backup_storage_gb": 40},
			// By name: this queue overrides the type's default.
			"busy-queue": {"monthly_requests": 25e6},
		},
	}
	cases := []struct {
		name, reason string
		resource     pricing.Resource
		usage        *pricing.Usage
		kind         pricing.Kind
		want         []pricing.Component
	}{
		{
			name: "small RDS", reason: "Single-AZ instance hours, gp3 storage by allocatedStorage, backups depend on usage, the managed secret",
			resource: awsResource("aws:rds/instance:Instance", "db", awsSmallDB), kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Database instance (on-demand, Single-AZ, db.t4g.micro)", "hours", "rds:db.t4g.micro:postgresql:single-az", 730, 0.016),
				awsFixed("Storage (gp3, Single-AZ)", "GB-months", "rds-storage:gp3:single-az", 20, 0.115),
				awsUsageOf("Backup storage (beyond the free allocation)", "GB-months", "rds-backup-storage", "backup_storage_gb", 0.095, nil),
				awsFixed("Secrets Manager secret (RDS-managed master password)", "secret-months", "secretsmanager:secret-month", 1, 0.4),
			},
		},
		{
			name: "small RDS with usage", reason: "backup storage from the usage file by resource name",
			resource: awsResource("aws:rds/instance:Instance", "db", awsSmallDB), usage: withUsage, kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Database instance (on-demand, Single-AZ, db.t4g.micro)", "hours", "rds:db.t4g.micro:postgresql:single-az", 730, 0.016),
				awsFixed("Storage (gp3, Single-AZ)", "GB-months", "rds-storage:gp3:single-az", 20, 0.115),
				awsUsageOf("Backup storage (beyond the free allocation)", "GB-months", "rds-backup-storage", "backup_storage_gb", 0.095, awsPtr(40)),
				awsFixed("Secrets Manager secret (RDS-managed master password)", "secret-months", "secretsmanager:secret-month", 1, 0.4),
			},
		},
		{
			name: "large Multi-AZ RDS", reason: "Multi-AZ instance and storage prices (AWS's own Multi-AZ SKUs, twice Single-AZ)",
			resource: awsResource("aws:rds/instance:Instance", "big-db", awsLargeDB), kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Database instance (on-demand, Multi-AZ, db.r7g.xlarge)", "hours", "rds:db.r7g.xlarge:postgresql:multi-az", 730, 0.956),
				awsFixed("Storage (gp3, Multi-AZ)", "GB-months", "rds-storage:gp3:multi-az", 100, 0.23),
				awsUsageOf("Backup storage (beyond the free allocation)", "GB-months", "rds-backup-storage", "backup_storage_gb", 0.095, nil),
				awsFixed("Secrets Manager secret (RDS-managed master password)", "secret-months", "secretsmanager:secret-month", 1, 0.4),
			},
		},
		{
			name: "ALB", reason: "hours and one public IPv4 per subnet; LCUs and egress depend on usage",
			resource: awsResource("aws:lb/loadBalancer:LoadBalancer", "web-lb", awsALB), kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Application load balancer", "hours", "alb:hour", 730, 0.0225),
				awsFixed("Public IPv4 addresses (one per subnet, 3)", "hours", "vpc:public-ipv4-hour", 3*730, 0.005),
				awsUsageOf("Load balancer capacity units", "LCU-hours", "alb:lcu-hour", "lcu_hours", 0.008, nil),
				awsUsageOf("Data transfer out to the internet", "GB", "egress:internet-gb", "monthly_egress_gb", 0.09, nil),
			},
		},
		{
			name: "ALB with usage", reason: "LCU-hours and egress from the usage file",
			resource: awsResource("aws:lb/loadBalancer:LoadBalancer", "web-lb", awsALB), usage: withUsage, kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Application load balancer", "hours", "alb:hour", 730, 0.0225),
				awsFixed("Public IPv4 addresses (one per subnet, 3)", "hours", "vpc:public-ipv4-hour", 3*730, 0.005),
				awsUsageOf("Load balancer capacity units", "LCU-hours", "alb:lcu-hour", "lcu_hours", 0.008, awsPtr(100)),
				awsUsageOf("Data transfer out to the internet", "GB", "egress:internet-gb", "monthly_egress_gb", 0.09, awsPtr(50)),
			},
		},
		{
			name: "Fargate task", reason: "one always-on task: 0.25 vCPU and 0.5 GB for 730 h",
			resource: awsResource("aws:ecs/taskDefinition:TaskDefinition", "web-task", awsWebTask), kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Fargate vCPU (0.25 vCPU, 1 task, always on)", "vCPU-hours", "fargate:linux-x86:vcpu-hour", 730*0.25, 0.04048),
				awsFixed("Fargate memory (0.5 GB, 1 task, always on)", "GB-hours", "fargate:linux-x86:gb-hour", 730*0.5, 0.004445),
			},
		},
		{
			name: "Fargate task with usage", reason: "the usage file's tasks multiplies the task size",
			resource: awsResource("aws:ecs/taskDefinition:TaskDefinition", "web-task", awsWebTask), usage: withUsage, kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Fargate vCPU (0.25 vCPU, 3 tasks from usage)", "vCPU-hours", "fargate:linux-x86:vcpu-hour", 730*0.25*3, 0.04048),
				awsFixed("Fargate memory (0.5 GB, 3 tasks from usage)", "GB-hours", "fargate:linux-x86:gb-hour", 730*0.5*3, 0.004445),
			},
		},
		{
			name: "Fargate service", reason: "one public IPv4 per task at desiredCount",
			resource: awsResource("aws:ecs/service:Service", "web-service", awsWebService), kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("Public IPv4 addresses (2 tasks at desiredCount, the autoscaling minimum)", "hours", "vpc:public-ipv4-hour", 2*730, 0.005),
			},
		},
		{
			name: "target-tracking policy", reason: "its two CloudWatch alarms",
			resource: awsResource("aws:appautoscaling/policy:Policy", "web-scaling-cpu", map[string]any{"policyType": "TargetTrackingScaling"}), kind: pricing.Sized,
			want: []pricing.Component{
				awsFixed("CloudWatch alarms (2, created by target tracking)", "alarm-months", "cloudwatch:alarm-month", 2, 0.1),
			},
		},
		{
			name: "SQS queue without usage", reason: "requests depend on usage: nil quantity and cost, never $0",
			resource: awsResource("aws:sqs/queue:Queue", "queue", awsQueue), kind: pricing.UsageOnly,
			want: []pricing.Component{
				awsUsageOf("Requests (standard queue)", "1M requests", "sqs:standard-requests", "monthly_requests", 0.4, nil),
			},
		},
		{
			name: "SQS queue with a type default", reason: "3M requests a month are 3 units of 1M",
			resource: awsResource("aws:sqs/queue:Queue", "queue", awsQueue), usage: withUsage, kind: pricing.UsageOnly,
			want: []pricing.Component{
				awsUsageOf("Requests (standard queue)", "1M requests", "sqs:standard-requests", "monthly_requests", 0.4, awsPtr(3)),
			},
		},
		{
			name: "SQS queue with a per-resource override", reason: "the resource's name overrides the type default",
			resource: awsResource("aws:sqs/queue:Queue", "busy-queue", awsQueue), usage: withUsage, kind: pricing.UsageOnly,
			want: []pricing.Component{
				awsUsageOf("Requests (standard queue)", "1M requests", "sqs:standard-requests", "monthly_requests", 0.4, awsPtr(25)),
			},
		},
		{
			name: "SNS subscription to SQS", reason: "deliveries to SQS are free: no component",
			resource: awsResource("aws:sns/topicSubscription:TopicSubscription", "sub", map[string]any{"protocol": "sqs"}), kind: pricing.UsageOnly,
		},
		{
			name: "IAM role", reason: "free with a note",
			resource: awsResource("aws:iam/role:Role", "role", map[string]any{}), kind: pricing.Free,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			est, err := pricing.NewEstimator(cat, map[string]string{"aws": "us-east-1"}, tc.usage)
			if err != nil {
				t.Fatal(err)
			}
			got, err := est.Price(tc.resource)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if got.Kind != tc.kind {
				t.Errorf("%s: kind: -want %s +got %s", tc.reason, tc.kind, got.Kind)
			}
			if d := awsDiffComponents(tc.want, got.Components); d != "" {
				t.Errorf("%s: components (-want +got):%s", tc.reason, d)
			}
			if (got.Kind == pricing.Free || len(got.Components) == 0) && got.Note == "" {
				t.Errorf("%s: a resource with no components must say why in its note", tc.reason)
			}
		})
	}
}

func TestAWSPricingErrors(t *testing.T) {
	t.Parallel()

	cat := awsTestCatalog(t)

	t.Run("unknown region", func(t *testing.T) {
		t.Parallel()

		_, err := pricing.NewEstimator(cat, map[string]string{"aws": "mars-north-1"}, nil)
		if err == nil || !strings.Contains(err.Error(), `"mars-north-1"`) || !strings.Contains(err.Error(), "us-east-1") {
			t.Errorf("got %v, want an error naming mars-north-1 and the catalog's regions", err)
		}
	})

	for _, tc := range []struct {
		name, region, reason string
		resource             pricing.Resource
		want                 []string
	}{
		{
			name: "class not in the catalog", region: "us-east-1", reason: "a missing SKU names the SKU and region",
			resource: awsResource("aws:rds/instance:Instance", "db", map[string]any{
				"engine": "postgres", "instanceClass": "db.m5.large", "allocatedStorage": 20.0, "storageType": "gp3"}),
			want: []string{"rds:db.m5.large:postgresql:single-az", "us-east-1"},
		},
		{
			name: "SKU missing in the region", region: "eu-west-1", reason: "priced in one region is not priced in all",
			resource: awsResource("aws:lb/loadBalancer:LoadBalancer", "web-lb", awsALB),
			want:     []string{"alb:hour", "eu-west-1"},
		},
		{
			name: "unknown Fargate size", region: "us-east-1", reason: "an unknown size is an error, not $0",
			resource: awsResource("aws:ecs/taskDefinition:TaskDefinition", "task", map[string]any{"requiresCompatibilities": []any{"FARGATE"}, "memory": "512"}),
			want:     []string{"cpu is unknown"},
		},
		{
			name: "network load balancer", region: "us-east-1", reason: "a type the pricer does not price says so",
			resource: awsResource("aws:lb/loadBalancer:LoadBalancer", "nlb", map[string]any{"loadBalancerType": "network"}),
			want:     []string{`"network"`, "not priced"},
		},
		{
			name: "unknown type", region: "us-east-1", reason: "an AWS type nobody declared is never silently $0",
			resource: awsResource("aws:ec2/instance:Instance", "vm", map[string]any{}),
			want:     []string{"aws:ec2/instance:Instance", "neither priced nor declared"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			est, err := pricing.NewEstimator(cat, map[string]string{"aws": tc.region}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = est.Price(tc.resource)
			if err == nil {
				t.Fatalf("%s: got no error", tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not contain %q", tc.reason, err, w)
				}
			}
		})
	}

	t.Run("usage key of another type", func(t *testing.T) {
		t.Parallel()

		u := &pricing.Usage{Version: 1, Defaults: map[string]map[string]float64{"aws:sqs/queue:Queue": {"lcu_hours": 1}}}
		_, err := pricing.NewEstimator(cat, map[string]string{"aws": "us-east-1"}, u)
		if err == nil || !strings.Contains(err.Error(), "lcu_hours") || !strings.Contains(err.Error(), "monthly_requests") {
			t.Errorf("got %v, want an error naming lcu_hours and the keys the queue reads", err)
		}
	})
}

// TestAWSEmbeddedCatalog: the embedded catalog prices the regions and says
// where each price comes from.
func TestAWSEmbeddedCatalog(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	regions := cat.Regions("aws")
	for _, want := range []string{"us-east-1", "eu-west-1"} {
		found := false
		for _, r := range regions {
			found = found || r == want
		}
		if !found {
			t.Errorf("the aws catalog has regions %v, want %s", regions, want)
		}
	}
	if _, err := pricing.NewEstimator(cat, map[string]string{"aws": ""}, nil); err != nil {
		t.Errorf("the default region must be in the catalog: %v", err)
	}
	var missing *pricing.MissingPriceError
	est, _ := pricing.NewEstimator(cat, map[string]string{"aws": "eu-west-1"}, nil)
	if _, err := est.Price(awsResource("aws:rds/instance:Instance", "db", awsLargeDB)); errors.As(err, &missing) || err != nil {
		t.Errorf("the large tier in eu-west-1: %v", err)
	}
}
