package components

// Component names, as they appear in the "component" tag.
const (
	ComponentTenantUnit = "tenant-unit"
	ComponentFanout     = "messaging-fanout"
	// ComponentPlatform tags a stack's shared pieces (see Platform).
	ComponentPlatform = "platform"
)

// SharedTenant is the tenant tag of resources that serve no single tenant,
// such as a fanout topic. It cannot be used as a tenant id.
const SharedTenant = "shared"

// The tag keys every taggable resource carries, on every cloud.
const (
	TagTenant    = "tenant"
	TagComponent = "component"
	TagStack     = "stack"
	TagManagedBy = "managed-by"
	// ManagedBy is the value of the managed-by tag.
	ManagedBy = "tenantfleet"
)

// Tags returns the cloud-neutral tags of every resource in the scope. Adapters
// shape keys and values to their cloud's rules (see providers/naming).
func (s Scope) Tags() map[string]string {
	return map[string]string{
		TagTenant:    s.Tenant,
		TagComponent: s.Component,
		TagStack:     s.Stack,
		TagManagedBy: ManagedBy,
	}
}
