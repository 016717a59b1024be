package fleet

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

// wantLines compares output line by line, "-want +got".
func wantLines(t *testing.T, what, want, got string) {
	t.Helper()
	if d := cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// wantBody compares a request's JSON body with want, as values.
func wantBody(t *testing.T, r request, want string) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if err := json.Unmarshal([]byte(r.body), &g); err != nil {
		t.Fatalf("%s %s: the body is not JSON: %v\n%s", r.method, r.target, err, r.body)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("%s %s body (-want +got):\n%s", r.method, r.target, d)
	}
	if r.contentType != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.method, r.target, r.contentType)
	}
}

// A rollout started and followed from planning, through two waves (a pause
// between them), to succeeded: a line per change, exit 0.
func TestRolloutStartFollowsToSuccess(t *testing.T) {
	t.Parallel()
	spec := specDoc(false, `[1,"100%"]`)
	waves := func(s ...string) []string { return s }
	rows := func(acme, beta, globex string) []tenantRow {
		return []tenantRow{{"acme", 1, acme, changes}, {"beta", 2, beta, changes}, {"globex", 2, globex, changes}}
	}
	api, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts": {accepted(rolloutDoc(3, spec, "planning", 0, waves("pending", "pending"), rows("pending", "pending", "pending"), planDoc(3, 0, 0, 0, 0, 0, 0), ""))},
		"GET /v1/rollouts/3": {
			ok(rolloutDoc(3, spec, "planning", 0, waves("pending", "pending"), rows("planned", "pending", "pending"), planDoc(3, 1, 0, 1, 0, 15, 0), "")),
			ok(rolloutDoc(3, spec, "rolling", 1, waves("rolling", "pending"), rows("updating", "planned", "planned"), planDoc(3, 3, 0, 3, 0, 45, 0), "")),
			ok(rolloutDoc(3, spec, "rolling", 1, waves("rolling", "pending"), rows("verifying", "planned", "planned"), planDoc(3, 3, 0, 3, 0, 45, 0), "")),
			ok(rolloutDoc(3, spec, "rolling", 1, waves("rolling", "pending"), rows("succeeded", "planned", "planned"), planDoc(3, 3, 0, 3, 0, 45, 0),
				`"nextWaveAt":"2026-05-01T10:01:00Z"`)),
			ok(rolloutDoc(3, spec, "rolling", 2, waves("done", "rolling"), rows("succeeded", "updating", "updating"), planDoc(3, 3, 0, 3, 0, 45, 0), "")),
			ok(rolloutDoc(3, spec, "succeeded", 2, waves("done", "done"), rows("succeeded", "succeeded", "succeeded"), planDoc(3, 3, 0, 3, 0, 45, 0),
				`"finishedAt":"2026-05-01T10:05:00Z"`)),
		},
	})
	res := run(t, srv.URL, "rollout", "start", "--all", "--waves", "1,100%", "--pause", "30s")
	if res.err != nil {
		t.Fatalf("exit %d: %v\n%s%s", res.code(), res.err, res.stdout, res.stderr)
	}
	wantLines(t, "stdout", `rollout 3: planning · version 3f2a9c1b7d4e · all tenants · 2 waves: 1, 100%
rollout 3: planning → rolling
plan: 3 tenants planned, 0 errors · 3 update, 45 same · monthly $30.00 → $36.00 (+$6.00)
wave 1/2: started · 1 tenant
wave 1/2 · acme    updating
wave 1/2 · acme    updating → verifying
wave 1/2 · acme    verifying → succeeded
wave 1/2: done · the next wave starts at 2026-05-01 10:01:00 UTC (pause 30s)
wave 2/2: started · 2 tenants
wave 2/2 · beta    updating
wave 2/2 · globex  updating
wave 2/2 · beta    updating → succeeded
wave 2/2 · globex  updating → succeeded
wave 2/2: done
rollout 3: rolling → succeeded · 3 succeeded
`, res.stdout)
	posts := api.received("POST /v1/rollouts")
	if len(posts) != 1 {
		t.Fatalf("%d POST /v1/rollouts, want 1", len(posts))
	}
	wantBody(t, posts[0], `{"selector":{"all":true},"waves":[1,"100%"],"pauseBetweenWaves":"30s","dryRun":false}`)
	if got := posts[0].auth; got != "Bearer "+testToken {
		t.Errorf("Authorization %q, want the bearer token", got)
	}
}

// A rollout that halts (a tenant failed its health gate) exits 1 with the
// service's reason, and says how to resume or cancel it.
func TestRolloutStartHalts(t *testing.T) {
	t.Parallel()
	spec := specDoc(false, `["100%"]`)
	const reason = "1 tenant(s) failed, more than maxFailures (0): beta; tenants not yet updated keep their version; fix the cause, then resume"
	const gate = `"error":"health gate: GET http://127.0.0.1:41234/healthz: connection refused"`
	_, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts": {accepted(rolloutDoc(4, spec, "planning", 0, []string{"pending"},
			[]tenantRow{{"acme", 1, "pending", ""}, {"beta", 1, "pending", ""}}, planDoc(2, 0, 0, 0, 0, 0, 0), ""))},
		"GET /v1/rollouts/4": {
			ok(rolloutDoc(4, spec, "rolling", 1, []string{"rolling"},
				[]tenantRow{{"acme", 1, "updating", changes}, {"beta", 1, "updating", changes}}, planDoc(2, 2, 0, 2, 0, 30, 0), "")),
			ok(rolloutDoc(4, spec, "halted", 1, []string{"rolling"},
				[]tenantRow{{"acme", 1, "succeeded", changes}, {"beta", 1, "failed", changes + "," + gate}}, planDoc(2, 2, 0, 2, 0, 30, 0),
				`"reason":"`+reason+`"`)),
		},
	})
	res := run(t, srv.URL, "rollout", "start", "--tenant", "acme,beta")
	if res.code() != cli.ExitFailed {
		t.Fatalf("exit %d, want %d (a halted rollout): %v\n%s", res.code(), cli.ExitFailed, res.err, res.stdout)
	}
	wantLines(t, "stdout", `rollout 4: planning · version 3f2a9c1b7d4e · all tenants · 1 wave: 100%
rollout 4: planning → rolling
plan: 2 tenants planned, 0 errors · 2 update, 30 same · monthly $20.00 → $24.00 (+$4.00)
wave 1/1: started · 2 tenants
wave 1/1 · acme  updating
wave 1/1 · beta  updating
wave 1/1 · acme  updating → succeeded
wave 1/1 · beta  updating → failed: health gate: GET http://127.0.0.1:41234/healthz: connection refused
rollout 4: rolling → halted: `+reason+` · 1 succeeded, 1 failed
`, res.stdout)
	want := "rollout 4 halted: " + reason + " (`tenantfleet fleet rollout resume 4` tries the failed tenants again, `tenantfleet fleet rollout cancel 4` ends it)"
	if res.err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", res.err, want)
	}
}

// --json: the progress goes to stderr, the final rollout document, as
// the service sent it, to stdout.
func TestRolloutStartJSON(t *testing.T) {
	t.Parallel()
	spec := specDoc(false, `["100%"]`)
	final := rolloutDoc(6, spec, "succeeded", 1, []string{"done"}, []tenantRow{{"acme", 1, "succeeded", changes}}, planDoc(1, 1, 0, 1, 0, 15, 0), "")
	_, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts":  {accepted(rolloutDoc(6, spec, "planning", 0, []string{"pending"}, []tenantRow{{"acme", 1, "pending", ""}}, planDoc(1, 0, 0, 0, 0, 0, 0), ""))},
		"GET /v1/rollouts/6": {ok(final)},
	})
	res := run(t, srv.URL, "rollout", "start", "--all", "--json")
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, res.stdout)
	}
	_ = json.Unmarshal([]byte(final), &want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	if !strings.Contains(res.stderr, "rollout 6: planning → succeeded · 1 succeeded\n") {
		t.Errorf("stderr lacks the progress:\n%s", res.stderr)
	}
}

// --detach prints the id and does not follow.
func TestRolloutStartDetach(t *testing.T) {
	t.Parallel()
	api, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts": {accepted(rolloutDoc(7, specDoc(false, `["100%"]`), "planning", 0, []string{"pending"},
			[]tenantRow{{"acme", 1, "pending", ""}}, planDoc(1, 0, 0, 0, 0, 0, 0), ""))},
	})
	res := run(t, srv.URL, "rollout", "start", "--state", "ready", "--cloud", "aws", "--detach", "--max-parallel", "2", "--max-failures", "1",
		"--health-timeout", "90s", "--version", oldVersion)
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	wantLines(t, "stdout", "Rollout 7 started (planning): `tenantfleet fleet rollout status 7 --watch` follows it.\n", res.stdout)
	if gets := api.received("GET "); len(gets) != 0 {
		t.Errorf("--detach read the rollout %d times", len(gets))
	}
	wantBody(t, api.received("POST /v1/rollouts")[0], `{"selector":{"states":["ready"],"clouds":["aws"]},"version":"aa11bb22cc33",
		"maxParallel":2,"healthTimeout":"1m30s","maxFailures":1,"dryRun":false}`)
}

// plan posts a dry run, follows it until planned and prints each tenant's
// changes and cost, the replacements (the database loudly) and the totals.
func TestRolloutPlan(t *testing.T) {
	t.Parallel()
	spec := strings.Replace(specDoc(true, `[1,"100%"]`), `{"all":true}`, `{"tiers":["small","large"]}`, 1)
	const replaced = `"changes":{"create":0,"update":2,"replace":2,"delete":0,"same":12},"replacements":[` +
		`{"urn":"urn:pulumi:tenant-globex::tenantfleet::tenantfleet:index:TenantUnit$aws:rds/instance:Instance::globex-db","type":"aws:rds/instance:Instance","name":"globex-db","database":true},` +
		`{"urn":"urn:pulumi:tenant-globex::tenantfleet::tenantfleet:index:TenantUnit$aws:ecs/service:Service::globex-web","type":"aws:ecs/service:Service","name":"globex-web","database":false}]`
	api, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts": {accepted(rolloutDoc(5, spec, "planning", 0, []string{"pending", "pending"},
			[]tenantRow{{"acme", 1, "pending", ""}, {"globex", 2, "pending", ""}}, planDoc(2, 0, 0, 0, 0, 0, 0), ""))},
		"GET /v1/rollouts/5": {
			ok(rolloutDoc(5, spec, "planning", 0, []string{"pending", "pending"},
				[]tenantRow{{"acme", 1, "planned", changes}, {"globex", 2, "pending", ""}}, planDoc(2, 1, 0, 1, 0, 15, 0), "")),
			ok(rolloutDoc(5, spec, "planned", 0, []string{"pending", "pending"},
				[]tenantRow{{"acme", 1, "planned", changes}, {"globex", 2, "planned", replaced}}, planDoc(2, 2, 0, 3, 2, 27, 1),
				`"finishedAt":"2026-05-01T10:02:00Z"`)),
		},
	})
	res := run(t, srv.URL, "rollout", "plan", "--tier", "small", "--tier", "large", "--max-parallel", "2")
	if res.err != nil {
		t.Fatalf("exit %d: %v\n%s", res.code(), res.err, res.stdout)
	}
	wantLines(t, "stdout", `Plan of rollout 5: version 3f2a9c1b7d4e for tier small, large (2 waves: 1, 100%), a dry run

TENANT  WAVE  FROM          CHANGES                       MONTHLY
acme    1     aa11bb22cc33  1 update, 15 same             $10.00 → $12.00 (+$2.00)
globex  2     aa11bb22cc33  2 update, 2 replace, 12 same  $10.00 → $12.00 (+$2.00)

Replaced (deleted and created anew):
  globex: globex-db (aws:rds/instance:Instance)  DATABASE
  globex: globex-web (aws:ecs/service:Service)

Total: 2 tenants planned of 2, 0 errors · 3 update, 2 replace, 27 same
Monthly cost: $20.00 → $24.00 (+$4.00)

WARNING: this rollout REPLACES 1 DATABASE (globex-db of globex): each is deleted and created anew, and the new one does not have the old one's data.
`, res.stdout)
	wantLines(t, "stderr", "rollout 5: planning · 0/2 tenants planned\nrollout 5: planning · 1/2 tenants planned\n", res.stderr)
	wantBody(t, api.received("POST /v1/rollouts")[0], `{"selector":{"tiers":["small","large"]},"maxParallel":2,"dryRun":true}`)
}

// A plan some tenant could not be previewed for prints the error and exits 1.
func TestRolloutPlanError(t *testing.T) {
	t.Parallel()
	spec := specDoc(true, `["100%"]`)
	_, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts": {accepted(rolloutDoc(8, spec, "planned", 0, []string{"pending"},
			[]tenantRow{{"acme", 1, "planned", changes}, {"initech", 1, "failed", `"error":"preview: the stack is locked"`}}, planDoc(2, 1, 1, 1, 0, 15, 0), ""))},
		"GET /v1/rollouts/8": {ok(rolloutDoc(8, spec, "planned", 0, []string{"pending"},
			[]tenantRow{{"acme", 1, "planned", changes}, {"initech", 1, "failed", `"error":"preview: the stack is locked"`}}, planDoc(2, 1, 1, 1, 0, 15, 0), ""))},
	})
	res := run(t, srv.URL, "rollout", "plan", "--all", "--max-failures", "1")
	if res.code() != cli.ExitFailed || res.err.Error() != "rollout 8 could not plan 1 tenant (errors above)" {
		t.Errorf("exit %d, %v; want %d and the count of failed previews", res.code(), res.err, cli.ExitFailed)
	}
	for _, line := range []string{
		"initech  1     aa11bb22cc33  error (below)      $10.00 → $12.00 (+$2.00)",
		"Errors:\n  initech: preview: the stack is locked\n",
		"Total: 1 tenant planned of 2, 1 error · 1 update, 15 same\n",
	} {
		if !strings.Contains(res.stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, res.stdout)
		}
	}
}

// A rollout names its tenants: no selector flag is a usage error, and
// nothing is sent.
func TestRolloutNeedsSelector(t *testing.T) {
	t.Parallel()
	api, srv := newFakeAPI(t, nil)
	cases := []struct {
		reason string
		args   []string
		want   string
	}{
		{"no selector", []string{"rollout", "plan"}, "choose the tenants: pass --all, or filters"},
		{"--all and a filter", []string{"rollout", "start", "--all", "--tier", "small"}, "--all and the filters (--tenant, --state, --cloud, --tier) exclude each other"},
		{"a wave that is no size", []string{"rollout", "plan", "--all", "--waves", "1,half"}, `--waves: "half" is neither a count`},
		{"a percentage above 100", []string{"rollout", "plan", "--all", "--waves", "150%"}, `--waves: "150%" is not a percentage`},
		{"no parallelism", []string{"rollout", "start", "--all", "--max-parallel", "0"}, "--max-parallel must be 1 or more"},
		{"a rollout id that is no number", []string{"rollout", "status", "three"}, `"three" is not a rollout id`},
		{"--watch without an id", []string{"rollout", "status", "--watch"}, "--watch follows one rollout: give its id"},
		{"--list with --wait", []string{"drift", "--list", "--wait"}, "--list starts no check"},
	}
	for _, c := range cases {
		res := run(t, srv.URL, c.args...)
		if res.code() != cli.ExitUsage || res.err == nil || !strings.Contains(res.err.Error(), c.want) {
			t.Errorf("%s: fleet %v: exit %d, %v; want %d with %q", c.reason, c.args, res.code(), res.err, cli.ExitUsage, c.want)
		}
	}
	if n := len(api.received("")); n != 0 {
		t.Errorf("the usage errors sent %d requests", n)
	}
}

// status --watch shows the rollout, then follows it through a pause (an
// operator's) to success.
func TestRolloutStatusWatch(t *testing.T) {
	t.Parallel()
	spec := specDoc(false, `["100%"]`)
	row := func(acme, beta string) []tenantRow {
		return []tenantRow{{"acme", 1, acme, changes}, {"beta", 1, beta, changes}}
	}
	plan := planDoc(2, 2, 0, 2, 0, 30, 0)
	_, srv := newFakeAPI(t, map[string][]reply{
		"GET /v1/rollouts/3": {
			ok(rolloutDoc(3, spec, "rolling", 1, []string{"rolling"}, row("succeeded", "updating"), plan, "")),
			ok(rolloutDoc(3, spec, "paused", 1, []string{"rolling"}, row("succeeded", "succeeded"), plan, `"reason":"paused by an operator"`)),
			ok(rolloutDoc(3, spec, "rolling", 1, []string{"rolling"}, row("succeeded", "succeeded"), plan, "")),
			ok(rolloutDoc(3, spec, "succeeded", 1, []string{"done"}, row("succeeded", "succeeded"), plan, `"finishedAt":"2026-05-01T10:05:00Z"`)),
		},
	})
	res := run(t, srv.URL, "rollout", "status", "3", "--watch")
	if res.err != nil {
		t.Fatalf("exit %d: %v\n%s", res.code(), res.err, res.stdout)
	}
	wantLines(t, "stdout", `Rollout 3: rolling · version 3f2a9c1b7d4e · all tenants
  waves    1 rolling (2 tenants)
  tenants  1 updating, 1 succeeded
  plan     2 of 2 tenants planned · 2 update, 30 same · monthly $20.00 → $24.00 (+$4.00)
  spec     waves 100% · max parallel 4 · pause 30s · health timeout 2m0s · max failures 0
  created  2026-05-01 09:59:00 UTC

TENANT  WAVE  STATUS     FROM          CHANGES            UPDATED
acme    1     succeeded  aa11bb22cc33  1 update, 15 same  2026-05-01 10:00:00 UTC
beta    1     updating   aa11bb22cc33  1 update, 15 same  2026-05-01 10:00:00 UTC

wave 1/1 · beta  updating → succeeded
rollout 3: rolling → paused: paused by an operator (`+"`tenantfleet fleet rollout resume 3`"+` resumes it)
rollout 3: paused → rolling
wave 1/1: done
rollout 3: rolling → succeeded · 2 succeeded
`, res.stdout)
}

// status without an id lists the rollouts.
func TestRolloutStatusList(t *testing.T) {
	t.Parallel()
	running := rolloutDoc(3, specDoc(false, `["100%"]`), "rolling", 1, []string{"rolling"},
		[]tenantRow{{"acme", 1, "succeeded", ""}, {"beta", 1, "updating", ""}}, planDoc(2, 2, 0, 2, 0, 30, 0), "")
	dry := rolloutDoc(2, specDoc(true, `["100%"]`), "planned", 0, []string{"pending"},
		[]tenantRow{{"acme", 1, "planned", ""}, {"beta", 1, "planned", ""}}, planDoc(2, 2, 0, 2, 0, 30, 0), "")
	// The list leaves the tenants out.
	strip := func(doc string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(doc), &m)
		delete(m, "tenants")
		b, _ := json.Marshal(m)
		return string(b)
	}
	_, srv := newFakeAPI(t, map[string][]reply{
		"GET /v1/rollouts": {ok(`{"rollouts":[` + strip(running) + "," + strip(dry) + `]}`)},
	})
	res := run(t, srv.URL, "rollout", "status")
	if res.err != nil {
		t.Fatalf("exit %d: %v", res.code(), res.err)
	}
	wantLines(t, "stdout", `ID  STATE    VERSION       TENANTS  PROGRESS                    CREATED
3   rolling  3f2a9c1b7d4e  2        1 updating, 1 succeeded     2026-05-01 09:59:00 UTC
2   planned  3f2a9c1b7d4e  2        dry run: 2 update, 30 same  2026-05-01 09:59:00 UTC
`, res.stdout)
}

// pause, resume and cancel post to the rollout's action; a state that does
// not allow it is the service's 409, a usage error.
func TestRolloutActions(t *testing.T) {
	t.Parallel()
	spec := specDoc(false, `["100%"]`)
	rows := []tenantRow{{"acme", 1, "succeeded", ""}, {"beta", 1, "planned", ""}}
	plan := planDoc(2, 2, 0, 2, 0, 30, 0)
	api, srv := newFakeAPI(t, map[string][]reply{
		"POST /v1/rollouts/3/pause":  {ok(rolloutDoc(3, spec, "paused", 1, []string{"rolling"}, rows, plan, `"reason":"paused by an operator"`))},
		"POST /v1/rollouts/3/resume": {ok(rolloutDoc(3, spec, "rolling", 1, []string{"rolling"}, rows, plan, ""))},
		"POST /v1/rollouts/3/cancel": {problemReply(http.StatusConflict, "state", "rollout 3 is succeeded: only a planning, rolling, paused or halted rollout can be cancelled")},
	})
	res := run(t, srv.URL, "rollout", "pause", "3")
	wantLines(t, "pause", "Rollout 3: paused · version 3f2a9c1b7d4e · 1 planned, 1 succeeded\n`tenantfleet fleet rollout resume 3` resumes it.\n", res.stdout)
	res = run(t, srv.URL, "rollout", "resume", "3")
	wantLines(t, "resume", "Rollout 3: rolling · version 3f2a9c1b7d4e · 1 planned, 1 succeeded\n`tenantfleet fleet rollout status 3 --watch` follows it.\n", res.stdout)
	res = run(t, srv.URL, "rollout", "cancel", "3")
	const want = "rollout 3 is succeeded: only a planning, rolling, paused or halted rollout can be cancelled (field state)"
	if res.code() != cli.ExitUsage || res.err.Error() != want {
		t.Errorf("cancel: exit %d, %v; want %d, %s", res.code(), res.err, cli.ExitUsage, want)
	}
	if n := len(api.received("POST /v1/rollouts/3/")); n != 3 {
		t.Errorf("%d action requests, want 3", n)
	}
}

// Following survives a few failed reads (the service restarting) but not
// a refused one.
func TestFollowRetries(t *testing.T) {
	t.Parallel()
	spec := specDoc(false, `["100%"]`)
	rows := func(s string) []tenantRow { return []tenantRow{{"acme", 1, s, changes}} }
	plan := planDoc(1, 1, 0, 1, 0, 15, 0)
	_, srv := newFakeAPI(t, map[string][]reply{
		"GET /v1/rollouts/3": {
			ok(rolloutDoc(3, spec, "rolling", 1, []string{"rolling"}, rows("updating"), plan, "")),
			problemReply(http.StatusServiceUnavailable, "", "the service is stopping"),
			ok(rolloutDoc(3, spec, "succeeded", 1, []string{"done"}, rows("succeeded"), plan, "")),
		},
		"GET /v1/rollouts/4": {
			ok(rolloutDoc(4, spec, "rolling", 1, []string{"rolling"}, rows("updating"), plan, "")),
			problemReply(http.StatusNotFound, "id", "rollout 4 does not exist"),
		},
	})
	res := run(t, srv.URL, "rollout", "status", "3", "--watch")
	if res.err != nil || !strings.Contains(res.stderr, "the service is stopping (retrying)\n") {
		t.Errorf("a 503 while following: exit %d, %v, stderr:\n%s", res.code(), res.err, res.stderr)
	}
	res = run(t, srv.URL, "rollout", "status", "4", "--watch")
	if res.code() != cli.ExitUsage || res.err.Error() != "rollout 4 does not exist (field id)" {
		t.Errorf("a 404 while following: exit %d, %v", res.code(), res.err)
	}
}

// Interrupting a follow leaves the rollout going and says how to find it.
func TestFollowInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	spec := specDoc(false, `["100%"]`)
	doc := rolloutDoc(3, spec, "rolling", 1, []string{"rolling"}, []tenantRow{{"acme", 1, "updating", changes}}, planDoc(1, 1, 0, 1, 0, 15, 0), "")
	api, srv := newFakeAPI(t, map[string][]reply{"GET /v1/rollouts/3": {ok(doc)}})
	api.onRequest(func(n int) {
		if n == 3 {
			cancel() // as Ctrl-C does, at the third read
		}
	})
	res := runCtx(ctx, t, map[string]string{EnvURL: srv.URL, EnvAPIToken: testToken}, "rollout", "status", "3", "--watch")
	const want = "stopped following rollout 3; it goes on in the service: `tenantfleet fleet rollout status 3 --watch` follows it, `tenantfleet fleet rollout cancel 3` stops it"
	if res.code() != cli.ExitFailed || res.err.Error() != want {
		t.Errorf("exit %d, %v; want %d, %s", res.code(), res.err, cli.ExitFailed, want)
	}
}
