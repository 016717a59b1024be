package local_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/local"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

// Each broken adapter is the local adapter with one rule broken; the suite,
// with the local profile, must report exactly that rule. This is what shows
// the profile's local-specific readers can fail.

// plainPassword passes DATABASE_PASSWORD as a plain variable.
type plainPassword struct{ *local.Adapter }

func (b plainPassword) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	p := &local.Process{}
	env := pulumi.StringMap{}
	for k, v := range in.Env {
		env[k] = v
	}
	if err := ctx.RegisterResource(local.ProcessType, name, pulumi.Map{
		"name": pulumi.String("plain-" + in.Scope.Tenant), "image": pulumi.String(in.Spec.Image), "web": pulumi.Bool(true),
		"env":       env,
		"secretEnv": pulumi.StringMap{components.EnvDatabasePassword: pulumi.String("hunter2")},
		"tags":      pulumi.ToStringMap(in.Scope.Tags()),
	}, p, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return &components.WebApp{URL: p.URL, Native: map[string]pulumi.Resource{"web-process": p}}, nil
}

// passesPassword gives the database a password input.
type passesPassword struct{ *local.Adapter }

func (b passesPassword) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	db := &local.Database{}
	if err := ctx.RegisterResource(local.DatabaseType, name, pulumi.Map{
		"name":     pulumi.String("db_" + in.Scope.Tenant),
		"password": pulumi.ToSecret(pulumi.String("hunter2")),
		"tags":     pulumi.ToStringMap(in.Scope.Tags()),
	}, db, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return &components.Database{Host: db.Host, Port: db.Port, Name: db.Name, User: db.User, SSLMode: "disable",
		Credentials: pulumi.ToSecret(db.Password).(pulumi.StringOutput), Native: map[string]pulumi.Resource{"database": db}}, nil
}

// wrongQueue subscribes every subscriber into a queue of its own making.
type wrongQueue struct{ *local.Adapter }

func (b wrongQueue) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	other := *in.Queue
	other.ID = pulumi.String("someone-elses-queue").ToStringOutput()
	in.Queue = &other
	return b.Adapter.Subscribe(ctx, name, in, parent)
}

// acceptsFilters says nothing about filters it cannot honour.
type acceptsFilters struct{ *local.Adapter }

func (acceptsFilters) ValidateFanout(components.FanoutSpec) error { return nil }

// ignoresImages accepts images the local cloud does not have, so a tenant
// is half-created: its database and queue before its process is refused.
type ignoresImages struct{ *local.Adapter }

func (ignoresImages) ValidateTenant(components.TenantSpec) error { return nil }

// statesCombinedWorkloads states the shape it does not provide: one
// deployable for both workloads, with no Workloads method.
type statesCombinedWorkloads struct{ *local.Adapter }

func (b statesCombinedWorkloads) Capabilities() components.Capabilities {
	c := b.Adapter.Capabilities()
	c.Workloads = components.CombinedWorkloads
	return c
}

//nolint:paralleltest // localtest.Images sets TENANTFLEET_LOCAL_* with t.Setenv.
func TestSuiteCatchesBrokenLocalAdapters(t *testing.T) {
	localtest.Images(t, localtest.ScenarioImages...)
	conformance.CatchesBroken(t, profile, func() (*local.Adapter, error) { return &local.Adapter{}, nil }, []conformance.Broken[*local.Adapter]{
		{Name: "passes DATABASE_PASSWORD in plain secretEnv", Check: "contract", Wrap: func(a *local.Adapter) components.Adapter { return plainPassword{a} }},
		{Name: "gives the database a password input", Check: "database", Wrap: func(a *local.Adapter) components.Adapter { return passesPassword{a} }},
		{Name: "subscribes the topic into another queue", Check: "fanout", Wrap: func(a *local.Adapter) components.Adapter { return wrongQueue{a} }},
		{Name: "accepts a filter it cannot honour", Check: "invalid", Wrap: func(a *local.Adapter) components.Adapter { return acceptsFilters{a} }},
		{Name: "accepts images the local cloud does not have", Check: "invalid", Wrap: func(a *local.Adapter) components.Adapter { return ignoresImages{a} }},
		{Name: "states combined workloads it does not have", Check: "capabilities", Detail: "has no Workloads",
			Wrap: func(a *local.Adapter) components.Adapter { return statesCombinedWorkloads{a} }},
	})
}

func TestValidateFanoutNamesEveryFilter(t *testing.T) {
	t.Parallel()

	spec := conformance.Fanout(true)
	spec.Subscribers[2].Filter = &components.FilterSpec{Attribute: "kind", Values: []string{"a"}}
	err := (&local.Adapter{}).ValidateFanout(spec)
	if err == nil {
		t.Fatal("filters were accepted")
	}
	for _, field := range []string{"subscribers[0].filter:", "subscribers[2].filter:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
	if strings.Contains(err.Error(), "subscribers[1]") {
		t.Errorf("error names a subscriber without a filter: %v", err)
	}
}
