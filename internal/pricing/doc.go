// Package pricing prices the resources tenantfleet's adapters register:
// per cloud, each resource type is priced (fixed monthly parts from its
// size, plus usage-priced parts), usage-only, free, or local ($0), and the
// prices come from an embedded, versioned catalog (catalog/<cloud>.yaml)
// that records each price's source and retrieval date. Usage-priced parts
// take their quantity from a usage file or show as "depends on usage",
// never as $0. Package cost uses it to price previews and offline plans.
//
// A catalog directory (LoadCatalog's dir, `tenantfleet cost --catalog-dir`)
// replaces the embedded catalog: that is how a refreshed catalog, or the
// user's own prices, are used. A cloud without regions keeps its prices
// under the one region AnyRegion ("any"). Kubernetes (kubernetes.go) has no
// price list: a resource is priced by the CPU, memory and persistent
// storage it requests, at per-vCPU-hour, per-GiB-hour and per-GiB-month
// rates the user sets in kubernetes.yaml; the embedded ones are examples
// and say so (CloudCatalog.Note, Cloud.Basis: every report repeats them).
// A Deployment a HorizontalPodAutoscaler scales is priced at its
// minReplicas, as other clouds' autoscaled apps are at their minimum: a
// pricer that needs another resource reads the stack (Estimator.PriceIn).
//
// Files: pricing.go (the model, catalog, usage file and estimator),
// clouds.go (each cloud registered in providers joined to the price table of
// its types' Pulumi package, by providers.Cloud.TypePrefix), one file per
// package (its resource types and how each is priced, and the public price
// list its catalog is refreshed from, if any), catalog/ (the prices).
package pricing
