package azure_test

import (
	"testing"

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

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	cases := []struct {
		name  string
		wrap  func(*azure.Adapter) components.Adapter
		check string
	}{
		{"passes the password as a plain env value", func(a *azure.Adapter) components.Adapter { return passwordAsPlainEnv{a} }, "contract"},
		{"opens the database to the internet", func(a *azure.Adapter) components.Adapter { return opensDatabase{a} }, "database"},
		{"puts the admin password in state in plaintext", func(a *azure.Adapter) components.Adapter { return opensDatabase{a} }, "secret"},
		{"forwards the topic into another queue", func(a *azure.Adapter) components.Adapter { return forwardsElsewhere{a} }, "fanout"},
		{"tags the platform as a tenant's", func(a *azure.Adapter) components.Adapter { return mistagsPlatform{a} }, "tagged"},
		{"skips a parent", func(a *azure.Adapter) components.Adapter { return skipsParent{a} }, "parented"},
		{"gives two tenants one queue name", func(a *azure.Adapter) components.Adapter { return collidingNames{a} }, "unique-name"},
		{"refuses a spec only after registering resources", func(a *azure.Adapter) components.Adapter { return validatesLate{a} }, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := profile()
			p.New = func(ctx *pulumi.Context) (components.Adapter, error) {
				a, err := azure.NewWithConfig(azure.Config{Location: "westeurope"})
				if err != nil {
					return nil, err
				}
				return tc.wrap(a), nil
			}
			r := conformance.Check(p)
			if !r.Has(tc.check) {
				t.Fatalf("the suite did not report %q; findings: %v", tc.check, r.Findings)
			}
		})
	}
}
