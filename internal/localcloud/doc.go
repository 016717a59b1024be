// Package localcloud is tenantfleet's embedded local cloud: one runtime per
// data directory that runs a PostgreSQL server (initdb into the data
// directory, loopback port), an embedded NATS JetStream server (file
// storage), and supervised local processes for web apps and workers, and
// serves an HTTP API on a unix socket in the data directory. The Pulumi
// provider plugin (cmd/pulumi-resource-tenantfleet-local) manages resources
// through Client; `tenantfleet local start|stop|status` manages the runtime.
//
// The runtime keeps its desired state in the data directory, so after a
// crash or reboot it comes back with the same databases, streams and
// processes (on the same ports where they are free).
package localcloud
