package digitalocean_test

import (
	"errors"
	"testing"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	dop "github.com/tenantfleet/tenantfleet/providers/digitalocean"
)

// Each broken adapter is the DigitalOcean adapter with one rule broken; the
// suite must report exactly that rule. This is what shows the suite can fail.

// passwordAsPlainEnv hands the workloads DATABASE_PASSWORD as a GENERAL variable.
type passwordAsPlainEnv struct{ *dop.Adapter }

func (b passwordAsPlainEnv) Workloads(ctx *pulumi.Context, name string, web components.WebAppInput, worker components.ContainerInput, parent pulumi.Resource) (*components.WebApp, *components.Container, error) {
	env := pulumi.StringMap{components.EnvDatabasePassword: worker.Database.Credentials}
	for k, v := range worker.Env {
		env[k] = v
	}
	worker.Env = env
	return b.Adapter.Workloads(ctx, name, web, worker, parent)
}

// opensDatabase adds a firewall admitting 0.0.0.0/0 to the tenant's cluster.
type opensDatabase struct{ *dop.Adapter }

func (b opensDatabase) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	db, err := b.Adapter.Database(ctx, name, in, parent)
	if err != nil {
		return nil, err
	}
	cluster := db.Native["database-cluster"].(*digitalocean.DatabaseCluster)
	_, err = digitalocean.NewDatabaseFirewall(ctx, name+"-open", &digitalocean.DatabaseFirewallArgs{
		ClusterId: cluster.ID(),
		Rules:     digitalocean.DatabaseFirewallRuleArray{digitalocean.DatabaseFirewallRuleArgs{Type: pulumi.String("ip_addr"), Value: pulumi.String("0.0.0.0/0")}},
	}, pulumi.Parent(parent))
	return db, err
}

// skipsFirewall builds the two apps separately and so declares no
// firewall: the cluster admits anyone.
type skipsFirewall struct{ *dop.Adapter }

func (b skipsFirewall) Workloads(ctx *pulumi.Context, name string, web components.WebAppInput, worker components.ContainerInput, parent pulumi.Resource) (*components.WebApp, *components.Container, error) {
	return b.SeparateAppsWithoutFirewall(ctx, name, web, worker, parent)
}

// subscribesElsewhere forwards the topic into another queue than the subscriber's.
type subscribesElsewhere struct{ *dop.Adapter }

func (b subscribesElsewhere) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	other := *in.Queue
	other.ID = pulumi.Sprintf("%s-elsewhere", in.Queue.ID)
	in.Queue = &other
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// widensACL gives the forwarder's user every topic of the cluster.
type widensACL struct{ *dop.Adapter }

func (b widensACL) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	wide := *in.Queue
	wide.ID = pulumi.String("*").ToStringOutput()
	in.Queue = &wide
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// mistagsPlatform tags the stack's shared pieces as if they were a tenant's.
type mistagsPlatform struct{ *dop.Adapter }

func (b mistagsPlatform) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	scope.Component, scope.Tenant = components.ComponentTenantUnit, "acme"
	return b.Adapter.Platform(ctx, name, scope, parent)
}

type skipsParent struct{ *dop.Adapter }

func (b skipsParent) Queue(ctx *pulumi.Context, name string, in components.QueueInput, _ pulumi.Resource) (*components.Queue, error) {
	return b.Adapter.Queue(ctx, name, in, nil)
}

type validatesLate struct{ *dop.Adapter }

func (validatesLate) ValidateTenant(components.TenantSpec) error { return nil }

type collidingNames struct{ *dop.Adapter }

func (b collidingNames) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	in.Scope.Tenant, in.Owner = "same", "same"
	return b.Adapter.Queue(ctx, name, in, parent)
}

// keepsWebApp has a WebApp beside Workloads: a method TenantUnit never
// calls on a cloud of combined workloads.
type keepsWebApp struct{ *dop.Adapter }

func (keepsWebApp) WebApp(*pulumi.Context, string, components.WebAppInput, pulumi.Resource) (*components.WebApp, error) {
	return nil, errors.New("never called")
}

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	t.Parallel()
	conformance.CatchesBroken(t, profile, func() (*dop.Adapter, error) { return dop.NewWithConfig(testConfig) }, []conformance.Broken[*dop.Adapter]{
		{Name: "passes the password as a GENERAL variable", Check: "contract", Wrap: func(a *dop.Adapter) components.Adapter { return passwordAsPlainEnv{a} }},
		{Name: "opens the database firewall to 0.0.0.0/0", Check: "database", Wrap: func(a *dop.Adapter) components.Adapter { return opensDatabase{a} }},
		{Name: "declares no database firewall", Check: "database", Wrap: func(a *dop.Adapter) components.Adapter { return skipsFirewall{a} }},
		{Name: "forwards the topic into another queue", Check: "fanout", Wrap: func(a *dop.Adapter) components.Adapter { return subscribesElsewhere{a} }},
		{Name: "lets the forwarder write to every topic", Check: "fanout", Wrap: func(a *dop.Adapter) components.Adapter { return widensACL{a} }},
		{Name: "tags the platform as a tenant's", Check: "tagged", Wrap: func(a *dop.Adapter) components.Adapter { return mistagsPlatform{a} }},
		{Name: "skips a parent", Check: "parented", Wrap: func(a *dop.Adapter) components.Adapter { return skipsParent{a} }},
		{Name: "gives two tenants one topic name", Check: "unique-name", Wrap: func(a *dop.Adapter) components.Adapter { return collidingNames{a} }},
		{Name: "refuses a spec only after registering resources", Check: "invalid", Wrap: func(a *dop.Adapter) components.Adapter { return validatesLate{a} }},
		{Name: "keeps a WebApp beside Workloads", Check: "capabilities", Detail: "has WebApp or Container, which TenantUnit never calls",
			Wrap: func(a *dop.Adapter) components.Adapter { return keepsWebApp{a} }},
	})
}
