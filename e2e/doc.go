// Package e2e holds the end-to-end tests and the `up` and signup benchmarks
// of the local cloud: the real tenantfleet CLI (and `tenantfleet serve`)
// driving the real Pulumi engine, the local
// provider plugin, the local cloud runtime (PostgreSQL, NATS JetStream,
// supervised processes) and the example tenant app, all built from this
// repository. Only ./bin/pulumi (make cli) and PostgreSQL
// (scripts/setup-local.sh) must exist beforehand; make test provides both.
package e2e
