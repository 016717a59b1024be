// Package signup is `tenantfleet serve`: the account-signup service that
// provisions a stack per tenant through the Pulumi Automation API.
//
// A request (POST /v1/tenants, DELETE /v1/tenants/{id}) is validated — the
// body's fields, then the tenant's whole stack config through the program's
// own validation (stacks.Load) — and recorded in one database transaction
// together with the River job that carries it out, so an answered request
// always has its job and a refused one leaves nothing. The API answers at
// once (202 and the tenant's URL); nothing holds a request open while the
// engine runs.
//
// Each tenant has a generation: every signup, retry or delete increments it
// and queues a job for it. A job works only on its own generation: it holds a
// lease on the tenant (one operation per stack at a time, across replicas),
// renews it while the engine runs, and stops the engine gracefully when a
// newer generation or a cancel arrives. Its state updates apply only while
// the generation is still current, so a late job never overwrites a newer
// request's outcome.
//
// Every engine operation runs in a workspace of its own (a temporary
// project directory holding the tenant's generated stack config), with the
// secrets manager taken from the stack's state, so no operation ever shares a
// directory or a "current stack" with another. The engine writes to files,
// not pipes, and gets SIGINT if the service dies, so it finishes its
// in-flight steps and releases its lock instead of dying of SIGPIPE.
//
// Crash recovery: each replica holds a lock (flock on --data-dir with
// SQLite, a PostgreSQL advisory lock otherwise); a process that gets it knows
// its predecessor is dead, releases the predecessor's leases and requeues
// their work. A periodic sweep does the same for any replica's expired
// lease. When the engine itself was killed, the stack's lock is cleared only
// if every holder is an engine process this service recorded starting, on
// this host, that no longer exists — anyone else's lock is waited out — and
// creates it left pending are cleared (refresh --clear-pending-creates) so
// the update creates them again (the local cloud adopts what exists).
//
// Day 2: every template the service runs with is recorded as a version (a
// hash of the template and the build), and each tenant the version it was
// last applied with. A rollout previews each tenant it selects with a
// version (changes, replacements, cost), then updates them in waves: each
// update is a new generation of the tenant, tried once, run by the same
// job, followed by a health gate (the app's /healthz, then a preview that
// must show no changes). A rollout, and a drift check (a refresh preview of
// each ready tenant), is driven by one process at a time, which holds a
// lease on it as a job does on its tenant; its state is in the store, so a
// process that starts after a crash carries on where the dead one was.
//
// The console (console.go, console_pages.go, console/) serves pages at /
// rendered from the same Service and store calls as the JSON routes, with
// embedded assets. An operator signs in with a bearer token posted in the
// sign-in form; the session is a random cookie whose SHA-256 is stored, and
// every state-changing form carries the session's CSRF token.
//
// Files: model.go (tenant, states, events), store.go (the service's tables),
// template.go (the tenant template and validation), version.go (template
// versions), service.go (the service, River client, sweep), worker.go (the
// job), rollout.go (rollouts: spec, waves, states), fleet.go (the driver of
// rollouts and drift checks), fleet_api.go (their operations and routes),
// store_rollout.go and store_drift.go (their tables), pricing.go, api.go,
// auth.go, sse.go and metrics.go (the HTTP surface), openapi.yaml (its
// description), command.go (the serve command).
package signup
