package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fleetTenants are the tenants TestFleetRollouts signs up.
var fleetTenants = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}

// writeReleaseTemplate writes the service's template: the example app on
// the local cloud, its web app showing release (APP_RELEASE) and running
// image tag.
func (f *fleet) writeReleaseTemplate(path, release, tag string) {
	f.tb.Helper()
	content := fmt.Sprintf(`clouds:
  local:
    config: {}
tenant:
  web:
    image: tenant-app:%s
    env:
      APP_RELEASE: %q
  worker:
    image: tenant-app:dev
`, tag, release)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		f.tb.Fatal(err)
	}
}

// fleetCLI runs `tenantfleet fleet ARGS` against the service.
func (s *signupService) fleetCLI(tb testing.TB, args ...string) (string, string, int) {
	tb.Helper()
	env := append(slices.Clone(s.f.env), "TENANTFLEET_URL="+s.url, "TENANTFLEET_API_TOKEN="+s.token)
	cmd := exec.Command(filepath.Join(s.f.bin, "tenantfleet"), append([]string{"fleet"}, args...)...)
	cmd.Dir, cmd.Env = s.f.projectDir, env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return stdout.String(), stderr.String(), exitErr.ExitCode()
	case err != nil:
		tb.Fatalf("tenantfleet fleet %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), 0
}

// answeredRelease reads the release a tenant's web app shows, waiting up
// to two minutes for the app to answer at all: a tenant is ready once its
// update has started the app's process, which may not listen yet (the
// rollouts' health gate waits for /healthz; a signup does not). A wrong
// release, once the app answers, is returned at once.
func answeredRelease(tb testing.TB, svc *signupService, id string) string {
	tb.Helper()
	var got string
	eventually(tb, 2*time.Minute, id+"'s web app to answer /api/info", func() error {
		if got = releaseOf(tb, svc, id); strings.HasPrefix(got, "GET ") {
			return errors.New(got)
		}
		return nil
	})
	return got
}

// releaseOf reads the release a tenant's web app shows (GET /api/info).
func releaseOf(tb testing.TB, svc *signupService, id string) string {
	tb.Helper()
	_, doc := svc.do(tb, "GET", "/v1/tenants/"+id, nil)
	outputs, _ := doc["outputs"].(map[string]any)
	webURL, _ := outputs["webUrl"].(string)
	code, body, err := getStatus(webURL + "/api/info")
	if err != nil || code != http.StatusOK {
		return fmt.Sprintf("GET %s/api/info: %d %v", webURL, code, err)
	}
	var info struct {
		Release string `json:"release"`
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		return "not JSON: " + body
	}
	return info.Release
}

// waitRollout polls a rollout until its state is one of want; it fails on
// any other final state.
func waitRollout(tb testing.TB, svc *signupService, id any, within time.Duration, want ...string) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		code, doc := svc.do(tb, "GET", fmt.Sprintf("/v1/rollouts/%v", id), nil)
		state, _ := doc["state"].(string)
		if code == http.StatusOK && slices.Contains(want, state) {
			return doc
		}
		if code == http.StatusOK && slices.Contains([]string{"planned", "succeeded", "cancelled", "halted"}, state) {
			tb.Fatalf("rollout %v is %s, want %v: %s\nlogs:\n%s", id, state, want, jsonString(doc), svc.logs.String())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("rollout %v not %v after %s: %d %s", id, want, within, code, jsonString(doc))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// rolloutTenants maps each tenant of a rollout document to its record.
func rolloutTenants(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := doc["tenants"].([]any)
	for _, raw := range list {
		rt, _ := raw.(map[string]any)
		out[fmt.Sprint(rt["tenant"])] = rt
	}
	return out
}

// updatesSince counts the completed updates (`pulumi up`) of a stack that
// started at or after since, from the file backend's history.
func (f *fleet) updatesSince(tb testing.TB, stack string, since time.Time) int {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(f.stateDir(), "state", ".pulumi", "history", "tenantfleet", stack, "*.history.json"))
	n := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var h struct {
			Kind      string `json:"kind"`
			StartTime int64  `json:"startTime"`
		}
		if err := json.Unmarshal(b, &h); err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		if h.Kind == "update" && h.StartTime >= since.Unix() {
			n++
		}
	}
	return n
}

// localResourceIDs returns the cloud ids of the stack's local resources of
// the type whose name ends with suffix (Process, Database).
func (f *fleet) localResourceIDs(tb testing.TB, stack, typeSuffix, nameSuffix string) []string {
	tb.Helper()
	var dep struct {
		Deployment struct {
			Resources []struct {
				URN  string `json:"urn"`
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(f.exportState(tb, stack), &dep); err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, r := range dep.Deployment.Resources {
		if strings.HasPrefix(r.Type, "tenantfleet-local:") && strings.HasSuffix(r.Type, typeSuffix) && strings.HasSuffix(r.URN, nameSuffix) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// TestFleetRollouts is issue 16's acceptance test: eight tenants on the
// local cloud, template changes rolled out in waves through the service,
// a broken release halting the rollout, a SIGKILL mid-wave, and drift found
// and healed. Its phases build on each other: each starts from the fleet the
// one before left.
//
//nolint:paralleltest // end-to-end: runs the real engine on eight stacks; serial so the 2-core CI keeps its margins, and its phases are sequential.
func TestFleetRollouts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine on eight tenant stacks (drop -short to run it)")
	}
	f := newFleet(t, nil)
	f.must(0, "local", "start")
	tpl := filepath.Join(f.projectDir, "tenant-template.yaml")
	f.writeReleaseTemplate(tpl, "1", "dev")
	svc := newSignupService(t, f, "--template", tpl, "--concurrency", "4", "--drain-timeout", "2s")
	svc.start(t)
	for _, id := range fleetTenants {
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": id}); code != http.StatusAccepted {
			t.Fatalf("signup %s: %d %v", id, code, doc)
		}
	}
	for _, id := range fleetTenants {
		svc.waitState(t, id, "ready", 10*time.Minute)
		if got := answeredRelease(t, svc, id); got != "1" {
			t.Fatalf("%s shows release %q, want 1", id, got)
		}
	}
	_, fleet := svc.do(t, "GET", "/v1/fleet", nil)
	v1, _ := fleet["currentVersion"].(string)

	// restartWith restarts the service with the template at release.
	restartWith := func(t *testing.T, release, tag string) string {
		t.Helper()
		svc.stop(t, syscall.SIGTERM, time.Minute)
		f.on(t).writeReleaseTemplate(tpl, release, tag)
		svc.start(t)
		_, fleet := svc.do(t, "GET", "/v1/fleet", nil)
		v, _ := fleet["currentVersion"].(string)
		return v
	}

	t.Run("a changed template is planned, then rolled out in waves", func(t *testing.T) {
		v2 := restartWith(t, "2", "dev")
		if v2 == v1 || len(v2) != 12 {
			t.Fatalf("the changed template's version is %q (was %q)", v2, v1)
		}
		// The default policy is manual: nothing moved.
		code, list := svc.do(t, "GET", "/v1/tenants?limit=50", nil)
		for _, raw := range list["tenants"].([]any) {
			tn := raw.(map[string]any)
			if tn["templateVersion"] != v1 || tn["templateCurrent"] != false {
				t.Errorf("after the restart, %s is on %v (current %v), want %s, not current", tn["id"], tn["templateVersion"], tn["templateCurrent"], v1)
			}
		}
		if code != http.StatusOK {
			t.Fatalf("list: %d", code)
		}

		// The plan, through the CLI client as an operator runs it.
		stdout, stderr, code := svc.fleetCLI(t, "rollout", "plan", "--all")
		if code != 0 || !strings.Contains(stdout, "Total: 8 tenants planned of 8, 0 errors · 8 update, 40 same") ||
			!strings.Contains(stdout, "Monthly cost: $0.00 → $0.00 ($0.00)") {
			t.Fatalf("tenantfleet fleet rollout plan --all: exit %d\n%s\n%s", code, stdout, stderr)
		}
		_, rollouts := svc.do(t, "GET", "/v1/rollouts", nil)
		plan := waitRollout(t, svc, rollouts["rollouts"].([]any)[0].(map[string]any)["id"], time.Minute, "planned")
		totals := plan["plan"].(map[string]any)
		if totals["tenants"] != 8.0 || totals["planned"] != 8.0 || totals["update"] != 8.0 || totals["replace"] != 0.0 ||
			totals["create"] != 0.0 || totals["delete"] != 0.0 || totals["monthlyDelta"] != 0.0 {
			t.Errorf("plan totals: %s, want 8 tenants, 8 updates, nothing else, $0 delta", jsonString(totals))
		}
		for id, rt := range rolloutTenants(plan) {
			if rt["status"] != "planned" || rt["fromVersion"] != v1 {
				t.Errorf("plan of %s: %s", id, jsonString(rt))
			}
		}
		for _, id := range fleetTenants {
			if got := answeredRelease(t, svc, id); got != "1" {
				t.Errorf("after the dry run, %s shows release %q, want 1", id, got)
			}
		}

		start := time.Now().Add(-time.Second)
		code, ro := svc.do(t, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"all": true},
			"waves": []any{1, 3, "100%"}, "maxParallel": 3, "healthTimeout": "1m"})
		if code != http.StatusAccepted {
			t.Fatalf("rollout: %d %v", code, ro)
		}
		ro = waitRollout(t, svc, ro["id"], 10*time.Minute, "succeeded")
		if counts := ro["counts"].(map[string]any); counts["succeeded"] != 8.0 {
			t.Errorf("rollout counts: %v, want 8 succeeded", counts)
		}
		waves := map[string]float64{}
		for id, rt := range rolloutTenants(ro) {
			waves[id] = rt["wave"].(float64)
		}
		if want := map[string]float64{"alpha": 1, "bravo": 2, "charlie": 2, "delta": 3, "echo": 3, "foxtrot": 3, "golf": 3, "hotel": 3}; fmt.Sprint(waves) != fmt.Sprint(want) {
			t.Errorf("waves: %v, want %v", waves, want)
		}
		// Waves ran in order: no tenant of a wave started before the
		// wave before it was done.
		evs := svc.streamOf(t, fmt.Sprintf("/v1/rollouts/%v/events", ro["id"]))
		doneAt := map[float64]int{}
		for i, e := range evs {
			data, _ := e["data"].(map[string]any)
			if e["type"] == "wave" && data["phase"] == "done" {
				doneAt[data["wave"].(float64)] = i
			}
		}
		for i, e := range evs {
			data, _ := e["data"].(map[string]any)
			if e["type"] == "tenant" && data["status"] == "updating" {
				w := data["wave"].(float64)
				if prev, ok := doneAt[w-1]; w > 1 && (!ok || prev > i) {
					t.Errorf("%v (wave %v) started updating before wave %v was done", data["tenant"], w, w-1)
				}
			}
		}
		for _, id := range fleetTenants {
			if got := answeredRelease(t, svc, id); got != "2" {
				t.Errorf("%s shows release %q, want 2", id, got)
			}
			if n := f.updatesSince(t, "tenant-"+id, start); n != 1 {
				t.Errorf("tenant-%s was updated %d times by the rollout, want 1", id, n)
			}
		}
		_, fleet := svc.do(t, "GET", "/v1/fleet", nil)
		for _, raw := range fleet["versions"].([]any) {
			v := raw.(map[string]any)
			if want := map[bool]float64{true: 8, false: 0}[v["version"] == v2]; v["tenants"] != want {
				t.Errorf("fleet version %v has %v tenants, want %v", v["version"], v["tenants"], want)
			}
		}
		// The same rollout again has nothing to do.
		if code, doc := svc.do(t, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"all": true}}); code != http.StatusUnprocessableEntity {
			t.Errorf("a rollout of a fleet on its version: %d %v, want 422", code, doc)
		}
	})

	t.Run("a broken release halts past maxFailures; resume after the fix completes", func(t *testing.T) {
		// The image exists (the plan passes) but its program dies at once:
		// the first tenant's health gate fails.
		broken := filepath.Join(f.bin, "images", "tenant-app", "broken", "entrypoint")
		if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'this release is broken' >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		restartWith(t, "3", "broken")
		code, ro := svc.do(t, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"all": true},
			"waves": []any{1, 3, "100%"}, "maxFailures": 0, "healthTimeout": "40s"})
		if code != http.StatusAccepted {
			t.Fatalf("rollout: %d %v", code, ro)
		}
		ro = waitRollout(t, svc, ro["id"], 10*time.Minute, "halted")
		rts := rolloutTenants(ro)
		if rts["alpha"]["status"] != "failed" || !strings.Contains(fmt.Sprint(rts["alpha"]["error"]), "health gate") {
			t.Errorf("alpha: %s, want failed by the health gate", jsonString(rts["alpha"]))
		}
		for _, id := range fleetTenants[1:] {
			if rts[id]["status"] != "planned" {
				t.Errorf("%s: %v, want planned (untouched)", id, rts[id]["status"])
			}
			if got := answeredRelease(t, svc, id); got != "2" {
				t.Errorf("%s shows release %q after the halt, want 2 (untouched)", id, got)
			}
		}
		// A second rollout may not take the halted one's tenants.
		if code, doc := svc.do(t, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"ids": []string{"bravo"}}}); code != http.StatusConflict || doc["field"] != "selector" {
			t.Errorf("a rollout of a held tenant: %d %v, want 409 selector", code, doc)
		}
		// The fix: the release's program works again.
		working, err := os.ReadFile(filepath.Join(f.bin, "images", "tenant-app", "dev", "entrypoint"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(broken); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(broken, working, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, doc := svc.do(t, "POST", fmt.Sprintf("/v1/rollouts/%v/resume", ro["id"]), nil); code != http.StatusOK {
			t.Fatalf("resume: %d %v", code, doc)
		}
		ro = waitRollout(t, svc, ro["id"], 10*time.Minute, "succeeded")
		for _, id := range fleetTenants {
			if got := answeredRelease(t, svc, id); got != "3" {
				t.Errorf("%s shows release %q, want 3", id, got)
			}
		}
		if code, doc := svc.do(t, "POST", fmt.Sprintf("/v1/rollouts/%v/resume", ro["id"]), nil); code != http.StatusConflict || doc["field"] != "state" {
			t.Errorf("resume of a finished rollout: %d %v, want 409 state", code, doc)
		}
	})

	t.Run("SIGKILL mid-wave, engines included: the restarted service completes the rollout", func(t *testing.T) {
		restartWith(t, "4", "dev")
		start := time.Now().Add(-time.Second)
		code, ro := svc.do(t, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"all": true},
			"waves": []any{2, "100%"}, "maxParallel": 3, "healthTimeout": "1m"})
		if code != http.StatusAccepted {
			t.Fatalf("rollout: %d %v", code, ro)
		}
		// Once wave 1 is done, freeze the local cloud: the second wave's
		// updates then stay in flight until the kill, however fast the machine.
		eventually(t, 10*time.Minute, "wave 1 done", func() error {
			_, doc := svc.do(t, "GET", fmt.Sprintf("/v1/rollouts/%v", ro["id"]), nil)
			if doc["state"] == "halted" {
				t.Fatalf("rollout halted: %s", jsonString(doc))
			}
			if w, _ := doc["waves"].([]any); len(w) > 0 && w[0].(map[string]any)["state"] == "done" {
				return nil
			}
			return fmt.Errorf("waves %v", doc["waves"])
		})
		release := f.holdRuntime(t)
		var engines []int
		eventually(t, 3*time.Minute, "an engine updating a wave-2 tenant", func() error {
			engines = engines[:0]
			for _, id := range fleetTenants[2:] {
				if pid := f.updatingEngine("tenant-" + id); pid != 0 {
					engines = append(engines, pid)
				}
			}
			if len(engines) == 0 {
				return fmt.Errorf("none yet")
			}
			return nil
		})
		for _, pid := range append([]int{svc.proc.Pid}, engines...) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-svc.exited
		release()
		svc.start(t)
		ro = waitRollout(t, svc, ro["id"], 10*time.Minute, "succeeded")
		for _, id := range fleetTenants {
			if n := f.updatesSince(t, "tenant-"+id, start); n != 1 {
				t.Errorf("tenant-%s was updated %d times by the rollout, want exactly 1", id, n)
			}
			if locks := f.locksInBackend("tenant-" + id); len(locks) != 0 {
				t.Errorf("locks left on tenant-%s: %v", id, locks)
			}
			if got := answeredRelease(t, svc, id); got != "4" {
				t.Errorf("%s shows release %q, want 4", id, got)
			}
		}
	})

	t.Run("drift behind the engine is found, reconciled, and gone", func(t *testing.T) {
		drifted := []string{"charlie", "foxtrot"}
		rt := f.runtime()
		for _, id := range drifted {
			stack := "tenant-" + id
			procs := f.localResourceIDs(t, stack, ":Process", "-web")
			dbs := f.localResourceIDs(t, stack, ":Database", "-db")
			if len(procs) != 1 || len(dbs) != 1 {
				t.Fatalf("%s: web processes %v, databases %v", stack, procs, dbs)
			}
			if err := rt.DeleteProcess(t.Context(), procs[0]); err != nil {
				t.Fatal(err)
			}
			if err := rt.DeleteDatabase(t.Context(), dbs[0]); err != nil {
				t.Fatal(err)
			}
		}
		sweep := func() map[string]any {
			code, c := svc.do(t, "POST", "/v1/drift-checks", nil)
			if code != http.StatusAccepted {
				t.Fatalf("drift check: %d %v", code, c)
			}
			var doc map[string]any
			eventually(t, 5*time.Minute, "the drift check to finish", func() error {
				_, doc = svc.do(t, "GET", fmt.Sprintf("/v1/drift-checks/%v", c["id"]), nil)
				if doc["state"] != "done" {
					return fmt.Errorf("state %v", doc["state"])
				}
				return nil
			})
			return doc
		}
		c := sweep()
		var found []string
		for _, raw := range c["results"].([]any) {
			r := raw.(map[string]any)
			switch r["status"] {
			case "drifted":
				found = append(found, r["tenant"].(string))
				var kinds []string
				for _, res := range r["resources"].([]any) {
					m := res.(map[string]any)
					kinds = append(kinds, fmt.Sprintf("%v %v", m["type"], m["change"]))
				}
				sort.Strings(kinds)
				if want := []string{"tenantfleet-local:index:Database deleted", "tenantfleet-local:index:Process deleted"}; fmt.Sprint(kinds) != fmt.Sprint(want) {
					t.Errorf("%v drifted: %v, want %v", r["tenant"], kinds, want)
				}
			case "in_sync":
			default:
				t.Errorf("drift of %v: %s", r["tenant"], jsonString(r))
			}
		}
		if fmt.Sprint(found) != fmt.Sprint(drifted) || c["drifted"] != 2.0 || c["inSync"] != 6.0 {
			t.Errorf("drifted %v (counts %v/%v), want %v", found, c["drifted"], c["inSync"], drifted)
		}
		_, list := svc.do(t, "GET", "/v1/tenants?drift=true", nil)
		var listed []string
		for _, raw := range list["tenants"].([]any) {
			listed = append(listed, raw.(map[string]any)["id"].(string))
		}
		if fmt.Sprint(listed) != fmt.Sprint(drifted) {
			t.Errorf("GET /v1/tenants?drift=true lists %v, want %v", listed, drifted)
		}
		for _, id := range drifted {
			if code, doc := svc.do(t, "POST", "/v1/tenants/"+id+"/reconcile", nil); code != http.StatusAccepted {
				t.Fatalf("reconcile %s: %d %v", id, code, doc)
			}
		}
		for _, id := range drifted {
			svc.waitState(t, id, "ready", 5*time.Minute)
			// The reconcile recreated the web process: ready means the
			// engine is done, not that the app listens yet (a reconcile has
			// no health gate), so wait for it to answer.
			eventually(t, 2*time.Minute, "reconciled "+id+" to answer with release 4", func() error {
				if got := releaseOf(t, svc, id); got != "4" {
					return fmt.Errorf("release %q", got)
				}
				return nil
			})
		}
		if c := sweep(); c["drifted"] != 0.0 || c["inSync"] != 8.0 {
			t.Errorf("after reconcile: %s", jsonString(c))
		}
		_, fleet := svc.do(t, "GET", "/v1/fleet", nil)
		if d := fleet["drift"].(map[string]any); d["in_sync"] != 8.0 || d["drifted"] != 0.0 {
			t.Errorf("fleet drift: %v", d)
		}
	})
}
