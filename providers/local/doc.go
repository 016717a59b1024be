// Package local is tenantfleet's adapter for the embedded local cloud: every
// capability is one resource of the tenantfleet-local provider plugin
// (cmd/pulumi-resource-tenantfleet-local), which drives the local cloud
// runtime (internal/localcloud): a PostgreSQL database and login role per
// tenant on a loopback-only server, JetStream work queues with dead-letter
// streams, JetStream topics sourced into subscriber queues, and supervised
// local processes for the web app and the worker.
//
// What the local cloud does not model is accepted and ignored rather than
// refused, so one stack config runs unchanged on a laptop and on a cloud:
// database tier, storage, backups and deletion protection; web app instance
// counts (one process each); CPU and memory sizes. Subscriber filters are
// refused, because accepting one and delivering every message would change
// what a subscriber receives.
//
// web.port is the port the app listens on inside its container on a cloud.
// Locally every tenant's web app is a process on the same loopback
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
// Connect starts, else <data dir>/images). A stack whose image is missing is refused whole, with
// the directory looked in, instead of having its databases and queues
// created and its processes refused. Tests that run the adapter under mocks
// provide the images their specs name (localtest.Images), as a machine
// running the stack would.
package local
