package conformance

import "github.com/tenantfleet/tenantfleet/components"

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
