package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// fakeRuntime stands for a local cloud runtime and its client.
type fakeRuntime struct {
	mu        sync.Mutex
	running   bool
	status    localcloud.Status
	shutdowns int
	connects  int
	err       error // Status fails with it when set
}

func (f *fakeRuntime) Status(_ context.Context) (localcloud.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return localcloud.Status{}, f.err
	}
	if !f.running {
		return localcloud.Status{}, fmt.Errorf("localcloud: %w (nothing answers on runtime.sock)", localcloud.ErrNotRunning)
	}
	return f.status, nil
}

func (f *fakeRuntime) Shutdown(_ context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdowns++
	f.running = false
	return nil
}

// fakeAPI is the API Connect returns; only Status is used.
type fakeAPI struct {
	localcloud.API
	rt *fakeRuntime
}

func (a fakeAPI) Status(ctx context.Context) (localcloud.Status, error) { return a.rt.Status(ctx) }

func newLocalApp(rt *fakeRuntime) (*App, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	app := &App{
		Engine:      &engine.Runner{},
		Stdout:      &stdout,
		Stderr:      &stderr,
		LocalClient: func(string) LocalRuntime { return rt },
		LocalConnect: func(_ context.Context, _ string) (localcloud.API, error) {
			rt.mu.Lock()
			rt.connects++
			rt.running = true
			rt.mu.Unlock()
			return fakeAPI{rt: rt}, nil
		},
	}
	return app, &stdout, &stderr
}

func sampleStatus(dataDir string) localcloud.Status {
	st := localcloud.Status{DataDir: dataDir, PID: 4321}
	st.Postgres.Port, st.Postgres.Running = 54329, true
	st.NATS.URL, st.NATS.Running = "nats://127.0.0.1:4333", true
	st.Processes = []localcloud.Process{
		{Name: "acme-web", Running: true, PID: 99, Port: 40001, URL: "http://127.0.0.1:40001", LogPath: "/logs/acme-web.log"},
		{Name: "acme-worker", Running: false, Restarts: 3, LogPath: "/logs/acme-worker.log"},
	}
	st.Warnings = []string{"PostgreSQL: its port 54320 is taken by another program, so it listens on 54329 now"}
	return st
}

//nolint:paralleltest // App.Run sets the process-wide slog default (the root command's PersistentPreRun).
func TestLocalStatus(t *testing.T) {
	dataDir := t.TempDir()
	rt := &fakeRuntime{}
	app, stdout, stderr := newLocalApp(rt)

	if code := app.Run(t.Context(), []string{"local", "status", "--data-dir", dataDir}); code != ExitFailed {
		t.Errorf("status when not running: exit %d, want %d", code, ExitFailed)
	}
	if !strings.Contains(stderr.String(), "local cloud is not running (data dir "+dataDir+")") {
		t.Errorf("status when not running:\n%s", stderr)
	}
	stdout.Reset()
	if code := app.Run(t.Context(), []string{"local", "status", "--data-dir", dataDir, "--json"}); code != ExitFailed {
		t.Errorf("status --json when not running: exit %d", code)
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc["running"] != false || doc["dataDir"] != dataDir {
		t.Errorf("status --json when not running: %v\n%s", err, stdout)
	}

	rt.running, rt.status = true, sampleStatus(dataDir)
	stdout.Reset()
	if code := app.Run(t.Context(), []string{"local", "status", "--data-dir", dataDir}); code != ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"running (pid 4321)", "127.0.0.1:54329", "nats://127.0.0.1:4333",
		"acme-web", "http://127.0.0.1:40001", "acme-worker", "stopped", "/logs/acme-worker.log",
		"warning: PostgreSQL: its port 54320 is taken by another program"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, stdout)
		}
	}
	stdout.Reset()
	if code := app.Run(t.Context(), []string{"local", "status", "--data-dir", dataDir, "--json"}); code != ExitOK {
		t.Fatalf("status --json: exit %d", code)
	}
	var got struct {
		Running bool `json:"running"`
		localcloud.Status
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || !got.Running || got.PID != 4321 || len(got.Processes) != 2 || len(got.Warnings) != 1 {
		t.Errorf("status --json: %v %+v\n%s", err, got, stdout)
	}
}

// A runtime that answers with an error is not "not running": exit 1 for
// status and for stop, which must not claim success.
//
//nolint:paralleltest // App.Run sets the process-wide slog default (the root command's PersistentPreRun).
func TestLocalNotAnswering(t *testing.T) {
	dataDir := t.TempDir()
	rt := &fakeRuntime{err: errors.New("localcloud: GET /v1/status: context deadline exceeded")}
	app, _, stderr := newLocalApp(rt)
	for _, cmd := range []string{"status", "stop"} {
		stderr.Reset()
		if code := app.Run(t.Context(), []string{"local", cmd, "--data-dir", dataDir}); code != ExitFailed ||
			!strings.Contains(stderr.String(), "does not answer") {
			t.Errorf("local %s: exit %d, want %d saying it does not answer:\n%s", cmd, code, ExitFailed, stderr)
		}
	}
	if rt.shutdowns != 0 {
		t.Errorf("stop shut down a runtime it could not reach")
	}
}

func TestLocalStartStop(t *testing.T) {
	dataDir := t.TempDir()
	rt := &fakeRuntime{status: sampleStatus(dataDir)}
	app, stdout, stderr := newLocalApp(rt)
	t.Setenv(envLocalImagesDir, "")

	// stop when not running: nothing to do, success.
	if code := app.Run(t.Context(), []string{"local", "stop", "--data-dir", dataDir}); code != ExitOK || rt.shutdowns != 0 {
		t.Errorf("stop when not running: exit %d, %d shutdowns", code, rt.shutdowns)
	}
	if !strings.Contains(stderr.String(), "not running") {
		t.Errorf("stop when not running:\n%s", stderr)
	}

	// start: connects (starting it), passes --images-dir on, prints the status.
	images := filepath.Join(t.TempDir(), "images")
	if code := app.Run(t.Context(), []string{"local", "start", "--data-dir", dataDir, "--images-dir", images}); code != ExitOK {
		t.Fatalf("start: exit %d\n%s", code, stderr)
	}
	if rt.connects != 1 || !strings.Contains(stderr.String(), "local cloud started") || !strings.Contains(stdout.String(), "running (pid 4321)") {
		t.Errorf("start: %d connects\nstdout:\n%s\nstderr:\n%s", rt.connects, stdout, stderr)
	}
	if got := os.Getenv(envLocalImagesDir); got != images {
		t.Errorf("start --images-dir: %s = %q, want %q for the runtime it starts", envLocalImagesDir, got, images)
	}
	stderr.Reset()
	if code := app.Run(t.Context(), []string{"local", "start", "--data-dir", dataDir}); code != ExitOK ||
		!strings.Contains(stderr.String(), "already running") {
		t.Errorf("start when running: exit %d\n%s", code, stderr)
	}

	// stop: shuts it down and waits until it no longer answers.
	stderr.Reset()
	if code := app.Run(t.Context(), []string{"local", "stop", "--data-dir", dataDir}); code != ExitOK {
		t.Fatalf("stop: exit %d\n%s", code, stderr)
	}
	if rt.shutdowns != 1 || !strings.Contains(stderr.String(), "local cloud stopped") {
		t.Errorf("stop: %d shutdowns\n%s", rt.shutdowns, stderr)
	}
}

func TestLocalRun(t *testing.T) {
	dataDir := t.TempDir()
	t.Setenv(envLocalImagesDir, "")
	var got localcloud.Options
	app, _, stderr := newLocalApp(&fakeRuntime{})
	app.LocalRun = func(ctx context.Context, opts localcloud.Options) error {
		got = opts
		opts.Logger.Info("serving")
		<-ctx.Done()
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if code := app.Run(ctx, []string{"local", "run", "--data-dir", dataDir}); code != ExitOK {
		t.Errorf("run stopped by a signal: exit %d, want 0\n%s", code, stderr)
	}
	if got.DataDir != dataDir || got.ImagesDir != filepath.Join(dataDir, "images") || got.Logger == nil {
		t.Errorf("run options = %+v", got)
	}
	if !strings.Contains(stderr.String(), "serving") {
		t.Errorf("the runtime's logger does not write to stderr:\n%s", stderr)
	}

	app.LocalRun = func(_ context.Context, _ localcloud.Options) error {
		return errors.New("another runtime serves this data directory")
	}
	stderr.Reset()
	if code := app.Run(t.Context(), []string{"local", "run", "--data-dir", dataDir}); code != ExitFailed ||
		!strings.Contains(stderr.String(), "another runtime serves this data directory") {
		t.Errorf("run failing: exit %d\n%s", code, stderr)
	}
}
