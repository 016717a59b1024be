// Package rules holds what a cloud's own provider refuses — character sets,
// lengths, reserved words, allowed combinations — as data next to each
// adapter, each rule with the source it was read from, and checks registered
// resource inputs against them.
//
// Pulumi's mocks accept anything the SDK types accept; the real provider
// does not. An adapter lists its rules in rules.go (for example
// aws.Rules), and the conformance suite checks every input the adapter
// registers, in preview and in update, over every tier and option the specs
// allow, so a value the cloud would refuse fails a test here instead of a
// tenant's `pulumi up`.
package rules
