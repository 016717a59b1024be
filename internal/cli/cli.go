package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// App is the tenantfleet command with what it needs from the outside world;
// tests replace parts of it.
type App struct {
	// Engine runs the stack operations of the program (stacks.Program); its
	// ExeDir is also where the local commands look for images.
	Engine *engine.Runner
	Stdout io.Writer
	Stderr io.Writer

	// The local cloud runtime (package localcloud).
	LocalRun     func(ctx context.Context, opts localcloud.Options) error
	LocalConnect func(ctx context.Context, dataDir string) (localcloud.API, error)
	LocalClient  func(dataDir string) LocalRuntime

	// verbose is the --verbose flag.
	verbose bool
	// extra are commands other packages add (serve).
	extra []func(*App) *cobra.Command
}

// LocalRuntime is the part of localcloud.Client the local commands use.
type LocalRuntime interface {
	Status(ctx context.Context) (localcloud.Status, error)
	Shutdown(ctx context.Context) error
}

// NewApp returns the tenantfleet command running program, wired to the
// process's standard streams, its executable's directory and localcloud.
func NewApp(program pulumi.RunFunc) *App {
	return &App{
		Engine:       engine.NewRunner(program),
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		LocalRun:     localcloud.Run,
		LocalConnect: localcloud.Connect,
		LocalClient:  func(dataDir string) LocalRuntime { return localcloud.NewClient(dataDir) },
	}
}

// Main runs tenantfleet with the process's arguments and returns its exit
// code. The first SIGINT or SIGTERM cancels the running operation
// gracefully (the engine finishes in-flight steps and records them; the
// local cloud stops its processes); a second one stops at once.
//
// extra adds commands built by other packages (the signup service's serve,
// which itself runs stack operations through the App's Engine).
func Main(program pulumi.RunFunc, extra ...func(*App) *cobra.Command) int {
	app := NewApp(program)
	app.extra = extra
	ctx, force, stop := interrupts(app.Stderr)
	defer stop()
	app.Engine.SetForce(force)
	return app.Run(ctx, os.Args[1:])
}

func interrupts(w io.Writer) (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	quit := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-sigs:
			notef(w, "\n%s received: stopping gracefully (send it again to stop at once)\n", sig)
			cancel()
		case <-quit:
			return
		}
		select {
		case <-sigs:
			notef(w, "stopping at once\n")
			close(force)
		case <-quit:
		}
	}()
	return ctx, force, func() {
		signal.Stop(sigs)
		close(quit)
		cancel()
	}
}

// Run runs the command line args (without the program name) and returns the
// exit code: see ExitOK, ExitFailed, ExitUsage and ExitChanges.
func (a *App) Run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		notef(a.Stderr, "tenantfleet: %v\n", err)
		if !isCommandError(err) {
			notef(a.Stderr, "Run 'tenantfleet --help' for usage.\n")
		}
	}
	return exitCode(err)
}

// notef writes a message for the person at the terminal (an error, a note,
// a progress line) to w, the command's stderr. A failed write is dropped on
// purpose: stderr is where it would be reported, and the command's result
// (its exit code and stdout) does not depend on it.
func notef(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}

func (a *App) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "tenantfleet",
		Short: "Provision tenant units and messaging fanouts on the cloud each stack chooses",
		Long: `tenantfleet provisions what every customer account gets — a tenant unit (a PostgreSQL
database, a public web app, a work queue with a dead-letter queue, a background
container) — and a messaging fanout, on the cloud a stack's Pulumi.<stack>.yaml names.

The stack commands run the tenantfleet Pulumi program through the Automation API with
the pulumi CLI found next to this binary (make cli builds ./bin/pulumi), so no Pulumi
language host is needed. State goes to a file:// backend under
$XDG_STATE_HOME/tenantfleet (or ~/.local/state/tenantfleet) unless --backend or
PULUMI_BACKEND_URL says otherwise; secrets use a passphrase generated there once.

The local commands manage the embedded local cloud (PostgreSQL, NATS JetStream and
supervised processes on this machine) that the "local" cloud provisions into.

serve runs the account-signup service: an HTTP API that provisions (and removes) a
stack per tenant through the Automation API, then keeps that fleet current; fleet
is its client for day 2: the fleet's status, rollouts of a changed template in
waves, drift checks.

publish sends one message to a stack's fanout topic on any cloud; image builds the
example app's and the forwarder's container images without Docker and pushes them
to a registry.

Exit codes: 0 success; 1 the operation failed; 2 usage or configuration error;
3 preview or refresh found changes with --expect-no-changes; 4 cost above
--fail-above or --fail-delta.`,
		Example: `  tenantfleet preview --stack dev
  tenantfleet up --stack dev
  tenantfleet outputs --stack dev --json
  tenantfleet destroy --stack dev --remove
  tenantfleet local start
  tenantfleet serve --listen 127.0.0.1:8080
  tenantfleet fleet rollout plan --all
  tenantfleet image push tenant-app registry.digitalocean.com/acme/tenant-app:1.4.0`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(_ *cobra.Command, _ []string) {
			level := slog.LevelInfo
			if a.verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false,
		"stream the engine's full output (stack commands) and debug logs")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%v\nRun '%s --help' for usage.", err, cmd.CommandPath())
	})
	root.AddCommand(a.stackCommands()...)
	root.AddCommand(a.localCommand())
	root.AddCommand(a.publishCommand())
	root.AddCommand(a.imageCommand())
	for _, build := range a.extra {
		root.AddCommand(build(a))
	}
	return root
}
