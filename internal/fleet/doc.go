// Package fleet is `tenantfleet fleet`: a client of the service's fleet API
// (tenantfleet serve, package signup) that shows the fleet, plans, starts
// and follows rollouts of a template version across tenants, and runs drift
// checks.
//
// Files: api.go (the API's JSON documents), client.go (HTTP, the bearer
// token, problem documents), follow.go (polling a rollout or a drift check
// and telling what changed), render.go (the readable output), command.go and
// rollout.go (the commands and their flags).
package fleet
