package conformance

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Finding is one rule an adapter broke.
type Finding struct {
	// Check names the rule ("tagged", "parented", ...), stable for tests.
	Check  string
	Detail string
}

func (f Finding) String() string { return f.Check + ": " + f.Detail }

// Report is the outcome of running the suite on one adapter.
type Report struct {
	Findings []Finding
	// Graph is the update run's recorded graph (nil when the program failed).
	Graph *Graph
}

// Has reports whether any finding is of check.
func (r Report) Has(check string) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Check == check })
}

type findings []Finding

func (fs *findings) add(check, format string, args ...any) {
	*fs = append(*fs, Finding{Check: check, Detail: fmt.Sprintf(format, args...)})
}

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
	restore := setConfig(cfg)
	defer restore()
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cloud, err := p.New(ctx)
		if err != nil {
			return err
		}
		return program(ctx, cloud, o)
	}, pulumi.WithMocks(Project, stack, g), func(info *pulumi.RunInfo) { info.DryRun = dryRun })
	if err == nil {
		// A program that failed part-way leaves captured outputs unresolved.
		o.wg.Wait()
	}
	return g, o, err
}

// setConfig sets the program's stack config the way the engine passes it.
func setConfig(cfg map[string]string) func() {
	old, had := os.LookupEnv(pulumi.EnvConfig)
	var b strings.Builder
	b.WriteString("{")
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%q", k, cfg[k])
	}
	b.WriteString("}")
	os.Setenv(pulumi.EnvConfig, b.String())
	return func() {
		if had {
			os.Setenv(pulumi.EnvConfig, old)
		} else {
			os.Unsetenv(pulumi.EnvConfig)
		}
	}
}

// scenario provisions the two tenants and the fanout.
func scenario(p *Profile) func(ctx *pulumi.Context, cloud components.Adapter, o *outcome) error {
	return scenarioOf(p.tenants(), Fanout(p.SupportsFilters))
}

// scenarioOf provisions the given tenants and fanout as stacks.Program does.
func scenarioOf(tenants []components.TenantSpec, fanout components.FanoutSpec) func(ctx *pulumi.Context, cloud components.Adapter, o *outcome) error {
	return func(ctx *pulumi.Context, cloud components.Adapter, o *outcome) error {
		// Stack-wide pieces first, as stacks.Program creates them.
		var platform *components.Platform
		if _, ok := cloud.(components.PlatformProvisioner); ok {
			var err error
			if platform, err = components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: cloud}); err != nil {
				return err
			}
		}
		queues := map[string]*components.Queue{}
		var units []*components.TenantUnit
		for _, spec := range tenants {
			u, err := components.NewTenantUnit(ctx, spec.ID, &components.TenantUnitArgs{Spec: spec, Cloud: cloud, Platform: platform})
			if err != nil {
				return err
			}
			units = append(units, u)
			o.units[spec.ID] = u
			queues[spec.ID] = u.Queue
			o.capture(spec.ID+"/queueUrl", u.QueueURL)
			o.capture(spec.ID+"/webUrl", u.WebURL)
		}
		if pf, ok := cloud.(components.PlatformFinisher); ok && platform != nil {
			if err := pf.FinishPlatform(ctx, platform, units); err != nil {
				return err
			}
		}
		f, err := components.NewMessagingFanout(ctx, "events", &components.MessagingFanoutArgs{
			Spec: fanout, TenantQueues: queues, Cloud: cloud, Platform: platform,
		})
		if err != nil {
			return err
		}
		o.fanout = f
		o.capture("topic", f.TopicID)
		o.captureMap("queues", f.QueueURLs)
		o.captureMap("deadLetters", f.DeadLetterQueueURLs)
		return nil
	}
}

// Check runs the whole suite on the profile's adapter and returns every finding.
func Check(p *Profile) Report {
	var fs findings
	// Preview first, as `pulumi preview` would: it must succeed on its own.
	if _, _, err := run(p, true, scenario(p)); err != nil {
		fs.add("preview", "the scenario fails in preview: %v", err)
	}
	g, o, err := run(p, false, scenario(p))
	if err != nil {
		fs.add("update", "the scenario fails: %v", err)
		return Report{Findings: fs}
	}
	checkKinds(&fs, p, g)
	checkParents(&fs, g)
	checkUnique(&fs, p, g)
	checkTags(&fs, p, g)
	checkSecrets(&fs, g, o)
	checkDatabase(&fs, p, g)
	checkWorkloads(&fs, p, g)
	checkFanout(&fs, p, g, o)
	checkInvalid(&fs, p)
	checkProviderRules(&fs, p)
	return Report{Findings: fs, Graph: g}
}

// Run runs the suite and reports each finding as a test error.
func Run(t *testing.T, p *Profile) *Graph {
	t.Helper()
	r := Check(p)
	for _, f := range r.Findings {
		t.Errorf("conformance: %s", f)
	}
	return r.Graph
}

// Update rewrites golden graphs instead of comparing them: go test -update.
var Update = flag.Bool("update", false, "rewrite testdata/graph.golden")

// Golden compares the graph with testdata/graph.golden under dir, rewriting
// it instead when -update is given.
func Golden(t *testing.T, g *Graph, dir string) {
	t.Helper()
	if g == nil {
		t.Fatal("no graph: the scenario failed")
	}
	path := filepath.Join(dir, "testdata", "graph.golden")
	got := g.Golden()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden graph (run go test -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("resource graph differs from %s (-want +got); run go test -update if intended:\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// componentOf returns the tenant unit, fanout or platform a resource belongs
// to: its nearest component ancestor.
func componentOf(g *Graph, r Resource) (Resource, bool) {
	for parent := r.Parent; parent != ""; {
		p, ok := g.ByURN(parent)
		if !ok {
			return Resource{}, false
		}
		if p.Type == components.TenantUnitType || p.Type == components.MessagingFanoutType || p.Type == components.PlatformType {
			return p, true
		}
		parent = p.Parent
	}
	return Resource{}, false
}

func checkKinds(fs *findings, p *Profile, g *Graph) {
	perUnit := map[string][]string{
		components.TenantUnitType:      {"database", "queue", "web", "worker"},
		components.MessagingFanoutType: {"topic", "subscription"},
	}
	for _, comp := range g.Resources {
		roles, ok := perUnit[comp.Type]
		if !ok {
			continue
		}
		for _, role := range roles {
			found := false
			for _, r := range g.Custom() {
				if c, ok := componentOf(g, r); ok && c.URN == comp.URN && slices.Contains(p.Kinds[role], r.Type) {
					found = true
				}
			}
			if !found {
				fs.add("kinds", "%s has no %s resource (one of %v)", comp, role, p.Kinds[role])
			}
		}
	}
}

func checkParents(fs *findings, g *Graph) {
	for _, r := range g.Custom() {
		if r.Parent == "" {
			fs.add("parented", "%s has no parent: it escapes its component", r)
			continue
		}
		if _, ok := componentOf(g, r); !ok {
			fs.add("parented", "%s is not inside a TenantUnit, MessagingFanout or Platform (parent %s)", r, r.Parent)
		}
	}
}

func checkUnique(fs *findings, p *Profile, g *Graph) {
	urns := map[resource.URN]int{}
	for _, r := range g.Resources {
		urns[r.URN]++
	}
	for urn, n := range urns {
		if n > 1 {
			fs.add("unique-urn", "URN %s is registered %d times", urn, n)
		}
	}
	names := map[string]string{}
	for _, r := range g.Custom() {
		for _, key := range p.NameKeys {
			v, ok := r.Inputs[resource.PropertyKey(key)]
			if !ok || !v.IsString() {
				continue
			}
			id := r.Type + " " + key + "=" + v.StringValue()
			if prev, dup := names[id]; dup {
				fs.add("unique-name", "%s and %s share the physical name %q", prev, r, v.StringValue())
			}
			names[id] = r.String()
		}
	}
}

func checkTags(fs *findings, p *Profile, g *Graph) {
	for _, r := range g.Custom() {
		if slices.Contains(p.Untaggable, r.Type) {
			continue
		}
		tags, ok := p.Tags(r)
		if !ok {
			fs.add("tagged", "%s carries no tags", r)
			continue
		}
		want := map[string]string{components.TagStack: Stack, components.TagManagedBy: components.ManagedBy}
		tenants := []string{}
		if c, ok := componentOf(g, r); ok {
			switch c.Type {
			case components.TenantUnitType:
				// The scenario names each tenant unit by its tenant id.
				want[components.TagComponent], tenants = components.ComponentTenantUnit, []string{c.Name}
			case components.PlatformType:
				want[components.TagComponent], tenants = components.ComponentPlatform, []string{components.SharedTenant}
			case components.MessagingFanoutType:
				want[components.TagComponent], tenants = components.ComponentFanout, []string{components.SharedTenant}
				for _, sub := range Fanout(p.SupportsFilters).Subscribers {
					if sub.Tenant != "" {
						tenants = append(tenants, sub.Tenant)
					}
				}
			}
		}
		for k, v := range want {
			if tags[k] != v {
				fs.add("tagged", "%s has tag %s=%q, want %q", r, k, tags[k], v)
			}
		}
		if !slices.Contains(tenants, tags[components.TagTenant]) {
			fs.add("tagged", "%s has tag %s=%q, want one of %q", r, components.TagTenant, tags[components.TagTenant], tenants)
		}
	}
}

var secretKey = regexp.MustCompile(`(?i)(password|secretstring|privatekey|connectionstring)`)

func checkSecrets(fs *findings, g *Graph, o *outcome) {
	for id, u := range o.units {
		if !pulumi.IsSecret(u.DatabaseCredentials) {
			fs.add("secret", "tenant %s: DatabaseCredentials is not a secret", id)
		}
	}
	for _, r := range g.Custom() {
		for key, v := range r.Inputs {
			if secretKey.MatchString(string(key)) && v.IsString() && v.StringValue() != "" {
				fs.add("secret", "%s: input %s holds a plaintext value; mark it secret", r, key)
			}
		}
	}
}

func checkDatabase(fs *findings, p *Profile, g *Graph) {
	for _, r := range g.Custom() {
		if slices.Contains(p.Kinds["database"], r.Type) {
			for _, problem := range p.Database(g, r) {
				fs.add("database", "%s: %s", r, problem)
			}
		}
	}
}

func checkWorkloads(fs *findings, p *Profile, g *Graph) {
	seen := map[string]int{}
	for _, r := range g.Custom() {
		for _, env := range p.WorkloadEnv(r) {
			checkWorkload(fs, r, env.Plain, env.Secret, seen)
		}
	}
	for _, spec := range Tenants() {
		for _, w := range []string{components.WorkloadWeb, components.WorkloadWorker} {
			if seen[spec.ID+"/"+w] != 1 {
				fs.add("contract", "tenant %s: %d %s workloads carry the environment contract, want 1", spec.ID, seen[spec.ID+"/"+w], w)
			}
		}
	}
}

// checkWorkload checks one workload's environment against the contract.
func checkWorkload(fs *findings, r Resource, plain map[string]string, secret []string, seen map[string]int) {
	workload, tenant := plain[components.EnvWorkload], plain[components.EnvTenantID]
	seen[tenant+"/"+workload]++
	for _, name := range components.ContractVariables() {
		isSecret := slices.Contains(secret, name)
		_, isPlain := plain[name]
		switch {
		case name == components.EnvDatabasePassword && isPlain:
			fs.add("contract", "%s: %s is a plain value; it must come from the secret store", r, name)
		case name == components.EnvDatabasePassword && !isSecret:
			fs.add("contract", "%s: %s is missing", r, name)
		case name == components.EnvPort && workload == components.WorkloadWorker:
			if isPlain {
				fs.add("contract", "%s: the worker has no port but gets PORT", r)
			}
		case name != components.EnvDatabasePassword && !isPlain:
			fs.add("contract", "%s: %s is missing", r, name)
		}
	}
	for name := range plain {
		if name != components.EnvDatabasePassword && secretKey.MatchString(name) {
			fs.add("contract", "%s: %s is a plain value; it must come from the secret store", r, name)
		}
	}
}

func checkFanout(fs *findings, p *Profile, g *Graph, o *outcome) {
	spec := Fanout(p.SupportsFilters)
	queues, dlqs := o.stringMap["queues"], o.stringMap["deadLetters"]
	seenQueue := map[string]string{}
	for _, sub := range spec.Subscribers {
		q, dlq := queues[sub.Name], dlqs[sub.Name]
		if q == "" || dlq == "" || q == dlq {
			fs.add("fanout", "subscriber %s: queue %q and dead-letter queue %q must both exist and differ", sub.Name, q, dlq)
			continue
		}
		if prev, dup := seenQueue[q]; dup {
			fs.add("fanout", "subscribers %s and %s share the queue %s", prev, sub.Name, q)
		}
		seenQueue[q] = sub.Name
		if sub.Tenant != "" && q != o.strings[sub.Tenant+"/queueUrl"] {
			fs.add("fanout", "subscriber %s names tenant %s but receives in %s, not the tenant's queue %s", sub.Name, sub.Tenant, q, o.strings[sub.Tenant+"/queueUrl"])
		}
		for _, problem := range p.SubscriberAccess(g, o.strings["topic"], q, dlq) {
			fs.add("fanout", "subscriber %s: %s", sub.Name, problem)
		}
	}
	if !p.SupportsFilters {
		bad := Fanout(true)
		err := components.ValidateFanout(mustAdapter(p), bad, []string{"acme"})
		if err == nil || !strings.Contains(err.Error(), "subscribers[0].filter") {
			fs.add("invalid", "a filter on a cloud without filters must be refused naming subscribers[0].filter, got %v", err)
		}
	}
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

func checkInvalid(fs *findings, p *Profile) {
	cases := append(invalidTenants(), p.InvalidTenants...)
	if _, shared := mustAdapter(p).(components.SharedDatabases); !shared {
		cases = append(cases, InvalidTenant{"the cloud has no shared database servers", "database.placement",
			func(s *components.TenantSpec) { s.Database.Placement = components.PlacementShared }})
	}
	for _, tc := range cases {
		spec := Tenants()[0]
		tc.Mutate(&spec)
		g, _, err := run(p, true, func(ctx *pulumi.Context, cloud components.Adapter, _ *outcome) error {
			_, err := components.NewTenantUnit(ctx, "bad", &components.TenantUnitArgs{Spec: spec, Cloud: cloud})
			return err
		})
		switch {
		case err == nil:
			fs.add("invalid", "%s: the spec was accepted", tc.Reason)
		case !strings.Contains(err.Error(), tc.Field+":"):
			fs.add("invalid", "%s: the error does not name %s: %v", tc.Reason, tc.Field, err)
		}
		if n := len(g.Custom()) + len(g.OfType(components.TenantUnitType)); n > 0 {
			fs.add("invalid", "%s: %d resources were registered before the spec was refused", tc.Reason, n)
		}
	}
}

// Broken is an adapter with one rule broken and the check that must report it.
type Broken[A any] struct {
	Name  string
	Wrap  func(A) components.Adapter
	Check string
	// Detail, when set, must be in the finding's detail: a check that may
	// report something else too must report this.
	Detail string
}

// CatchesBroken shows the suite can fail: for each case it runs the suite on
// the case's broken adapter, wrapped around a fresh one from base, and fails
// t when the case's check is not among the findings.
func CatchesBroken[A any](t *testing.T, profile func() *Profile, base func() (A, error), cases []Broken[A]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p := profile()
			p.New = func(*pulumi.Context) (components.Adapter, error) {
				a, err := base()
				if err != nil {
					return nil, err
				}
				return tc.Wrap(a), nil
			}
			r := Check(p)
			if !slices.ContainsFunc(r.Findings, func(f Finding) bool {
				return f.Check == tc.Check && strings.Contains(f.Detail, tc.Detail)
			}) {
				t.Fatalf("the suite did not report %q with %q; findings: %v", tc.Check, tc.Detail, r.Findings)
			}
		})
	}
}

// ValidationCase is a change to the scenario's first tenant and the field
// errors an adapter's ValidateTenant must answer with (none: accepted), each
// as the stack would name it under its tenant.
type ValidationCase struct {
	Name   string
	Mutate func(*components.TenantSpec)
	Want   []string
	Reason string
}

// ExpectValidation runs each case through cloud.ValidateTenant. Every wanted
// error must survive components.Prefix, which unwraps one level of
// errors.Join only: an adapter must join its field errors flat.
func ExpectValidation(t *testing.T, cloud components.Adapter, cases []ValidationCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			spec := Tenants()[0]
			tc.Mutate(&spec)
			err := cloud.ValidateTenant(spec.WithDefaults())
			if len(tc.Want) == 0 && err != nil {
				t.Fatalf("got %v, want no error (%s)", err, tc.Reason)
			}
			if len(tc.Want) > 0 && err == nil {
				t.Fatalf("the spec was accepted, want %q (%s)", tc.Want, tc.Reason)
			}
			prefixed := components.Prefix("tenantfleet:tenants[0].", err)
			for _, w := range tc.Want {
				if !strings.Contains(prefixed.Error(), "tenantfleet:tenants[0]."+w) {
					t.Errorf("prefixed error does not contain %q (%s):\n%v", w, tc.Reason, prefixed)
				}
			}
		})
	}
}

// WebURL provisions the scenario's first tenant under mocks, after the
// platform where the cloud has one, and returns its web app's URL as the
// stack exports it.
func WebURL(t *testing.T, cloud components.Adapter, mocks pulumi.MockResourceMonitor) string {
	t.Helper()
	var (
		wg  sync.WaitGroup
		got string
	)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		var platform *components.Platform
		if _, ok := cloud.(components.PlatformProvisioner); ok {
			var err error
			if platform, err = components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: cloud}); err != nil {
				return err
			}
		}
		u, err := components.NewTenantUnit(ctx, "acme", &components.TenantUnitArgs{Spec: Tenants()[0], Cloud: cloud, Platform: platform})
		if err != nil {
			return err
		}
		wg.Add(1)
		u.WebURL.ApplyT(func(s string) string { got = s; wg.Done(); return s })
		return nil
	}, pulumi.WithMocks(Project, "dev", mocks))
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return got
}
