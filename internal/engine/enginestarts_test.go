package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantfleet/tenantfleet/internal/engine/enginetest"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// TestEngineStarts counts the pulumi CLI's starts per stack operation of
// one App (a counting wrapper in front of bin/pulumi), on the test program,
// and checks the outputs taken from the operations' events against what
// the CLI reads back. A change that starts the CLI more often fails here.
//
//nolint:paralleltest // enginetest.Isolate sets XDG_STATE_HOME and unsets the PULUMI_* variables with t.Setenv.
func TestEngineStarts(t *testing.T) {
	h := enginetest.Isolate(t)
	enginetest.WriteFile(t, filepath.Join(h.ProjectDir, "Pulumi.dev.yaml"), "config: {}\n")
	enginetest.WriteFile(t, filepath.Join(h.ProjectDir, "Pulumi.fresh.yaml"), "config: {}\n")
	calls := countingPulumi(t, h.ExeDir)
	runner := &Runner{Program: enginetest.Program, Stderr: io.Discard, ExeDir: calls.bin}

	run := func(op Operation, opts StackOptions, starts ...string) (Report, error) {
		t.Helper()
		if opts.Stack == "" {
			opts.Stack = "dev"
		}
		opts.ProjectDir = h.ProjectDir
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		report, err := runner.Run(ctx, op, opts)
		if got := calls.next(t); !slices.Equal(got, starts) {
			t.Errorf("%s of %s (NewStack %v, ShowSecrets %v, Remove %v) started pulumi %d times: %q, want %q",
				op, opts.Stack, opts.NewStack, opts.ShowSecrets, opts.Remove, len(got), got, starts)
		}
		return report, err
	}
	must := func(op Operation, opts StackOptions, starts ...string) Report {
		t.Helper()
		report, err := run(op, opts, starts...)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return report
	}

	// The CLI is checked once per Runner (version); a new stack is created
	// when up finds none.
	up := must(OpUp, StackOptions{}, "version", "up", "stack init", "up")
	nested, _ := up.Outputs["nested"].(map[string]any)
	if up.Outputs["greeting"] != "hello" || up.Outputs["password"] != "[secret]" ||
		nested["token"] != "[secret]" || nested["url"] != "http://127.0.0.1:8080" {
		t.Errorf("up outputs = %v, want greeting, and secrets masked however nested", up.Outputs)
	}
	if up.Changes["create"] != 1 {
		t.Errorf("up changes = %v, want create 1", up.Changes)
	}
	stored := must(OpOutputs, StackOptions{}, "stack output")
	if diff := cmp.Diff(stored.Outputs, up.Outputs); diff != "" {
		t.Errorf("outputs from up's events differ from `pulumi stack output --json` (-stored +up):\n%s", diff)
	}

	if again := must(OpUp, StackOptions{}, "up"); cmp.Diff(stored.Outputs, again.Outputs) != "" || again.Changes["same"] != 1 {
		t.Errorf("second up: changes %v, outputs (-stored +up):\n%s", again.Changes, cmp.Diff(stored.Outputs, again.Outputs))
	}
	shown := must(OpUp, StackOptions{ShowSecrets: true}, "up", "stack output --show-secrets")
	if shown.Outputs["password"] != enginetest.SecretValue {
		t.Errorf("up --show-secrets password = %v, want the plain value", shown.Outputs["password"])
	}
	must(OpPreview, StackOptions{ExpectNoChanges: true}, "preview")
	if refreshed := must(OpRefresh, StackOptions{}, "refresh"); cmp.Diff(stored.Outputs, refreshed.Outputs) != "" {
		t.Errorf("outputs from refresh's events differ from the stored (-stored +refresh):\n%s", cmp.Diff(stored.Outputs, refreshed.Outputs))
	}
	if dep := must(OpExport, StackOptions{}, "stack export"); dep.Deployment == nil {
		t.Error("export of an existing stack: no deployment")
	}

	// A caller that says the stack is new when it is not: nothing runs.
	_, err := run(OpUp, StackOptions{NewStack: true}, "stack init")
	if !errors.Is(err, ErrStackExists) || KindOf(err) != KindFailed {
		t.Errorf("up with NewStack on an existing stack: %v (kind %v), want ErrStackExists", err, KindOf(err))
	}

	must(OpDestroy, StackOptions{Remove: true}, "destroy", "stack rm")
	// The stack is gone: each operation's own command says so.
	if r := must(OpDestroy, StackOptions{}, "destroy"); !strings.Contains(r.Note, "nothing to destroy") {
		t.Errorf("destroy of a missing stack: note %q", r.Note)
	}
	if r := must(OpExport, StackOptions{}, "stack export"); r.Deployment != nil {
		t.Error("export of a missing stack returned a deployment")
	}
	must(OpCancel, StackOptions{}, "cancel")
	for _, op := range []Operation{OpOutputs, OpRefresh} {
		starts := "stack output"
		if op == OpRefresh {
			starts = "refresh"
		}
		if _, err := run(op, StackOptions{}, starts); KindOf(err) != KindUsage || !errors.Is(err, ErrStackNotFound) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s of a missing stack: %v (kind %v), want a usage error saying it does not exist", op, err, KindOf(err))
		}
	}

	// A caller that knows the stack is new: no failed round-trip.
	if r := must(OpUp, StackOptions{NewStack: true}, "stack init", "up"); r.Outputs["greeting"] != "hello" {
		t.Errorf("up with NewStack: outputs %v", r.Outputs)
	}
	// preview creates a missing stack, as up does.
	must(OpPreview, StackOptions{Stack: "fresh"}, "preview", "stack init", "preview")
	// --verbose streams the engine's output: the stack is created first
	// (here it exists: that is fine) rather than shown refused.
	must(OpUp, StackOptions{Stack: "fresh", Verbose: true}, "stack init", "up")
	must(OpDestroy, StackOptions{Remove: true}, "destroy", "stack rm")
	must(OpDestroy, StackOptions{Stack: "fresh", Remove: true}, "destroy", "stack rm")
}

// pulumiCalls is a counting wrapper in front of the pulumi CLI.
type pulumiCalls struct {
	bin, log string
	seen     int
}

// countingPulumi puts a wrapper named bin/pulumi in a temporary directory
// that logs each invocation's arguments and then execs the real CLI in
// realDir; Runner.ExeDir = calls.bin makes every operation use it.
func countingPulumi(t *testing.T, realDir string) *pulumiCalls {
	t.Helper()
	c := &pulumiCalls{bin: filepath.Join(t.TempDir(), "bin")}
	c.log = filepath.Join(filepath.Dir(c.bin), "calls.log")
	enginetest.WriteFile(t, filepath.Join(c.bin, "pulumi"), fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\nexec '%s' \"$@\"\n",
		c.log, filepath.Join(realDir, "pulumi")))
	if err := os.Chmod(filepath.Join(c.bin, "pulumi"), 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

// next returns the commands started since the last call: "version", "up",
// "stack init", "stack output --show-secrets", ...
func (c *pulumiCalls) next(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(c.log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var lines []string
	if len(b) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	out := []string{}
	for _, line := range lines[c.seen:] {
		words := strings.Fields(line)
		var cmd []string
		for _, w := range words {
			if strings.HasPrefix(w, "-") {
				if len(cmd) > 0 {
					break
				}
				continue
			}
			if cmd = append(cmd, w); cmd[0] != "stack" || len(cmd) == 2 {
				break
			}
		}
		label := strings.Join(cmd, " ")
		if label == "stack output" && slices.Contains(words, "--show-secrets") {
			label += " --show-secrets"
		}
		out = append(out, label)
	}
	c.seen = len(lines)
	return out
}

// TestMaskSecrets: secrets as the engine's events carry them become
// "[secret]" wherever they are, as `pulumi stack output --json` prints them.
func TestMaskSecrets(t *testing.T) {
	t.Parallel()
	secret := map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "[secret]"}
	asset := map[string]any{"4dabf18193072939515e22adb298388d": "c44067f5952c0a294b673a41bacd8c17", "text": "x"}
	cases := []struct {
		why      string
		in, want any
	}{
		{"a plain value stays", "hello", "hello"},
		{"a top-level secret", secret, "[secret]"},
		{"a secret in a map", map[string]any{"url": "u", "token": secret}, map[string]any{"url": "u", "token": "[secret]"}},
		{"a secret in a list in a map", map[string]any{"l": []any{1.0, secret}}, map[string]any{"l": []any{1.0, "[secret]"}}},
		{"another signed object (an asset) is kept", asset, asset},
		{"null stays", nil, nil},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, maskSecrets(tc.in)); diff != "" {
			t.Errorf("%s: maskSecrets(%v) (-want +got):\n%s", tc.why, tc.in, diff)
		}
	}
}

// TestStackOutputsEvent: only the root stack's outputs are kept, the last
// reported.
func TestStackOutputsEvent(t *testing.T) {
	t.Parallel()
	p := newProgress(io.Discard, true, false)
	if _, ok := p.stackOutputs(); ok {
		t.Fatal("outputs before any event")
	}
	state := func(typ, parent string, outs map[string]any) apitype.StepEventMetadata {
		return apitype.StepEventMetadata{Op: apitype.OpCreate, Type: typ,
			New: &apitype.StepEventStateMetadata{Type: typ, Parent: parent, Outputs: outs}}
	}
	p.stackOutputsEvent(state("tenantfleet:local:Process", "urn:stack", map[string]any{"pid": 1.0}))
	if _, ok := p.stackOutputs(); ok {
		t.Error("a resource's outputs were taken for the stack's")
	}
	p.stackOutputsEvent(state(rootStackType, "", map[string]any{"a": "old"}))
	p.stackOutputsEvent(state(rootStackType, "", map[string]any{"a": "new"}))
	p.stackOutputsEvent(apitype.StepEventMetadata{Op: apitype.OpDelete, Type: rootStackType})
	if got, ok := p.stackOutputs(); !ok || got["a"] != "new" {
		t.Errorf("stack outputs = %v, %v; want the last reported", got, ok)
	}
}

// TestAutoReadBack: only auto's read-backs after an operation are answered
// without the CLI.
func TestAutoReadBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{"stack", "output", "--json", "--stack", "dev"}, "{}", true},
		{[]string{"stack", "output", "--json", "--show-secrets", "--stack", "dev"}, "{}", true},
		{[]string{"stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "dev"}, "[]", true},
		{[]string{"stack", "export", "--show-secrets", "--stack", "dev"}, "", false},
		{[]string{"stack", "init", "dev"}, "", false},
		{[]string{"up", "--yes", "--stack", "dev"}, "", false},
		{[]string{"cancel", "--yes"}, "", false},
	}
	for _, tc := range cases {
		if got, ok := autoReadBack(tc.args); got != tc.want || ok != tc.ok {
			t.Errorf("autoReadBack(%q) = %q, %v; want %q, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}
