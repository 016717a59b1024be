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
// Before any run it checks the adapter's stated Capabilities against what it
// implements: the methods of its workload shape and none of the other's.
//
// Cloud-specific facts (which types hold tags, how a database shows it is
// private) come from the adapter's Profile. Check (suite.go) is the entry
// point and returns findings so the suite itself can be tested; Run reports
// them as test failures, Golden compares the recorded graph with
// testdata/graph.golden (golden.go), and CatchesBroken runs the suite on
// adapters with one rule broken to show each check can fail (broken.go).
// The runner (runner.go) executes the scenario (scenario.go) under mocks;
// each check area has a file of its own (kinds.go, parents.go, unique.go,
// tags.go, secrets.go, database.go, contract.go, fanout.go, invalid.go,
// capabilities.go, providerrules.go).
package conformance
