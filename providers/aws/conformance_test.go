package aws_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsoffline"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// profile states facts about AWS resource types for the conformance suite.
func profile() *conformance.Profile {
	return &conformance.Profile{
		New:     aws.New,
		Outputs: awsoffline.Outputs,
		Invoke:  awsoffline.Invoke,
		Kinds: map[string][]string{
			"database":     {"aws:rds/instance:Instance"},
			"queue":        {"aws:sqs/queue:Queue"},
			"web":          {"aws:lb/loadBalancer:LoadBalancer"},
			"worker":       {"aws:ecs/service:Service"},
			"topic":        {"aws:sns/topic:Topic"},
			"subscription": {"aws:sns/topicSubscription:TopicSubscription"},
		},
		// These AWS types have no tags argument.
		Untaggable: []string{
			"aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
			"aws:sqs/queuePolicy:QueuePolicy", "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
			"aws:sns/topicSubscription:TopicSubscription", "aws:appautoscaling/policy:Policy",
			"aws:ec2/securityGroupRule:SecurityGroupRule",
			// Not an AWS resource: the final snapshot's suffix, kept in state.
			"random:index/randomId:RandomId",
		},
		Tags:     conformance.StringMapInput("tags"),
		NameKeys: []string{"name", "identifier", "family", "finalSnapshotIdentifier"},
		Database: func(_ *conformance.Graph, r conformance.Resource) []string {
			var problems []string
			if !boolInput(r, "storageEncrypted") {
				problems = append(problems, "storageEncrypted is not true")
			}
			if v, ok := r.Inputs["publiclyAccessible"]; !ok || !v.IsBool() || v.BoolValue() {
				problems = append(problems, "publiclyAccessible is not explicitly false")
			}
			if !boolInput(r, "manageMasterUserPassword") {
				problems = append(problems, "the master password is not managed by AWS: it would sit in state")
			}
			if _, ok := r.Inputs["password"]; ok {
				problems = append(problems, "a password input is set")
			}
			if v := r.Inputs["backupRetentionPeriod"]; !v.IsNumber() || v.NumberValue() < 1 {
				problems = append(problems, "automated backups are off")
			}
			return problems
		},
		WorkloadEnv:      taskDefinitionEnv,
		SubscriberAccess: subscriberAccess,
		SupportsFilters:  true,
		Rules:            aws.Rules,
		// The adapter's stack config options: its own VPC and subnets instead
		// of the default VPC's, and HTTPS with an ACM certificate (a second
		// listener and port 443 on the load balancer's security group); tenant
		// ids RDS or PostgreSQL keep as role and database names; a longer
		// stack name with the load balancers' forbidden prefix.
		Variants: []conformance.Variant{
			{Name: "own VPC", Config: awsConfig(ownVPC)},
			{Name: "HTTPS", Config: awsConfig(aws.Config{CertificateARN: testCertificateARN})},
			{Name: "own VPC with HTTPS, stack named internal", Stack: "internal", Config: awsConfig(ownVPCWithHTTPS)},
			{Name: "tenant ids admin and pg-x", Tenants: renameTenants("admin", "pg-x")},           // RDS refuses admin; pg-x would be the role pg_x_<hash>
			{Name: "tenant ids rdsadmin and public", Tenants: renameTenants("rdsadmin", "public")}, // RDS's own role and database; PostgreSQL's public
			{Name: "stack named internal-api", Stack: "internal-api"},
		},
		InvalidTenants: []conformance.InvalidTenant{
			{Reason: "Fargate has no 0.25 vCPU / 768 MiB size", Field: "worker.memoryMiB", Mutate: func(s *components.TenantSpec) {
				s.Worker.CPU, s.Worker.MemoryMiB = 250, 768
			}},
		},
	}
}

const testCertificateARN = "arn:aws:acm:us-east-1:123456789012:certificate/0b6e4f6c-1111-2222-3333-444455556666"

var (
	ownVPC = aws.Config{
		VPCID: "vpc-0own", PublicSubnetIDs: []string{"subnet-0pub1", "subnet-0pub2"},
		PrivateSubnetIDs: []string{"subnet-0priv1", "subnet-0priv2"},
	}
	ownVPCWithHTTPS = func() aws.Config { c := ownVPC; c.CertificateARN = testCertificateARN; return c }()
)

// awsConfig is the stack config tenantfleet:aws holding cfg, as JSON.
func awsConfig(cfg aws.Config) map[string]string {
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return map[string]string{"tenantfleet:aws": string(raw)}
}

// renameTenants gives the scenario's tenants the ids, in order.
func renameTenants(ids ...string) func([]components.TenantSpec) {
	return func(ts []components.TenantSpec) {
		for i, id := range ids {
			ts[i].ID = id
		}
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	g := conformance.Run(t, profile())
	t.Run("golden graph", func(t *testing.T) { conformance.Golden(t, g, ".") })
}

func boolInput(r conformance.Resource, key string) bool {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	return ok && v.IsBool() && v.BoolValue()
}

// taskDefinitionEnv reads the environment of an ECS task definition's container.
func taskDefinitionEnv(r conformance.Resource) []conformance.WorkloadEnv {
	if r.Type != "aws:ecs/taskDefinition:TaskDefinition" {
		return nil
	}
	var defs []struct {
		Environment []struct{ Name, Value string }
		Secrets     []struct{ Name, ValueFrom string }
	}
	if err := json.Unmarshal([]byte(r.Inputs["containerDefinitions"].StringValue()), &defs); err != nil || len(defs) != 1 {
		return nil
	}
	plain := map[string]string{}
	for _, e := range defs[0].Environment {
		plain[e.Name] = e.Value
	}
	var secret []string
	for _, s := range defs[0].Secrets {
		if strings.HasPrefix(s.ValueFrom, "arn:aws:secretsmanager:") {
			secret = append(secret, s.Name)
		}
	}
	return []conformance.WorkloadEnv{{Plain: plain, Secret: secret}}
}

// subscriberAccess checks that the queue and its dead-letter queue accept
// SendMessage from the topic only, and that the topic delivers to the queue.
func subscriberAccess(g *conformance.Graph, topicARN, queueURL, dlqURL string) []string {
	var problems []string
	for _, url := range []string{queueURL, dlqURL} {
		if !hasTopicOnlyPolicy(g, url, topicARN) {
			problems = append(problems, fmt.Sprintf("no queue policy on %s letting only %s send", url, topicARN))
		}
	}
	queueARN := ""
	for _, q := range g.OfType("aws:sqs/queue:Queue") {
		if q.Outputs["url"].StringValue() == queueURL {
			queueARN = q.Outputs["arn"].StringValue()
		}
	}
	delivered := false
	for _, s := range g.OfType("aws:sns/topicSubscription:TopicSubscription") {
		if s.Inputs["topic"].StringValue() == topicARN && s.Inputs["endpoint"].StringValue() == queueARN && s.Inputs["protocol"].StringValue() == "sqs" {
			delivered = true
		}
	}
	if !delivered {
		problems = append(problems, fmt.Sprintf("no SQS subscription of %s delivers to %s", topicARN, queueARN))
	}
	return problems
}

func hasTopicOnlyPolicy(g *conformance.Graph, queueURL, topicARN string) bool {
	for _, p := range g.OfType("aws:sqs/queuePolicy:QueuePolicy") {
		if p.Inputs["queueUrl"].StringValue() != queueURL {
			continue
		}
		var doc struct {
			Statement []struct {
				Effect    string
				Principal map[string]string
				Action    string
				Condition map[string]map[string]string
			}
		}
		if json.Unmarshal([]byte(p.Inputs["policy"].StringValue()), &doc) != nil || len(doc.Statement) == 0 {
			return false
		}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" || s.Principal["Service"] != "sns.amazonaws.com" || s.Condition["ArnEquals"]["aws:SourceArn"] != topicARN {
				return false
			}
		}
		return true
	}
	return false
}
