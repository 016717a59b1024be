// Package stacks is tenantfleet's Pulumi program: a plain
// func(*pulumi.Context) error that reads the stack config, validates all of
// it before registering anything, and provisions every tenant unit and the
// fanout on the configured cloud. `pulumi up` runs it through cmd/program;
// the Automation API runs the same function as an inline program.
package stacks
