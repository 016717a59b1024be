package signup

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// markReady makes the insert-only server's tenants ready on a version, as
// a worker would have left them.
func (ts *testServer) markReady(version string, ids ...string) {
	ts.t.Helper()
	for _, id := range ids {
		if r := ts.do(request{method: "POST", path: "/v1/tenants", body: fmt.Sprintf(`{"id":%q}`, id)}); r.status != http.StatusAccepted {
			ts.t.Fatalf("signup %s: %d %s", id, r.status, r.body)
		}
		if _, err := ts.svc.Store().DB.Exec(`UPDATE tenantfleet_tenant SET state = 'ready', template_version = ? WHERE id = ?`, version, id); err != nil {
			ts.t.Fatal(err)
		}
	}
}

// TestRolloutBadInput sends rollouts that must be refused with a problem
// naming the field, and checks that none was recorded.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestRolloutBadInput(t *testing.T) {
	ts := newTestServer(t)
	ts.markReady("aaaaaaaaaaaa", "acme", "globex", "initech")
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"empty body", ``, http.StatusUnsupportedMediaType, "Content-Type"},
		{"not an object", `[1]`, http.StatusBadRequest, ""},
		{"unknown field", `{"selector":{"all":true},"wavez":[1]}`, http.StatusBadRequest, "wavez"},
		{"no selector", `{"waves":[1,"100%"]}`, http.StatusBadRequest, "selector"},
		{"empty selector", `{"selector":{}}`, http.StatusBadRequest, "selector"},
		{"unknown selector field", `{"selector":{"region":"eu"}}`, http.StatusBadRequest, "selector.region"},
		{"all with a filter", `{"selector":{"all":true,"tiers":["small"]}}`, http.StatusBadRequest, "selector.all"},
		{"bad state", `{"selector":{"states":["broken"]}}`, http.StatusBadRequest, "selector.states[0]"},
		{"bad tier", `{"selector":{"tiers":["huge"]}}`, http.StatusBadRequest, "selector.tiers[0]"},
		{"bad id", `{"selector":{"ids":["Not-An-Id"]}}`, http.StatusBadRequest, "selector.ids[0]"},
		{"unknown tenant", `{"selector":{"ids":["acme","nobody"]}}`, http.StatusBadRequest, "selector.ids[1]"},
		{"ids not a list", `{"selector":{"ids":"acme"}}`, http.StatusBadRequest, "selector.ids"},
		{"wave of zero", `{"selector":{"all":true},"waves":[0,"100%"]}`, http.StatusBadRequest, "waves[0]"},
		{"wave not a number", `{"selector":{"all":true},"waves":[1,"half"]}`, http.StatusBadRequest, "waves[1]"},
		{"fractional wave", `{"selector":{"all":true},"waves":[1.5,"100%"]}`, http.StatusBadRequest, "waves[0]"},
		{"shrinking waves", `{"selector":{"all":true},"waves":["50%","10%","100%"]}`, http.StatusBadRequest, "waves[1]"},
		{"last wave short of all", `{"selector":{"all":true},"waves":[1,"50%"]}`, http.StatusBadRequest, "waves[1]"},
		{"last count short of all", `{"selector":{"all":true},"waves":[1,2]}`, http.StatusBadRequest, "waves[1]"},
		{"percent over 100", `{"selector":{"all":true},"waves":["150%"]}`, http.StatusBadRequest, "waves[0]"},
		{"count wave after a larger percent", `{"selector":{"all":true},"waves":["100%",1]}`, http.StatusBadRequest, "waves[1]"},
		{"maxParallel negative", `{"selector":{"all":true},"maxParallel":-1}`, http.StatusBadRequest, "maxParallel"},
		{"maxParallel a string", `{"selector":{"all":true},"maxParallel":"4"}`, http.StatusBadRequest, "maxParallel"},
		{"bad pause", `{"selector":{"all":true},"pauseBetweenWaves":"soon"}`, http.StatusBadRequest, "pauseBetweenWaves"},
		{"pause a number", `{"selector":{"all":true},"pauseBetweenWaves":30}`, http.StatusBadRequest, "pauseBetweenWaves"},
		{"tiny health timeout", `{"selector":{"all":true},"healthTimeout":"1ms"}`, http.StatusBadRequest, "healthTimeout"},
		{"negative maxFailures", `{"selector":{"all":true},"maxFailures":-1}`, http.StatusBadRequest, "maxFailures"},
		{"malformed version", `{"selector":{"all":true},"version":"v2"}`, http.StatusBadRequest, "version"},
		{"unknown version", `{"selector":{"all":true},"version":"0123456789ab"}`, http.StatusBadRequest, "version"},
		{"nothing to roll", `{"selector":{"all":true},"version":"` + ts.svc.Version() + `"}`, 0, ""},
		{"selector picks none", `{"selector":{"clouds":["aws"]}}`, http.StatusUnprocessableEntity, "selector"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(request{method: "POST", path: "/v1/rollouts", body: c.body})
			if c.status == 0 {
				return // checked below
			}
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if p := decodeProblem(t, r); p.Field != c.field {
				t.Errorf("field %q, want %q: %s", p.Field, c.field, p.Detail)
			}
		})
	}
	if n := ts.countRows("tenantfleet_rollout"); n != 1 {
		t.Errorf("%d rollouts recorded, want only the valid one", n)
	}
}

// TestRolloutPlanAndHold checks a valid rollout's record (defaults, waves,
// tenants) and that its tenants are held from other rollouts until it is
// final, and the operator actions' state rules.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestRolloutPlanAndHold(t *testing.T) {
	ts := newTestServer(t)
	ids := []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b1"}
	ts.markReady("aaaaaaaaaaaa", ids...)
	ts.markReady(ts.svc.Version(), "current")

	r := ts.do(request{method: "POST", path: "/v1/rollouts", body: `{"selector":{"all":true},"waves":[1,"10%","50%","100%"]}`})
	if r.status != http.StatusAccepted || r.header.Get("Location") != "/v1/rollouts/1" {
		t.Fatalf("rollout: %d %v %s", r.status, r.header, r.body)
	}
	var ro Rollout
	if err := json.Unmarshal(r.body, &ro); err != nil {
		t.Fatal(err)
	}
	if ro.State != RolloutPlanning || ro.Version != ts.svc.Version() || ro.Spec.MaxParallel != DefaultWorkers ||
		ro.Spec.HealthTimeout != defaultHealthTimeout || ro.Spec.MaxFailures != 0 {
		t.Errorf("rollout defaults: %+v", ro)
	}
	waves := map[string]int{}
	for _, rt := range ro.Tenants {
		waves[rt.Tenant] = rt.Wave
		if rt.Status != TenantPending || rt.FromVersion != "aaaaaaaaaaaa" {
			t.Errorf("tenant %+v", rt)
		}
	}
	// 10 tenants (current is on the version already): 1, then 10 % (1, an
	// empty wave), 50 % (5), 100 %.
	want := map[string]int{"a1": 1, "a2": 3, "a3": 3, "a4": 3, "a5": 3, "a6": 4, "a7": 4, "a8": 4, "a9": 4, "b1": 4}
	if diff := cmp.Diff(want, waves); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}
	if got := []int{ro.Waves[0].Tenants, ro.Waves[1].Tenants, ro.Waves[2].Tenants, ro.Waves[3].Tenants}; !cmp.Equal(got, []int{1, 0, 4, 5}) {
		t.Errorf("wave sizes %v, want [1 0 4 5]", got)
	}

	r = ts.do(request{method: "POST", path: "/v1/rollouts", body: `{"selector":{"ids":["a3"]}}`})
	if p := decodeProblem(t, r); r.status != http.StatusConflict || p.Field != "selector" {
		t.Errorf("a second rollout of a held tenant: %d %+v", r.status, p)
	}
	r = ts.do(request{method: "POST", path: "/v1/rollouts/1/pause"})
	if p := decodeProblem(t, r); r.status != http.StatusConflict || p.Field != "state" {
		t.Errorf("pause while planning: %d %+v", r.status, p)
	}
	r = ts.do(request{method: "POST", path: "/v1/rollouts/1/cancel"})
	if r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &ro); err != nil {
		t.Fatal(err)
	}
	if ro.State != RolloutCancelled || ro.Counts[string(TenantSkipped)] != 10 || ro.FinishedAt == nil {
		t.Errorf("cancelled rollout: %s %v", ro.State, ro.Counts)
	}
	for _, path := range []string{"/v1/rollouts/1/resume", "/v1/rollouts/1/cancel"} {
		r = ts.do(request{method: "POST", path: path})
		if p := decodeProblem(t, r); r.status != http.StatusConflict || p.Field != "state" {
			t.Errorf("%s of a cancelled rollout: %d %+v", path, r.status, p)
		}
	}
	// Cancelled, it holds nothing: the tenant can be rolled again.
	if r = ts.do(request{method: "POST", path: "/v1/rollouts", body: `{"selector":{"ids":["a3"]}}`}); r.status != http.StatusAccepted {
		t.Errorf("rollout after the cancel: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ path, field string }{{"/v1/rollouts/x", "id"}, {"/v1/rollouts/0", "id"}, {"/v1/rollouts/99", "id"}} {
		r = ts.do(request{method: "GET", path: c.path})
		if p := decodeProblem(t, r); p.Field != c.field || r.status/100 != 4 {
			t.Errorf("GET %s: %d %+v", c.path, r.status, p)
		}
	}
	// The fleet summary counts the versions.
	r = ts.do(request{method: "GET", path: "/v1/fleet"})
	var f Fleet
	if err := json.Unmarshal(r.body, &f); err != nil {
		t.Fatal(err)
	}
	if f.Tenants != 11 || f.CurrentVersion != ts.svc.Version() || f.ByState["ready"] != 11 || f.Drift[DriftUnchecked] != 11 ||
		len(f.ActiveRollouts) != 1 || f.UpdatePolicy != UpdateManual {
		t.Errorf("fleet: %+v", f)
	}
	for _, v := range f.Versions {
		if v.Current != (v.Version == ts.svc.Version()) || (v.Current && v.Tenants != 1) {
			t.Errorf("version %+v", v)
		}
	}
}

// TestAutomaticUpdatePolicy checks that the automatic policy starts one
// rollout of every tenant not on the service's version, and no second one
// while it is active; and that a signup gets the service's version.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestAutomaticUpdatePolicy(t *testing.T) {
	ts := newTestServer(t)
	ts.markReady("aaaaaaaaaaaa", "acme", "globex")
	ts.markReady(ts.svc.Version(), "current")
	var target string
	if err := ts.svc.Store().DB.QueryRow(`SELECT target_version FROM tenantfleet_tenant WHERE id = 'acme'`).Scan(&target); err != nil || target != ts.svc.Version() {
		t.Errorf("a signup's target version: %q, %v; want the service's %s", target, err, ts.svc.Version())
	}
	for range 2 {
		if err := ts.svc.fleet.automaticRollout(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := ts.svc.Store().ListRollouts(t.Context(), 10)
	if err != nil || len(rs) != 1 {
		t.Fatalf("rollouts: %d, %v; want 1", len(rs), err)
	}
	r, err := ts.svc.Store().GetRollout(t.Context(), rs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rt := range r.Tenants {
		ids = append(ids, rt.Tenant)
	}
	if !cmp.Equal(ids, []string{"acme", "globex"}) || r.Version != ts.svc.Version() || !r.Spec.Selector.All {
		t.Errorf("automatic rollout: tenants %v, version %s, spec %+v", ids, r.Version, r.Spec)
	}
}

// TestDriftCheckBadInput checks the drift-check requests that must be
// refused, and the metrics the fleet adds.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestDriftCheckBadInput(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(request{method: "POST", path: "/v1/drift-checks"})
	if p := decodeProblem(t, r); r.status != http.StatusUnprocessableEntity || p.Field != "selector" {
		t.Errorf("a drift check of no ready tenant: %d %+v", r.status, p)
	}
	ts.markReady(ts.svc.Version(), "acme")
	for _, c := range []struct{ body, field string }{
		{`{"selector":{"ids":["nobody"]}}`, "selector.ids[0]"},
		{`{"selector":{}}`, "selector"},
		{`{"selector":{"tier":"small"}}`, "selector.tier"},
		{`{"tenants":["acme"]}`, "tenants"},
	} {
		r := ts.do(request{method: "POST", path: "/v1/drift-checks", body: c.body})
		if p := decodeProblem(t, r); r.status != http.StatusBadRequest || p.Field != c.field {
			t.Errorf("%s: %d %+v, want 400 naming %s", c.body, r.status, p, c.field)
		}
	}
	if n := ts.countRows("tenantfleet_drift_check"); n != 0 {
		t.Errorf("%d drift checks recorded by refused requests", n)
	}
	r = ts.do(request{method: "POST", path: "/v1/drift-checks", body: `{"selector":{"ids":["acme"]}}`})
	var c DriftCheck
	if err := json.Unmarshal(r.body, &c); err != nil || r.status != http.StatusAccepted || c.Tenants != 1 || c.State != DriftCheckRunning {
		t.Errorf("drift check: %d %s", r.status, r.body)
	}
	// A signup provider's webhook may not start fleet operations.
	r = ts.do(request{method: "POST", path: "/v1/drift-checks", body: `{}`, signed: true})
	if r.status != http.StatusUnauthorized {
		t.Errorf("a webhook-signed drift check: %d %s, want 401", r.status, r.body)
	}
	metrics := string(ts.do(request{method: "GET", path: "/metrics", noAuth: true}).body)
	for _, want := range []string{`tenantfleet_signup_tenant_drift{status="unchecked"} 1`, `tenantfleet_signup_rollouts{state="rolling"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestRolloutUpdatesStartOnlyWhileRolling checks the store's guards of a
// rollout's update: none starts while the rollout is paused, one starts a
// new generation tried once with the version, and a cancelled rollout
// still holds a tenant whose update is in flight.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestRolloutUpdatesStartOnlyWhileRolling(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	ts.markReady("aaaaaaaaaaaa", "acme")
	store := ts.svc.Store()
	r, err := ts.svc.StartRollout(ctx, RolloutSpec{Selector: Selector{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateRolloutTenant(ctx, r.ID, "acme", []TenantStatus{TenantPending}, 0,
		rolloutTenantUpdate{Status: TenantPlanned, Plan: true, Changes: map[string]int{"update": 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.TransitionRollout(ctx, r.ID, []RolloutState{RolloutPlanning}, RolloutRolling, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.svc.PauseRollout(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	before, _ := store.Get(ctx, "acme")
	if started, err := store.StartRolloutUpdate(ctx, r.ID, "acme", r.Version, ts.svc.enqueue); err != nil || started {
		t.Fatalf("an update started while paused: %v %v", started, err)
	}
	if _, err := ts.svc.ResumeRollout(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if started, err := store.StartRolloutUpdate(ctx, r.ID, "acme", r.Version, ts.svc.enqueue); err != nil || !started {
		t.Fatalf("no update started while rolling: %v %v", started, err)
	}
	after, _ := store.Get(ctx, "acme")
	if after.Generation != before.Generation+1 || after.TargetVersion != r.Version || after.MaxAttempts != 1 || after.State != StateQueued {
		t.Errorf("the update's generation: %+v", after)
	}
	if _, err := ts.svc.CancelRollout(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	resp := ts.do(request{method: "POST", path: "/v1/rollouts", body: `{"selector":{"ids":["acme"]}}`})
	if p := decodeProblem(t, resp); resp.status != http.StatusConflict || p.Field != "selector" {
		t.Errorf("a rollout of a tenant whose update is in flight: %d %+v", resp.status, p)
	}
}
