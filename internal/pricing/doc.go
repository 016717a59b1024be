// Package pricing prices the resources tenantfleet's adapters register:
// per cloud, each resource type is priced (fixed monthly parts from its
// size, plus usage-priced parts), usage-only, free, or local ($0), and the
// prices come from an embedded, versioned catalog (catalog/<cloud>.yaml)
// that records each price's source and retrieval date. Usage-priced parts
// take their quantity from a usage file or show as "depends on usage",
// never as $0. Package cost uses it to price previews and offline plans.
//
// Files: pricing.go (the model, catalog, usage file and estimator),
// clouds.go (each cloud registered in providers joined to the price table of
// its types' Pulumi package, by providers.Cloud.TypePrefix), one file per
// package (its resource types and how each is priced, and the public price
// list its catalog is refreshed from, if any), catalog/ (the prices).
package pricing
