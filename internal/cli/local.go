package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// envLocalImagesDir is read by localcloud.RuntimeImagesDir, the default of
// --images-dir. `local start --images-dir` sets it for the runtime it starts
// in the background (localcloud.Connect runs `tenantfleet local run`, which
// inherits it).
const envLocalImagesDir = localcloud.EnvImagesDir

// How long the local commands wait for the runtime.
const (
	localStatusTimeout = 5 * time.Second
	localStartTimeout  = 3 * time.Minute
	localStopTimeout   = 2 * time.Minute // stopping PostgreSQL and the processes
)

type localFlags struct {
	dataDir   string
	imagesDir string
	json      bool
}

func (f *localFlags) registerDataDir(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "the runtime's data directory (default: $TENANTFLEET_LOCAL_DIR, else $XDG_STATE_HOME/tenantfleet/local)")
}

func (f *localFlags) registerImagesDir(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.imagesDir, "images-dir", "",
		"where container images map to local directories (<images dir>/<name>/<tag>) "+
			"(default: $"+envLocalImagesDir+", else images/ next to this binary when present, else <data dir>/images)")
}

func (f *localFlags) resolveDataDir() (string, error) {
	if f.dataDir != "" {
		return f.dataDir, nil
	}
	dir, err := localcloud.DefaultDataDir()
	if err != nil {
		return "", usageErrorf("find the local cloud's data directory: %v (pass --data-dir)", err)
	}
	return dir, nil
}

// resolveImagesDir is --images-dir, else the runtime's rule for this binary
// (localcloud.RuntimeImagesDir: $TENANTFLEET_LOCAL_IMAGES, else the images
// directory next to the binary, else <data dir>/images), the rule a program
// checking images before it uses the runtime applies too.
func (f *localFlags) resolveImagesDir(exeDir, dataDir string) string {
	if f.imagesDir != "" {
		return f.imagesDir
	}
	return localcloud.RuntimeImagesDir(dataDir, exeDir)
}

func (a *App) localCommand() *cobra.Command {
	local := &cobra.Command{
		Use:   "local",
		Short: "Manage the embedded local cloud runtime",
		Long: `The local cloud runs on this machine what the "local" cloud provisions: a PostgreSQL
server, an embedded NATS JetStream server and supervised web and worker processes,
with an API on a unix socket in its data directory. One runtime serves one data
directory. The provider plugin starts it on demand; these commands manage it by hand.`,
		Example: `  tenantfleet local start
  tenantfleet local status --json
  tenantfleet local stop
  tenantfleet local run --data-dir /tmp/lc   # in the foreground, logs on stderr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}

	var run, start, stop, status localFlags
	runCmd := &cobra.Command{
		Use:   "run",
		Short: "Run the local cloud in the foreground",
		Long: `Run runs the local cloud runtime in the foreground and logs to stderr until it gets
SIGINT or SIGTERM; it then stops its processes, NATS and PostgreSQL and exits 0. A
second signal stops at once. It fails when another runtime serves the data directory.`,
		Example: `  tenantfleet local run
  tenantfleet local run --data-dir /tmp/lc --images-dir ./examples/images`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.localRun(cmd.Context(), run) },
	}
	run.registerDataDir(runCmd)
	run.registerImagesDir(runCmd)

	startCmd := &cobra.Command{
		Use:   "start",
		Short: "Start the local cloud in the background unless it is running",
		Long: `Start makes sure a local cloud runtime serves the data directory: when none answers it
starts one in the background (tenantfleet local run) and waits until it is ready. It
then prints the data directory and the runtime's status.`,
		Example: `  tenantfleet local start
  tenantfleet local start --data-dir /tmp/lc --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.localStart(cmd.Context(), start) },
	}
	start.registerDataDir(startCmd)
	start.registerImagesDir(startCmd)
	startCmd.Flags().BoolVar(&start.json, "json", false, "print the status as JSON")

	stopCmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop the local cloud",
		Long: `Stop asks the runtime serving the data directory to shut down (its processes, NATS
and PostgreSQL stop; their data stays) and waits until it has. Stopping a runtime that
is not running succeeds.`,
		Example: `  tenantfleet local stop
  tenantfleet local stop --data-dir /tmp/lc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.localStop(cmd.Context(), stop) },
	}
	stop.registerDataDir(stopCmd)

	statusCmd := &cobra.Command{
		Use:   "status",
		Short: "Show the local cloud's status",
		Long: `Status shows whether a runtime serves the data directory, its PostgreSQL port, its
NATS URL and every supervised process (running, pid, port, URL, restarts, log file).
It exits 1 when the runtime is not running.`,
		Example: `  tenantfleet local status
  tenantfleet local status --json | jq '.processes[] | select(.running | not)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.localStatus(cmd.Context(), status) },
	}
	status.registerDataDir(statusCmd)
	statusCmd.Flags().BoolVar(&status.json, "json", false, "print the status as JSON")

	local.AddCommand(runCmd, startCmd, stopCmd, statusCmd)
	return local
}

func (a *App) localRun(ctx context.Context, f localFlags) error {
	dataDir, err := f.resolveDataDir()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if a.verbose {
		level = slog.LevelDebug
	}
	opts := localcloud.Options{
		DataDir:   dataDir,
		ImagesDir: f.resolveImagesDir(a.Engine.ExeDir, dataDir),
		Logger:    slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level})),
	}
	opts.Logger.Info("local cloud starting", "dataDir", opts.DataDir, "imagesDir", opts.ImagesDir)

	done := make(chan error, 1)
	go func() { done <- a.LocalRun(ctx, opts) }()
	select {
	case err = <-done:
	case <-a.Engine.Force():
		return failedErrorf("local cloud stopped at once: its PostgreSQL and processes may still be running; " +
			"`tenantfleet local run` or `local start` takes them over again")
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return failedErrorf("local cloud (data dir %s): %v", dataDir, err)
	}
	return nil
}

func (a *App) localStart(ctx context.Context, f localFlags) error {
	dataDir, err := f.resolveDataDir()
	if err != nil {
		return err
	}
	statusCtx, cancel := context.WithTimeout(ctx, localStatusTimeout)
	_, statusErr := a.LocalClient(dataDir).Status(statusCtx)
	cancel()
	wasRunning := statusErr == nil
	if wasRunning && f.imagesDir != "" {
		slog.Warn("the local cloud is already running; --images-dir applies when it next starts", "dataDir", dataDir)
	}
	if !wasRunning {
		// The runtime Connect starts in the background inherits this; it
		// runs in the data directory, so a relative path must be made absolute here.
		images, err := filepath.Abs(f.resolveImagesDir(a.Engine.ExeDir, dataDir))
		if err != nil {
			return usageErrorf("--images-dir: %v", err)
		}
		if err := os.Setenv(envLocalImagesDir, images); err != nil {
			return failedErrorf("set %s: %v", envLocalImagesDir, err)
		}
	}

	ctx, cancel = context.WithTimeout(ctx, localStartTimeout)
	defer cancel()
	api, err := a.LocalConnect(ctx, dataDir)
	if err != nil {
		return failedErrorf("start the local cloud (data dir %s): %v", dataDir, err)
	}
	st, err := api.Status(ctx)
	if err != nil {
		return failedErrorf("local cloud started but does not answer (data dir %s): %v", dataDir, err)
	}
	if f.json {
		return writeJSON(a.Stdout, runningStatus{Running: true, Status: st})
	}
	verb := "started"
	if wasRunning {
		verb = "already running"
	}
	notef(a.Stderr, "local cloud %s\n", verb)
	return writeStatus(a.Stdout, dataDir, st)
}

func (a *App) localStop(ctx context.Context, f localFlags) error {
	dataDir, err := f.resolveDataDir()
	if err != nil {
		return err
	}
	client := a.LocalClient(dataDir)
	statusCtx, cancel := context.WithTimeout(ctx, localStatusTimeout)
	st, err := client.Status(statusCtx)
	cancel()
	if errors.Is(err, localcloud.ErrNotRunning) {
		notef(a.Stderr, "local cloud is not running (data dir %s)\n", dataDir)
		return nil
	}
	if err != nil {
		return failedErrorf("the local cloud (data dir %s) does not answer: %v", dataDir, err)
	}

	// Shutdown returns once the runtime has stopped and released the data directory.
	ctx, cancel = context.WithTimeout(ctx, localStopTimeout)
	defer cancel()
	if err := client.Shutdown(ctx); err != nil && !errors.Is(err, localcloud.ErrNotRunning) {
		return failedErrorf("stop the local cloud (data dir %s, pid %d): %v", dataDir, st.PID, err)
	}
	notef(a.Stderr, "local cloud stopped (data dir %s, was pid %d)\n", dataDir, st.PID)
	return nil
}

// runningStatus is the JSON of `local status` and `local start`.
type runningStatus struct {
	Running bool `json:"running"`
	localcloud.Status
	Error string `json:"error,omitempty"`
}

func (a *App) localStatus(ctx context.Context, f localFlags) error {
	dataDir, err := f.resolveDataDir()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, localStatusTimeout)
	defer cancel()
	st, err := a.LocalClient(dataDir).Status(ctx)
	if err != nil {
		if f.json {
			doc := runningStatus{Error: err.Error()}
			doc.DataDir = dataDir
			_ = writeJSON(a.Stdout, doc)
		}
		if errors.Is(err, localcloud.ErrNotRunning) {
			return failedErrorf("local cloud is not running (data dir %s); `tenantfleet local start` starts it", dataDir)
		}
		return failedErrorf("the local cloud (data dir %s) does not answer: %v", dataDir, err)
	}
	if f.json {
		return writeJSON(a.Stdout, runningStatus{Running: true, Status: st})
	}
	return writeStatus(a.Stdout, dataDir, st)
}

// writeStatus prints the runtime's status as a short report and a table of processes.
func writeStatus(w io.Writer, dataDir string, st localcloud.Status) error {
	if st.DataDir != "" {
		dataDir = st.DataDir
	}
	// The tables write through out, which keeps the first write error: a
	// Flush fails only with it.
	out := &errWriter{w: w}
	tab := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	tw := &errWriter{w: tab}
	tw.printf("local cloud\trunning (pid %d)\n", st.PID)
	tw.printf("data dir\t%s\n", dataDir)
	tw.printf("postgres\t%s\n", upDown(st.Postgres.Running, "127.0.0.1:"+strconv.Itoa(st.Postgres.Port)))
	tw.printf("nats\t%s\n", upDown(st.NATS.Running, st.NATS.URL))
	_ = tab.Flush() // a failure is in out.err
	for _, warning := range st.Warnings {
		out.printf("warning: %s\n", warning)
	}
	if len(st.Processes) == 0 {
		out.printf("processes: none\n")
	} else {
		out.printf("\n")
		tab = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		tw = &errWriter{w: tab}
		tw.printf("PROCESS\tSTATE\tPID\tURL\tRESTARTS\tLOG\n")
		for _, p := range st.Processes {
			state, pid, url := "stopped", "-", "-"
			if p.Running {
				state, pid = "running", strconv.Itoa(p.PID)
			}
			if p.URL != "" {
				url = p.URL
			} else if p.Port != 0 {
				url = "127.0.0.1:" + strconv.Itoa(p.Port)
			}
			tw.printf("%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, state, pid, url, p.Restarts, p.LogPath)
		}
		_ = tab.Flush() // a failure is in out.err
	}
	if out.err != nil {
		return failedErrorf("write the status: %v", out.err)
	}
	return nil
}

// errWriter writes to w until a write fails and then keeps that first error,
// so a report is printed line by line and its error checked once at the end:
// a report cut short (a closed pipe, a full disk) is an error, not a success.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// printf writes through e; a failure is kept in e.err for the caller to return.
func (e *errWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(e, format, args...)
}

func upDown(running bool, where string) string {
	if running {
		return "running  " + where
	}
	return "stopped"
}
