package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// engineCommand is the pulumi CLI as the Automation API drives it. It runs
// commands like auto's own implementation, with two differences:
//
//   - on interrupt (ctx done) it sends the engine SIGINT and waits for it to
//     cancel gracefully, however long the in-flight steps take (auto kills it
//     after 10 s, which can leave a stack locked with pending operations); a
//     second interrupt (force closed) makes it stop at once;
//   - it remembers the last command's error output and exit code, which auto
//     folds into an opaque error, so failures can be classified.
//
// One engineCommand serves one stack operation (its last command is that
// operation's); the CLI check it wraps is shared by the whole process
// (Runner.checkedPulumi).
type engineCommand struct {
	auto.PulumiCommand // the checked CLI; provides Version
	path               string
	force              <-chan struct{}
	// readBacks makes Run answer auto's read-backs after an operation
	// (autoReadBack) without starting the CLI.
	readBacks bool

	mu   sync.Mutex
	last commandResult
}

type commandResult struct {
	args   []string
	stderr string
	code   int
}

// newEngineCommand returns the CLI at path, checked once per process
// (Runner.checkedPulumi), ready to run one stack operation.
func (rn *Runner) newEngineCommand(path string) (*engineCommand, error) {
	checked, err := rn.checkedPulumi(path)
	if err != nil {
		return nil, err
	}
	return &engineCommand{PulumiCommand: checked, path: path, force: rn.force}, nil
}

// checkedPulumi checks the CLI at path the first time this process uses it
// (auto.NewPulumiCommand runs `pulumi version` and checks it against the
// SDK's minimum) and remembers it: auto.PulumiCommand is a path and a
// version, and every later operation (the signup service runs many) reuses
// it instead of starting the CLI once more for its version. A failed check
// is not remembered.
func (rn *Runner) checkedPulumi(path string) (auto.PulumiCommand, error) {
	rn.pulumiMu.Lock()
	defer rn.pulumiMu.Unlock()
	if checked, ok := rn.pulumiChecked[path]; ok {
		return checked, nil
	}
	binDir := filepath.Dir(path)
	if filepath.Base(binDir) != "bin" {
		return nil, usageErrorf("the pulumi CLI at %s must be in a directory named bin "+
			"(the Automation API runs <root>/bin/pulumi)", path)
	}
	checked, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(binDir)})
	if err != nil {
		return nil, usageErrorf("the pulumi CLI at %s is not usable: %v; run `make cli` to rebuild ./bin/pulumi", path, err)
	}
	if rn.pulumiChecked == nil {
		rn.pulumiChecked = map[string]auto.PulumiCommand{}
	}
	rn.pulumiChecked[path] = checked
	return checked, nil
}

// autoReadBack is what auto reads back after an operation's own command
// has succeeded, answered without starting the CLI. Stack.Up runs
// `stack output --json`, then `stack output --json --show-secrets`
// (Workspace.StackOutputs) and `stack history --json --show-secrets
// --page-size 1` (Stack.History); Refresh and Destroy run the history
// (github.com/pulumi/pulumi/sdk/v3@v3.232.0/go/auto/stack.go). Three CLI
// starts, each loading the backend and decrypting the state, for results
// the runner never reads: the changes and the stack's outputs come from
// the operation's own event stream (progress), and shown secrets, which
// the stream never carries, from stackRun.outputs. So auto gets no outputs
// ({}) and no history ([]), and its results are empty. The runner calls
// neither Workspace.StackOutputs nor Stack.History itself.
func autoReadBack(args []string) (string, bool) {
	if len(args) < 2 || args[0] != "stack" {
		return "", false
	}
	switch args[1] {
	case "output":
		return "{}", true
	case "history":
		return "[]", true
	}
	return "", false
}

// Run implements auto.PulumiCommand: what auto runs.
func (c *engineCommand) Run(ctx context.Context,
	workdir string,
	stdin io.Reader,
	additionalOutput []io.Writer,
	additionalErrorOutput []io.Writer,
	additionalEnv []string,
	args ...string,
) (string, string, int, error) {
	if c.readBacks {
		if stdout, ok := autoReadBack(args); ok {
			return stdout, "", 0, nil
		}
	}
	return c.run(ctx, workdir, stdin, additionalOutput, additionalErrorOutput, additionalEnv, args...)
}

// run starts the CLI with args: every command of an operation, auto's and
// the runner's own.
func (c *engineCommand) run(ctx context.Context,
	workdir string,
	stdin io.Reader,
	additionalOutput []io.Writer,
	additionalErrorOutput []io.Writer,
	additionalEnv []string,
	args ...string,
) (string, string, int, error) {
	if !slices.Contains(args, "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.Command(c.path, args...)
	cmd.Dir = workdir
	// Later entries win: additionalEnv (the workspace's variables, PATH
	// included) overrides this process's environment.
	cmd.Env = append(append(os.Environ(), additionalEnv...), "PULUMI_AUTOMATION_API=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(slices.Clone(additionalOutput), &stdout)...)
	cmd.Stderr = io.MultiWriter(append(slices.Clone(additionalErrorOutput), &stderr)...)
	// Unless its output is streamed (--verbose), the engine writes to files,
	// not pipes: a pipe whose reader died kills the engine with SIGPIPE at
	// its next line, leaving the stack locked with operations pending.
	if len(additionalOutput) == 0 && len(additionalErrorOutput) == 0 {
		files, err := newOutputFiles()
		if err != nil {
			return "", "", -2, err
		}
		defer files.close()
		cmd.Stdout, cmd.Stderr = files.stdout, files.stderr
	}
	cmd.Stdin = stdin
	// Its own process group: a terminal's Ctrl-C reaches tenantfleet only,
	// which then asks the engine to cancel.
	// If tenantfleet dies (even by SIGKILL), the engine is interrupted as
	// on Ctrl-C: it finishes its in-flight steps, records them and releases
	// the stack's lock, instead of running on with no one reading it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
	// Plugins that outlive the CLI must not hold its output pipes open forever.
	cmd.WaitDelay = 10 * time.Second

	if err := ctx.Err(); err != nil {
		return "", "", -2, err
	}
	// Pdeathsig follows the thread that started the engine: keep it alive
	// (locked to this goroutine) until the engine has exited.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return "", "", -2, err
	}
	if observe, ok := ctx.Value(engineObserverKey{}).(Observer); ok {
		observe.Started(cmd.Process.Pid)
		defer observe.Ended(cmd.Process.Pid)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err = <-done:
		case <-c.force:
			// The engine's second interrupt: stop now.
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				err = <-done
			}
		}
	}

	if f, ok := cmd.Stdout.(*os.File); ok {
		readFile(f, &stdout)
		readFile(cmd.Stderr.(*os.File), &stderr)
	}
	result := commandResult{args: args}
	if err != nil {
		result.code, result.stderr = -2, stderr.String()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			result.code = exitErr.ExitCode()
		}
	}
	c.mu.Lock()
	c.last = result
	c.mu.Unlock()
	return stdout.String(), stderr.String(), result.code, err
}

// outputFiles are the unlinked temporary files an engine writes its output to.
type outputFiles struct{ stdout, stderr *os.File }

func newOutputFiles() (*outputFiles, error) {
	out, err := os.CreateTemp("", "tenantfleet-engine-")
	if err != nil {
		return nil, fmt.Errorf("create the engine's output file: %w", err)
	}
	errf, err := os.CreateTemp("", "tenantfleet-engine-")
	if err != nil {
		_ = out.Close()           // empty; the create error is the one to report
		_ = os.Remove(out.Name()) // best effort: it holds nothing yet
		return nil, fmt.Errorf("create the engine's output file: %w", err)
	}
	// Unlinked at once: nothing is left behind, whatever happens. The open
	// descriptors keep the files readable; one that cannot be unlinked would
	// be left in the temporary directory with the engine's output, so say so.
	for _, f := range []*os.File{out, errf} {
		if err := os.Remove(f.Name()); err != nil {
			slog.Warn("could not unlink the engine's output file; remove it once the operation ends", "file", f.Name(), "err", err)
		}
	}
	return &outputFiles{stdout: out, stderr: errf}, nil
}

// close closes the files once their output has been read: they are
// unlinked and were only read since, so a close error loses nothing.
func (f *outputFiles) close() {
	_ = f.stdout.Close()
	_ = f.stderr.Close()
}

func readFile(f *os.File, into *bytes.Buffer) {
	if _, err := f.Seek(0, io.SeekStart); err == nil {
		_, _ = into.ReadFrom(f)
	}
}

// Observer is told of every engine process a stack operation starts and of
// its end (see WithEngineObserver).
type Observer interface {
	Started(pid int)
	Ended(pid int)
}

type engineObserverKey struct{}

// WithEngineObserver returns a context under which stack operations report
// their engine processes to o: the signup service records them so that,
// after a crash, it can tell a lock its own dead engine left from anyone
// else's.
func WithEngineObserver(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, engineObserverKey{}, o)
}

// lastResult is the last command run: its exit code, and its error output
// when it failed.
func (c *engineCommand) lastResult() commandResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
