// Package conformance is the one suite every cloud adapter must pass. It runs
// the TenantUnit and MessagingFanout components on an adapter under Pulumi
// mocks, records every registration, and checks what must hold on every
// cloud: every resource kind created, every child parented to its component,
// no duplicate URNs or physical names, tags on everything taggable, secrets
// kept secret, a private and encrypted database, the environment contract
// delivered to both workloads, a queue, dead-letter queue and topic-scoped
// access policy per fanout subscriber, invalid specs rejected with the field
// named and nothing registered, and both preview and update working.
//
// Cloud-specific facts (which types hold tags, how a database shows it is
// private) come from the adapter's Profile. Check returns findings so the
// suite itself can be tested; Run reports them as test failures.
package conformance
