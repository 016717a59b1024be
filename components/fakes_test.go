package components_test

import (
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tenantfleet/tenantfleet/components"
)

// monitor records what a program registers under Pulumi's mocks.
type monitor struct {
	mu sync.Mutex
	// registered holds every registration, in order.
	registered []pulumi.MockResourceArgs
	// outputs counts RegisterResourceOutputs calls.
	outputs int
}

func (m *monitor) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registered = append(m.registered, args)
	return args.Name + "-id", args.Inputs, nil
}

func (m *monitor) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// RegisterResourceOutputs is what Pulumi's mocks call, when a monitor has
// it, for every ctx.RegisterResourceOutputs.
func (m *monitor) RegisterResourceOutputs() (*emptypb.Empty, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outputs++
	return &emptypb.Empty{}, nil
}

// names returns the registered resources' names, in registration order.
func (m *monitor) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.registered))
	for _, r := range m.registered {
		names = append(names, r.Name)
	}
	return names
}

// parentOf returns the parent URN a resource was registered with.
func (m *monitor) parentOf(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.registered {
		if r.Name == name && r.RegisterRPC != nil {
			return r.RegisterRPC.GetParent()
		}
	}
	return ""
}

// run runs program under the monitor's mocks.
func (m *monitor) run(program pulumi.RunFunc) error {
	return pulumi.RunErr(program, pulumi.WithMocks("tenantfleet", "test", m))
}

// str is a known string output.
func str(s string) pulumi.StringOutput { return pulumi.String(s).ToStringOutput() }

// fakeCloud is the part of an Adapter every test double here shares: a
// database and a queue of known values, no resources. Each test adds the
// capabilities it exercises (a workload shape, a platform).
type fakeCloud struct {
	components.FanoutCloudFns
	caps components.Capabilities
}

func (fakeCloud) Name() string                               { return "fake" }
func (c fakeCloud) Capabilities() components.Capabilities    { return c.caps }
func (fakeCloud) ValidateTenant(components.TenantSpec) error { return nil }

func (fakeCloud) Database(*pulumi.Context, string, components.DatabaseInput, pulumi.Resource) (*components.Database, error) {
	return &components.Database{
		Host: str("db.test"), Port: pulumi.Int(5432).ToIntOutput(), Name: str("acme"), User: str("acme"),
		SSLMode: "disable", Credentials: str("password"),
	}, nil
}

func (c fakeCloud) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	if c.QueueFn != nil {
		return c.QueueFn(ctx, name, in, parent)
	}
	return &components.Queue{URL: str("queue://" + in.Owner), DeadLetterURL: str("queue://" + in.Owner + "/dlq"),
		ID: str(in.Owner), DeadLetterID: str(in.Owner + "/dlq")}, nil
}

// separateCloud provides the SeparateWorkloads shape and records the names
// its methods were called with.
type separateCloud struct {
	fakeCloud
	calls *[]string
}

func (c separateCloud) WebApp(_ *pulumi.Context, name string, _ components.WebAppInput, _ pulumi.Resource) (*components.WebApp, error) {
	*c.calls = append(*c.calls, "WebApp "+name)
	return &components.WebApp{URL: str("https://" + name)}, nil
}

func (c separateCloud) Container(_ *pulumi.Context, name string, _ components.ContainerInput, _ pulumi.Resource) (*components.Container, error) {
	*c.calls = append(*c.calls, "Container "+name)
	return &components.Container{}, nil
}

// combinedCloud provides the CombinedWorkloads shape.
type combinedCloud struct {
	fakeCloud
	calls *[]string
}

func (c combinedCloud) Workloads(_ *pulumi.Context, name string, _ components.WebAppInput, _ components.ContainerInput, _ pulumi.Resource) (*components.WebApp, *components.Container, error) {
	*c.calls = append(*c.calls, "Workloads "+name)
	return &components.WebApp{URL: str("https://" + name)}, &components.Container{}, nil
}
