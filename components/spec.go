package components

// Tier is a cloud-neutral size class. Each adapter maps it to concrete SKUs in
// one table (for example db.t4g.micro on AWS for TierSmall).
type Tier string

// The size tiers, smallest first.
const (
	TierSmall  Tier = "small"
	TierMedium Tier = "medium"
	TierLarge  Tier = "large"
)

// Tiers lists the valid tiers, smallest first.
func Tiers() []Tier { return []Tier{TierSmall, TierMedium, TierLarge} }

// TenantSpec describes one customer account's tenant unit. It is read from
// the stack config key tenantfleet:tenants, one entry per tenant.
type TenantSpec struct {
	// ID identifies the tenant: a lowercase DNS label of at most MaxTenantIDLength characters.
	ID       string        `json:"id"`
	Database DatabaseSpec  `json:"database"`
	Web      WebAppSpec    `json:"web"`
	Queue    QueueSpec     `json:"queue"`
	Worker   ContainerSpec `json:"worker"`
}

// DatabaseSpec describes the tenant's PostgreSQL database.
type DatabaseSpec struct {
	// Version is the PostgreSQL major version. Default "16".
	Version string `json:"version,omitempty"`
	// Tier is the instance size class. Default small.
	Tier Tier `json:"tier,omitempty"`
	// StorageGB is the allocated storage in GiB, 20 to 16384. Default 20.
	StorageGB int `json:"storageGB,omitempty"`
	// BackupRetentionDays keeps automated backups this many days, 1 to 35. Default 7.
	// Backups cannot be turned off.
	BackupRetentionDays int `json:"backupRetentionDays,omitempty"`
	// DeletionProtection refuses to delete the database until it is turned off.
	// Default true: turning it off is an explicit, reviewed change.
	DeletionProtection *bool `json:"deletionProtection,omitempty"`
	// Placement is where the database lives: PlacementDedicated (default), a
	// server of the tenant's own, or PlacementShared, a database and user of
	// the tenant's own on one server per stack (cheaper, less isolated). Only
	// clouds implementing SharedDatabases accept shared.
	Placement string `json:"placement,omitempty"`
}

// Database placements; see DatabaseSpec.Placement.
const (
	PlacementDedicated = "dedicated"
	PlacementShared    = "shared"
)

// WebAppSpec describes the tenant's public web app: one container image
// listening on Port, scaled between MinInstances and MaxInstances.
type WebAppSpec struct {
	Image string `json:"image"`
	// Port the container listens on, 1 to 65535. Default 8080. Also passed as PORT.
	Port int `json:"port,omitempty"`
	// Env is added to the environment contract. It may not override a contract variable.
	Env          map[string]string `json:"env,omitempty"`
	MinInstances int               `json:"minInstances,omitempty"`
	MaxInstances int               `json:"maxInstances,omitempty"`
	// CPU in millicores and MemoryMiB per instance; see ValidateCompute. Default 500 / 1024.
	CPU       int `json:"cpu,omitempty"`
	MemoryMiB int `json:"memoryMiB,omitempty"`
}

// QueueSpec describes the tenant's work queue and its dead-letter queue.
type QueueSpec struct {
	// MaxReceiveCount moves a message to the dead-letter queue after this many
	// failed deliveries, 1 to 1000. Default 5.
	MaxReceiveCount int `json:"maxReceiveCount,omitempty"`
	// VisibilityTimeoutSeconds hides a received message from other consumers
	// for this long, 10 to 43200 (12 hours). Default 30.
	VisibilityTimeoutSeconds int `json:"visibilityTimeoutSeconds,omitempty"`
	// RetentionSeconds keeps an unconsumed message this long, 60 to 1209600
	// (14 days). Default 345600 (4 days). Dead-letter queues keep messages 14 days.
	RetentionSeconds int `json:"retentionSeconds,omitempty"`
}

// ContainerSpec describes the tenant's background container: one always-on
// instance with no inbound traffic.
type ContainerSpec struct {
	Image string `json:"image"`
	// Command overrides the image's entrypoint and arguments when set.
	Command []string `json:"command,omitempty"`
	// CPU in millicores and MemoryMiB; see ValidateCompute. Default 250 / 512.
	CPU       int               `json:"cpu,omitempty"`
	MemoryMiB int               `json:"memoryMiB,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// FanoutSpec describes a messaging fanout: one topic delivered to every
// subscriber. It is read from the stack config key tenantfleet:fanout.
type FanoutSpec struct {
	// Name of the topic, a lowercase DNS label.
	Name        string           `json:"name"`
	Subscribers []SubscriberSpec `json:"subscribers"`
}

// SubscriberSpec is one named receiver of a fanout.
type SubscriberSpec struct {
	// Name is unique within the fanout, a lowercase DNS label.
	Name string `json:"name"`
	// Tenant, when set, delivers into that tenant's work queue instead of a
	// queue of the subscriber's own.
	Tenant string `json:"tenant,omitempty"`
	// Queue tunes the subscriber's own queue; it must be empty when Tenant is set.
	Queue QueueSpec `json:"queue,omitempty"`
	// Filter, when set, delivers only messages whose attribute matches.
	Filter *FilterSpec `json:"filter,omitempty"`
}

// FilterSpec keeps the messages whose message attribute Attribute equals one of Values.
type FilterSpec struct {
	Attribute string   `json:"attribute"`
	Values    []string `json:"values"`
}

// Defaults used when a spec leaves a field at its zero value.
const (
	DefaultPostgresVersion     = "16"
	DefaultStorageGB           = 20
	DefaultBackupRetentionDays = 7
	DefaultWebPort             = 8080
	DefaultWebCPU              = 500
	DefaultWebMemoryMiB        = 1024
	DefaultWorkerCPU           = 250
	DefaultWorkerMemoryMiB     = 512
	DefaultMaxReceiveCount     = 5
	DefaultVisibilityTimeout   = 30
	DefaultRetentionSeconds    = 4 * 24 * 3600
	// DeadLetterRetentionSeconds is the retention of every dead-letter queue:
	// the longest the clouds allow in common, so a failed message outlives its original.
	DeadLetterRetentionSeconds = 14 * 24 * 3600
)

// WithDefaults returns a copy of s with every unset field given its default.
func (s TenantSpec) WithDefaults() TenantSpec {
	d := &s.Database
	if d.Version == "" {
		d.Version = DefaultPostgresVersion
	}
	if d.Tier == "" {
		d.Tier = TierSmall
	}
	if d.StorageGB == 0 {
		d.StorageGB = DefaultStorageGB
	}
	if d.BackupRetentionDays == 0 {
		d.BackupRetentionDays = DefaultBackupRetentionDays
	}
	if d.DeletionProtection == nil {
		on := true
		d.DeletionProtection = &on
	}
	if d.Placement == "" {
		d.Placement = PlacementDedicated
	}
	w := &s.Web
	if w.Port == 0 {
		w.Port = DefaultWebPort
	}
	if w.MinInstances == 0 {
		w.MinInstances = 1
	}
	if w.MaxInstances == 0 {
		w.MaxInstances = max(w.MinInstances, 2)
	}
	if w.CPU == 0 {
		w.CPU = DefaultWebCPU
	}
	if w.MemoryMiB == 0 {
		w.MemoryMiB = DefaultWebMemoryMiB
	}
	s.Queue = s.Queue.WithDefaults()
	c := &s.Worker
	if c.CPU == 0 {
		c.CPU = DefaultWorkerCPU
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = DefaultWorkerMemoryMiB
	}
	return s
}

// WithDefaults returns a copy of q with every unset field given its default.
func (q QueueSpec) WithDefaults() QueueSpec {
	if q.MaxReceiveCount == 0 {
		q.MaxReceiveCount = DefaultMaxReceiveCount
	}
	if q.VisibilityTimeoutSeconds == 0 {
		q.VisibilityTimeoutSeconds = DefaultVisibilityTimeout
	}
	if q.RetentionSeconds == 0 {
		q.RetentionSeconds = DefaultRetentionSeconds
	}
	return q
}

// DeletionProtected reports the effective deletion protection (default on).
func (d DatabaseSpec) DeletionProtected() bool {
	return d.DeletionProtection == nil || *d.DeletionProtection
}

// sortedKeys returns m's keys in order, so generated resources are deterministic.
func sortedKeys(m map[string]string) []string { return sortedKeysOf(m) }
