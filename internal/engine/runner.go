package engine

import (
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Runner runs stack operations of one Pulumi program through the Automation
// API. One Runner serves a whole process (the tenantfleet command, or the
// signup service's many operations at once): it checks each pulumi CLI once
// and is safe for concurrent use.
type Runner struct {
	// Program is the Pulumi program run inline (stacks.Program).
	Program pulumi.RunFunc
	// Stderr gets the one-line-per-step progress of operations whose
	// StackOptions.Progress is nil.
	Stderr io.Writer
	// ExeDir is the directory of the tenantfleet binary, where the pulumi CLI
	// and the local cloud's provider plugin are looked for first.
	ExeDir string

	// force is closed to stop running operations at once (SetForce).
	force <-chan struct{}

	// pulumiChecked are the pulumi CLIs checked so far, by path
	// (checkedPulumi).
	pulumiMu      sync.Mutex
	pulumiChecked map[string]auto.PulumiCommand
}

// NewRunner returns a Runner of program, writing progress to the process's
// stderr, looking for the pulumi CLI next to the running executable.
func NewRunner(program pulumi.RunFunc) *Runner {
	r := &Runner{Program: program, Stderr: os.Stderr}
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		r.ExeDir = filepath.Dir(exe)
	}
	return r
}

// SetForce makes closing force stop running engine operations at once
// instead of waiting for them to cancel gracefully.
func (rn *Runner) SetForce(force <-chan struct{}) { rn.force = force }

// Force returns the channel SetForce set.
func (rn *Runner) Force() <-chan struct{} { return rn.force }
