// Package providers holds the registry of clouds: the one place that maps a
// stack's tenantfleet:cloud value to what tenantfleet knows of that cloud
// (Cloud: its adapter's factory, its region keys and default region, the
// Pulumi package of its types, its offline model and offline plan settings).
// Each adapter lives in its own package below (aws, azure, digitalocean,
// gcp, local) with its offline model beside it (aws/awsoffline, ...); every
// adapter reads its own settings through stackconfig and is run through the
// shared suite in providers/conformance.
//
// # An adapter's package doc
//
// Every adapter's doc.go follows one template, so a question about a cloud
// has its answer in the same place for every cloud. The sections come in
// this order, each once (TestAdapterDocs checks it):
//
//	// Package <cloud> is tenantfleet's <Cloud> adapter: the services it
//	// provisions on, and the stack config it reads.
//	//
//	// # Per stack
//	//
//	// What the Platform component holds, with its resource count; or
//	// "Nothing", and why the cloud needs no stack-wide piece.
//	//
//	// # Per tenant
//	//
//	// The resource count of one tenant, then what each piece creates, as a
//	// list: foundation (if any), database (with the tier table of sizes.go),
//	// queue, web, worker.
//	//
//	// # Per fanout
//	//
//	// What the fanout creates, then per subscriber: with a queue of its own,
//	// and naming a tenant.
//	//
//	// # Decisions
//	//
//	// One paragraph per decision, opening with its subject and a colon
//	// ("Database network: ..."): what the adapter does, why, and what was
//	// rejected. Where the cloud behaves differently from the others (limits
//	// refused, a URL that is not a URL, a manual step), that is a decision
//	// too, with its reason.
//	//
//	// # Unverified
//	//
//	// What the adapter was checked against here (SDK types, the conformance
//	// suite under mocks, an end-to-end run), then, as a list, what a first
//	// real deployment must confirm, each with where the assumption comes
//	// from.
//
// Resource counts are those of the conformance scenario's tenants and
// fanout; providers/<cloud>/testdata/graph.golden lists every resource.
// README's "What <cloud> creates" is the users' summary of the three "Per"
// sections; the reasons live in the package doc.
package providers
