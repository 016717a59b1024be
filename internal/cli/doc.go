// Package cli is the tenantfleet command line: the stack commands (up,
// preview, refresh, destroy, outputs) that run the tenantfleet Pulumi program
// inline through the Automation API, and the local commands (run, start,
// stop, status) that manage the embedded local cloud runtime.
package cli
