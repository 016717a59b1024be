package signup

import (
	"encoding/json"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// State is where a tenant is in its life.
type State string

// The tenant states. queued, provisioning and deprovisioning are in
// progress; ready, failed and deleted are settled.
const (
	StateQueued         State = "queued"
	StateProvisioning   State = "provisioning"
	StateReady          State = "ready"
	StateFailed         State = "failed"
	StateDeprovisioning State = "deprovisioning"
	StateDeleted        State = "deleted"
)

// States lists every state, in life order.
func States() []State {
	return []State{StateQueued, StateProvisioning, StateReady, StateFailed, StateDeprovisioning, StateDeleted}
}

// Settled reports whether no operation is pending for a tenant in state s.
func (s State) Settled() bool {
	return s == StateReady || s == StateFailed || s == StateDeleted
}

// Desired is what the tenant's stack should be: present (provisioned) or absent.
type Desired string

// The desired states.
const (
	DesiredPresent Desired = "present"
	DesiredAbsent  Desired = "absent"
)

// Request is the body of POST /v1/tenants.
type Request struct {
	// ID is the tenant id: a lowercase DNS label of at most 32 characters.
	ID string `json:"id"`
	// Tier is the database size class: small (default), medium or large.
	Tier string `json:"tier,omitempty"`
	// Cloud is where the tenant's stack runs; default: the service's --cloud.
	Cloud string `json:"cloud,omitempty"`
	// Region overrides the cloud's region from the service's template.
	Region string `json:"region,omitempty"`
}

// DeleteOptions say what DELETE /v1/tenants/{id} may do to a tenant whose
// database is deletion-protected.
type DeleteOptions struct {
	// Force deletes the database with its data: its deletion protection is
	// turned off first.
	Force bool `json:"force,omitempty"`
	// RetainDatabase deletes everything but the database (and what it needs
	// to exist), which stays in the cloud, outside of Pulumi's management.
	RetainDatabase bool `json:"retainDatabase,omitempty"`
}

// Tenant is a tenant's record: what was asked for and where it is.
type Tenant struct {
	ID     string `json:"id"`
	State  State  `json:"state"`
	Stack  string `json:"stack"`
	Cloud  string `json:"cloud"`
	Region string `json:"region,omitempty"`
	Tier   string `json:"tier"`
	// Outputs are the tenant's stack outputs; secrets are "[secret]".
	Outputs map[string]any `json:"outputs,omitempty"`
	// Attempts counts the tries of the current (or last) operation.
	Attempts  int    `json:"attempts"`
	LastError string `json:"lastError,omitempty"`
	// Retained lists the resources a delete with retainDatabase left in the
	// cloud, by URN, with their cloud ids.
	Retained []RetainedResource `json:"retained,omitempty"`

	// TemplateVersion is the template version the tenant's stack was last
	// applied with ("" before its first update succeeded).
	TemplateVersion string `json:"templateVersion"`
	// MonthlyCost is the stack's monthly cost as priced after its last
	// update (usage-priced parts left out).
	MonthlyCost float64 `json:"monthlyCost"`
	// Drift is what the last drift check found.
	Drift TenantDrift `json:"drift"`
	// Resources are the stack's resources after its last update (shown
	// by GET /v1/tenants/{id}, not in lists).
	Resources []StackResource `json:"-"`
	// ProvisionSeconds is how long the tenant took from its signup (or
	// retry) to ready the first time.
	ProvisionSeconds *float64 `json:"provisionSeconds,omitempty"`

	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	ReadyAt   *time.Time `json:"readyAt,omitempty"`
	DeletedAt *time.Time `json:"deletedAt,omitempty"`

	// Internal bookkeeping, not part of the API.
	Desired       Desired       `json:"-"`
	Generation    int64         `json:"-"`
	Request       Request       `json:"-"`
	DeleteOptions DeleteOptions `json:"-"`
	// CancelGeneration is the generation a cancel was asked for (0: none).
	CancelGeneration int64 `json:"-"`
	JobID            int64 `json:"-"`
	// LeaseOwner is the process working on the tenant ("" when none).
	LeaseOwner string `json:"-"`
	// TargetVersion is the template version the current generation applies.
	TargetVersion string `json:"-"`
	// MaxAttempts, when not 0, caps the tries of the current generation
	// (a rollout's update is tried once: a failure counts against it).
	MaxAttempts int `json:"-"`
	// Refresh makes the current generation's update refresh first
	// (reconcile: heal what changed behind the engine).
	Refresh bool `json:"-"`
}

// The drift statuses of a tenant.
const (
	DriftUnchecked = "unchecked"
	DriftInSync    = "in_sync"
	DriftDrifted   = "drifted"
	DriftError     = "error"
)

// TenantDrift is what a drift check found of a tenant's stack.
type TenantDrift struct {
	// Status is unchecked, in_sync, drifted or error.
	Status    string     `json:"status"`
	CheckedAt *time.Time `json:"checkedAt,omitempty"`
	// Resources are the resources that differ from the stack's state.
	Resources []engine.DriftResource `json:"resources,omitempty"`
	Error     string                 `json:"error,omitempty"`
}

// StackResource is one resource of a tenant's stack.
type StackResource struct {
	URN  string `json:"urn"`
	Type string `json:"type"`
	// Parent is the URN of the resource's parent (a component, or the stack).
	Parent string `json:"parent,omitempty"`
	// Custom is false for components, which group other resources.
	Custom bool `json:"custom"`
}

// RetainedResource is a resource left in the cloud by a delete with retainDatabase.
type RetainedResource struct {
	URN  string `json:"urn"`
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// Event is one entry of a tenant's progress log, served as Server-Sent Events.
type Event struct {
	// Seq orders a tenant's events; it is the SSE event id.
	Seq      int64           `json:"seq"`
	TenantID string          `json:"tenant"`
	At       time.Time       `json:"at"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
}

// The event types.
const (
	// EventState: the tenant changed state ({"state", "error"?}).
	EventState = "state"
	// EventOperation: an engine operation started or ended
	// ({"operation", "phase": "started"|"succeeded"|"failed"|"cancelled", ...}).
	EventOperation = "operation"
	// EventResource: a resource step ({"urn", "type", "op", "status", "seconds"?, "error"?}).
	EventResource = "resource"
	// EventDiagnostic: an engine message ({"severity", "message", "urn"?}).
	EventDiagnostic = "diagnostic"
)
