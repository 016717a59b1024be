package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/internal/engine/enginetest"
)

// These tests run the real engine (./bin/pulumi, built by `make cli`) on
// enginetest.Program, a tiny inline program that needs no provider plugin,
// through App.Run exactly as the tenantfleet binary does, with a temporary
// project directory, XDG_STATE_HOME and so file:// backend and passphrase.

type harness struct {
	t *testing.T
	enginetest.Env
}

// newHarness isolates the engine (enginetest.Isolate).
func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{t: t, Env: enginetest.Isolate(t)}
}

// newApp returns the tenantfleet command running enginetest.Program.
func (h *harness) newApp(stdout, stderr io.Writer) *App {
	runner := &engine.Runner{Program: enginetest.Program, Stderr: stderr, ExeDir: h.ExeDir}
	return &App{Engine: runner, Stdout: stdout, Stderr: stderr}
}

// run runs tenantfleet with args (and --project-dir) and returns its exit
// code, stdout and stderr.
func (h *harness) run(args ...string) (int, string, string) {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	app := h.newApp(&stdout, &stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := app.Run(ctx, append(args, "--project-dir", h.ProjectDir))
	h.t.Logf("tenantfleet %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(args, " "), code, &stdout, &stderr)
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, enginetest.SecretValue) || strings.Contains(out, enginetest.NestedSecretValue) {
			if !strings.Contains(strings.Join(args, " "), "--show-secrets") {
				h.t.Errorf("tenantfleet %v printed a secret:\n%s", args, out)
			}
		}
	}
	return code, stdout.String(), stderr.String()
}

func (h *harness) want(wantCode int, args ...string) (string, string) {
	h.t.Helper()
	code, stdout, stderr := h.run(args...)
	if code != wantCode {
		h.t.Fatalf("tenantfleet %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, wantCode, stdout, stderr)
	}
	return stdout, stderr
}

func (h *harness) report(stdout string) engine.Report {
	h.t.Helper()
	var r engine.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&r); err != nil {
		h.t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if dec.More() {
		h.t.Fatalf("stdout has more than one JSON document:\n%s", stdout)
	}
	return r
}

//nolint:paralleltest // newHarness sets XDG_STATE_HOME and unsets the PULUMI_* variables with t.Setenv (enginetest.Isolate).
func TestStackLifecycle(t *testing.T) {
	h := newHarness(t)
	enginetest.WriteFile(t, filepath.Join(h.ProjectDir, "Pulumi.dev.yaml"), "config: {}\n")

	// A stack without Pulumi.<stack>.yaml is a usage error naming the file,
	// found before the engine starts.
	_, stderr := h.want(ExitUsage, "up", "--stack", "nope")
	if want := filepath.Join(h.ProjectDir, "Pulumi.nope.yaml"); !strings.Contains(stderr, want) {
		t.Errorf("missing stack file error does not name %s:\n%s", want, stderr)
	}

	// The first preview creates the stack; with --expect-no-changes its
	// pending changes exit 3, and --json still prints the report alone.
	stdout, _ := h.want(ExitChanges, "preview", "--stack", "dev", "--expect-no-changes", "--json")
	r := h.report(stdout)
	if r.Result != "failed" || r.Operation != engine.OpPreview || r.Stack != "dev" || r.Changes["create"] != 1 {
		t.Errorf("preview report = %+v, want failed preview of dev with create 1", r)
	}

	// The passphrase was generated once, 0600.
	passphrase := filepath.Join(h.StateDir, "passphrase")
	info, err := os.Stat(passphrase)
	if err != nil {
		t.Fatalf("passphrase file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("passphrase file mode = %v, want 0600", perm)
	}
	phrase, _ := os.ReadFile(passphrase)

	stdout, stderr = h.want(ExitOK, "up", "--stack", "dev", "--json")
	r = h.report(stdout)
	if r.Result != "succeeded" || r.Changes["create"] != 1 || r.DurationSeconds <= 0 {
		t.Errorf("up report = %+v, want succeeded with create 1", r)
	}
	if !strings.Contains(stderr, "create") || !strings.Contains(stderr, "pulumi:pulumi:Stack") {
		t.Errorf("up progress lacks the stack's create step:\n%s", stderr)
	}
	nested, _ := r.Outputs["nested"].(map[string]any)
	if r.Outputs["greeting"] != "hello" || r.Outputs["password"] != "[secret]" ||
		nested["token"] != "[secret]" || nested["url"] != "http://127.0.0.1:8080" {
		t.Errorf("up outputs = %v, want greeting, and secrets masked however nested", r.Outputs)
	}

	// No changes now: --expect-no-changes passes.
	h.want(ExitOK, "preview", "--stack", "dev", "--expect-no-changes")

	// outputs: masked as YAML, or shown with --show-secrets.
	stdout, _ = h.want(ExitOK, "outputs", "--stack", "dev")
	if !strings.Contains(stdout, "greeting: hello") || !strings.Contains(stdout, "[secret]") {
		t.Errorf("outputs:\n%s", stdout)
	}
	// A passphrase file readable by others is narrowed back to 0600 and reused.
	if err := os.Chmod(passphrase, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _ = h.want(ExitOK, "outputs", "--stack", "dev", "--json", "--show-secrets")
	var outs map[string]any
	if err := json.Unmarshal([]byte(stdout), &outs); err != nil {
		t.Fatalf("outputs --json: %v\n%s", err, stdout)
	}
	if outs["password"] != enginetest.SecretValue {
		t.Errorf("outputs --show-secrets password = %v, want the plain value", outs["password"])
	}
	if info, _ := os.Stat(passphrase); info.Mode().Perm() != 0o600 {
		t.Errorf("passphrase file mode = %v after a run, want 0600", info.Mode().Perm())
	}
	if again, _ := os.ReadFile(passphrase); !bytes.Equal(again, phrase) {
		t.Error("passphrase file changed: it must be generated once and reused")
	}

	h.want(ExitOK, "refresh", "--stack", "dev", "--expect-no-changes")

	// A lock left by another operation: a clear message, exit 1.
	lockDir := filepath.Join(h.StateDir, "state", ".pulumi", "locks", "organization", "tftest", "dev")
	enginetest.WriteFile(t, filepath.Join(lockDir, "other.json"),
		`{"pid": 4242, "username": "someone", "hostname": "elsewhere", "timestamp": "2026-11-25T00:00:00Z"}`)
	_, stderr = h.want(ExitFailed, "up", "--stack", "dev")
	if !strings.Contains(stderr, "stack dev is locked by another operation") {
		t.Errorf("locked stack message:\n%s", stderr)
	}
	if err := os.Remove(filepath.Join(lockDir, "other.json")); err != nil {
		t.Fatal(err)
	}

	// destroy, then destroy again: a no-op that succeeds.
	stdout, _ = h.want(ExitOK, "destroy", "--stack", "dev", "--json")
	if r := h.report(stdout); r.Changes["delete"] != 1 {
		t.Errorf("destroy changes = %v, want delete 1", r.Changes)
	}
	stdout, _ = h.want(ExitOK, "destroy", "--stack", "dev", "--json")
	if r := h.report(stdout); engine.HasChanges(r.Changes) || r.Result != "succeeded" {
		t.Errorf("second destroy report = %+v, want succeeded without changes", r)
	}

	// --remove removes the stack but keeps its configuration file; then the
	// stack is gone (outputs: usage error) and destroy is still a no-op.
	h.want(ExitOK, "destroy", "--stack", "dev", "--remove")
	if _, err := os.Stat(filepath.Join(h.ProjectDir, "Pulumi.dev.yaml")); err != nil {
		t.Errorf("destroy --remove deleted Pulumi.dev.yaml: %v", err)
	}
	_, stderr = h.want(ExitUsage, "outputs", "--stack", "dev")
	if !strings.Contains(stderr, "does not exist") {
		t.Errorf("outputs of a removed stack:\n%s", stderr)
	}
	_, stderr = h.want(ExitOK, "destroy", "--stack", "dev")
	if !strings.Contains(stderr, "nothing to destroy") {
		t.Errorf("destroy of a removed stack:\n%s", stderr)
	}
}

//nolint:paralleltest // newHarness sets XDG_STATE_HOME and unsets the PULUMI_* variables with t.Setenv (enginetest.Isolate).
func TestProgramErrors(t *testing.T) {
	h := newHarness(t)
	enginetest.WriteFile(t, filepath.Join(h.ProjectDir, "Pulumi.badcfg.yaml"), "config:\n  tenantfleet:fail: no such tier\n")
	enginetest.WriteFile(t, filepath.Join(h.ProjectDir, "Pulumi.boom.yaml"), "config:\n  tftest:boom: kaput\n")

	// A configuration error from the program: exit 2, its own message,
	// without the engine's wrapping.
	stdout, stderr := h.want(ExitUsage, "preview", "--stack", "badcfg", "--json")
	if r := h.report(stdout); !strings.HasPrefix(r.Error, "stack badcfg: invalid stack configuration:\n  tenantfleet:fail: no such tier") {
		t.Errorf("config error = %q", r.Error)
	}
	if strings.Contains(stderr, "go inline source runtime error") {
		t.Errorf("config error shows the engine's wrapping:\n%s", stderr)
	}

	// Any other program error: exit 1.
	_, stderr = h.want(ExitFailed, "up", "--stack", "boom")
	if !strings.Contains(stderr, "up of stack boom failed: boom: kaput") {
		t.Errorf("program error:\n%s", stderr)
	}
}

// An interrupt (ctx cancelled, as on SIGINT) asks the engine to cancel
// gracefully: exit 1, saying so, and the stack is not left locked.
//
//nolint:paralleltest // newHarness sets XDG_STATE_HOME and unsets the PULUMI_* variables with t.Setenv (enginetest.Isolate).
func TestInterrupt(t *testing.T) {
	h := newHarness(t)
	enginetest.WriteFile(t, filepath.Join(h.ProjectDir, "Pulumi.hang.yaml"), "config:\n  tftest:hang: true\n")
	var stdout, stderr bytes.Buffer
	app := h.newApp(&stdout, &stderr)
	ctx, cancel := context.WithCancel(t.Context())
	var start time.Time
	go func() {
		select {
		case <-enginetest.Hanging():
		case <-time.After(time.Minute):
		}
		start = time.Now()
		cancel()
	}()
	code := app.Run(ctx, []string{"up", "--stack", "hang", "--project-dir", h.ProjectDir})
	t.Logf("exit %d %s after the interrupt\n%s%s", code, time.Since(start), &stdout, &stderr)
	if code != ExitFailed || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("interrupted up: exit %d, want %d and a message saying so:\n%s", code, ExitFailed, &stderr)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("interrupted up took %s to stop", time.Since(start))
	}
	lockDir := filepath.Join(h.StateDir, "state", ".pulumi", "locks", "organization", "tftest", "hang")
	if locks, _ := os.ReadDir(lockDir); len(locks) > 0 {
		t.Errorf("interrupted up left %d lock(s) in %s", len(locks), lockDir)
	}
	h.want(ExitOK, "destroy", "--stack", "hang")
}
