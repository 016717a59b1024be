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
package local
