package local

import "github.com/tenantfleet/tenantfleet/providers/rules"

// The local cloud's rules are this repository's own: the runtime's request
// validation (internal/localcloud/validate.go) and the provider plugin's
// Check (cmd/pulumi-resource-tenantfleet-local/localprovider). The
// conformance test also runs the plugin's Check itself on every input.
const (
	srcName     = "internal/localcloud/validate.go validateName (maxNameLen 63); localprovider runtimeName"
	srcDatabase = "internal/localcloud/validate.go validateDatabaseSpec, reservedDatabaseNames"
	srcQueue    = "internal/localcloud/validate.go validateQueueSpec"
	srcProcess  = "internal/localcloud/validate.go validateProcessSpec"
)

// nameRule is the runtime's physical name rule.
var nameRule = rules.Matches(`^[a-z0-9_-]{1,63}$`)

// Rules are what the local cloud refuses of the inputs the adapter registers.
var Rules = []rules.Rule{
	{Type: DatabaseType, Path: "name", Check: nameRule, Source: srcName},
	{Type: DatabaseType, Path: "name", Check: rules.NotReserved("name PostgreSQL uses itself", "postgres", "template0", "template1", "public"), Source: srcDatabase},
	{Type: DatabaseType, Path: "name", Check: rules.NotMatches(`^pg_`, "starts with pg_, which PostgreSQL reserves"), Source: srcDatabase},
	{Type: QueueType, Path: "name", Check: nameRule, Source: srcName},
	{Type: QueueType, Path: "maxDeliver", Check: rules.Between(1, 1<<31-1), Source: srcQueue},
	{Type: QueueType, Path: "ackWaitSeconds", Check: rules.Between(1, 1<<31-1), Source: srcQueue},
	{Type: QueueType, Path: "retentionSeconds", Check: rules.Between(1, 1<<31-1), Source: srcQueue},
	{Type: TopicType, Path: "name", Check: nameRule, Source: srcName},
	{Type: SubscriptionType, Path: "name", Check: nameRule, Source: srcName},
	{Type: SubscriptionType, Path: "topic", Check: nameRule, Source: srcName},
	{Type: SubscriptionType, Path: "queue", Check: nameRule, Source: srcName},
	{Type: ProcessType, Path: "name", Check: nameRule, Source: srcName},
	{Type: ProcessType, Path: "image", Check: rules.Matches(`\S`), Source: srcProcess},
	{Type: ProcessType, Path: "env{keys}", Check: rules.Matches(`^[^=\x00]+$`), Source: srcProcess},
}
