// Package providers holds the registry of cloud adapters: the one place that
// maps a stack's tenantfleet:cloud value to the adapter that provisions it.
// Each adapter lives in its own package below (aws, ...), and every one is
// run through the shared suite in providers/conformance.
package providers
