// Package providers holds the registry of clouds: the one place that maps a
// stack's tenantfleet:cloud value to what tenantfleet knows of that cloud
// (Cloud: its adapter's factory, its region keys and default region, the
// Pulumi package of its types, its offline model and offline plan settings).
// Each adapter lives in its own package below (aws, azure, digitalocean,
// gcp, local) with its offline model beside it (aws/awsoffline, ...); every
// adapter reads its own settings through stackconfig and is run through the
// shared suite in providers/conformance.
package providers
