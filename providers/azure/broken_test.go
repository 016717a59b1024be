package azure_test

import (
	"testing"

	"github.com/pulumi/pulumi-azure-native-sdk/servicebus/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/azure"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// Each broken adapter is the Azure adapter with one rule broken; the suite
// must report exactly that rule. This is what shows the suite can fail.

// passwordAsPlainEnv hands the worker DATABASE_PASSWORD as a plain value
// instead of a secretRef.
type passwordAsPlainEnv struct{ *azure.Adapter }

func (b passwordAsPlainEnv) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	env := pulumi.StringMap{components.EnvDatabasePassword: in.Database.Credentials}
	for k, v := range in.Env {
		env[k] = v
	}
	in.Env = env
	return b.Adapter.Container(ctx, name, in, parent)
}

// queuePasswordAsPlainEnv hands the web app a QUEUE_PASSWORD as a plain
// value: any password-like variable must come from the secret store.
type queuePasswordAsPlainEnv struct{ *azure.Adapter }

func (b queuePasswordAsPlainEnv) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	env := pulumi.StringMap{components.EnvQueuePassword: pulumi.String("hunter2")}
	for k, v := range in.Env {
		env[k] = v
	}
	in.Env = env
	return b.Adapter.WebApp(ctx, name, in, parent)
}

// opensDatabase registers a flexible server open to the internet, with a
// firewall rule for 0.0.0.0-255.255.255.255 and a plaintext password, as an
// adapter building untyped properties would.
type opensDatabase struct{ *azure.Adapter }

func (b opensDatabase) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	var open, rule pulumi.CustomResourceState
	if err := ctx.RegisterResource("azure-native:dbforpostgresql:Server", name+"-open", pulumi.Map{
		"resourceGroupName":          pulumi.String("rg"),
		"serverName":                 pulumi.String(in.Scope.Tenant + "-open"),
		"administratorLoginPassword": pulumi.String("hunter2"),
		"network":                    pulumi.Map{"publicNetworkAccess": pulumi.String("Enabled")},
		"backup":                     pulumi.Map{"backupRetentionDays": pulumi.Int(7)},
		"tags":                       pulumi.ToStringMap(in.Scope.Tags()),
	}, &open, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResource("azure-native:dbforpostgresql:FirewallRule", name+"-anywhere", pulumi.Map{
		"resourceGroupName": pulumi.String("rg"), "serverName": pulumi.String(in.Scope.Tenant + "-open"),
		"startIpAddress": pulumi.String("0.0.0.0"), "endIpAddress": pulumi.String("255.255.255.255"),
	}, &rule, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return b.Adapter.Database(ctx, name, in, parent)
}

// forwardsElsewhere subscribes the topic into another queue than the subscriber's.
type forwardsElsewhere struct{ *azure.Adapter }

func (b forwardsElsewhere) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	other := *in.Queue
	other.URL = pulumi.Sprintf("%s-elsewhere", in.Queue.URL)
	in.Queue = &other
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// mistagsPlatform tags the stack's shared pieces as if they were a tenant's.
type mistagsPlatform struct{ *azure.Adapter }

func (b mistagsPlatform) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	scope.Component, scope.Tenant = components.ComponentTenantUnit, "acme"
	return b.Adapter.Platform(ctx, name, scope, parent)
}

type skipsParent struct{ *azure.Adapter }

func (b skipsParent) Queue(ctx *pulumi.Context, name string, in components.QueueInput, _ pulumi.Resource) (*components.Queue, error) {
	return b.Adapter.Queue(ctx, name, in, nil)
}

type validatesLate struct{ *azure.Adapter }

func (validatesLate) ValidateTenant(components.TenantSpec) error { return nil }

type collidingNames struct{ *azure.Adapter }

func (b collidingNames) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	in.Scope.Tenant, in.Owner = "same", "same"
	return b.Adapter.Queue(ctx, name, in, parent)
}

// createsDefaultRule registers a servicebus:Rule named $Default, as the
// adapter did before issue 13: Service Bus makes that rule with every
// subscription, and azure-native refuses to create an existing resource.
type createsDefaultRule struct{ *azure.Adapter }

func (b createsDefaultRule) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	if _, err := servicebus.NewRule(ctx, name+"-default", &servicebus.RuleArgs{
		ResourceGroupName: pulumi.String("rg"), NamespaceName: pulumi.String("ns"),
		TopicName: pulumi.String("topic"), SubscriptionName: pulumi.String(in.Subscriber.Name),
		RuleName:   pulumi.String("$Default"),
		FilterType: servicebus.FilterTypeSqlFilter,
		SqlFilter:  &servicebus.SqlFilterArgs{SqlExpression: pulumi.String("1=1")},
	}, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	t.Parallel()
	conformance.CatchesBroken(t, profile, func() (*azure.Adapter, error) { return azure.NewWithConfig(azure.Config{Location: "westeurope"}) }, []conformance.Broken[*azure.Adapter]{
		{Name: "passes the password as a plain env value", Check: "contract", Wrap: func(a *azure.Adapter) components.Adapter { return passwordAsPlainEnv{a} }},
		{Name: "creates the $Default rule", Check: "provider-rules", Detail: `ruleName = "$Default"`,
			Wrap: func(a *azure.Adapter) components.Adapter { return createsDefaultRule{a} }},
		{Name: "passes a queue password as a plain env value", Check: "contract", Wrap: func(a *azure.Adapter) components.Adapter { return queuePasswordAsPlainEnv{a} }},
		{Name: "opens the database to the internet", Check: "database", Wrap: func(a *azure.Adapter) components.Adapter { return opensDatabase{a} }},
		{Name: "puts the admin password in state in plaintext", Check: "secret", Wrap: func(a *azure.Adapter) components.Adapter { return opensDatabase{a} }},
		{Name: "forwards the topic into another queue", Check: "fanout", Wrap: func(a *azure.Adapter) components.Adapter { return forwardsElsewhere{a} }},
		{Name: "tags the platform as a tenant's", Check: "tagged", Wrap: func(a *azure.Adapter) components.Adapter { return mistagsPlatform{a} }},
		{Name: "skips a parent", Check: "parented", Wrap: func(a *azure.Adapter) components.Adapter { return skipsParent{a} }},
		{Name: "gives two tenants one queue name", Check: "unique-name", Wrap: func(a *azure.Adapter) components.Adapter { return collidingNames{a} }},
		{Name: "refuses a spec only after registering resources", Check: "invalid", Wrap: func(a *azure.Adapter) components.Adapter { return validatesLate{a} }},
	})
}
