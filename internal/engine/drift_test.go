package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/tenantfleet/tenantfleet/internal/engine/enginetest"
	"github.com/tenantfleet/tenantfleet/internal/localcloud"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// The drift test's stack and the URNs of the resources it changes behind
// the engine.
const (
	driftStack    = "drift"
	driftUnitURN  = "urn:pulumi:drift::tenantfleet::tenantfleet:index:TenantUnit$"
	driftDBURN    = driftUnitURN + "tenantfleet-local:index:Database::drift-db"
	driftWebURN   = driftUnitURN + "tenantfleet-local:index:Process::drift-web"
	driftStepWait = 2 * time.Minute
)

// TestDrift brings up one tenant on the local cloud with the real engine
// and the tenantfleet program, then behind the engine drops the tenant's
// database and kills its web process so that it stays dead (its image is
// hidden, so the runtime's supervisor cannot restart it). A preview-only
// refresh reports exactly those two, twice, leaving the state as it was;
// up with Refresh creates the database again, and a preview-only refresh
// then reports nothing.
//
// It does not run in parallel: enginetest.Isolate and the TENANTFLEET_LOCAL_*
// variables are set with t.Setenv.
func TestDrift(t *testing.T) {
	h := enginetest.Isolate(t)
	if _, err := os.Stat(filepath.Join(h.ExeDir, pluginBinary)); err != nil {
		t.Skipf("skipping: %v (make build builds the local cloud's plugin)", err)
	}
	entrypoint := filepath.Join(h.ExeDir, "images", "tenant-app", "dev", "entrypoint")
	if _, err := os.Stat(entrypoint); err != nil {
		t.Skipf("skipping: %v (make build builds the example app's image)", err)
	}

	// The runtime runs PostgreSQL as the postgres user when root: the data
	// directory must be traversable (t.TempDir's are 0700).
	root := t.TempDir()
	for _, dir := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(root, "local")
	t.Setenv("TENANTFLEET_LOCAL_DIR", dataDir)
	// The test's own images directory, so that it can hide the image.
	image := filepath.Join(root, "images", "tenant-app", "dev")
	if err := os.MkdirAll(image, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(entrypoint, filepath.Join(image, "entrypoint")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(localcloud.EnvImagesDir, filepath.Join(root, "images"))
	cloud := localcloud.NewClient(dataDir)
	t.Cleanup(func() {
		// t.Context is done by the time cleanups run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
		defer cancel()
		if err := cloud.Shutdown(ctx); err != nil && !errors.Is(err, localcloud.ErrNotRunning) {
			t.Errorf("stop the local cloud: %v", err)
		}
	})

	config := map[string]any{
		"tenantfleet:cloud": "local",
		"tenantfleet:tenants": []any{map[string]any{
			"id":     "drift",
			"web":    map[string]any{"image": "tenant-app:dev"},
			"worker": map[string]any{"image": "tenant-app:dev"},
		}},
	}
	runner := &Runner{Program: stacks.Program, Stderr: io.Discard, ExeDir: h.ExeDir}
	// run runs op and returns its report and the drift its events showed.
	run := func(t *testing.T, op Operation, opts StackOptions) (Report, []DriftResource) {
		t.Helper()
		var drift DriftCollector
		opts.Stack, opts.Config, opts.Events = driftStack, config, drift.Handle
		ctx, cancel := context.WithTimeout(t.Context(), driftStepWait)
		defer cancel()
		start := time.Now()
		report, err := runner.Run(ctx, op, opts)
		if err != nil {
			t.Fatalf("%s (PreviewOnly %v, Refresh %v): %v", op, opts.PreviewOnly, opts.Refresh, err)
		}
		t.Logf("%s (PreviewOnly %v, Refresh %v): %s, changes %v", op, opts.PreviewOnly, opts.Refresh,
			time.Since(start).Round(time.Millisecond), report.Changes)
		return report, drift.Resources()
	}
	export := func(t *testing.T) json.RawMessage {
		t.Helper()
		report, _ := run(t, OpExport, StackOptions{})
		return report.Deployment
	}

	var dbName, webName string
	var webPID int
	if !t.Run("up", func(t *testing.T) {
		up, drift := run(t, OpUp, StackOptions{NewStack: true})
		if len(drift) != 0 {
			t.Errorf("up found drift: %v", drift)
		}
		tenant, _ := up.Outputs["tenants"].(map[string]any)["drift"].(map[string]any)
		dbName, _ = tenant["databaseName"].(string)
		st, err := cloud.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st.Processes {
			if p.URL != "" && p.URL == tenant["webUrl"] {
				webName, webPID = p.Name, p.PID
			}
		}
		if dbName == "" || webName == "" || webPID == 0 {
			t.Fatalf("no database name or running web process: outputs %v, processes %+v", up.Outputs, st.Processes)
		}
	}) {
		return
	}

	if !t.Run("behind the engine", func(t *testing.T) {
		if err := cloud.DeleteDatabase(t.Context(), dbName); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(image, image+".hidden"); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(-webPID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitProcess(t, cloud, webName, false)
	}) {
		return
	}

	wantDrift := []DriftResource{
		{URN: driftDBURN, Type: "tenantfleet-local:index:Database", Name: "drift-db", Change: DriftDeleted},
		{URN: driftWebURN, Type: "tenantfleet-local:index:Process", Name: "drift-web", Change: DriftChanged, Properties: []string{"running"}},
	}
	if !t.Run("preview-only refresh", func(t *testing.T) {
		before := export(t)
		for range 2 {
			report, drift := run(t, OpRefresh, StackOptions{PreviewOnly: true})
			if diff := cmp.Diff(wantDrift, drift); diff != "" {
				t.Errorf("drift (-want +got):\n%s", diff)
			}
			wantChanges := map[string]int{string(apitype.OpSame): 4, string(apitype.OpUpdate): 1, string(apitype.OpDelete): 1}
			if diff := cmp.Diff(wantChanges, report.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		}
		if changed := stateChanges(t, before, export(t)); len(changed) > 0 {
			t.Errorf("a preview-only refresh changed the state: %q", changed)
		}
	}) {
		return
	}

	t.Run("up with refresh", func(t *testing.T) {
		// The image back, the runtime restarts the web process on its own
		// (Process.Update PUTs an unchanged spec, which the runtime
		// answers without a restart): wait for that, so that what up
		// finds does not depend on the supervisor's backoff.
		if err := os.Rename(image+".hidden", image); err != nil {
			t.Fatal(err)
		}
		waitProcess(t, cloud, webName, true)
		_, drift := run(t, OpUp, StackOptions{Refresh: true})
		if diff := cmp.Diff(wantDrift[:1], drift); diff != "" {
			t.Errorf("up's refresh drift (-want +got):\n%s", diff)
		}
		if _, err := cloud.GetDatabase(t.Context(), dbName); err != nil {
			t.Errorf("the database after up: %v", err)
		}
		report, drift := run(t, OpRefresh, StackOptions{PreviewOnly: true})
		if len(drift) != 0 || report.Changes[string(apitype.OpSame)] != 6 {
			t.Errorf("preview-only refresh after up: drift %v, changes %v; want none, same 6", drift, report.Changes)
		}
	})
}

// stateChanges names what differs between two exports of a stack's state:
// "manifest" (written at each checkpoint) and the URNs of the resources
// added, removed or changed. Names only: an export holds the secrets in
// plain text.
func stateChanges(t *testing.T, before, after json.RawMessage) []string {
	t.Helper()
	type deployment struct {
		Manifest  any              `json:"manifest"`
		Resources []map[string]any `json:"resources"`
	}
	byURN := func(raw json.RawMessage) (any, map[string]map[string]any) {
		var d deployment
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("read an export: %v", err)
		}
		out := map[string]map[string]any{}
		for _, r := range d.Resources {
			urn, _ := r["urn"].(string)
			out[urn] = r
		}
		return d.Manifest, out
	}
	manifest0, res0 := byURN(before)
	manifest1, res1 := byURN(after)
	var changed []string
	if !cmp.Equal(manifest0, manifest1) {
		changed = append(changed, "manifest")
	}
	for _, urn := range slices.Sorted(maps.Keys(res0)) {
		if !cmp.Equal(res0[urn], res1[urn]) {
			changed = append(changed, urn)
		}
	}
	for _, urn := range slices.Sorted(maps.Keys(res1)) {
		if _, ok := res0[urn]; !ok {
			changed = append(changed, urn)
		}
	}
	return changed
}

// waitProcess waits until the runtime reports the process running or not.
func waitProcess(t *testing.T, cloud *localcloud.Client, name string, running bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := cloud.GetProcess(t.Context(), name)
		if err == nil && p.Running == running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s: running is not %v after a minute: %+v, %v", name, running, p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDriftCollector: what the engine sends for each kind of refresh step,
// as TestDrift saw it, becomes the drift; the rest is not.
func TestDriftCollector(t *testing.T) {
	t.Parallel()
	const db, web = "urn:pulumi:s::p::t:index:Database::db", "urn:pulumi:s::p::t:index:Process::web"
	state := func(urn string, custom bool) *apitype.StepEventStateMetadata {
		return &apitype.StepEventStateMetadata{URN: urn, Custom: custom, Outputs: map[string]any{"running": true}}
	}
	step := func(op apitype.OpType, urn string, oldState, newState *apitype.StepEventStateMetadata, diffs ...string) apitype.StepEventMetadata {
		m := apitype.StepEventMetadata{Op: op, URN: urn, Type: "t:index:" + urnName(urn), Old: oldState, New: newState, Diffs: diffs}
		if len(diffs) > 0 {
			m.DetailedDiff = map[string]apitype.PropertyDiff{}
			for _, d := range diffs {
				m.DetailedDiff[d] = apitype.PropertyDiff{Kind: apitype.DiffUpdate}
			}
		}
		return m
	}
	pre := func(m apitype.StepEventMetadata) events.EngineEvent {
		return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: m}}}
	}
	outs := func(m apitype.StepEventMetadata) events.EngineEvent {
		return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: m}}}
	}
	refreshing := func(urn string, custom bool) events.EngineEvent {
		return pre(step(apitype.OpRefresh, urn, state(urn, custom), state(urn, custom)))
	}
	deleted := DriftResource{URN: db, Type: "t:index:db", Name: "db", Change: DriftDeleted}
	cases := []struct {
		why  string
		evs  []events.EngineEvent
		want []DriftResource
	}{
		{"refresh: deleted and changed (env.FOO is env)", []events.EngineEvent{
			refreshing(web, true), refreshing(db, true),
			outs(step(apitype.OpUpdate, web, state(web, true), state(web, true), "running", "env.FOO")),
			outs(step(apitype.OpDelete, db, state(db, true), nil)),
		}, []DriftResource{deleted, {URN: web, Type: "t:index:web", Name: "web", Change: DriftChanged, Properties: []string{"env", "running"}}}},
		{"refresh: same is no drift", []events.EngineEvent{
			refreshing(web, true), outs(step(apitype.OpSame, web, state(web, true), state(web, true))),
		}, []DriftResource{}},
		{"up --refresh: gone, then created again (not drift twice)", []events.EngineEvent{
			refreshing(db, true), outs(step(apitype.OpRefresh, db, state(db, true), nil)),
			pre(step(apitype.OpCreate, db, nil, state(db, true))), outs(step(apitype.OpCreate, db, nil, state(db, true))),
		}, []DriftResource{deleted}},
		{"up --refresh: a refresh step without a diff is no drift; a later delete is up's own", []events.EngineEvent{
			refreshing(db, true), outs(step(apitype.OpRefresh, db, state(db, true), state(db, true))),
			pre(step(apitype.OpDelete, db, state(db, true), nil)), outs(step(apitype.OpDelete, db, state(db, true), nil)),
		}, []DriftResource{}},
		{"a component is never drift", []events.EngineEvent{
			refreshing(db, false), outs(step(apitype.OpDelete, db, state(db, false), nil)),
		}, []DriftResource{}},
		{"a failed refresh step is no drift", []events.EngineEvent{
			refreshing(db, true),
			{EngineEvent: apitype.EngineEvent{ResOpFailedEvent: &apitype.ResOpFailedEvent{Metadata: step(apitype.OpRefresh, db, state(db, true), nil)}}},
			outs(step(apitype.OpDelete, db, state(db, true), nil)),
		}, []DriftResource{}},
	}
	for _, tc := range cases {
		var c DriftCollector
		for _, ev := range tc.evs {
			c.Handle(ev)
		}
		if diff := cmp.Diff(tc.want, c.Resources()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.why, diff)
		}
	}
}

// TestDriftTopLevel: a property path's first name.
func TestDriftTopLevel(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"running": "running", "env.FOO": "env", `tags["a.b"]`: "tags", "command[0]": "command", `["a.b"].c`: "a.b",
	} {
		if got := topLevel(path); got != want {
			t.Errorf("topLevel(%q) = %q, want %q", path, got, want)
		}
	}
}
