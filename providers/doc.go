// Package providers holds the registry of cloud adapters: the one place that
// maps a stack's tenantfleet:cloud value to the adapter that provisions it.
// Each adapter lives in its own package below (aws, azure, digitalocean,
// gcp, local), every one reads its own settings through stackconfig, and is
// run through the shared suite in providers/conformance.
package providers
