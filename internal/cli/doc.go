// Package cli is the tenantfleet command line: the stack commands (up,
// preview, refresh, destroy, outputs, publish) that run the tenantfleet
// Pulumi program through the engine runner (package engine), and the local
// commands (run, start, stop, status) that manage the embedded local cloud
// runtime. It owns the flags, the output formats and the exit codes
// (ExitOK ... ExitCostGate): an engine error's kind maps to its code.
package cli
