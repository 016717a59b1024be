package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// repoRoot is the repository, two levels up from this package.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// fleet is one isolated tenantfleet installation: its own binaries, local
// cloud data directory, state backend and passphrase.
type fleet struct {
	tb         testing.TB
	bin        string // holds tenantfleet, pulumi, the plugin and images/
	projectDir string
	dataDir    string
	env        []string
}

// newFleet builds the binaries into a fresh directory and prepares a project
// with the given stack files (name -> YAML).
func newFleet(tb testing.TB, stacks map[string]string) *fleet {
	tb.Helper()
	return newFleetFrom(tb, repoRoot(tb), stacks)
}

// newFleetFrom is newFleet with the binaries, the project's Pulumi.yaml and
// the example app built from the source tree src: this repository, or a
// checkout of another commit of it (a benchmark's "before"). The pulumi
// CLI is always this repository's bin/pulumi.
func newFleetFrom(tb testing.TB, src string, stacks map[string]string) *fleet {
	tb.Helper()
	pulumiBin := filepath.Join(repoRoot(tb), "bin", "pulumi")
	root := src
	if _, err := os.Stat(pulumiBin); err != nil {
		tb.Fatalf("%s is missing: run `make cli` (make test does)", pulumiBin)
	}
	// The local cloud runs PostgreSQL as the postgres user when root: every
	// directory on the way to the data directory must be traversable. Not
	// tb.TempDir: its parent directory is 0700, and it is removed even when
	// the test fails, where the cleanup below keeps base for inspection.
	base, err := os.MkdirTemp("", "tenantfleet-e2e-") //nolint:usetesting // tb.TempDir does not fit: see above
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		tb.Fatal(err)
	}
	f := &fleet{
		tb: tb, bin: filepath.Join(base, "bin"), projectDir: filepath.Join(base, "project"),
		dataDir: filepath.Join(base, "local"),
	}
	for _, d := range []string{f.bin, f.projectDir, f.dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	build := func(out, pkg string) {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	build(filepath.Join(f.bin, "tenantfleet"), "./cmd/tenantfleet")
	build(filepath.Join(f.bin, "pulumi-resource-tenantfleet-local"), "./cmd/pulumi-resource-tenantfleet-local")
	build(filepath.Join(f.bin, "images", "tenant-app", "dev", "entrypoint"), "./examples/tenant-app")
	if err := os.Symlink(pulumiBin, filepath.Join(f.bin, "pulumi")); err != nil {
		tb.Fatal(err)
	}
	project, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	f.write("Pulumi.yaml", string(project))
	// Pulumi.yaml's main must exist; the CLI runs the program inline.
	if err := os.MkdirAll(filepath.Join(f.projectDir, "cmd", "program"), 0o755); err != nil {
		tb.Fatal(err)
	}
	// Its plugins.providers entry names ./bin, which the engine requires to
	// exist: the project's bin is the fleet's, as a checkout's is make build's.
	if err := os.Symlink(f.bin, filepath.Join(f.projectDir, "bin")); err != nil {
		tb.Fatal(err)
	}
	for name, yaml := range stacks {
		f.write("Pulumi."+name+".yaml", yaml)
	}
	f.env = append(os.Environ(),
		"TENANTFLEET_LOCAL_DIR="+f.dataDir,
		"XDG_STATE_HOME="+filepath.Join(base, "state"),
		"PULUMI_BACKEND_URL=", "PULUMI_CONFIG_PASSPHRASE=", "PULUMI_CONFIG_PASSPHRASE_FILE=", "PULUMI_HOME=",
		"TENANTFLEET_LOCAL_IMAGES=",
	)
	f.env = withoutEmpty(f.env)
	tb.Cleanup(func() {
		// Leave nothing running whatever happened: stop the runtime, then remove the files.
		_, _, _ = f.run("local", "stop")
		if !tb.Failed() {
			_ = os.RemoveAll(base)
		} else {
			tb.Logf("kept %s for inspection", base)
		}
	})
	return f
}

// withoutEmpty drops NAME= entries, so those variables are unset for the CLI.
func withoutEmpty(env []string) []string {
	unset := map[string]bool{}
	for _, kv := range env {
		if strings.HasSuffix(kv, "=") {
			unset[strings.TrimSuffix(kv, "=")] = true
		}
	}
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !unset[name] {
			out = append(out, kv)
		}
	}
	return out
}

func (f *fleet) write(name, content string) {
	f.tb.Helper()
	if err := os.WriteFile(filepath.Join(f.projectDir, name), []byte(content), 0o644); err != nil {
		f.tb.Fatal(err)
	}
}

// run runs `tenantfleet args...` in the project and returns stdout, stderr and the exit code.
func (f *fleet) run(args ...string) (string, string, int) {
	f.tb.Helper()
	cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), args...)
	cmd.Dir, cmd.Env = f.projectDir, f.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		f.tb.Fatalf("tenantfleet %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

// must runs the CLI and fails the test unless it exits with want.
func (f *fleet) must(want int, args ...string) string {
	f.tb.Helper()
	stdout, stderr, code := f.run(args...)
	if code != want {
		f.tb.Fatalf("tenantfleet %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout
}

// tenantOutputs is one entry of the stack output "tenants".
type tenantOutputs struct {
	WebURL              string `json:"webUrl"`
	DatabaseEndpoint    string `json:"databaseEndpoint"`
	DatabaseName        string `json:"databaseName"`
	DatabaseUser        string `json:"databaseUser"`
	DatabaseCredentials string `json:"databaseCredentials"`
	QueueURL            string `json:"queueUrl"`
	DeadLetterQueueURL  string `json:"deadLetterQueueUrl"`
}

type stackOutputs struct {
	Tenants map[string]tenantOutputs `json:"tenants"`
	Fanout  struct {
		TopicID             string            `json:"topicId"`
		QueueURLs           map[string]string `json:"queueUrls"`
		DeadLetterQueueURLs map[string]string `json:"deadLetterQueueUrls"`
	} `json:"fanout"`
}

func (f *fleet) outputs(stack string) stackOutputs {
	f.tb.Helper()
	var out stackOutputs
	raw := f.must(0, "outputs", "--stack", stack, "--json", "--show-secrets")
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		f.tb.Fatalf("outputs --json: %v\n%s", err, raw)
	}
	return out
}

// exportState returns `pulumi stack export` of the stack, read with the same
// backend and passphrase the CLI uses; nil (with the test failed) on error.
func (f *fleet) exportState(t testing.TB, stack string) []byte {
	t.Helper()
	state := f.stateDir()
	cmd := exec.Command(filepath.Join(f.bin, "pulumi"), "stack", "export", "--stack", stack, "--non-interactive")
	cmd.Dir = f.projectDir
	cmd.Env = append(f.env,
		"PULUMI_BACKEND_URL=file://"+filepath.Join(state, "state"),
		"PULUMI_CONFIG_PASSPHRASE_FILE="+filepath.Join(state, "passphrase"),
		"PULUMI_HOME="+filepath.Join(state, "pulumi-home"),
		"PULUMI_SKIP_UPDATE_CHECK=true",
	)
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("pulumi stack export --stack %s: %v\n%s", stack, err, stderrOf(err))
		return nil
	}
	return out
}

// on returns the fleet reporting to tb: a phase's subtest (t.Run) uses it,
// so that a failure stops that phase, not its parent from another goroutine.
func (f *fleet) on(tb testing.TB) *fleet {
	g := *f
	g.tb = tb
	return &g
}

func (f *fleet) runtime() *localcloud.Client { return localcloud.NewClient(f.dataDir) }

// eventually polls check until it returns nil or the deadline passes.
func eventually(tb testing.TB, within time.Duration, what string, check func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still failing after %s: %v", what, within, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func getStatus(u string) (int, string, error) {
	resp, err := httpClient.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below: a close error loses nothing
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// connectDB opens a connection as a tenant would.
func connectDB(ctx context.Context, endpoint, database, user, password string) (*pgx.Conn, error) {
	host, port, _ := strings.Cut(endpoint, ":")
	dsn := fmt.Sprintf("host=%s port=%s dbname=%s user=%s password=%s sslmode=disable connect_timeout=5", host, port, database, user, password)
	return pgx.Connect(ctx, dsn)
}

// jetStreamAt connects to the NATS server a local cloud URL
// (nats://host:port?stream=S&...) names; close the connection when done.
func jetStreamAt(anyURL string) (jetstream.JetStream, *nats.Conn, url.Values, error) {
	u, err := url.Parse(anyURL)
	if err != nil {
		return nil, nil, nil, err
	}
	nc, err := nats.Connect("nats://" + u.Host)
	if err != nil {
		return nil, nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	return js, nc, u.Query(), nil
}

// streamMessages counts the messages in the JetStream stream a local queue URL names.
func streamMessages(ctx context.Context, queueURL string) (uint64, error) {
	js, nc, q, err := jetStreamAt(queueURL)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	s, err := js.Stream(ctx, q.Get("stream"))
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// streamCount counts the JetStream streams that belong to stacks on the NATS
// server behind url: every stream but the runtime's own (TENANTFLEET_*, the
// advisory stream that drives dead-lettering).
func streamCount(ctx context.Context, anyURL string) (int, error) {
	js, nc, _, err := jetStreamAt(anyURL)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	n := 0
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		if !strings.HasPrefix(name, "TENANTFLEET_") {
			n++
		}
	}
	return n, names.Err()
}

// engineLog counts the pulumi CLI's starts: fleet.countEngineStarts puts a
// wrapper in front of the fleet's pulumi that appends each invocation's
// arguments to a file, one line each, and then execs the real CLI (same
// process, so signals, exit codes and process accounting are the CLI's own).
type engineLog struct {
	path string
	seen int // lines returned by next so far
}

// countEngineStarts replaces the fleet's pulumi with the counting wrapper.
func (f *fleet) countEngineStarts(tb testing.TB) *engineLog {
	tb.Helper()
	link := filepath.Join(f.bin, "pulumi")
	target, err := filepath.EvalSymlinks(link)
	if err != nil {
		tb.Fatal(err)
	}
	l := &engineLog{path: filepath.Join(filepath.Dir(f.bin), "pulumi-calls.log")}
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\nexec '%s' \"$@\"\n", l.path, target)
	if err := os.Remove(link); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(link, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return l
}

// next returns the commands started since the last call, in order, each as
// its label (commandLabel).
func (l *engineLog) next(tb testing.TB) []string {
	tb.Helper()
	all := l.lines(tb)
	out := []string{}
	for _, line := range all[l.seen:] {
		out = append(out, commandLabel(line))
	}
	l.seen = len(all)
	return out
}

func (l *engineLog) lines(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// commandLabel names a pulumi invocation by its command words: "version",
// "up", "stack init", and "stack output --show-secrets" for the one
// reading secrets in plain text.
func commandLabel(args string) string {
	words := strings.Fields(args)
	var cmd []string
	for _, w := range words {
		if strings.HasPrefix(w, "-") {
			if len(cmd) > 0 {
				break
			}
			continue
		}
		cmd = append(cmd, w)
		if cmd[0] != "stack" || len(cmd) == 2 {
			break
		}
	}
	label := strings.Join(cmd, " ")
	if label == "stack output" && slices.Contains(words, "--show-secrets") {
		label += " --show-secrets"
	}
	return label
}
