package digitalocean

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/stackconfig"
)

// Name is the adapter's registry name.
const Name = "digitalocean"

// configKey is the stack config object the adapter reads.
const configKey = "tenantfleet:digitalocean"

// Config is the stack config object tenantfleet:digitalocean.
type Config struct {
	// Region is the datacenter of every cluster (for example "fra1"); the
	// apps run in its App Platform region ("fra").
	Region string `json:"region"`
	// Kafka sizes the stack's Kafka cluster, which holds every queue and fanout topic.
	Kafka KafkaConfig `json:"kafka,omitzero"`
	// SharedDatabase, when set, creates the stack's shared PostgreSQL
	// cluster, on which tenants with database.placement shared get a
	// database and a user of their own.
	SharedDatabase *SharedDatabaseConfig `json:"sharedDatabase,omitempty"`
	// ForwarderImage is the tenantfleet-forwarder image every fanout
	// subscriber runs (cmd/tenantfleet-forwarder); required when the stack
	// has a fanout.
	ForwarderImage string `json:"forwarderImage,omitempty"`
}

// KafkaConfig sizes the stack's Kafka cluster.
type KafkaConfig struct {
	// Size is the node size slug: db-s-2vcpu-2gb (default), db-s-2vcpu-4gb,
	// gd-2vcpu-8gb or gd-4vcpu-16gb, the sizes DigitalOcean offers 3 Kafka
	// nodes of.
	Size string `json:"size,omitempty"`
	// Nodes is the broker count: 3, the only count tenantfleet runs
	// (DigitalOcean also offers 6, 9 and 15 general-purpose nodes).
	Nodes int `json:"nodes,omitempty"`
	// Version is the Kafka version. Default DefaultKafkaVersion.
	Version string `json:"version,omitempty"`
}

// SharedDatabaseConfig sizes the stack's shared PostgreSQL cluster.
type SharedDatabaseConfig struct {
	// Size is the node size slug, for example "db-s-2vcpu-4gb".
	Size string `json:"size"`
	// Nodes is 1, or 2 or 3 for standbys. Default 1. The smallest plan
	// (db-s-1vcpu-1gb) takes no standbys.
	Nodes int `json:"nodes,omitempty"`
	// Version is the PostgreSQL major version; a shared tenant must ask for
	// this one. Default components.DefaultPostgresVersion.
	Version string `json:"version,omitempty"`
}

// Defaults of the config.
const (
	DefaultKafkaSize  = "db-s-2vcpu-2gb"
	DefaultKafkaNodes = 3
	// DefaultKafkaVersion is the only Kafka version DigitalOcean's API
	// reference documents for new clusters, and its default
	// (digitalocean/openapi specification/resources/databases/responses/options.yml);
	// `doctl databases options versions` lists an account's current ones.
	DefaultKafkaVersion = "3.8"
)

var (
	regionSlug = regexp.MustCompile(`^[a-z]{3}[0-9]$`)
	// sizeSlug is the shape of a database node size slug (db-s-2vcpu-4gb,
	// gd-2vcpu-8gb, so1_5-2vcpu-16gb, m-2vcpu-16gb): which sizes an engine
	// offers is an account's live answer to GET /v2/databases/options, of
	// which the API reference shows an example only, so the config refuses
	// no size by name (the provider rules check the documented ones).
	sizeSlug     = regexp.MustCompile(`^[a-z0-9_]+(-[a-z0-9_.]+)+$`)
	kafkaVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
)

// withDefaults returns c with every unset field given its default.
func (c Config) withDefaults() Config {
	if c.Kafka.Size == "" {
		c.Kafka.Size = DefaultKafkaSize
	}
	if c.Kafka.Nodes == 0 {
		c.Kafka.Nodes = DefaultKafkaNodes
	}
	if c.Kafka.Version == "" {
		c.Kafka.Version = DefaultKafkaVersion
	}
	if s := c.SharedDatabase; s != nil {
		shared := *s
		if shared.Nodes == 0 {
			shared.Nodes = 1
		}
		if shared.Version == "" {
			shared.Version = components.DefaultPostgresVersion
		}
		c.SharedDatabase = &shared
	}
	return c
}

// Validate checks a defaulted config. Every problem is a *FieldError naming
// the tenantfleet:digitalocean field, joined flat. It refuses what
// DigitalOcean documents it refuses (a region outside App Platform's region
// enum, standby nodes on the smallest PostgreSQL plan) and what tenantfleet
// does not run (Kafka on other than 3 nodes); sizes and database regions
// are only known from the example answer of GET /v2/databases/options
// (options.go), so they are left to the provider rules rather than refused
// here: an account may be offered more.
func (c Config) Validate() error {
	var errs []error
	fail := func(field string, value any, reason string) {
		errs = append(errs, &components.FieldError{Field: configKey + "." + field, Value: value, Reason: reason})
	}
	switch {
	case c.Region == "":
		fail("region", c.Region, "is required: a DigitalOcean datacenter such as fra1")
	case !regionSlug.MatchString(c.Region):
		fail("region", c.Region, "is not a DigitalOcean datacenter slug such as fra1 or nyc3")
	case !slices.Contains(appRegions, c.appRegion()):
		fail("region", c.Region, "has no App Platform region ("+c.appRegion()+"); choose a datacenter in one of "+strings.Join(appRegions, ", "))
	}
	if !sizeSlug.MatchString(c.Kafka.Size) {
		fail("kafka.size", c.Kafka.Size, "is not a database node size slug such as "+DefaultKafkaSize)
	}
	if c.Kafka.Nodes != DefaultKafkaNodes {
		fail("kafka.nodes", c.Kafka.Nodes, "must be 3: tenantfleet runs Kafka on 3 nodes")
	}
	if !kafkaVersion.MatchString(c.Kafka.Version) {
		fail("kafka.version", c.Kafka.Version, "is not a Kafka version such as 3.8")
	}
	if s := c.SharedDatabase; s != nil {
		if !sizeSlug.MatchString(s.Size) {
			fail("sharedDatabase.size", s.Size, "is not a database node size slug such as db-s-2vcpu-4gb (doctl databases options slugs --engine pg)")
		}
		switch {
		case s.Nodes < 1 || s.Nodes > 3:
			fail("sharedDatabase.nodes", s.Nodes, "must be 1, 2 or 3 (a primary and up to two standbys)")
		case s.Nodes > 1 && slices.Contains(pgSingleNodeOnly, s.Size):
			fail("sharedDatabase.nodes", s.Nodes, "must be 1 on "+s.Size+": DigitalOcean adds no standby nodes to its smallest plan")
		}
		if !slices.Contains(postgresVersions, s.Version) {
			fail("sharedDatabase.version", s.Version, "must be a PostgreSQL major version tenantfleet supports: "+strings.Join(postgresVersions, ", "))
		}
	}
	if c.ForwarderImage != "" {
		if _, err := parseImage(c.ForwarderImage); err != nil {
			fail("forwarderImage", c.ForwarderImage, err.Error())
		}
	}
	return errors.Join(errs...)
}

// Adapter provisions tenantfleet components on DigitalOcean.
type Adapter struct {
	cfg Config
}

var (
	_ components.Adapter                      = (*Adapter)(nil)
	_ components.PlatformProvisioner          = (*Adapter)(nil)
	_ components.PlatformFinisher             = (*Adapter)(nil)
	_ components.CombinedWorkloadsProvisioner = (*Adapter)(nil)
)

// New reads tenantfleet:digitalocean from the stack config, refusing unknown
// fields, and returns the adapter. The provider's token comes from
// digitalocean:token or DIGITALOCEAN_TOKEN, as the provider reads it.
func New(ctx *pulumi.Context) (components.Adapter, error) {
	var cfg Config
	if err := stackconfig.Decode(ctx, configKey, &cfg); err != nil {
		return nil, err
	}
	return NewWithConfig(cfg)
}

// NewWithConfig returns the adapter for an explicit config, defaulted and validated.
func NewWithConfig(cfg Config) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg}, nil
}

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// Capabilities implements components.Adapter: one App Platform app holds
// both workloads, and tenants may place their database on the stack's
// shared cluster (when the config has one).
func (*Adapter) Capabilities() components.Capabilities {
	return components.Capabilities{Workloads: components.CombinedWorkloads, SharedDatabases: true}
}

// childOptions are the options of every resource the adapter registers: the
// component as parent and nothing from the caller. Physical names are fixed,
// so a replacement must delete first.
func childOptions(parent pulumi.Resource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true)}, extra...)
}

// tags shapes the scope's tags to DigitalOcean's "key:value" tag strings.
func tags(s components.Scope) pulumi.StringArray {
	return pulumi.ToStringArray(naming.DigitalOceanTags(s.Tags()))
}

// physical is a name unique to the stack and tenant of the scope.
func physical(r naming.Rule, s components.Scope, parts ...string) string {
	return r.Unique(append([]string{s.Stack, s.Tenant}, parts...)...)
}

// appRegion is the App Platform region of the datacenter: its letters ("fra1" -> "fra").
func (a *Adapter) appRegion() string { return a.cfg.appRegion() }

func (c Config) appRegion() string { return strings.TrimRight(c.Region, "0123456789") }

// platformOf returns the adapter's platform state from a components.Platform.
func platformOf(p *components.Platform) (*platform, error) {
	return components.PlatformState[*platform](p, Name)
}

// databaseOf returns the adapter's state of a database it made.
func databaseOf(db *components.Database) (*database, error) {
	return components.DatabaseState[*database](db, Name)
}
