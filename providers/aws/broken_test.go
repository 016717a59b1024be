package aws_test

import (
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// Each broken adapter is the AWS adapter with one rule broken; the suite
// must report exactly that rule. This is what shows the suite can fail.

type dropsTag struct{ *aws.Adapter }

func (b dropsTag) Topic(ctx *pulumi.Context, name string, _ components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	t, err := sns.NewTopic(ctx, name, &sns.TopicArgs{}, pulumi.Parent(parent))
	if err != nil {
		return nil, err
	}
	return &components.Topic{ID: t.Arn, Native: map[string]pulumi.Resource{"topic": t}}, nil
}

type skipsParent struct{ *aws.Adapter }

func (b skipsParent) Queue(ctx *pulumi.Context, name string, in components.QueueInput, _ pulumi.Resource) (*components.Queue, error) {
	return b.Adapter.Queue(ctx, name, in, nil)
}

// leaksSecret registers a password-like input as plaintext. (The typed SDK
// marks schema-secret fields itself, so the leak is modelled with a raw
// registration, as an adapter building untyped properties would.)
type leaksSecret struct{ *aws.Adapter }

func (b leaksSecret) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	var leaked pulumi.CustomResourceState
	if err := ctx.RegisterResource("aws:docdb/cluster:Cluster", name+"-leak", pulumi.Map{
		"masterPassword": pulumi.String("hunter2"),
		"tags":           pulumi.ToStringMap(in.Scope.Tags()),
	}, &leaked, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return b.Adapter.Database(ctx, name, in, parent)
}

type collidingNames struct{ *aws.Adapter }

func (b collidingNames) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	in.Scope.Tenant, in.Owner = "same", "same"
	return b.Adapter.Queue(ctx, name, in, parent)
}

type mistagsTenant struct{ *aws.Adapter }

func (b mistagsTenant) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	in.Scope.Tenant += "-other"
	return b.Adapter.Database(ctx, name, in, parent)
}

type collidingURNs struct{ *aws.Adapter }

func (b collidingURNs) Queue(ctx *pulumi.Context, _ string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	return b.Adapter.Queue(ctx, "queue", in, parent)
}

type dropsContract struct{ *aws.Adapter }

func (b dropsContract) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	env := pulumi.StringMap{}
	for k, v := range in.Env {
		if k != components.EnvQueueURL {
			env[k] = v
		}
	}
	in.Env = env
	return b.Adapter.Container(ctx, name, in, parent)
}

type validatesLate struct{ *aws.Adapter }

func (validatesLate) ValidateTenant(components.TenantSpec) error { return nil }

type opensQueue struct{ *aws.Adapter }

func (b opensQueue) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	other := *in.Topic
	other.ID = pulumi.String("arn:aws:sns:us-east-1:999999999999:someone-else").ToStringOutput()
	in.Topic = &other
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// quotesInDescriptions registers the database security group as the
// adapter did before issue 13: an apostrophe in its description and in its
// rule's, which terraform-provider-aws refuses at `up`.
type quotesInDescriptions struct{ *aws.Adapter }

func (b quotesInDescriptions) Foundation(ctx *pulumi.Context, name string, in components.FoundationInput, parent pulumi.Resource) (*components.Foundation, error) {
	scope := in.Scope
	if _, err := ec2.NewSecurityGroup(ctx, name+"-old-db-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("tenantfleet " + scope.Tenant + ": PostgreSQL, reachable from the tenant's tasks only"),
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("PostgreSQL from the tenant's tasks"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(5432), ToPort: pulumi.Int(5432),
		}},
		Tags: pulumi.ToStringMap(scope.Tags()),
	}, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return b.Adapter.Foundation(ctx, name, in, parent)
}

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	t.Parallel()
	conformance.CatchesBroken(t, profile, func() (*aws.Adapter, error) { return aws.NewWithConfig(aws.Config{}) }, []conformance.Broken[*aws.Adapter]{
		{Name: "drops a tag", Check: "tagged", Wrap: func(a *aws.Adapter) components.Adapter { return dropsTag{a} }},
		{Name: "tags a resource with another tenant", Check: "tagged", Wrap: func(a *aws.Adapter) components.Adapter { return mistagsTenant{a} }},
		{Name: "skips a parent", Check: "parented", Wrap: func(a *aws.Adapter) components.Adapter { return skipsParent{a} }},
		{Name: "puts a password in state", Check: "secret", Wrap: func(a *aws.Adapter) components.Adapter { return leaksSecret{a} }},
		{Name: "gives two tenants one queue name", Check: "unique-name", Wrap: func(a *aws.Adapter) components.Adapter { return collidingNames{a} }},
		{Name: "reuses a logical name", Check: "unique-urn", Wrap: func(a *aws.Adapter) components.Adapter { return collidingURNs{a} }},
		{Name: "drops QUEUE_URL from the worker", Check: "contract", Wrap: func(a *aws.Adapter) components.Adapter { return dropsContract{a} }},
		{Name: "refuses a spec only after registering resources", Check: "invalid", Wrap: func(a *aws.Adapter) components.Adapter { return validatesLate{a} }},
		{Name: "lets another topic write to the queues", Check: "fanout", Wrap: func(a *aws.Adapter) components.Adapter { return opensQueue{a} }},
		{Name: "puts an apostrophe in a security group description", Check: "provider-rules", Detail: "ingress[0].description = \"PostgreSQL from the tenant's tasks\"",
			Wrap: func(a *aws.Adapter) components.Adapter { return quotesInDescriptions{a} }},
	})
}
