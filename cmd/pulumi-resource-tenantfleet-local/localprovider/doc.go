// Package localprovider is the tenantfleet-local Pulumi resource provider:
// Database, Queue, Topic, Subscription and Process resources (module index),
// each mapped onto the local cloud runtime's API (internal/localcloud).
//
// Lifecycle, the same for every resource:
//   - Create and Update PUT the spec; the runtime converges (idempotent).
//     In preview (DryRun) nothing is contacted or changed.
//   - Read GETs the resource. When the runtime no longer has it, Read returns
//     an empty ID and the engine drops it from the state (drift); the next
//     update creates it again. A Process whose program is not running reads
//     back running=false, which Diff reports as a change, so the next update
//     PUTs it again and the runtime restarts it.
//   - Delete DELETEs; an absent resource is already deleted.
//   - Diff compares the new inputs with the state: a changed name (and a
//     Subscription's topic or queue) replaces the resource, deleting first
//     because physical names are fixed; anything else updates in place.
//
// The runtime is reached lazily, on the first call that needs it, through a
// Connector (the plugin's main passes localcloud.Connect, which starts the
// runtime on demand).
package localprovider
