package cli

import (
	"errors"
	"fmt"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// Exit codes of the tenantfleet command.
const (
	// ExitOK: the command succeeded.
	ExitOK = 0
	// ExitFailed: the operation failed (an engine, provider or program
	// error, a locked stack, an interrupt), or the local cloud is not running
	// for `local status`.
	ExitFailed = 1
	// ExitUsage: a usage or configuration error: bad flags or arguments, no
	// Pulumi.yaml, a missing Pulumi.<stack>.yaml, a stack that does not
	// exist, an invalid stack configuration, no pulumi CLI, a wrong passphrase.
	ExitUsage = 2
	// ExitChanges: preview or refresh with --expect-no-changes found changes.
	ExitChanges = 3
	// ExitCostGate: `cost` found the monthly cost above --fail-above or its
	// increase above --fail-delta.
	ExitCostGate = 4
)

// ExitError is an error with the exit code it maps to. Every error a
// command returns is one; anything else reaching Main is a usage error
// (cobra's own flag and argument errors).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

func failedErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitFailed, Err: fmt.Errorf(format, args...)}
}

// exitCode maps an error returned by a command to the process exit code:
// an *ExitError's code, an engine error's by its kind, else
// ExitUsage.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var exitErr *ExitError
	if errors.As(err, &exitErr) {
		return exitErr.Code
	}
	var engineErr *engine.Error
	if errors.As(err, &engineErr) {
		switch engineErr.Kind {
		case engine.KindUsage:
			return ExitUsage
		case engine.KindChanges:
			return ExitChanges
		default:
			return ExitFailed
		}
	}
	return ExitUsage
}

// isCommandError reports whether err is one of the command's own errors
// (rather than cobra's, which get a pointer to --help).
func isCommandError(err error) bool {
	var exitErr *ExitError
	var engineErr *engine.Error
	return errors.As(err, &exitErr) || errors.As(err, &engineErr)
}
