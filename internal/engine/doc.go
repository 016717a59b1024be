// Package engine runs stack operations of the tenantfleet Pulumi program
// through the Automation API with the pulumi CLI found next to the binary:
// the runner both the tenantfleet command and the signup service use.
//
// A Runner is shared by a whole process. Run takes an Operation (up,
// preview, refresh, destroy, outputs, export, cancel) and StackOptions, and
// returns a Report with the changes and outputs taken from the operation's
// own event stream. The pulumi CLI starts once per process for its version
// and once per operation, besides only where the engine offers no other
// way (see stackRun.do).
//
// Every error is an *Error whose Kind says what it asks of the caller
// (KindFailed: may succeed later; KindUsage: fix the request or the
// environment; KindChanges: a preview found changes it was told not to
// expect), and errors.Is names the cases a caller acts on
// (ErrStackNotFound, ErrStackExists, ErrLocked): nobody matches message
// text.
//
// Where state, secrets and plugins come from (the environment contract) is
// resolveEngineEnv's: a file:// backend and a generated passphrase under
// StateDir unless PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE(_FILE)
// say otherwise.
package engine
