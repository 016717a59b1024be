package gcp_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/gcp"
)

// Each broken adapter is the GCP adapter with one rule broken; the suite
// must report exactly that rule. This is what shows the suite can fail.

// passwordAsPlainEnv hands the worker DATABASE_PASSWORD as a plain value
// instead of a Secret Manager reference.
type passwordAsPlainEnv struct{ *gcp.Adapter }

func (b passwordAsPlainEnv) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	env := pulumi.StringMap{components.EnvDatabasePassword: in.Database.Credentials}
	for k, v := range in.Env {
		env[k] = v
	}
	in.Env = env
	return b.Adapter.Container(ctx, name, in, parent)
}

// opensDatabase registers a Cloud SQL instance with a public address open to
// 0.0.0.0/0, no TLS requirement and a plaintext root password, as an adapter
// building untyped properties would.
type opensDatabase struct{ *gcp.Adapter }

func (b opensDatabase) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	var open pulumi.CustomResourceState
	if err := ctx.RegisterResource("gcp:sql/databaseInstance:DatabaseInstance", name+"-open", pulumi.Map{
		"name":            pulumi.String(in.Scope.Tenant + "-open"),
		"databaseVersion": pulumi.String("POSTGRES_16"),
		"rootPassword":    pulumi.String("hunter2"),
		"settings": pulumi.Map{
			"tier": pulumi.String("db-g1-small"),
			"ipConfiguration": pulumi.Map{
				"ipv4Enabled":        pulumi.Bool(true),
				"authorizedNetworks": pulumi.Array{pulumi.Map{"value": pulumi.String("0.0.0.0/0")}},
			},
			"backupConfiguration": pulumi.Map{"enabled": pulumi.Bool(true), "pointInTimeRecoveryEnabled": pulumi.Bool(true)},
			"userLabels":          pulumi.ToStringMap(in.Scope.Tags()),
		},
	}, &open, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return b.Adapter.Database(ctx, name, in, parent)
}

// subscribesElsewhere delivers the topic into another queue than the
// subscriber's: another subscription name, and another topic to relay into.
type subscribesElsewhere struct{ *gcp.Adapter }

func (b subscribesElsewhere) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	other := *in.Queue
	other.URL = pulumi.Sprintf("%s-elsewhere", in.Queue.URL)
	other.ID = pulumi.Sprintf("%s-elsewhere", in.Queue.ID)
	in.Queue = &other
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// dropsDeadLetterPolicy subscribes the fanout's own queues without the
// dead-letter topic, as if Subscribe forgot the policy.
type dropsDeadLetterPolicy struct{ *gcp.Adapter }

func (b dropsDeadLetterPolicy) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	other := *in.Queue
	other.DeadLetterID = in.Topic.ID
	in.Queue = &other
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// mistagsPlatform labels the stack's shared pieces as if they were a tenant's.
type mistagsPlatform struct{ *gcp.Adapter }

func (b mistagsPlatform) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	scope.Component, scope.Tenant = components.ComponentTenantUnit, "acme"
	return b.Adapter.Platform(ctx, name, scope, parent)
}

// systemRoleUser adds a Cloud SQL user named after a role every Cloud SQL
// instance already has (naming.CloudSQLPostgresRoles), which the API
// refuses to create.
type systemRoleUser struct{ *gcp.Adapter }

func (b systemRoleUser) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	db, err := b.Adapter.Database(ctx, name, in, parent)
	if err != nil {
		return nil, err
	}
	var user pulumi.CustomResourceState
	if err := ctx.RegisterResource("gcp:sql/user:User", name+"-system-role-user", pulumi.Map{
		"name": pulumi.String("cloudsqlsuperuser"), "instance": pulumi.String(in.Scope.Tenant), "password": pulumi.ToSecret(pulumi.String("x")),
	}, &user, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return db, nil
}

type skipsParent struct{ *gcp.Adapter }

func (b skipsParent) Queue(ctx *pulumi.Context, name string, in components.QueueInput, _ pulumi.Resource) (*components.Queue, error) {
	return b.Adapter.Queue(ctx, name, in, nil)
}

type validatesLate struct{ *gcp.Adapter }

func (validatesLate) ValidateTenant(components.TenantSpec) error { return nil }

type collidingNames struct{ *gcp.Adapter }

func (b collidingNames) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	in.Scope.Tenant, in.Owner = "same", "same"
	return b.Adapter.Queue(ctx, name, in, parent)
}

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	t.Parallel()
	conformance.CatchesBroken(t, profile, func() (*gcp.Adapter, error) {
		return gcp.NewWithConfig(gcp.Config{Project: testProject, Region: testRegion})
	}, []conformance.Broken[*gcp.Adapter]{
		{Name: "passes the password as a plain env value", Check: "contract", Wrap: func(a *gcp.Adapter) components.Adapter { return passwordAsPlainEnv{a} }},
		{Name: "gives the database a public IP open to 0.0.0.0/0", Check: "database", Wrap: func(a *gcp.Adapter) components.Adapter { return opensDatabase{a} }},
		{Name: "puts the root password in state in plaintext", Check: "secret", Wrap: func(a *gcp.Adapter) components.Adapter { return opensDatabase{a} }},
		{Name: "subscribes the topic into another queue", Check: "fanout", Wrap: func(a *gcp.Adapter) components.Adapter { return subscribesElsewhere{a} }},
		{Name: "dead-letters into the fanout topic", Check: "fanout", Wrap: func(a *gcp.Adapter) components.Adapter { return dropsDeadLetterPolicy{a} }},
		{Name: "labels the platform as a tenant's", Check: "tagged", Wrap: func(a *gcp.Adapter) components.Adapter { return mistagsPlatform{a} }},
		{Name: "names a database user after a role every instance has", Check: "provider-rules", Detail: `name = "cloudsqlsuperuser"`,
			Wrap: func(a *gcp.Adapter) components.Adapter { return systemRoleUser{a} }},
		{Name: "skips a parent", Check: "parented", Wrap: func(a *gcp.Adapter) components.Adapter { return skipsParent{a} }},
		{Name: "gives two tenants one queue name", Check: "unique-name", Wrap: func(a *gcp.Adapter) components.Adapter { return collidingNames{a} }},
		{Name: "refuses a spec only after registering resources", Check: "invalid", Wrap: func(a *gcp.Adapter) components.Adapter { return validatesLate{a} }},
	})
}
