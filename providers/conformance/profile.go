package conformance

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// Profile is what the suite must know about one adapter's native resources.
// It states facts about the cloud's resource types, never about the
// adapter's behaviour: the suite observes that through the mocks.
type Profile struct {
	// New returns a fresh adapter for one program run.
	New func(ctx *pulumi.Context) (components.Adapter, error)
	// Config is the stack config the program runs with ("tenantfleet:aws": "{...}").
	Config map[string]string
	// Outputs adds what the cloud computes (ARNs, URLs, endpoints) to a
	// resource's mocked outputs.
	Outputs func(args pulumi.MockResourceArgs) resource.PropertyMap
	// Invoke answers the adapter's data-source lookups.
	Invoke func(args pulumi.MockCallArgs) (resource.PropertyMap, error)

	// Kinds lists, for each role, the resource types at least one of which
	// must exist per tenant ("database", "queue", "web", "worker") or per
	// fanout ("topic", "subscription").
	Kinds map[string][]string
	// Untaggable lists the types that cannot carry tags. Every other custom
	// resource must carry all four tenantfleet tags.
	Untaggable []string
	// Tags reads a resource's tags from its inputs; ok is false when it has none.
	Tags func(r Resource) (tags map[string]string, ok bool)
	// NameKeys are the input keys holding physical names, which must be
	// unique per type across the stack ("name", "identifier", ...).
	NameKeys []string

	// Database reports what makes a database resource reachable from the
	// internet or unencrypted; it is called for each resource of
	// Kinds["database"], with the graph for clouds whose network rules are
	// resources of their own (DigitalOcean's database firewall).
	Database func(g *Graph, r Resource) (problems []string)
	// BackupRetentionDays, when set, is the only backup retention the cloud
	// offers (DigitalOcean keeps 7 days, fixed): the scenario's tenants ask
	// for it instead of their own.
	BackupRetentionDays int
	// WorkloadEnv reads the environment of every workload a resource
	// defines: none for most resources, one for a task definition or a
	// Container App, two for a DigitalOcean app with a service and a worker.
	WorkloadEnv func(r Resource) []WorkloadEnv
	// SubscriberAccess reports what is missing for a subscriber whose queue
	// and dead-letter queue have the given URLs to accept messages from the
	// topic only (for example a queue policy naming the topic).
	SubscriberAccess func(g *Graph, topicID, queueURL, deadLetterURL string) (problems []string)
	// SupportsFilters says whether subscribers may filter on a message attribute.
	SupportsFilters bool

	// Rules are what the cloud's own provider refuses (the adapter's
	// exported Rules), checked on every input registered in every Variant.
	Rules []rules.Rule
	// Variants are the adapter's options to run the rules check with, on
	// top of the neutral variants (every tier and placement, SQL-keyword
	// tenant ids, awkward stack names).
	Variants []Variant

	// InvalidTenants are cloud-specific specs the adapter must refuse, on top
	// of the neutral cases every adapter shares.
	InvalidTenants []InvalidTenant
}

// WorkloadEnv is one workload's environment: plain values and the names of
// secret-injected variables.
type WorkloadEnv struct {
	Plain  map[string]string
	Secret []string
}

// tenants is the scenario's tenants as the profile's cloud can run them.
func (p *Profile) tenants() []components.TenantSpec {
	ts := Tenants()
	if p.BackupRetentionDays != 0 {
		for i := range ts {
			ts[i].Database.BackupRetentionDays = p.BackupRetentionDays
		}
	}
	return ts
}

// InvalidTenant is a spec change that must be refused, naming Field.
type InvalidTenant struct {
	Reason string
	Field  string
	Mutate func(*components.TenantSpec)
}
