package conformance

import (
	"maps"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// outcome holds what the program produced, resolved after the run.
type outcome struct {
	wg        sync.WaitGroup
	mu        sync.Mutex
	units     map[string]*components.TenantUnit
	fanout    *components.MessagingFanout
	strings   map[string]string
	stringMap map[string]map[string]string
}

func (o *outcome) capture(key string, out pulumi.StringOutput) {
	o.wg.Add(1)
	out.ApplyT(func(v string) string {
		o.mu.Lock()
		o.strings[key] = v
		o.mu.Unlock()
		o.wg.Done()
		return v
	})
}

func (o *outcome) captureMap(key string, out pulumi.StringMapOutput) {
	o.wg.Add(1)
	out.ApplyT(func(v map[string]string) map[string]string {
		o.mu.Lock()
		o.stringMap[key] = v
		o.mu.Unlock()
		o.wg.Done()
		return v
	})
}

// run executes the scenario program once under mocks, on the stack Stack.
func run(p *Profile, dryRun bool, program func(ctx *pulumi.Context, cloud components.Adapter, o *outcome) error) (*Graph, *outcome, error) {
	return runOn(p, Stack, p.Config, dryRun, program)
}

// runOn executes a program once under mocks on the named stack with config cfg.
func runOn(p *Profile, stack string, cfg map[string]string, dryRun bool, program func(ctx *pulumi.Context, cloud components.Adapter, o *outcome) error) (*Graph, *outcome, error) {
	g := &Graph{profile: p, project: Project, stack: stack}
	o := &outcome{units: map[string]*components.TenantUnit{}, strings: map[string]string{}, stringMap: map[string]map[string]string{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cloud, err := p.New(ctx)
		if err != nil {
			return err
		}
		return program(ctx, cloud, o)
	}, pulumi.WithMocks(Project, stack, g), func(info *pulumi.RunInfo) {
		// The stack config goes in the run's own info, not through
		// PULUMI_CONFIG as the engine passes it: a process-wide variable
		// would keep runs (and tests) from running side by side.
		info.DryRun = dryRun
		info.Config = maps.Clone(cfg)
	})
	if err == nil {
		// A program that failed part-way leaves captured outputs unresolved.
		o.wg.Wait()
	}
	return g, o, err
}

// mustAdapter builds an adapter outside a program, for validation only.
func mustAdapter(p *Profile) components.Adapter {
	var cloud components.Adapter
	_, _, _ = run(p, true, func(_ *pulumi.Context, c components.Adapter, _ *outcome) error {
		cloud = c
		return nil
	})
	return cloud
}
