package conformance

import (
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Project and Stack name the mocked program.
const (
	Project = "tenantfleet"
	Stack   = "conformance"
)

// Tenants is the scenario's two tenants: defaults for one, every field set for the other.
func Tenants() []components.TenantSpec {
	off := false
	return []components.TenantSpec{
		{
			ID:     "acme",
			Web:    components.WebAppSpec{Image: "docker.io/tenantfleet/tenant-app:1.0.0"},
			Worker: components.ContainerSpec{Image: "docker.io/tenantfleet/tenant-app:1.0.0", Command: []string{"/app/worker", "--verbose"}},
		},
		{
			ID: "globex",
			Database: components.DatabaseSpec{
				Version: "15", Tier: components.TierMedium, StorageGB: 100, BackupRetentionDays: 14, DeletionProtection: &off,
			},
			Web: components.WebAppSpec{
				Image: "docker.io/tenantfleet/tenant-app:1.0.0", Port: 3000, MinInstances: 2, MaxInstances: 6,
				CPU: 1000, MemoryMiB: 2048, Env: map[string]string{"FEATURE_FLAGS": "beta"},
			},
			Queue:  components.QueueSpec{MaxReceiveCount: 6, VisibilityTimeoutSeconds: 120, RetentionSeconds: 86400},
			Worker: components.ContainerSpec{Image: "docker.io/tenantfleet/tenant-worker:2.1.0", CPU: 500, MemoryMiB: 1024},
		},
	}
}

// Fanout is the scenario's fanout: two subscribers with queues of their own
// (one filtered, where the cloud supports filters) and one tenant's work queue.
func Fanout(filters bool) components.FanoutSpec {
	f := components.FanoutSpec{
		Name: "account-events",
		Subscribers: []components.SubscriberSpec{
			{Name: "billing", Queue: components.QueueSpec{MaxReceiveCount: 10}},
			{Name: "audit"},
			{Name: "acme-inbox", Tenant: "acme"},
		},
	}
	if filters {
		f.Subscribers[0].Filter = &components.FilterSpec{Attribute: "event_type", Values: []string{"invoice.paid", "invoice.failed"}}
	}
	return f
}

// invalidTenants are the neutral specs every adapter must refuse.
func invalidTenants() []InvalidTenant {
	return []InvalidTenant{
		{"tenant ids are DNS labels", "id", func(s *components.TenantSpec) { s.ID = "Acme_Corp" }},
		{"tenant ids have a length limit", "id", func(s *components.TenantSpec) { s.ID = "a234567890123456789012345678901234" }},
		{"tiers are small, medium, large", "database.tier", func(s *components.TenantSpec) { s.Database.Tier = "huge" }},
		{"ports are 1-65535", "web.port", func(s *components.TenantSpec) { s.Web.Port = 70000 }},
		{"a web image is required", "web.image", func(s *components.TenantSpec) { s.Web.Image = "" }},
		{"max instances >= min", "web.maxInstances", func(s *components.TenantSpec) { s.Web.MinInstances, s.Web.MaxInstances = 4, 2 }},
		{"CPU sizes are fixed", "worker.cpu", func(s *components.TenantSpec) { s.Worker.CPU = 300 }},
		{"memory follows CPU", "worker.memoryMiB", func(s *components.TenantSpec) { s.Worker.CPU, s.Worker.MemoryMiB = 250, 4096 }},
		{"contract variables cannot be overridden", "web.env.DATABASE_HOST", func(s *components.TenantSpec) { s.Web.Env = map[string]string{"DATABASE_HOST": "evil"} }},
		{"backups cannot be turned off", "database.backupRetentionDays", func(s *components.TenantSpec) { s.Database.BackupRetentionDays = -1 }},
		{"placements are dedicated or shared", "database.placement", func(s *components.TenantSpec) { s.Database.Placement = "regional" }},
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
		for _, spec := range tenants {
			u, err := components.NewTenantUnit(ctx, spec.ID, &components.TenantUnitArgs{Spec: spec, Cloud: cloud, Platform: platform})
			if err != nil {
				return err
			}
			o.units[spec.ID] = u
			queues[spec.ID] = u.Queue
			o.capture(spec.ID+"/queueUrl", u.QueueURL)
			o.capture(spec.ID+"/webUrl", u.WebURL)
		}
		// Stack-wide pieces that name every tenant, then the platform's outputs.
		if platform != nil {
			if err := platform.Finish(ctx); err != nil {
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
		if platform != nil {
			if err := platform.Finish(ctx); err != nil {
				return err
			}
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
