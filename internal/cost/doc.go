// Package cost is `tenantfleet cost`: it prices what a stack preview would
// create, change and delete (from the engine's event stream, or a saved
// `pulumi preview --json`), and, offline, what the same fleet would cost on
// each cloud (the program run against each cloud's offline model,
// providers.Cloud.Offline). Prices come from package pricing.
package cost
