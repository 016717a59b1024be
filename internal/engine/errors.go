package engine

import (
	"errors"
	"fmt"
)

// Kind says what a failed operation asks of its caller. The tenantfleet
// command maps it to its exit code; the signup service to whether a job is
// retried.
type Kind int

const (
	// KindFailed means the operation failed (an engine, provider or
	// program error, a locked stack, an interrupt); the same request may
	// succeed later.
	KindFailed Kind = iota + 1
	// KindUsage means the request or the environment is wrong (a bad stack
	// name, no Pulumi.yaml, a stack that does not exist, an invalid stack
	// configuration, no pulumi CLI, a wrong passphrase); it fails the same
	// way until that changes.
	KindUsage
	// KindChanges means preview or refresh with ExpectNoChanges found
	// changes.
	KindChanges
)

func (k Kind) String() string {
	switch k {
	case KindFailed:
		return "failed"
	case KindUsage:
		return "usage"
	case KindChanges:
		return "changes"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is every error Runner.Run returns: its message, its kind, and the
// case it is, when it is one a caller may act on (errors.Is with
// ErrStackNotFound, ErrStackExists, ErrLocked).
type Error struct {
	Kind Kind
	Err  error
	// is is the case's sentinel, or nil.
	is error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether the error is the case target (ErrStackNotFound, ...).
func (e *Error) Is(target error) bool { return e.is != nil && target == e.is }

// The cases a caller may act on. The error's message says more; these only
// name the case, so that nobody matches message text.
var (
	// ErrStackNotFound: the stack does not exist in the backend (refresh,
	// outputs; destroy of a missing stack succeeds with a note instead).
	ErrStackNotFound = errors.New("the stack does not exist")
	// ErrStackExists: up or preview with StackOptions.NewStack on a stack
	// that exists; nothing was run.
	ErrStackExists = errors.New("the stack exists already")
	// ErrLocked: another operation holds the stack's lock.
	ErrLocked = errors.New("the stack is locked by another operation")
)

// KindOf returns the kind of a Runner.Run error: KindFailed for an error
// that is not an *Error, 0 for nil.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindFailed
}

func usageErrorf(format string, args ...any) error {
	return &Error{Kind: KindUsage, Err: fmt.Errorf(format, args...)}
}

func failedErrorf(format string, args ...any) error {
	return &Error{Kind: KindFailed, Err: fmt.Errorf(format, args...)}
}
