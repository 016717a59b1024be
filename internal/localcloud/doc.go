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
//
// The data directory holds:
//
//	runtime.lock    flock held by the running runtime; holds its PID and images directory
//	runtime.sock    the API (0600)
//	runtime.log     output of a runtime started by Connect
//	state.json      desired state and chosen ports (0600: process env may hold secrets)
//	postgres/data   the PostgreSQL cluster; postgres/run its unix socket
//	postgres.log    the server's output
//	nats/           the JetStream store
//	logs/NAME.log   output of process NAME
//	images/         process images, unless TENANTFLEET_LOCAL_IMAGES says otherwise
//
// PostgreSQL refuses to run as root, so a root runtime runs it as the
// postgres user; when that user cannot traverse to the data directory
// (under /root, say), the cluster lives in /var/lib/tenantfleet/local and
// <dataDir>/postgres links to it. scripts/setup-local.sh installs the server.
//
// Queues are work-queue streams Q_<name> ('-' folded to '_') with a
// durable pull consumer "worker" and a dead-letter stream Q_<name>_DLQ;
// topics are streams T_<name>; a subscription makes the queue stream source
// the topic stream. JetStream has no dead-letter queue of its own: the
// runtime moves a message there on the server's max-deliveries advisory
// (deadletter.go).
package localcloud
