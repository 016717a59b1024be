// Package local is tenantfleet's adapter for the embedded local cloud: every
// capability is one resource of the tenantfleet-local provider plugin
// (cmd/pulumi-resource-tenantfleet-local), which drives the local cloud
// runtime (internal/localcloud): a PostgreSQL database and login role per
// tenant on a loopback-only server, JetStream work queues with dead-letter
// streams, JetStream topics sourced into subscriber queues, and supervised
// local processes for the web app and the worker. It has no stack config:
// the plugin and the adapter find the runtime's data directory themselves
// (TENANTFLEET_LOCAL_DIR, else $XDG_STATE_HOME/tenantfleet/local).
//
// # Per stack
//
// Nothing in the stack: the runtime (one PostgreSQL server, an embedded NATS
// JetStream, the process supervisor) is per data directory, shared by every
// stack on it, and the plugin starts it on demand, outside Pulumi's state.
//
// # Per tenant
//
// 4 resources of the plugin:
//   - database: a Database, a PostgreSQL database and a login role of the same
//     name that alone may connect to it, with a password the plugin generates
//     (a secret output, never an input);
//   - queue: a Queue, a JetStream work-queue stream with one durable consumer
//     and its dead-letter stream;
//   - web: a Process on a loopback port the runtime chooses;
//   - worker: a Process without a port, running worker.command when set.
//
// # Per fanout
//
// A Topic, a JetStream stream publishers write to (Topic.ID is its URL,
// nats://127.0.0.1:<port>?stream=...&subject=...). Per subscriber: a
// Subscription, which makes the subscriber's queue stream source the topic
// stream, so every message published lands in the queue once; a subscriber
// with a queue of its own adds that Queue.
//
// # Decisions
//
// Accepted and ignored: what the local cloud does not model is accepted and
// ignored rather than refused, so one stack config runs unchanged on a laptop
// and on a cloud: database tier, storage, backups and deletion protection;
// web app instance counts (one process each); CPU and memory sizes; tags
// (stored in the state, nowhere in the runtime). Shared and dedicated
// database placements are the same here (every database is on the one
// server, with a role of its own), so the adapter claims shared databases.
//
// Filters: subscriber filters are refused, because accepting one and
// delivering every message would change what a subscriber receives.
//
// Database: the server listens on 127.0.0.1 only, so DATABASE_SSLMODE is
// disable; CONNECT is revoked from PUBLIC, so a tenant's role cannot open
// another tenant's database. Database names start with "db" because the
// runtime refuses names starting pg_ (PostgreSQL's), which a stack or tenant
// named pg-... would otherwise produce.
//
// Queues: a message moves to the dead-letter stream after maxReceiveCount
// deliveries without an ack; visibilityTimeoutSeconds is the consumer's ack
// wait. Queue.ID is the runtime's queue name, which subscriptions name; the
// dead-letter stream has no name in the runtime's API, so its URL is
// DeadLetterID. The local cloud has no access policies (one machine, one
// user): only the runtime's own subscriptions write into a queue stream.
//
// Ports: web.port is the port the app listens on inside its container on a
// cloud. Locally every tenant's web app is a process on the same loopback
// interface, so the runtime gives each a free port of its own and passes it
// as PORT, in place of web.port (which is still validated as on every cloud,
// 1-65535); the app's URL output says where it listens. Two tenants with the
// same web.port, or a web.port another program uses, therefore never clash.
// The ports the runtime chooses itself (PostgreSQL's, NATS's, each web
// app's) are kept across restarts while they stay free; when another
// program has taken one in the meantime the runtime moves to a free port and
// says so in its log and in `tenantfleet local status`: the stacks on it
// then need `tenantfleet refresh` and `tenantfleet up`.
//
// Images: web.image and worker.image name directories of the runtime's
// images directory, <images dir>/<repository's last path segment>/<tag, or
// latest>, each holding an executable entrypoint (or the program
// worker.command[0] names). ValidateTenant checks them with the runtime's
// own code (localcloud.CheckImage) before anything is registered, in the
// images directory the runtime uses: the running runtime's, else the one the
// runtime the plugin starts on demand will use (localcloud.DefaultImagesDir:
// $TENANTFLEET_LOCAL_IMAGES, else images/ next to the tenantfleet binary
// Connect starts, else <data dir>/images). A stack whose image is missing is
// refused whole, with the directory looked in, instead of having its
// databases and queues created and its processes refused. Tests that run the
// adapter under mocks provide the images their specs name (localtest.Images),
// as a machine running the stack would.
//
// Replacements: physical names are fixed, but the adapter sets no
// DeleteBeforeReplace: the plugin's Diff asks for it whenever it replaces.
// Drift: a Process records whether it was running when last read, so a
// refresh that finds it dead records false and the next update restarts it.
//
// # Unverified
//
// Unlike the cloud adapters, this one runs end to end here: e2e/ drives the
// real engine, the plugin and the runtime, and the conformance suite checks
// every registered input with the plugin's own Check. Not run: operating
// systems other than Linux (the runtime uses flock, process groups and
// signals, so it is Unix-only and untried on macOS), and PostgreSQL other
// than Debian's 15 (the README asks for 14 or later).
package local
