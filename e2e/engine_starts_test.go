package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEngineStartsPerOperation counts the pulumi CLI's starts per operation
// (a counting wrapper in front of bin/pulumi), for the tenantfleet CLI and
// the signup service, so that a change that starts the CLI more often shows
// up here; and checks that what the runner now takes from the operation's
// event stream is what the CLI reads back: the outputs, with secrets
// "[secret]" (however nested) unless shown, and the service's recorded
// events. Counts, never times: deterministic.
//
// What remains per operation, and why, is documented on stackRun.do in
// internal/engine/stack.go.
//
//nolint:paralleltest // end-to-end: runs the real engine, PostgreSQL and NATS; serial so the 2-core CI keeps its timing margins.
func TestEngineStartsPerOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine, PostgreSQL and NATS (drop -short to run it)")
	}
	f := newFleet(t, map[string]string{"one": singleTenantStack("solo")})
	f.must(0, "local", "start")
	calls := f.countEngineStarts(t)

	// want runs tenantfleet args (exit code code) and checks the CLI starts
	// it made; it returns stdout.
	want := func(t *testing.T, code int, starts []string, args ...string) string {
		t.Helper()
		out := f.must(code, args...)
		if got := calls.next(t); !slices.Equal(got, starts) {
			t.Errorf("tenantfleet %s started pulumi %d times: %q, want %q", strings.Join(args, " "), len(got), got, starts)
		}
		return out
	}
	outputsOf := func(t *testing.T, stdout string) map[string]any {
		t.Helper()
		var r struct {
			Outputs map[string]any `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("not a JSON report: %v\n%s", err, stdout)
		}
		return r.Outputs
	}
	asMap := func(t *testing.T, stdout string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		return m
	}

	t.Run("cli", func(t *testing.T) {
		// Each tenantfleet process checks the CLI once (version); the stack
		// is not selected, and a new one is created when up finds none.
		up := outputsOf(t, want(t, 0, []string{"version", "up", "stack init", "up"}, "up", "--stack", "one", "--json"))
		// The outputs the update's events carried are what the CLI reads back.
		stored := asMap(t, want(t, 0, []string{"version", "stack output"}, "outputs", "--stack", "one", "--json"))
		if !reflect.DeepEqual(up, stored) {
			t.Errorf("outputs of up (from its events) differ from `pulumi stack output --json`:\nup:     %v\nstored: %v", up, stored)
		}
		solo := tenantOf(t, up, "solo")
		if solo["databaseCredentials"] != "[secret]" || solo["webUrl"] == "" {
			t.Errorf("up outputs of solo = %v, want a webUrl and databaseCredentials [secret]", solo)
		}

		again := outputsOf(t, want(t, 0, []string{"version", "up"}, "up", "--stack", "one", "--json"))
		if !reflect.DeepEqual(again, stored) {
			t.Errorf("outputs of a second up differ from the stored ones:\n%v\n%v", again, stored)
		}
		// Secrets in plain text are never in the event stream: one more start.
		shown := outputsOf(t, want(t, 0, []string{"version", "up", "stack output --show-secrets"}, "up", "--stack", "one", "--json", "--show-secrets"))
		storedShown := asMap(t, want(t, 0, []string{"version", "stack output --show-secrets"}, "outputs", "--stack", "one", "--json", "--show-secrets"))
		if !reflect.DeepEqual(shown, storedShown) {
			t.Errorf("up --show-secrets outputs differ from `pulumi stack output --json --show-secrets`:\n%v\n%v", shown, storedShown)
		}
		if password, _ := tenantOf(t, shown, "solo")["databaseCredentials"].(string); password == "[secret]" || len(password) < 16 {
			t.Errorf("up --show-secrets databaseCredentials = %q, want the password", password)
		}

		want(t, 0, []string{"version", "preview"}, "preview", "--stack", "one", "--expect-no-changes")
		refreshed := outputsOf(t, want(t, 0, []string{"version", "refresh"}, "refresh", "--stack", "one", "--json"))
		if !reflect.DeepEqual(refreshed, stored) {
			t.Errorf("outputs of refresh (from its events) differ from the stored ones:\n%v\n%v", refreshed, stored)
		}

		want(t, 0, []string{"version", "destroy", "stack rm"}, "destroy", "--stack", "one", "--remove")
		// A stack that does not exist: the operation's own command says so.
		want(t, 0, []string{"version", "destroy"}, "destroy", "--stack", "one")
		want(t, 2, []string{"version", "stack output"}, "outputs", "--stack", "one")
		want(t, 2, []string{"version", "refresh"}, "refresh", "--stack", "one")
	})

	t.Run("signup service", func(t *testing.T) {
		svc := newSignupService(t, f)
		svc.start(t)
		// The service checks the CLI once, at start (with the backend).
		if got := calls.next(t); !slices.Equal(got, []string{"version", "whoami"}) {
			t.Errorf("serve started pulumi %q before any signup, want version and whoami", got)
		}

		// A signup: the stack is created (the service knows it is new)
		// and updated; nothing else.
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "acme"}); code != http.StatusAccepted {
			t.Fatalf("signup: %d %v", code, doc)
		}
		ready := svc.waitState(t, "acme", "ready", 5*time.Minute)
		if got, starts := calls.next(t), []string{"stack init", "up"}; !slices.Equal(got, starts) {
			t.Errorf("a signup started pulumi %d times: %q, want %q", len(got), got, starts)
		}
		api, _ := ready["outputs"].(map[string]any)
		stored := asMap(t, want(t, 0, []string{"version", "stack output"}, "outputs", "--stack", "tenant-acme", "--json"))
		if !reflect.DeepEqual(api, tenantOf(t, stored, "acme")) {
			t.Errorf("the tenant's outputs in the API differ from the stack's:\napi:   %v\nstack: %v", api, tenantOf(t, stored, "acme"))
		}
		if api["databaseCredentials"] != "[secret]" {
			t.Errorf("databaseCredentials in the API = %v, want [secret]", api["databaseCredentials"])
		}
		checkSignupEvents(t, svc.events(t, "acme"))

		// A forced delete: the export (pending creates), the update turning
		// deletion protection off, the destroy and the removal.
		if code, doc := svc.do(t, "DELETE", "/v1/tenants/acme?force=true", nil); code != http.StatusAccepted {
			t.Fatalf("delete: %d %v", code, doc)
		}
		svc.waitState(t, "acme", "deleted", 5*time.Minute)
		if got, starts := calls.next(t), []string{"stack export", "up", "destroy", "stack rm"}; !slices.Equal(got, starts) {
			t.Errorf("a forced delete started pulumi %d times: %q, want %q", len(got), got, starts)
		}

		// The same id again, a new life: the service no longer knows the
		// stack is new, so the export (which finds none) comes first.
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "acme"}); code != http.StatusAccepted {
			t.Fatalf("second signup: %d %v", code, doc)
		}
		again := svc.waitState(t, "acme", "ready", 5*time.Minute)
		if got, starts := calls.next(t), []string{"stack export", "stack init", "up"}; !slices.Equal(got, starts) {
			t.Errorf("a signup of a deleted tenant started pulumi %d times: %q, want %q", len(got), got, starts)
		}
		if outs, _ := again["outputs"].(map[string]any); outs["databaseCredentials"] != "[secret]" || outs["webUrl"] == "" {
			t.Errorf("outputs after the second signup = %v", outs)
		}

		// A first signup whose stack the backend holds already (it
		// outlived the service's database): the creation says so, and the
		// stack is then checked and updated as any existing one.
		state := f.stateDir()
		cmd := exec.Command(filepath.Join(f.bin, "pulumi"), "stack", "init", "tenant-zed", "--secrets-provider", "passphrase",
			"--no-select", "--non-interactive")
		cmd.Dir = f.projectDir
		cmd.Env = append(f.env, "PULUMI_BACKEND_URL=file://"+filepath.Join(state, "state"),
			"PULUMI_CONFIG_PASSPHRASE_FILE="+filepath.Join(state, "passphrase"),
			"PULUMI_HOME="+filepath.Join(state, "pulumi-home"), "PULUMI_SKIP_UPDATE_CHECK=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pulumi stack init tenant-zed: %v\n%s", err, out)
		}
		calls.next(t)
		if code, doc := svc.do(t, "POST", "/v1/tenants", map[string]any{"id": "zed"}); code != http.StatusAccepted {
			t.Fatalf("signup of zed: %d %v", code, doc)
		}
		svc.waitState(t, "zed", "ready", 5*time.Minute)
		if got, starts := calls.next(t), []string{"stack init", "stack export", "up"}; !slices.Equal(got, starts) {
			t.Errorf("a first signup on an existing stack started pulumi %d times: %q, want %q", len(got), got, starts)
		}
	})
}

// tenantOf returns the outputs of tenant id in a stack's outputs.
func tenantOf(t *testing.T, outputs map[string]any, id string) map[string]any {
	t.Helper()
	tenants, _ := outputs["tenants"].(map[string]any)
	mine, _ := tenants[id].(map[string]any)
	if mine == nil {
		t.Fatalf("no tenant %s in the outputs %v", id, outputs)
	}
	return mine
}

// checkSignupEvents checks the events the service recorded for one signup:
// the states queued, provisioning, ready; the update started and succeeded
// with the change counts of its steps; every resource step started and
// done; no engine error.
func checkSignupEvents(t *testing.T, evs []map[string]any) {
	t.Helper()
	var states, ops []string
	var changes map[string]any
	started, done := map[string]bool{}, map[string]bool{}
	creates := 0
	for _, e := range evs {
		data, _ := e["data"].(map[string]any)
		switch e["type"] {
		case "state":
			states = append(states, fmt.Sprint(data["state"]))
		case "operation":
			ops = append(ops, fmt.Sprintf("%v %v", data["operation"], data["phase"]))
			if data["phase"] == "succeeded" {
				changes, _ = data["changes"].(map[string]any)
			}
		case "resource":
			key := fmt.Sprintf("%v %v", data["urn"], data["op"])
			switch data["status"] {
			case "started":
				started[key] = true
			case "done":
				// The summary counts no provider; the stack resource
				// reports its outputs twice.
				if data["op"] == "create" && !done[key] && !strings.HasPrefix(fmt.Sprint(data["type"]), "pulumi:providers:") {
					creates++
				}
				done[key] = true
			default:
				t.Errorf("resource event %v", data)
			}
		case "diagnostic":
			if data["severity"] == "error" {
				t.Errorf("engine error event %v", data)
			}
		}
	}
	if want := []string{"queued", "provisioning", "ready"}; !slices.Equal(states, want) {
		t.Errorf("states %q, want %q", states, want)
	}
	if want := []string{"up started", "up succeeded"}; !slices.Equal(ops, want) {
		t.Errorf("operations %q, want %q", ops, want)
	}
	if !reflect.DeepEqual(started, done) || creates < 5 {
		t.Errorf("resource steps: started %v, done %v (%d creates)", started, done, creates)
	}
	if n, _ := changes["create"].(float64); int(n) != creates {
		t.Errorf("the update's changes %v, but %d create steps done: %v", changes, creates, done)
	}
}
