package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"
)

// rolloutBenchTenants is how many tenants BenchmarkFleetRollout updates.
const rolloutBenchTenants = 50

// BenchmarkFleetRollout measures a template change reaching a fleet of 50
// tenants on the local cloud, side by side in one run. Set up first, off
// the clock: 50 signups through `tenantfleet serve` (--template at release
// 1, default --concurrency 4) all ready, and 50 one-tenant stacks loop-NN
// made by `tenantfleet up` with the config the service generates from the
// same template; then the template changes (web.env.APP_RELEASE 2) and the
// service restarts. Measured:
//
//   - rollout: POST /v1/rollouts of every tenant, waves [1, "100%"],
//     maxParallel 4, to succeeded (its planning, a preview of each tenant,
//     included; planning-s is that part);
//   - loop: the same 50 updates (release 1 to 2) by `tenantfleet up` of each
//     loop-NN stack, one after another in a shell loop;
//   - drift: POST /v1/drift-checks of every tenant (default --drift-parallel
//     2) to done. The CLI has no counterpart: `tenantfleet refresh` has no
//     --preview-only and records what it finds in the state, and `pulumi
//     refresh --preview-only` outside tenantfleet is not the operation the
//     service runs, so none is measured.
//
// Reported per phase: wall time, tenants per minute, CPU seconds per tenant
// of tenantfleet (the service, or the shell loop) with the engines and
// plugins it ran (engine-cpu-s), of the local cloud runtime with PostgreSQL
// and the tenants' processes (cloud-cpu-s), and both (cpu-s); for the
// rollout and the loop, the CPU-bound limit (cores × 60 / cpu-s per tenant)
// and how close the measured rate came to it. CPU is read from /proc per
// process tree (treeCPU), so other work on the machine is not counted; the
// cloud's share includes the idle apps of all 100 tenants.
//
// It is a benchmark, not run by `make test` (`make bench` runs it with the
// others); it takes about half an hour on 2 cores:
//
//	go test ./e2e/ -run '^$' -bench FleetRollout -benchtime 1x -timeout 60m -v
func BenchmarkFleetRollout(b *testing.B) {
	f := newFleet(b, nil)
	f.must(0, "local", "start")
	cloud := f.runtimePID(b)
	tpl := filepath.Join(f.projectDir, "tenant-template.yaml")
	f.writeReleaseTemplate(tpl, "1", "dev")
	svc := newSignupService(b, f, "--template", tpl, "--concurrency", "4", "--drain-timeout", "2s")
	svc.start(b)

	// Set-up: the signups and, alongside them, the loop's stacks at
	// release 1 (two at a time: the service runs four).
	t0 := time.Now()
	svcID := func(i int) string { return fmt.Sprintf("s%02d", i) }
	loopStack := func(i int) string { return fmt.Sprintf("loop-%02d", i) }
	for i := range rolloutBenchTenants {
		if code, doc := svc.do(b, "POST", "/v1/tenants", map[string]any{"id": svcID(i)}); code != http.StatusAccepted {
			b.Fatalf("signup %s: %d %v", svcID(i), code, doc)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, rolloutBenchTenants)
	next := make(chan int)
	for range 2 {
		wg.Go(func() {
			for i := range next {
				f.write("Pulumi."+loopStack(i)+".yaml", releaseTenantStack(fmt.Sprintf("l%02d", i), "1"))
				cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), "up", "--stack", loopStack(i))
				cmd.Dir, cmd.Env = f.projectDir, f.env
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("up --stack %s: %w\n%s", loopStack(i), err, out)
				}
			}
		})
	}
	for i := range rolloutBenchTenants {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for i := range rolloutBenchTenants {
		svc.waitState(b, svcID(i), "ready", 30*time.Minute)
	}
	progressf(b, "set-up: %d signups ready and %d loop stacks at release 1 after %s", rolloutBenchTenants, rolloutBenchTenants, time.Since(t0).Round(time.Second))

	// The template changes: the service restarts with it, and the loop's
	// stack files get the config it generates.
	svc.stop(b, syscall.SIGTERM, time.Minute)
	f.writeReleaseTemplate(tpl, "2", "dev")
	svc.start(b)
	for i := range rolloutBenchTenants {
		f.write("Pulumi."+loopStack(i)+".yaml", releaseTenantStack(fmt.Sprintf("l%02d", i), "2"))
	}
	b.ResetTimer()

	var table []benchRow
	n := float64(rolloutBenchTenants)
	cores := float64(runtime.NumCPU())

	// (a) The rollout through the service.
	engine0, cloud0 := treeCPU(svc.proc.Pid), treeCPU(cloud)
	t0 = time.Now()
	code, ro := svc.do(b, "POST", "/v1/rollouts", map[string]any{"selector": map[string]any{"all": true},
		"waves": []any{1, "100%"}, "maxParallel": 4, "healthTimeout": "1m"})
	if code != http.StatusAccepted {
		b.Fatalf("rollout: %d %v", code, ro)
	}
	eventually(b, 30*time.Minute, "the rollout's planning to end", func() error {
		_, doc := svc.do(b, "GET", fmt.Sprintf("/v1/rollouts/%v", ro["id"]), nil)
		if doc["state"] == "planning" {
			return fmt.Errorf("state %v", doc["state"])
		}
		return nil
	})
	planning := time.Since(t0)
	ro = waitRollout(b, svc, ro["id"], 60*time.Minute, "succeeded")
	rollout := benchRow{name: "rollout (service)", wall: time.Since(t0),
		engineCPU: treeCPU(svc.proc.Pid) - engine0, cloudCPU: treeCPU(cloud) - cloud0}
	if counts, _ := ro["counts"].(map[string]any); counts["succeeded"] != n {
		b.Errorf("rollout counts: %v, want %d succeeded", counts, rolloutBenchTenants)
	}
	table = append(table, rollout)
	progressf(b, "rollout: %s (planning %s)", rollout, planning.Round(time.Second))

	// (b) The same updates by `tenantfleet up`, one after another.
	var script strings.Builder
	script.WriteString("set -e\nfor s in")
	for i := range rolloutBenchTenants {
		script.WriteString(" " + loopStack(i))
	}
	fmt.Fprintf(&script, "; do %q up --stack \"$s\" >/dev/null; done\n", filepath.Join(f.bin, "tenantfleet"))
	cloud0 = treeCPU(cloud)
	t0 = time.Now()
	cmd := exec.Command("sh", "-c", script.String())
	cmd.Dir, cmd.Env = f.projectDir, f.env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("the loop of up: %v\n%s", err, out)
	}
	// The shell's own CPU and that of every descendant it reaped (each
	// tenantfleet up, which reaped its engine and plugins): wait4's rusage.
	loop := benchRow{name: "up loop (CLI)", wall: time.Since(t0),
		engineCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), cloudCPU: treeCPU(cloud) - cloud0}
	table = append(table, loop)
	progressf(b, "loop: %s", loop)

	// (c) A drift check of every tenant through the service.
	engine0, cloud0 = treeCPU(svc.proc.Pid), treeCPU(cloud)
	t0 = time.Now()
	code, c := svc.do(b, "POST", "/v1/drift-checks", nil)
	if code != http.StatusAccepted {
		b.Fatalf("drift check: %d %v", code, c)
	}
	var check map[string]any
	eventually(b, 30*time.Minute, "the drift check to finish", func() error {
		_, check = svc.do(b, "GET", fmt.Sprintf("/v1/drift-checks/%v", c["id"]), nil)
		if check["state"] != "done" {
			return fmt.Errorf("state %v", check["state"])
		}
		return nil
	})
	drift := benchRow{name: "drift check (service)", wall: time.Since(t0),
		engineCPU: treeCPU(svc.proc.Pid) - engine0, cloudCPU: treeCPU(cloud) - cloud0}
	b.StopTimer()
	if check["inSync"] != n {
		b.Errorf("drift check: %d in sync of %v (drifted %v, errors %v), want all", int(toFloat(check["inSync"])), check["tenants"], check["drifted"], check["errors"])
	}
	table = append(table, drift)
	progressf(b, "drift: %s (service's own seconds %v)", drift, check["seconds"])

	b.ReportMetric(planning.Seconds(), "rollout-planning-s")
	b.ReportMetric(toFloat(check["seconds"]), "drift-service-reported-s")
	for _, r := range []struct {
		prefix string
		row    benchRow
		limit  bool
	}{{"rollout-", rollout, true}, {"loop-", loop, true}, {"drift-", drift, false}} {
		b.ReportMetric(r.row.wall.Seconds(), r.prefix+"wall-s")
		b.ReportMetric(r.row.perMinute(), r.prefix+"tenants/min")
		b.ReportMetric(r.row.engineCPU.Seconds()/n, r.prefix+"engine-cpu-s/tenant")
		b.ReportMetric(r.row.cloudCPU.Seconds()/n, r.prefix+"cloud-cpu-s/tenant")
		b.ReportMetric(r.row.cpuPerTenant(), r.prefix+"cpu-s/tenant")
		if r.limit {
			b.ReportMetric(cores*60/r.row.cpuPerTenant(), r.prefix+"cpu-bound-tenants/min")
			b.ReportMetric(100*r.row.perMinute()/(cores*60/r.row.cpuPerTenant()), r.prefix+"of-cpu-bound-%")
		}
	}
	b.ReportMetric(rollout.wall.Seconds()/loop.wall.Seconds(), "rollout-vs-loop-wall")

	var out strings.Builder
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	// A tabwriter over a strings.Builder: its writes cannot fail.
	_, _ = fmt.Fprintf(w, "%d tenants\twall s\ttenants/min\tengine cpu-s/t\tcloud cpu-s/t\tcpu-s/t\tcpu-bound/min\tof bound\t\n", rolloutBenchTenants)
	for _, r := range table {
		limit := cores * 60 / r.cpuPerTenant()
		_, _ = fmt.Fprintf(w, "%s\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%.1f\t%.0f%%\t\n", r.name, r.wall.Seconds(), r.perMinute(),
			r.engineCPU.Seconds()/n, r.cloudCPU.Seconds()/n, r.cpuPerTenant(), limit, 100*r.perMinute()/limit)
	}
	_ = w.Flush()
	b.Logf("rollout planning %s; drift check %vs by the service's clock; %d cores\n%s",
		planning.Round(time.Second), check["seconds"], runtime.NumCPU(), out.String())
}

// releaseTenantStack is the stack config the service generates for a
// signup of id from writeReleaseTemplate's template at release (tag dev).
func releaseTenantStack(id, release string) string {
	return fmt.Sprintf("config:\n  tenantfleet:cloud: local\n  tenantfleet:tenants:\n"+
		"    - {id: %s, database: {tier: small}, web: {image: \"tenant-app:dev\", env: {APP_RELEASE: %q}}, worker: {image: \"tenant-app:dev\"}}\n",
		id, release)
}

// benchRow is one measured phase of BenchmarkFleetRollout.
type benchRow struct {
	name                string
	wall                time.Duration
	engineCPU, cloudCPU time.Duration
}

func (r benchRow) perMinute() float64 { return rolloutBenchTenants / r.wall.Minutes() }

func (r benchRow) cpuPerTenant() float64 {
	return (r.engineCPU + r.cloudCPU).Seconds() / rolloutBenchTenants
}

func (r benchRow) String() string {
	return fmt.Sprintf("%s %s, %.1f tenants/min, %.2f cpu-s/tenant (engine %.2f, cloud %.2f)", r.name, r.wall.Round(time.Second),
		r.perMinute(), r.cpuPerTenant(), r.engineCPU.Seconds()/rolloutBenchTenants, r.cloudCPU.Seconds()/rolloutBenchTenants)
}

// progressf logs a phase's result, and prints it to stderr at once too:
// a benchmark's log is printed only when it ends.
func progressf(b *testing.B, format string, args ...any) {
	b.Logf(format, args...)
	fmt.Fprintf(os.Stderr, "BenchmarkFleetRollout: "+format+"\n", args...)
}

func toFloat(v any) float64 {
	x, _ := v.(float64)
	return x
}
