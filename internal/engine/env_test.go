package engine

import (
	"github.com/tenantfleet/tenantfleet/internal/engine/enginetest"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveEngineEnv(t *testing.T) {
	for _, k := range []string{envPassphrase, envPassphraseFile, envBackendURL, envPulumiHome, localcloud.EnvImagesDir} {
		enginetest.UnsetEnv(t, k)
	}
	state := t.TempDir()
	t.Setenv(envXDGStateHome, state)
	exeDir, projectDir := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(projectDir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/usr/bin")

	e, err := resolveEngineEnv("", exeDir, projectDir, "/opt/pulumi/bin")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(state, "tenantfleet")
	want := map[string]string{
		envBackendURL:      "file://" + filepath.Join(root, "state") + "?metadata=skip",
		envPassphraseFile:  filepath.Join(root, "passphrase"),
		envPulumiHome:      filepath.Join(root, "pulumi-home"),
		envSkipUpdateCheck: "true",
		envFallbackToState: "true",
		// The plugin next to tenantfleet first; a missing directory is left out.
		"PATH": exeDir + ":" + filepath.Join(projectDir, "bin") + ":/usr/bin",
	}
	for k, v := range want {
		if e.vars[k] != v {
			t.Errorf("%s = %q, want %q", k, e.vars[k], v)
		}
	}
	if len(e.vars) != len(want) {
		t.Errorf("vars = %v, want exactly %v", e.vars, want)
	}
	for _, dir := range []string{filepath.Join(root, "state"), filepath.Join(root, "pulumi-home")} {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			t.Errorf("%s was not created: %v", dir, err)
		}
	}

	// The environment wins over the defaults, and --backend over the environment.
	t.Setenv(envBackendURL, "file:///from-env")
	t.Setenv(envPassphrase, "")
	t.Setenv(envPulumiHome, "/home/me/.pulumi")
	e, err = resolveEngineEnv("", exeDir, projectDir, "")
	if err != nil {
		t.Fatal(err)
	}
	if e.backendURL != "file:///from-env" || e.backendSource != envBackendURL || e.vars[envBackendURL] != "file:///from-env?metadata=skip" {
		t.Errorf("backend = %q (engine %q) from %s, want $%s with metadata=skip for the engine", e.backendURL, e.vars[envBackendURL], e.backendSource, envBackendURL)
	}
	if _, set := e.vars[envPassphraseFile]; set || e.passphraseFile != "" {
		t.Errorf("the user's (empty) PULUMI_CONFIG_PASSPHRASE must be used, got vars %v", e.vars)
	}
	if _, set := e.vars[envPulumiHome]; set {
		t.Errorf("the user's PULUMI_HOME must be inherited, got %q", e.vars[envPulumiHome])
	}
	e, err = resolveEngineEnv("s3://bucket", exeDir, projectDir, "")
	if err != nil {
		t.Fatal(err)
	}
	if e.backendURL != "s3://bucket" || e.vars[envBackendURL] != "s3://bucket" {
		t.Errorf("--backend: backend = %q, env %q", e.backendURL, e.vars[envBackendURL])
	}
}

// TestCrashSafeBackend: a file backend writes no attribute sidecars (an
// engine killed while rewriting one left it empty, and the stack unreadable:
// "failed to load checkpoint: EOF"), unless the URL says otherwise.
func TestCrashSafeBackend(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want, why string }{
		{"file:///srv/state", "file:///srv/state?metadata=skip", "the default and any file backend"},
		{"file://~/state", "file://~/state?metadata=skip", "Pulumi expands ~ itself"},
		{"file:///srv/state?no_tmp_dir=false", "file:///srv/state?metadata=skip&no_tmp_dir=false", "other parameters are kept"},
		{"file:///srv/state?metadata=", "file:///srv/state?metadata=", "the user asked for sidecars"},
		{"s3://bucket/state", "s3://bucket/state", "object stores have no sidecars"},
		{"https://api.pulumi.com", "https://api.pulumi.com", "Pulumi Cloud"},
	}
	for _, tc := range cases {
		if got := crashSafeBackend(tc.in); got != tc.want {
			t.Errorf("crashSafeBackend(%q) = %q, want %q (%s)", tc.in, got, tc.want, tc.why)
		}
	}
}

// TestEngineEnvImagesDir: the engine and this process (where the inline
// program's local adapter checks images) get the same absolute images directory.
func TestEngineEnvImagesDir(t *testing.T) {
	for _, k := range []string{envPassphrase, envPassphraseFile, envBackendURL, envPulumiHome, localcloud.EnvImagesDir} {
		enginetest.UnsetEnv(t, k)
	}
	t.Setenv(envXDGStateHome, t.TempDir())
	exeDir, projectDir := t.TempDir(), t.TempDir()
	resolve := func() *engineEnv {
		t.Helper()
		e, err := resolveEngineEnv("", exeDir, projectDir, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.setProcessEnv(); err != nil {
			t.Fatal(err)
		}
		return e
	}

	if e := resolve(); e.vars[localcloud.EnvImagesDir] != "" || os.Getenv(localcloud.EnvImagesDir) != "" {
		t.Errorf("no images next to the binary: %s = %q (process %q), want unset", localcloud.EnvImagesDir, e.vars[localcloud.EnvImagesDir], os.Getenv(localcloud.EnvImagesDir))
	}

	images := filepath.Join(exeDir, "images")
	if err := os.Mkdir(images, 0o755); err != nil {
		t.Fatal(err)
	}
	if e := resolve(); e.vars[localcloud.EnvImagesDir] != images || os.Getenv(localcloud.EnvImagesDir) != images {
		t.Errorf("images next to the binary: %s = %q (process %q), want %s", localcloud.EnvImagesDir, e.vars[localcloud.EnvImagesDir], os.Getenv(localcloud.EnvImagesDir), images)
	}

	t.Setenv(localcloud.EnvImagesDir, "my-images")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(wd, "my-images")
	if e := resolve(); e.vars[localcloud.EnvImagesDir] != want || os.Getenv(localcloud.EnvImagesDir) != want {
		t.Errorf("a relative %s = %q (process %q), want %s", localcloud.EnvImagesDir, e.vars[localcloud.EnvImagesDir], os.Getenv(localcloud.EnvImagesDir), want)
	}

	t.Setenv(localcloud.EnvImagesDir, "/srv/images")
	if e := resolve(); e.vars[localcloud.EnvImagesDir] != "" || os.Getenv(localcloud.EnvImagesDir) != "/srv/images" {
		t.Errorf("the user's absolute %s must be inherited as it is, got %q", localcloud.EnvImagesDir, e.vars[localcloud.EnvImagesDir])
	}
}

//nolint:paralleltest // each case sets the PULUMI_CONFIG_PASSPHRASE* variables with t.Setenv.
func TestUserPassphraseSet(t *testing.T) {
	cases := []struct {
		reason     string
		phrase     *string
		phraseFile string
		want       bool
	}{
		{"neither set", nil, "", false},
		{"an empty passphrase is a passphrase", ptr(""), "", true},
		{"a passphrase", ptr("x"), "", true},
		{"a passphrase file", nil, "/some/file", true},
		{"an empty passphrase file name is ignored, as the engine does", nil, "", false},
	}
	for _, c := range cases {
		enginetest.UnsetEnv(t, envPassphrase)
		enginetest.UnsetEnv(t, envPassphraseFile)
		if c.phrase != nil {
			t.Setenv(envPassphrase, *c.phrase)
		}
		if c.phraseFile != "" {
			t.Setenv(envPassphraseFile, c.phraseFile)
		}
		if got := userPassphraseSet(); got != c.want {
			t.Errorf("%s: userPassphraseSet() = %v, want %v", c.reason, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestEnsurePassphraseFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "passphrase")
	if err := ensurePassphraseFile(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", info.Mode().Perm())
	}
	first, _ := os.ReadFile(path)
	if len(strings.TrimSpace(string(first))) < 40 {
		t.Errorf("passphrase is %d characters, want at least 40 (32 random bytes)", len(strings.TrimSpace(string(first))))
	}

	// Reused, and narrowed back to 0600 when widened.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := ensurePassphraseFile(path); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if string(first) != string(second) {
		t.Error("the passphrase changed on the second call")
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode after a second call = %v, want 0600", info.Mode().Perm())
	}

	// Another file gets another passphrase.
	other := filepath.Join(t.TempDir(), "passphrase")
	if err := ensurePassphraseFile(other); err != nil {
		t.Fatal(err)
	}
	if third, _ := os.ReadFile(other); string(third) == string(first) {
		t.Error("two generated passphrases are equal")
	}

	// An emptied file is an error, not silently replaced: stacks depend on it.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ensurePassphraseFile(path); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty passphrase file: err = %v, want an error saying it is empty", err)
	}
}

// Concurrent first runs agree on one passphrase and none sees a partial file.
func TestEnsurePassphraseFileConcurrently(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "passphrase")
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- ensurePassphraseFile(path) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only the passphrase file (no temporary files left)", len(entries))
	}
}

func TestFindProjectDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	enginetest.WriteFile(t, filepath.Join(root, "Pulumi.yaml"), "name: x\nruntime: go\n")
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := findProjectDir(deep)
	if err != nil || got != root {
		t.Errorf("findProjectDir(%s) = %q, %v; want %q", deep, got, err, root)
	}

	lonely := t.TempDir()
	if _, err := findProjectDir(lonely); KindOf(err) != KindUsage || !strings.Contains(err.Error(), "--project-dir") {
		t.Errorf("no Pulumi.yaml: err = %v, want a usage error pointing at --project-dir", err)
	}
}

func TestFindPulumi(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	exeDir, projectDir := t.TempDir(), t.TempDir()
	_, err := findPulumi(exeDir, projectDir)
	if KindOf(err) != KindUsage || !strings.Contains(err.Error(), "make cli") {
		t.Errorf("no pulumi: err = %v, want a usage error naming `make cli`", err)
	}

	inProject := filepath.Join(projectDir, "bin", "pulumi")
	enginetest.WriteFile(t, inProject, "#!/bin/sh\n")
	if err := os.Chmod(inProject, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findPulumi(exeDir, projectDir); err != nil || got != inProject {
		t.Errorf("findPulumi = %q, %v; want the project's %s", got, err, inProject)
	}
	nextToExe := filepath.Join(exeDir, "pulumi")
	enginetest.WriteFile(t, nextToExe, "#!/bin/sh\n")
	if err := os.Chmod(nextToExe, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findPulumi(exeDir, projectDir); err != nil || got != nextToExe {
		t.Errorf("findPulumi = %q, %v; want the one next to tenantfleet, %s", got, err, nextToExe)
	}
}

func TestCheckStackConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteFile(t, filepath.Join(dir, "Pulumi.yaml"), "name: x\nruntime: go\nstackConfigDir: stacks\n")
	enginetest.WriteFile(t, filepath.Join(dir, "stacks", "Pulumi.dev.yaml"), "config: {}\n")
	if err := checkStackConfig(dir, "dev"); err != nil {
		t.Errorf("stackConfigDir: %v", err)
	}
	err := checkStackConfig(dir, "prod")
	if want := filepath.Join(dir, "stacks", "Pulumi.prod.yaml"); KindOf(err) != KindUsage || !strings.Contains(err.Error(), want) {
		t.Errorf("missing stack file: err = %v, want a usage error naming %s", err, want)
	}

	malformed := map[string]string{
		"an unclosed flow mapping": "config:\n  tenantfleet:cloud: local\n  tenantfleet:tenants: [{id: acme\n",
		"a tab for indentation":    "config:\n\ttenantfleet:cloud: local\n",
		"a list, not a mapping":    "- config\n",
		"a duplicate key":          "config: {}\nconfig: {}\n",
	}
	for reason, content := range malformed {
		path := filepath.Join(dir, "stacks", "Pulumi.bad.yaml")
		enginetest.WriteFile(t, path, content)
		err := checkStackConfig(dir, "bad")
		if KindOf(err) != KindUsage || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not valid YAML") {
			t.Errorf("%s: err = %v, want a usage error naming %s", reason, err, path)
		}
	}
	enginetest.WriteFile(t, filepath.Join(dir, "stacks", "Pulumi.empty.yaml"), "")
	if err := checkStackConfig(dir, "empty"); err != nil {
		t.Errorf("an empty stack file (no config) is valid: %v", err)
	}
}
