package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// stackFlags are the flags every stack command takes.
type stackFlags struct {
	stack      string
	projectDir string
	backend    string
	json       bool
}

func (f *stackFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.stack, "stack", "s", "", "the stack: its configuration is Pulumi.<stack>.yaml in the project directory (required)")
	cmd.Flags().StringVar(&f.projectDir, "project-dir", "",
		"the directory holding Pulumi.yaml and the stack files (default: the nearest directory upward from the current one with a Pulumi.yaml)")
	cmd.Flags().StringVar(&f.backend, "backend", "",
		"the Pulumi state backend URL (default: $PULUMI_BACKEND_URL, else file://$XDG_STATE_HOME/tenantfleet/state)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON document with the result to stdout, and nothing else there")
	_ = cmd.MarkFlagRequired("stack")
}

const stackEnvHelp = `

The program is the tenantfleet Pulumi program, run inline by the pulumi CLI found next
to this binary, in <project dir>/bin, or on PATH. The engine's PATH starts with this
binary's directory, so it finds the local cloud's provider plugin
(pulumi-resource-tenantfleet-local) built next to it.

Environment:
  PULUMI_BACKEND_URL               the backend when --backend is not given
  PULUMI_CONFIG_PASSPHRASE(_FILE)  the secrets passphrase; when neither is set, one is
                                   generated once into $XDG_STATE_HOME/tenantfleet/passphrase
                                   (mode 0600): back it up
  PULUMI_HOME                      Pulumi's home; default $XDG_STATE_HOME/tenantfleet/pulumi-home,
                                   so ~/.pulumi is left alone
  XDG_STATE_HOME                   default ~/.local/state

Exit codes: 0 success; 1 the operation failed (or the stack is locked); 2 usage or
configuration error (missing Pulumi.<stack>.yaml, invalid configuration, unknown stack);
3 changes found with --expect-no-changes.`

func (a *App) stackCommands() []*cobra.Command {
	var (
		up, preview, refresh, destroy, outputs stackFlags
		upSecrets, refreshSecrets, outSecrets  bool
		previewExpect, refreshExpect           bool
		remove                                 bool
	)

	upCmd := &cobra.Command{
		Use:   "up --stack NAME",
		Short: "Create or update a stack's resources",
		Long: `Up runs the tenantfleet program for the stack and creates, updates or deletes
resources until the cloud matches Pulumi.<stack>.yaml. The stack is created in the
backend on first use. Each resource step prints one line on stderr; the outputs print
on stdout at the end (secrets as [secret] unless --show-secrets).

An invalid configuration is reported, every problem naming its key, before anything
is registered (exit code 2).` + stackEnvHelp,
		Example: `  tenantfleet up --stack dev
  tenantfleet up --stack dev --json | jq .outputs.tenants
  tenantfleet up --stack dev --backend file:///srv/tenantfleet-state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStackCommand(cmd, engine.OpUp, up, engine.StackOptions{ShowSecrets: upSecrets})
		},
	}
	up.register(upCmd)
	upCmd.Flags().BoolVar(&upSecrets, "show-secrets", false, "show secret outputs in plain text")

	previewCmd := &cobra.Command{
		Use:   "preview --stack NAME",
		Short: "Show what up would change, changing nothing",
		Long: `Preview runs the tenantfleet program for the stack without changing anything and
prints the steps up would take. The stack is created in the backend when it does not
exist yet. With --expect-no-changes it exits with code 3 when there are changes:
a check that the cloud matches the configuration.` + stackEnvHelp,
		Example: `  tenantfleet preview --stack dev
  tenantfleet preview --stack prod --expect-no-changes   # exit 3 on any pending change
  tenantfleet preview --stack dev --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStackCommand(cmd, engine.OpPreview, preview, engine.StackOptions{ExpectNoChanges: previewExpect})
		},
	}
	preview.register(previewCmd)
	previewCmd.Flags().BoolVar(&previewExpect, "expect-no-changes", false, "exit with code 3 if the preview has changes")

	refreshCmd := &cobra.Command{
		Use:   "refresh --stack NAME",
		Short: "Read the stack's resources back from the cloud into its state",
		Long: `Refresh reads every resource of the stack from the cloud and records what it finds
(drift: changed or vanished resources) in the stack's state. It changes no resource.
With --expect-no-changes it exits with code 3 when it found drift; as with
pulumi refresh --expect-no-changes, the drift is still recorded.` + stackEnvHelp,
		Example: `  tenantfleet refresh --stack dev
  tenantfleet refresh --stack prod --expect-no-changes   # drift check: exit 3 on drift`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStackCommand(cmd, engine.OpRefresh, refresh, engine.StackOptions{ExpectNoChanges: refreshExpect, ShowSecrets: refreshSecrets})
		},
	}
	refresh.register(refreshCmd)
	refreshCmd.Flags().BoolVar(&refreshExpect, "expect-no-changes", false, "exit with code 3 if the refresh finds drift")
	refreshCmd.Flags().BoolVar(&refreshSecrets, "show-secrets", false, "show secret outputs in plain text")

	destroyCmd := &cobra.Command{
		Use:   "destroy --stack NAME",
		Short: "Delete all of a stack's resources",
		Long: `Destroy deletes every resource of the stack (databases included, where their
deletion protection allows it). Destroying a stack that is already empty, or that does
not exist, succeeds and changes nothing. With --remove the stack is also removed from
the backend, history included; its Pulumi.<stack>.yaml is kept.` + stackEnvHelp,
		Example: `  tenantfleet destroy --stack dev
  tenantfleet destroy --stack pr-123 --remove`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStackCommand(cmd, engine.OpDestroy, destroy, engine.StackOptions{Remove: remove})
		},
	}
	destroy.register(destroyCmd)
	destroyCmd.Flags().BoolVar(&remove, "remove", false, "also remove the stack (state and history) from the backend")

	outputsCmd := &cobra.Command{
		Use:   "outputs --stack NAME",
		Short: "Print a stack's outputs",
		Long: `Outputs prints the stack's outputs from its last update: per tenant the web URL,
the database endpoint and the queue URLs, and the fanout's topic and queues. Secret
values, however deeply nested, print as [secret] unless --show-secrets. With --json
the outputs print as one JSON object (as pulumi stack output --json does).` + stackEnvHelp,
		Example: `  tenantfleet outputs --stack dev
  tenantfleet outputs --stack dev --json | jq -r '.tenants.acme.webUrl'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runStackCommand(cmd, engine.OpOutputs, outputs, engine.StackOptions{ShowSecrets: outSecrets})
		},
	}
	outputs.register(outputsCmd)
	outputsCmd.Flags().BoolVar(&outSecrets, "show-secrets", false, "show secret outputs in plain text")

	return []*cobra.Command{upCmd, previewCmd, refreshCmd, destroyCmd, outputsCmd}
}

// runStackCommand runs a stack operation and prints its result: with
// --json one document on stdout (for outputs, the outputs object), else a
// summary line on stderr and the outputs on stdout.
func (a *App) runStackCommand(cmd *cobra.Command, op engine.Operation, f stackFlags, opts engine.StackOptions) error {
	opts.Stack, opts.Backend, opts.Verbose = f.stack, f.backend, a.verbose
	opts.ProjectDir = f.projectDir
	report, err := a.stackWithProjectDir(cmd, op, opts)

	if f.json {
		var doc any = report
		if op == engine.OpOutputs && err == nil {
			doc = report.Outputs
		}
		if werr := writeJSON(a.Stdout, doc); werr != nil && err == nil {
			err = failedErrorf("write the result: %v", werr)
		}
		return err
	}
	if err != nil {
		return err
	}
	if report.Note != "" {
		notef(a.Stderr, "%s\n", report.Note)
	}
	if op == engine.OpOutputs {
		if len(report.Outputs) == 0 {
			notef(a.Stderr, "stack %s has no outputs\n", opts.Stack)
			return nil
		}
		return writeOutputs(a.Stdout, report.Outputs, "")
	}
	notef(a.Stderr, "%s of stack %s succeeded in %.1fs: %s\n", op, opts.Stack, report.DurationSeconds, engine.FormatChanges(report.Changes))
	if (op == engine.OpUp || op == engine.OpRefresh) && len(report.Outputs) > 0 {
		if _, err := fmt.Fprintln(a.Stdout, "Outputs:"); err != nil {
			return failedErrorf("write the outputs: %v", err)
		}
		return writeOutputs(a.Stdout, report.Outputs, "  ")
	}
	return nil
}

// stackWithProjectDir fills in the default project directory and runs the operation.
func (a *App) stackWithProjectDir(cmd *cobra.Command, op engine.Operation, opts engine.StackOptions) (engine.Report, error) {
	if opts.ProjectDir == "" {
		cwd, err := os.Getwd()
		if err == nil {
			opts.ProjectDir, err = engine.FindProjectDir(cwd)
		}
		if err != nil {
			report := engine.Report{Stack: opts.Stack, Operation: op, Result: "failed", Error: err.Error(),
				Changes: map[string]int{}, Outputs: map[string]any{}}
			if !isCommandError(err) {
				err = usageErrorf("%v", err)
			}
			return report, err
		}
	}
	return a.Engine.Run(cmd.Context(), op, opts)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeOutputs prints outputs as YAML, every line prefixed with indent.
func writeOutputs(w io.Writer, outputs map[string]any, indent string) error {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(outputs); err != nil {
		return failedErrorf("format the outputs: %v", err)
	}
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if _, err := fmt.Fprintln(w, indent+line); err != nil {
			return failedErrorf("write the outputs: %v", err)
		}
	}
	return nil
}
