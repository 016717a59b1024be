// Package pricing prices the resources tenantfleet's adapters register:
// per cloud, each resource type is priced (fixed monthly parts from its
// size, plus usage-priced parts), usage-only, free, or local ($0), and the
// prices come from an embedded, versioned catalog (catalog/<cloud>.yaml)
// that records each price's source and retrieval date. Usage-priced parts
// take their quantity from a usage file or show as "depends on usage",
// never as $0. Package cost uses it to price previews and offline plans.
//
// Files: pricing.go (the model, catalog, usage file and estimator), one file
// per cloud (its resource types and how each is priced), catalog/ (the
// prices).
package pricing
