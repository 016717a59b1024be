package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEngineStarts measures what starting the pulumi CLI costs around
// each operation, side by side in one run for two builds of tenantfleet:
// "after", this tree, and "before", the source tree $TENANTFLEET_BEFORE
// names when set (a checkout of an earlier commit:
// `git worktree add /tmp/tf-before <commit>`). Every scenario runs on a
// fresh fleet (binaries built from that tree, local cloud started first)
// with the counting wrapper in front of bin/pulumi:
//
//   - up=empty, up=dev: `tenantfleet up` of an empty program (the engine
//     floor) and of the dev stack (Pulumi.dev.yaml), on a new stack;
//   - signup=1: one signup to ready through `tenantfleet serve`;
//   - signups=50: 50 signups sent at once (default --concurrency 4).
//
// Reported: wall time; pulumi-starts per operation or signup; CPU seconds of
// tenantfleet (or the service) with the engines and plugins it ran
// (engine-cpu-s), of the local cloud runtime with PostgreSQL and the
// tenants' processes (cloud-cpu-s), and both (cpu-s); for the burst, tenants
// per minute and the CPU-bound limit, cores × 60 / cpu-s per signup. CPU is
// read from /proc per process tree, so other work on the machine is not
// counted. signup=1 of "after" also checks that the signup's outputs and
// recorded events match "before"'s.
//
//	TENANTFLEET_BEFORE=/tmp/tf-before go test ./e2e/ -run '^$' -bench EngineStarts -benchtime 1x -timeout 90m
func BenchmarkEngineStarts(b *testing.B) {
	builds := []struct{ name, src string }{{"after", repoRoot(b)}}
	if before := os.Getenv("TENANTFLEET_BEFORE"); before != "" {
		builds = append([]struct{ name, src string }{{"before", before}}, builds...)
	}
	signups := map[string]signupTrace{}
	scenarios := []struct {
		name string
		run  func(b *testing.B, build, src string)
	}{
		{"up=empty", func(b *testing.B, _, src string) { benchUpStarts(b, src, benchStack(0)) }},
		{"up=dev", func(b *testing.B, _, src string) { benchUpStarts(b, src, devStack(b, src)) }},
		{"signup=1", func(b *testing.B, build, src string) {
			signups[build] = benchSignupStarts(b, src)
			if build == "after" && signups["before"].events != nil {
				compareSignups(b, signups["before"], signups["after"])
			}
		}},
		{"signups=50", func(b *testing.B, _, src string) { benchBurstStarts(b, src, 50) }},
	}
	for _, sc := range scenarios {
		for _, bl := range builds {
			b.Run(sc.name+"/build="+bl.name, func(b *testing.B) { sc.run(b, bl.name, bl.src) })
		}
	}
}

// devStack is the src tree's Pulumi.dev.yaml without this machine's salt.
func devStack(b *testing.B, src string) string {
	raw, err := os.ReadFile(filepath.Join(src, "Pulumi.dev.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^encryptionsalt:.*\n`).ReplaceAllString(string(raw), "")
}

// benchUpStarts runs `tenantfleet up --stack bench` on a new stack b.N times.
func benchUpStarts(b *testing.B, src, stack string) {
	f := newFleetFrom(b, src, map[string]string{"bench": stack})
	f.must(0, "local", "start")
	calls := f.countEngineStarts(b)
	cloud := f.runtimePID(b)
	b.ResetTimer()
	var wall, engineCPU, cloudCPU time.Duration
	starts := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i > 0 {
			f.must(0, "destroy", "--stack", "bench", "--remove")
		}
		calls.next(b)
		cloud0 := treeCPU(cloud)
		b.StartTimer()
		t0 := time.Now()
		cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), "up", "--stack", "bench")
		cmd.Dir, cmd.Env = f.projectDir, f.env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("up: %v\n%s", err, out)
		}
		wall += time.Since(t0)
		b.StopTimer()
		// The process's own CPU and that of every descendant it reaped
		// (the engine, which reaped its plugins): wait4's rusage.
		engineCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		cloudCPU += treeCPU(cloud) - cloud0
		started := calls.next(b)
		starts += len(started)
		b.Logf("pulumi starts: %q", started)
	}
	n := float64(b.N)
	b.ReportMetric(wall.Seconds()/n, "up-s")
	b.ReportMetric(float64(starts)/n, "pulumi-starts/op")
	b.ReportMetric(engineCPU.Seconds()/n, "engine-cpu-s/op")
	b.ReportMetric(cloudCPU.Seconds()/n, "cloud-cpu-s/op")
	b.ReportMetric((engineCPU+cloudCPU).Seconds()/n, "cpu-s/op")
}

// signupTrace is what a signup left, for comparing two builds: its outputs
// (secret or not, without values that differ per run) and its recorded
// events (sorted; without times, ports and durations).
type signupTrace struct {
	outputs map[string]string
	events  []string
}

// benchSignupStarts signs up one tenant b.N times (a new id each time).
func benchSignupStarts(b *testing.B, src string) signupTrace {
	f := newFleetFrom(b, src, nil)
	f.must(0, "local", "start")
	calls := f.countEngineStarts(b)
	cloud := f.runtimePID(b)
	svc := newSignupService(b, f)
	svc.start(b)
	b.ResetTimer()
	var trace signupTrace
	var wall, engineCPU, cloudCPU time.Duration
	starts := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := fmt.Sprintf("solo%d", i)
		calls.next(b)
		engine0, cloud0 := treeCPU(svc.proc.Pid), treeCPU(cloud)
		b.StartTimer()
		t0 := time.Now()
		if code, doc := svc.do(b, "POST", "/v1/tenants", map[string]any{"id": id}); code != http.StatusAccepted {
			b.Fatalf("signup: %d %v", code, doc)
		}
		if !waitReady(b, svc, id, 5*time.Minute) {
			b.Fatalf("%s not ready", id)
		}
		wall += time.Since(t0)
		b.StopTimer()
		engineCPU += treeCPU(svc.proc.Pid) - engine0
		cloudCPU += treeCPU(cloud) - cloud0
		started := calls.next(b)
		starts += len(started)
		b.Logf("pulumi starts: %q", started)
		if i == 0 {
			trace = traceSignup(b, svc, id)
		}
	}
	n := float64(b.N)
	b.ReportMetric(wall.Seconds()/n, "signup-to-ready-s")
	b.ReportMetric(float64(starts)/n, "pulumi-starts/signup")
	b.ReportMetric(engineCPU.Seconds()/n, "engine-cpu-s/signup")
	b.ReportMetric(cloudCPU.Seconds()/n, "cloud-cpu-s/signup")
	b.ReportMetric((engineCPU+cloudCPU).Seconds()/n, "cpu-s/signup")
	return trace
}

// benchBurstStarts sends n signups at once and waits for all to be ready.
func benchBurstStarts(b *testing.B, src string, n int) {
	f := newFleetFrom(b, src, nil)
	f.must(0, "local", "start")
	calls := f.countEngineStarts(b)
	cloud := f.runtimePID(b)
	svc := newSignupService(b, f)
	svc.start(b)
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		b.StopTimer()
		calls.next(b)
		engine0, cloud0 := treeCPU(svc.proc.Pid), treeCPU(cloud)
		b.StartTimer()
		t0 := time.Now()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, _ := svc.do(b, "POST", "/v1/tenants", map[string]any{"id": fmt.Sprintf("r%dn%03d", round, i)}); code != http.StatusAccepted {
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
		failures := refused.Load()
		for i := range n {
			if !waitReady(b, svc, fmt.Sprintf("r%dn%03d", round, i), 30*time.Minute) {
				failures++
			}
		}
		total := time.Since(t0)
		b.StopTimer()
		engineCPU := (treeCPU(svc.proc.Pid) - engine0).Seconds() / float64(n)
		cpu := engineCPU + (treeCPU(cloud)-cloud0).Seconds()/float64(n)
		b.ReportMetric(total.Seconds(), "all-ready-s")
		b.ReportMetric(float64(n)/total.Minutes(), "tenants/min")
		b.ReportMetric(float64(len(calls.next(b)))/float64(n), "pulumi-starts/signup")
		b.ReportMetric(engineCPU, "engine-cpu-s/signup")
		b.ReportMetric(cpu, "cpu-s/signup")
		b.ReportMetric(float64(runtime.NumCPU())*60/cpu, "cpu-bound-tenants/min")
		b.ReportMetric(float64(failures), "failures")
		if failures > 0 {
			b.Errorf("%d of %d signups did not become ready", failures, n)
		}
	}
}

var (
	loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	streamName   = regexp.MustCompile(`stream=[^&"]+`)
)

// traceSignup reads tenant id's outputs and events from the service.
func traceSignup(b *testing.B, svc *signupService, id string) signupTrace {
	code, doc := svc.do(b, "GET", "/v1/tenants/"+id, nil)
	if code != http.StatusOK {
		b.Fatalf("GET tenant: %d %v", code, doc)
	}
	tr := signupTrace{outputs: map[string]string{}}
	outs, _ := doc["outputs"].(map[string]any)
	for k, v := range outs {
		tr.outputs[k] = "value"
		if v == "[secret]" {
			tr.outputs[k] = "[secret]"
		}
	}
	for _, e := range svc.events(b, id) {
		data, _ := e["data"].(map[string]any)
		delete(data, "seconds")
		delete(data, "attempt")
		s := fmt.Sprintf("%v %v", e["type"], data)
		tr.events = append(tr.events, streamName.ReplaceAllString(loopbackPort.ReplaceAllString(s, "127.0.0.1:PORT"), "stream=S"))
	}
	slices.Sort(tr.events)
	return tr
}

// compareSignups fails the benchmark when the two builds' signups differ in
// their outputs or recorded events.
func compareSignups(b *testing.B, before, after signupTrace) {
	if !reflect.DeepEqual(before.outputs, after.outputs) {
		b.Errorf("signup outputs differ:\nbefore: %v\nafter:  %v", before.outputs, after.outputs)
	}
	if !slices.Equal(before.events, after.events) {
		b.Errorf("signup events differ:\nbefore:\n  %s\nafter:\n  %s",
			strings.Join(before.events, "\n  "), strings.Join(after.events, "\n  "))
	}
}

// runtimePID is the pid of the fleet's running local cloud.
func (f *fleet) runtimePID(tb testing.TB) int {
	tb.Helper()
	st, err := f.runtime().Status(tb.Context())
	if err != nil || st.PID == 0 {
		tb.Fatalf("local cloud status: %+v, %v", st, err)
	}
	return st.PID
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times
// (100 on every Linux Go supports).
const clockTicks = 100

// treeCPU is the CPU time of pid and all its descendants: each live
// process's user and system time plus those of the children it has reaped
// (cutime, cstime), which include theirs.
func treeCPU(pid int) time.Duration {
	type proc struct{ ppid, ticks int64 }
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(raw)
		// After "(comm)": state ppid ... utime(14) stime cutime cstime(17).
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 15 {
			continue
		}
		var pr proc
		pr.ppid, _ = strconv.ParseInt(fields[1], 10, 64)
		for _, f := range fields[11:15] {
			t, _ := strconv.ParseInt(f, 10, 64)
			pr.ticks += t
		}
		procs[p] = pr
	}
	children := map[int][]int{}
	for p, pr := range procs {
		children[int(pr.ppid)] = append(children[int(pr.ppid)], p)
	}
	var ticks int64
	var walk func(int)
	walk = func(p int) {
		ticks += procs[p].ticks
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return time.Duration(ticks) * time.Second / clockTicks
}
