package aws

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/stackconfig"
)

// Name is the adapter's registry name.
const Name = "aws"

// Config is the stack config object tenantfleet:aws. Every field is optional:
// without VPCID the account's default VPC and its default subnet in each
// Availability Zone are used, and tasks get public IPs so they can reach SQS,
// ECR and Secrets Manager without a NAT gateway (only the load balancer
// accepts inbound traffic either way).
type Config struct {
	// VPCID is the VPC for every tenant's resources.
	VPCID string `json:"vpcId,omitempty"`
	// PublicSubnetIDs hold the load balancers (at least two Availability Zones).
	PublicSubnetIDs []string `json:"publicSubnetIds,omitempty"`
	// PrivateSubnetIDs hold the tasks and databases; they need a route to a NAT
	// gateway or VPC endpoints for SQS, ECR, CloudWatch Logs and Secrets Manager.
	PrivateSubnetIDs []string `json:"privateSubnetIds,omitempty"`
	// CertificateARN, when set, serves the web apps over HTTPS (ACM certificate)
	// and redirects HTTP to HTTPS. Without it web apps are served over plain HTTP.
	CertificateARN string `json:"certificateArn,omitempty"`
}

// Validate checks the config; errors name the tenantfleet:aws field.
func (c Config) Validate() error {
	if c.VPCID == "" {
		if len(c.PublicSubnetIDs)+len(c.PrivateSubnetIDs) > 0 {
			return &components.FieldError{Field: "tenantfleet:aws.vpcId", Value: c.VPCID, Reason: "is required when subnets are given"}
		}
		return nil
	}
	if len(c.PublicSubnetIDs) < 2 {
		return &components.FieldError{Field: "tenantfleet:aws.publicSubnetIds", Value: len(c.PublicSubnetIDs), Reason: "must list at least two subnets in different Availability Zones (an ALB needs two)"}
	}
	if len(c.PrivateSubnetIDs) < 2 {
		return &components.FieldError{Field: "tenantfleet:aws.privateSubnetIds", Value: len(c.PrivateSubnetIDs), Reason: "must list at least two subnets in different Availability Zones (an RDS subnet group needs two)"}
	}
	return nil
}

// Adapter provisions tenantfleet components on AWS.
type Adapter struct {
	cfg Config
	net *network
}

var (
	_ components.Adapter                      = (*Adapter)(nil)
	_ components.FoundationProvisioner        = (*Adapter)(nil)
	_ components.SeparateWorkloadsProvisioner = (*Adapter)(nil)
)

// New reads tenantfleet:aws from the stack config and returns the adapter.
func New(ctx *pulumi.Context) (components.Adapter, error) {
	var cfg Config
	if err := stackconfig.Decode(ctx, "tenantfleet:aws", &cfg); err != nil {
		return nil, err
	}
	return NewWithConfig(cfg)
}

// NewWithConfig returns the adapter for an explicit config.
func NewWithConfig(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg}, nil
}

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// Capabilities implements components.Adapter: a Fargate service per
// workload; no shared database servers (an RDS instance per tenant).
func (*Adapter) Capabilities() components.Capabilities {
	return components.Capabilities{Workloads: components.SeparateWorkloads}
}

// network is where tenant resources live, resolved once per program.
type network struct {
	vpcID          pulumi.StringOutput
	publicSubnets  pulumi.StringArrayOutput
	privateSubnets pulumi.StringArrayOutput
	assignPublicIP bool
	region         pulumi.StringOutput
}

// network resolves the VPC and subnets: the configured ones, or the default
// VPC's through read-only lookups (safe in preview).
func (a *Adapter) network(ctx *pulumi.Context) *network {
	if a.net != nil {
		return a.net
	}
	n := &network{region: aws.GetRegionOutput(ctx, aws.GetRegionOutputArgs{}).Name()}
	if a.cfg.VPCID != "" {
		n.vpcID = pulumi.String(a.cfg.VPCID).ToStringOutput()
		n.publicSubnets = pulumi.ToStringArray(a.cfg.PublicSubnetIDs).ToStringArrayOutput()
		n.privateSubnets = pulumi.ToStringArray(a.cfg.PrivateSubnetIDs).ToStringArrayOutput()
	} else {
		vpc := ec2.LookupVpcOutput(ctx, ec2.LookupVpcOutputArgs{Default: pulumi.Bool(true)})
		// Only the default subnet of each Availability Zone: the default VPC
		// may hold more subnets (added by hand), and a load balancer takes
		// at most one subnet per zone (CreateLoadBalancer refuses two).
		subnets := ec2.GetSubnetsOutput(ctx, ec2.GetSubnetsOutputArgs{
			Filters: ec2.GetSubnetsFilterArray{
				ec2.GetSubnetsFilterArgs{Name: pulumi.String("vpc-id"), Values: pulumi.StringArray{vpc.Id()}},
				ec2.GetSubnetsFilterArgs{Name: pulumi.String("default-for-az"), Values: pulumi.StringArray{pulumi.String("true")}},
			},
		})
		n.vpcID = vpc.Id()
		n.publicSubnets = subnets.Ids()
		n.privateSubnets = subnets.Ids()
		n.assignPublicIP = true
	}
	a.net = n
	return n
}

// childOptions are the options of every resource the adapter registers: the
// component as parent and nothing from the caller. Physical names are fixed
// (see physical), so a replacement cannot create the new resource first —
// its name is taken — and must delete first.
func childOptions(parent pulumi.Resource) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true)}
}

// tags shapes the scope's tags to AWS rules.
func tags(s components.Scope) pulumi.StringMap {
	return pulumi.ToStringMap(naming.AWSTags(s.Tags()))
}

// physical is an account-unique name for a resource of the scope.
func physical(r naming.Rule, s components.Scope, parts ...string) pulumi.String {
	return pulumi.String(r.Unique(append([]string{s.Stack, s.Tenant}, parts...)...))
}

// jsonString marshals v inside an Apply; v is built from resolved values.
func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
