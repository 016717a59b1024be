package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/internal/engine/enginetest"
)

// Every command has a real description and examples in its --help.
func TestHelp(t *testing.T) {
	t.Parallel()
	app := &App{}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Hidden || cmd.Name() == "help" || cmd.Name() == "completion" || cmd.HasParent() && cmd.Parent().Name() == "completion" {
			return
		}
		if len(cmd.Long) < 80 || cmd.Example == "" {
			t.Errorf("%s: --help needs a description (Long, %d characters) and examples", cmd.CommandPath(), len(cmd.Long))
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(app.rootCommand())

	var stdout bytes.Buffer
	app = &App{Stdout: &stdout, Stderr: &stdout}
	if code := app.Run(t.Context(), []string{"preview", "--help"}); code != ExitOK {
		t.Errorf("preview --help: exit %d", code)
	}
	for _, want := range []string{"--expect-no-changes", "--stack", "--project-dir", "--backend", "--json", "Examples:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("preview --help lacks %q:\n%s", want, stdout.String())
		}
	}
}

//nolint:paralleltest // App.Run sets the process-wide slog default (the root command's PersistentPreRun).
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		reason string
		args   []string
		want   string
	}{
		{"no --stack", []string{"up"}, `required flag(s) "stack" not set`},
		{"an unknown flag", []string{"preview", "--stack", "dev", "--nope"}, "unknown flag: --nope"},
		{"an unknown command", []string{"deploy"}, `unknown command "deploy"`},
		{"an argument where none is taken", []string{"outputs", "--stack", "dev", "extra"}, `unknown command "extra"`},
		{"a stack name that cannot be", []string{"up", "--stack", "a b", "--project-dir", "."}, `invalid --stack "a b"`},
		{"no Pulumi.yaml", []string{"up", "--stack", "dev", "--project-dir", "/"}, "no Pulumi.yaml in project directory /"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		app := &App{Engine: &engine.Runner{Program: enginetest.Program, Stderr: &out}, Stdout: &out, Stderr: &out}
		if code := app.Run(t.Context(), c.args); code != ExitUsage || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: tenantfleet %v: exit %d, want %d with %q:\n%s", c.reason, c.args, code, ExitUsage, c.want, out.String())
		}
	}
}
