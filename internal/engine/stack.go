package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Operation is what a stack command does.
type Operation string

// The stack operations.
const (
	OpUp      Operation = "up"
	OpPreview Operation = "preview"
	OpRefresh Operation = "refresh"
	OpDestroy Operation = "destroy"
	OpOutputs Operation = "outputs"
	// OpExport reads the stack's state (Report.Deployment).
	OpExport Operation = "export"
	// OpCancel removes the stack's lock (pulumi cancel): only for a lock
	// whose holder is known to be dead.
	OpCancel Operation = "cancel"
)

// StackOptions says which stack to operate on and how.
type StackOptions struct {
	// ProjectDir holds Pulumi.yaml and Pulumi.<stack>.yaml; it is the
	// workspace's working directory.
	ProjectDir string
	// Stack is the stack name (org/project/stack on backends that take it).
	Stack string
	// Backend is the backend URL; "" means $PULUMI_BACKEND_URL, else the
	// default file:// backend in the state directory.
	Backend string
	// ExpectNoChanges makes preview and refresh fail with KindChanges when
	// they find changes.
	ExpectNoChanges bool
	// ShowSecrets shows secret outputs in plain text instead of "[secret]".
	ShowSecrets bool
	// Remove makes destroy also remove the stack (its Pulumi.<stack>.yaml
	// is kept).
	Remove bool
	// NewStack says the caller knows the stack does not exist yet (the
	// signup service's first operation on a tenant): up and preview create
	// it (pulumi stack init) before running, instead of learning it from
	// their own command's failure and then creating it. If the stack exists
	// after all, nothing is run and the error wraps ErrStackExists.
	NewStack bool
	// Verbose streams the engine's own output instead of one line per step.
	Verbose bool

	// Config, when not nil, is the stack's whole configuration: the
	// operation then runs in a workspace of its own, a new temporary
	// directory holding a Pulumi.yaml and a Pulumi.<stack>.yaml with this
	// config, removed afterwards (ProjectDir is not used). Operations on
	// different stacks never share a directory or a selected stack.
	Config map[string]any
	// Events, when not nil, receives every engine event of the operation.
	Events func(events.EngineEvent)
	// Progress receives the one-line-per-step progress; nil means the
	// Runner's Stderr.
	Progress io.Writer
	// ClearPendingCreates makes refresh drop the pending creates a killed
	// engine left in the state (the resources are then created again,
	// adopted by providers that create idempotently).
	ClearPendingCreates bool
	// PreviewOnly makes refresh only read the resources and report what
	// changed behind the engine (pulumi refresh --preview-only): the state
	// is not written. A DriftCollector in Events gathers the drift.
	PreviewOnly bool
	// Refresh makes up refresh the state first (pulumi up --refresh), so
	// that a resource deleted behind the engine is created again, and one
	// changed behind it is updated where its provider's diff sees the
	// change. For preview (pulumi preview --refresh) the preview compares
	// with the resources as they are, not as the state last saw them; the
	// state is not written.
	Refresh bool
	// Exclude lists URNs destroy leaves alone.
	Exclude []string
	// RemoveKeepingResources makes destroy's Remove remove the stack even
	// when resources (those Exclude kept) remain in it: they stay in the
	// cloud, no longer managed by Pulumi.
	RemoveKeepingResources bool
}

// Report is the outcome of a stack operation; --json prints it.
type Report struct {
	Stack     string    `json:"stack"`
	Operation Operation `json:"operation"`
	// Result is "succeeded" or "failed".
	Result string `json:"result"`
	// Changes counts resource steps by kind (create, update, delete, same, ...).
	Changes map[string]int `json:"changes"`
	// Outputs are the stack outputs after up and refresh (and for outputs),
	// with secrets as "[secret]" unless shown.
	Outputs         map[string]any `json:"outputs"`
	DurationSeconds float64        `json:"durationSeconds"`
	// Error says why the operation failed.
	Error string `json:"error,omitempty"`
	// Note is a remark on a successful operation (a no-op destroy).
	Note string `json:"note,omitempty"`
	// Deployment is the stack's state, for export (nil when the stack does
	// not exist). It may hold encrypted secrets; never print it.
	Deployment json.RawMessage `json:"-"`
}

// Run runs op on a stack with the Runner's program as its inline Pulumi
// program. The error, when not nil, is an *Error; the report is filled
// either way.
func (rn *Runner) Run(ctx context.Context, op Operation, opts StackOptions) (Report, error) {
	start := time.Now()
	report := Report{Stack: opts.Stack, Operation: op, Changes: map[string]int{}, Outputs: map[string]any{}}
	err := rn.runStack(ctx, op, opts, &report)
	report.DurationSeconds = time.Since(start).Round(time.Millisecond).Seconds()
	report.Result = "succeeded"
	if err != nil {
		report.Result = "failed"
		report.Error = err.Error()
		var engineErr *Error
		if !errors.As(err, &engineErr) {
			err = &Error{Kind: KindFailed, Err: err}
		}
	}
	return report, err
}

var stackNamePart = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

func (rn *Runner) runStack(ctx context.Context, op Operation, opts StackOptions, report *Report) error {
	if rn.Program == nil {
		return failedErrorf("no Pulumi program configured")
	}
	parts := strings.Split(opts.Stack, "/")
	if opts.Stack == "" || len(parts) > 3 || !stackNamePart.MatchString(parts[len(parts)-1]) {
		return usageErrorf("invalid --stack %q: use letters, digits, '-', '_' and '.' (optionally org/project/stack)", opts.Stack)
	}
	if opts.Config != nil {
		dir, err := operationWorkspace(parts[len(parts)-1], opts.Config)
		if err != nil {
			return failedErrorf("%v", err)
		}
		defer removeWorkspace(dir)
		opts.ProjectDir = dir
	}
	projectDir, err := filepath.Abs(opts.ProjectDir)
	if err != nil {
		return usageErrorf("project directory: %v", err)
	}
	if projectFile(projectDir) == "" {
		return usageErrorf("no Pulumi.yaml in project directory %s", projectDir)
	}
	// Every operation but outputs and export reads the stack's configuration.
	if op != OpOutputs && op != OpExport && op != OpCancel {
		if err := checkStackConfig(projectDir, parts[len(parts)-1]); err != nil {
			return err
		}
	}

	pulumiPath, err := findPulumi(rn.ExeDir, projectDir)
	if err != nil {
		return err
	}
	engine, err := rn.newEngineCommand(pulumiPath)
	if err != nil {
		return err
	}
	engine.readBacks = true
	env, err := resolveEngineEnv(opts.Backend, rn.ExeDir, projectDir, filepath.Dir(pulumiPath))
	if err != nil {
		return failedErrorf("%v", err)
	}
	if err := env.setProcessEnv(); err != nil {
		return failedErrorf("%v", err)
	}
	slog.Debug("engine", "pulumi", pulumiPath, "backend", env.backendURL, "backendFrom", env.backendSource,
		"pulumiHome", env.vars[envPulumiHome], "path", env.vars["PATH"])

	run := &stackRun{runner: rn, op: op, opts: opts, projectDir: projectDir, engine: engine, env: env, report: report}
	return run.do(ctx)
}

// operationWorkspace creates the temporary project directory of one
// operation: Pulumi.yaml (the inline program's project) and
// Pulumi.<stack>.yaml holding config.
func operationWorkspace(stack string, config map[string]any) (string, error) {
	dir, err := os.MkdirTemp("", "tenantfleet-op-")
	if err != nil {
		return "", fmt.Errorf("create the operation's workspace: %w", err)
	}
	stackFile, err := yaml.Marshal(map[string]any{"config": config})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: tenantfleet\nruntime: go\n"), 0o600)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), stackFile, 0o600)
	}
	if err != nil {
		removeWorkspace(dir)
		return "", fmt.Errorf("write the operation's workspace: %w", err)
	}
	return dir, nil
}

// removeWorkspace removes an operation's workspace. Its stack file holds
// the operation's config, so one left behind is worth a warning.
func removeWorkspace(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		slog.Warn("could not remove the operation's workspace; remove it by hand", "dir", dir, "err", err)
	}
}

// checkStackConfig fails with a usage error naming the file when the
// stack's Pulumi.<stack>.yaml (in the project's stackConfigDir) is missing
// or is not a YAML mapping, before the engine creates or touches the stack.
func checkStackConfig(projectDir, stack string) error {
	dir := projectDir
	if b, err := os.ReadFile(projectFile(projectDir)); err == nil {
		var proj struct {
			StackConfigDir string `yaml:"stackConfigDir"`
		}
		if yaml.Unmarshal(b, &proj) == nil && proj.StackConfigDir != "" {
			dir = filepath.Join(projectDir, proj.StackConfigDir)
		}
	}
	var tried []string
	for _, ext := range []string{".yaml", ".yml"} {
		p := filepath.Join(dir, "Pulumi."+stack+ext)
		if _, err := os.Stat(p); err == nil {
			return checkYAML(stack, p)
		}
		tried = append(tried, p)
	}
	return usageErrorf("stack %q has no configuration file: %s does not exist "+
		"(create it, for example from Pulumi.dev.yaml, or choose another --stack)", stack, tried[0])
}

// checkYAML fails with a usage error naming the stack file and the line
// when it does not parse as a YAML mapping (or is empty), as the engine
// needs it; the engine checks the rest.
func checkYAML(stack, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return usageErrorf("stack %q: read %s: %v", stack, path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return usageErrorf("stack %q: %s is not valid YAML: %s; nothing was changed",
			stack, path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// stackRun is one stack operation in progress.
type stackRun struct {
	runner     *Runner
	op         Operation
	opts       StackOptions
	projectDir string
	engine     *engineCommand
	env        *engineEnv
	report     *Report
	program    programRecorder
	progress   *progress
	// streamEnded: the operation's event stream ended (every event was
	// handled), so what progress kept from it is complete.
	streamEnded bool
}

// do runs the operation. The pulumi CLI starts for the operation's own
// command and, besides, only for:
//
//   - pulumi stack init, when up or preview finds no stack (before them
//     when the caller said it is new, NewStack, or with Verbose);
//   - pulumi stack output --show-secrets after up and refresh with
//     ShowSecrets: the event stream carries the outputs with secrets
//     masked only (operationOutputs);
//   - pulumi stack rm after destroy with Remove (removeStack).
func (r *stackRun) do(ctx context.Context) error {
	stack, err := r.openStack(ctx)
	if err != nil {
		return err
	}
	switch r.op {
	case OpCancel:
		if err := stack.Cancel(ctx); err != nil && !r.stackMissing() {
			return r.classify(ctx, err, nil, diagnostics{})
		}
		return nil // a stack that does not exist has no lock
	case OpExport:
		dep, err := stack.Export(ctx)
		if err != nil {
			if r.stackMissing() {
				return nil // Deployment stays nil: no stack
			}
			return r.classify(ctx, err, nil, diagnostics{})
		}
		r.report.Deployment = dep.Deployment
		return nil
	case OpOutputs:
		outs, err := r.outputs(ctx)
		if err != nil {
			return err
		}
		r.report.Outputs = outs
		return nil
	case OpUp, OpPreview, OpRefresh, OpDestroy:
	default:
		return usageErrorf("unknown operation %q", r.op)
	}

	// A stack the caller knows is new is created first. So is any with
	// --verbose, which streams the engine's output: it would show the
	// engine refusing the missing stack before creating it.
	if (r.opts.NewStack || r.opts.Verbose) && (r.op == OpUp || r.op == OpPreview) {
		if err := r.createStack(ctx, r.opts.NewStack); err != nil {
			return err
		}
	}
	changes, diags, err := r.operate(ctx, stack)
	if err != nil && r.stackMissing() {
		switch r.op {
		case OpDestroy:
			r.report.Note = fmt.Sprintf("stack %s does not exist in %s: nothing to destroy", r.opts.Stack, r.env.backendURL)
			return nil
		case OpUp, OpPreview:
			if err := r.createStack(ctx, false); err != nil {
				return err
			}
			changes, diags, err = r.operate(ctx, stack)
		default:
			return r.missingStack()
		}
	}
	if changes != nil {
		r.report.Changes = changes
	}
	if err != nil {
		return r.classify(ctx, err, changes, diags)
	}
	if r.op == OpPreview && r.opts.ExpectNoChanges && HasChanges(changes) {
		// The engine should have failed already; never let changes pass.
		return &Error{Kind: KindChanges, Err: fmt.Errorf("preview of stack %s found changes (%s) and --expect-no-changes was given",
			r.opts.Stack, FormatChanges(changes))}
	}

	switch r.op {
	case OpUp, OpRefresh:
		outs, err := r.operationOutputs(ctx)
		if err != nil {
			return err
		}
		r.report.Outputs = outs
	case OpDestroy:
		if r.opts.Remove {
			if err := r.removeStack(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// operate runs the operation's own engine command (up, preview, refresh or
// destroy), its events feeding the progress lines and opts.Events, and
// returns the changes (nil without a summary) and the error diagnostics
// the events reported, with the command's error.
func (r *stackRun) operate(ctx context.Context, stack auto.Stack) (map[string]int, diagnostics, error) {
	progressOut := r.opts.Progress
	if progressOut == nil {
		progressOut = r.runner.Stderr
	}
	r.progress = newProgress(progressOut, r.opts.Verbose, r.op == OpPreview)
	r.progress.forward = r.opts.Events
	r.streamEnded = false
	ch := make(chan events.EngineEvent)
	drained := make(chan struct{})
	go r.progress.consume(ch, drained)
	var progressStreams []io.Writer
	if r.opts.Verbose {
		progressStreams = []io.Writer{r.runner.Stderr}
	}

	var err error
	switch r.op {
	case OpUp:
		uopts := []optup.Option{optup.EventStreams(ch), optup.Color("never"),
			optup.ProgressStreams(progressStreams...), optup.ErrorProgressStreams(progressStreams...)}
		if r.opts.Refresh {
			uopts = append(uopts, optup.Refresh())
		}
		_, err = stack.Up(ctx, uopts...)
	case OpPreview:
		popts := []optpreview.Option{optpreview.EventStreams(ch), optpreview.Color("never"),
			optpreview.ProgressStreams(progressStreams...), optpreview.ErrorProgressStreams(progressStreams...)}
		if r.opts.ExpectNoChanges {
			popts = append(popts, optpreview.ExpectNoChanges())
		}
		if r.opts.Refresh {
			popts = append(popts, optpreview.Refresh())
		}
		_, err = stack.Preview(ctx, popts...)
	case OpRefresh:
		ropts := []optrefresh.Option{optrefresh.EventStreams(ch), optrefresh.Color("never"),
			optrefresh.ProgressStreams(progressStreams...), optrefresh.ErrorProgressStreams(progressStreams...)}
		if r.opts.ExpectNoChanges {
			ropts = append(ropts, optrefresh.ExpectNoChanges())
		}
		if r.opts.ClearPendingCreates {
			ropts = append(ropts, optrefresh.ClearPendingCreates())
		}
		if r.opts.PreviewOnly {
			_, err = stack.PreviewRefresh(ctx, ropts...)
		} else {
			_, err = stack.Refresh(ctx, ropts...)
		}
	case OpDestroy:
		dopts := []optdestroy.Option{optdestroy.EventStreams(ch), optdestroy.Color("never"),
			optdestroy.ProgressStreams(progressStreams...), optdestroy.ErrorProgressStreams(progressStreams...)}
		if len(r.opts.Exclude) > 0 {
			dopts = append(dopts, optdestroy.Exclude(r.opts.Exclude))
		}
		_, err = stack.Destroy(ctx, dopts...)
	}
	if err != nil && r.stackMissing() {
		return nil, diagnostics{}, err // refused before the engine started: no events
	}

	// The events server closes the channel when the engine ends its stream;
	// an engine that failed before opening one never does.
	wait := 5 * time.Second
	if !r.progress.streamed() {
		wait = 250 * time.Millisecond
	}
	select {
	case <-drained:
		r.streamEnded = true
	case <-time.After(wait):
	}
	changes, diags := r.progress.result()
	return changes, diags, err
}

// openStack returns the operation's stack: a local workspace on the
// project directory running the inline program, and the stack in it, named
// but not selected. auto's SelectStack runs `pulumi stack select` and
// UpsertStack, for a new stack, that failing select and then `stack init`:
// up to two CLI starts before every operation. They are not needed: every
// command auto runs names the stack itself (`--stack`, Stack.runPulumiCmdSync
// in sdk/v3@v3.232.0/go/auto/stack.go), and whether the stack exists is
// what the operation's own command says first when it does not
// (stackMissing).
func (r *stackRun) openStack(ctx context.Context) (auto.Stack, error) {
	ws, err := auto.NewLocalWorkspace(ctx,
		auto.WorkDir(r.projectDir),
		auto.Program(r.program.wrap(r.runner.Program)),
		auto.Pulumi(r.engine),
		auto.EnvVars(r.env.vars),
	)
	if err != nil {
		return auto.Stack{}, r.classify(ctx, err, nil, diagnostics{})
	}
	// As auto's *StackInlineSource functions check it (getProjectSettings).
	if _, err := ws.ProjectSettings(ctx); err != nil {
		return auto.Stack{}, r.classify(ctx, fmt.Errorf("failed to load project settings: %w", err), nil, diagnostics{})
	}
	stack, err := auto.SelectStack(ctx, r.opts.Stack, unselectedWorkspace{ws})
	if err != nil {
		return auto.Stack{}, r.classify(ctx, err, nil, diagnostics{})
	}
	return stack, nil
}

// unselectedWorkspace is a workspace that selects no stack: see openStack.
type unselectedWorkspace struct{ auto.Workspace }

// SelectStack implements auto.Workspace: it does nothing.
func (unselectedWorkspace) SelectStack(context.Context, string) error { return nil }

// stackMissing reports whether the last command failed because the stack
// does not exist: the CLI's first check of every command on a stack
// (cmd/pulumi/stack RequireStack, backenderr.StackNotFoundError in
// pkg/v3@v3.232.0), made before an operation starts its engine. A command
// whose events arrived ran, whatever its output says.
func (r *stackRun) stackMissing() bool {
	if r.progress != nil && r.progress.streamed() {
		return false
	}
	last := r.engine.lastResult()
	return last.code != 0 && strings.Contains(StripColor(last.stderr), fmt.Sprintf("no stack named '%s' found", r.opts.Stack))
}

// missingStack is the error of an operation that needs the stack when it
// does not exist.
func (r *stackRun) missingStack() error {
	return &Error{Kind: KindUsage, is: ErrStackNotFound, Err: fmt.Errorf("stack %s does not exist in backend %s (from %s); `tenantfleet up --stack %s` creates it",
		r.opts.Stack, r.env.backendURL, r.env.backendSource, r.opts.Stack)}
}

var stackExists = regexp.MustCompile(`stack '[^']*' already exists`)

// createStack creates the stack with the passphrase secrets provider,
// without selecting it (as auto's CreateStack, less the selection: see
// openStack). When it exists already, that is an error (ErrStackExists)
// only if the caller said it was new; otherwise it was created in the
// meantime, and the operation goes on.
func (r *stackRun) createStack(ctx context.Context, callerSaidNew bool) error {
	args := []string{"stack", "init", r.opts.Stack, "--secrets-provider", "passphrase", "--no-select"}
	_, stderr, _, err := r.engine.run(ctx, r.projectDir, nil, nil, nil, r.envList(), args...)
	if err == nil {
		return nil
	}
	if stackExists.MatchString(StripColor(stderr)) {
		if callerSaidNew {
			return &Error{Kind: KindFailed, Err: fmt.Errorf("stack %s: %w", r.opts.Stack, ErrStackExists), is: ErrStackExists}
		}
		return nil
	}
	return r.classify(ctx, err, nil, diagnostics{})
}

// envList is the workspace's variables for commands run outside auto.
func (r *stackRun) envList() []string {
	keys := make([]string, 0, len(r.env.vars))
	for k := range r.env.vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+r.env.vars[k])
	}
	return out
}

// operationOutputs are the stack's outputs after up or refresh: those the
// root stack reported in the operation's own event stream, with secrets
// masked as `pulumi stack output --json` masks them (progress keeps them).
// The CLI is asked (outputs) only when secrets are to be shown, which the
// stream never carries (the CLI writes every event with showSecrets false:
// logJSONEvent in pkg/v3@v3.232.0/backend/display/display.go), or when the
// stream did not end with them.
func (r *stackRun) operationOutputs(ctx context.Context) (map[string]any, error) {
	if !r.opts.ShowSecrets && r.streamEnded {
		if outs, ok := r.progress.stackOutputs(); ok {
			return outs, nil
		}
	}
	return r.outputs(ctx)
}

// outputs reads the stack outputs with the CLI. Without --show-secrets it
// asks for its masked view, where every secret, however deeply nested, is
// the string "[secret]" (auto's StackOutputs only knows whether a whole
// top-level output holds a secret, and always decrypts).
func (r *stackRun) outputs(ctx context.Context) (map[string]any, error) {
	args := []string{"stack", "output", "--json", "--stack", r.opts.Stack}
	if r.opts.ShowSecrets {
		args = append(args, "--show-secrets")
	}
	stdout, _, _, err := r.engine.run(ctx, r.projectDir, nil, nil, nil, r.envList(), args...)
	if err != nil {
		if r.stackMissing() {
			return nil, r.missingStack()
		}
		return nil, r.classify(ctx, err, nil, diagnostics{})
	}
	outs := map[string]any{}
	if strings.TrimSpace(stdout) == "" {
		return outs, nil
	}
	if err := json.Unmarshal([]byte(stdout), &outs); err != nil {
		return nil, failedErrorf("read the outputs of stack %s: %v", r.opts.Stack, err)
	}
	return outs, nil
}

// removeStack removes the (empty) stack from the backend. It keeps
// Pulumi.<stack>.yaml: `pulumi stack rm`, and so auto's optdestroy.Remove,
// would delete the project's checked-in stack configuration.
func (r *stackRun) removeStack(ctx context.Context) error {
	args := []string{"stack", "rm", "--yes", "--preserve-config", "--stack", r.opts.Stack}
	if r.opts.RemoveKeepingResources {
		args = append(args, "--force")
	}
	_, _, _, err := r.engine.run(ctx, r.projectDir, nil, nil, nil, r.envList(), args...)
	if err != nil {
		return r.classify(ctx, err, nil, diagnostics{})
	}
	r.report.Note = fmt.Sprintf("removed stack %s from %s (kept its configuration file)", r.opts.Stack, r.env.backendURL)
	return nil
}

// programRecorder wraps the Pulumi program to keep the error it returns (or
// the panic it raises): the engine reports it buried in its own wording,
// and its text decides between a configuration error and a failure.
type programRecorder struct {
	mu  sync.Mutex
	err error
}

func (p *programRecorder) wrap(program pulumi.RunFunc) pulumi.RunFunc {
	return func(ctx *pulumi.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				p.set(fmt.Errorf("%v", v))
				panic(v)
			}
		}()
		err = program(ctx)
		p.set(err)
		return err
	}
}

func (p *programRecorder) set(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *programRecorder) get() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
