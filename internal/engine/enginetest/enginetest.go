// Package enginetest is what tests of the engine runner and of the commands
// built on it share: a tiny inline program that needs no provider plugin
// (stack exports only) and an isolated environment for the real engine
// (./bin/pulumi, built by `make cli`).
package enginetest

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// The secrets Program exports: no output may show them unless asked to.
const (
	SecretValue       = "s3cret-top-level"
	NestedSecretValue = "s3cret-nested"
)

// Program exports a plain value, a secret and a map holding a secret.
// tenantfleet:fail makes it fail as stacks.Program fails on bad config;
// tftest:boom makes it fail in another way; tftest:hang makes it wait for
// its context (Hanging is then closed).
func Program(ctx *pulumi.Context) error {
	if v := config.Get(ctx, "tenantfleet:fail"); v != "" {
		return errors.New("invalid stack configuration:\n  tenantfleet:fail: " + v)
	}
	if v := config.Get(ctx, "tftest:boom"); v != "" {
		return errors.New("boom: " + v)
	}
	if config.GetBool(ctx, "tftest:hang") {
		hangOnce.Do(func() { close(hanging) })
		select {
		case <-ctx.Context().Done():
		case <-time.After(time.Minute):
		}
		return errors.New("hung")
	}
	ctx.Export("greeting", pulumi.String("hello"))
	ctx.Export("password", pulumi.ToSecret(pulumi.String(SecretValue)))
	ctx.Export("nested", pulumi.Map{
		"url":   pulumi.String("http://127.0.0.1:8080"),
		"token": pulumi.ToSecret(pulumi.String(NestedSecretValue)),
	})
	return nil
}

var (
	hanging  = make(chan struct{})
	hangOnce sync.Once
)

// Hanging is closed when Program starts hanging (tftest:hang).
func Hanging() <-chan struct{} { return hanging }

// Env is an isolated environment for the engine.
type Env struct {
	// ExeDir is the repository's bin, holding pulumi.
	ExeDir string
	// ProjectDir holds a minimal Pulumi.yaml (project tftest).
	ProjectDir string
	// StateDir is tenantfleet's state directory ($XDG_STATE_HOME/tenantfleet).
	StateDir string
}

// Isolate sets up Env for the test: XDG_STATE_HOME in a temporary directory
// (so the file:// backend and the generated passphrase are the test's own),
// none of the user's Pulumi settings, and a project directory. It skips the
// test when bin/pulumi is absent.
func Isolate(t *testing.T) Env {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	exeDir := filepath.Join(filepath.Dir(file), "..", "..", "..", "bin")
	if st, err := os.Stat(filepath.Join(exeDir, "pulumi")); err != nil || st.Mode()&0o111 == 0 {
		t.Skipf("skipping engine tests: %s/pulumi is absent (run `make cli` to build it)", exeDir)
	}
	for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL", "PULUMI_HOME", "PULUMI_ACCESS_TOKEN"} {
		UnsetEnv(t, k)
	}
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	project := t.TempDir()
	WriteFile(t, filepath.Join(project, "Pulumi.yaml"), "name: tftest\nruntime: go\n")
	return Env{ExeDir: filepath.Clean(exeDir), ProjectDir: project, StateDir: filepath.Join(state, "tenantfleet")}
}

// WriteFile writes content to path, creating its directory.
func WriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// UnsetEnv unsets k for the test and restores it afterwards.
func UnsetEnv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
