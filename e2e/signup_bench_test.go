package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSignup measures `tenantfleet serve` on the local cloud (runtime
// started first, service at its default --concurrency 4):
//
//   - tenants=1: one signup to ready, and `tenantfleet up` of the very stack
//     the service generates, side by side in one run (signup-vs-up is their
//     ratio);
//   - tenants=20 and 50: that many signups sent at once: total time to all
//     ready, tenants per minute, failures, and the peak memory of the
//     service with its engine processes (sampled every 100 ms over the
//     process tree) and of the service alone.
//
// Run it with `make bench`.
func BenchmarkSignup(b *testing.B) {
	for _, n := range []int{1, 20, 50} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := newFleet(b, map[string]string{"single": singleTenantStack("solo")})
			f.must(0, "local", "start")
			svc := newSignupService(b, f)
			svc.start(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if n == 1 {
					benchOne(b, f, svc, i)
				} else {
					benchMany(b, svc, n, i)
				}
			}
		})
	}
}

// singleTenantStack is the stack config the service generates for a signup
// of id with the built-in template.
func singleTenantStack(id string) string {
	return fmt.Sprintf("config:\n  tenantfleet:cloud: local\n  tenantfleet:tenants:\n"+
		"    - {id: %s, database: {tier: small}, web: {image: \"tenant-app:dev\"}, worker: {image: \"tenant-app:dev\"}}\n", id)
}

func benchOne(b *testing.B, f *fleet, svc *signupService, round int) {
	b.StopTimer()
	id := fmt.Sprintf("solo%d", round)
	f.write("Pulumi.single.yaml", singleTenantStack(id))
	t0 := time.Now()
	cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), "up", "--stack", "single")
	cmd.Dir, cmd.Env = f.projectDir, f.env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("up: %v\n%s", err, out)
	}
	up := time.Since(t0)
	f.must(0, "destroy", "--stack", "single", "--remove")

	b.StartTimer()
	t0 = time.Now()
	if code, doc := svc.do(b, "POST", "/v1/tenants", map[string]any{"id": id}); code != http.StatusAccepted {
		b.Fatalf("signup: %d %v", code, doc)
	}
	waitReady(b, svc, id, 5*time.Minute)
	signup := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(up.Seconds(), "up-s")
	b.ReportMetric(signup.Seconds(), "signup-to-ready-s")
	b.ReportMetric(signup.Seconds()/up.Seconds(), "signup-vs-up")
}

func benchMany(b *testing.B, svc *signupService, n, round int) {
	var peakTree, samples atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := treeRSSKB(svc.proc.Pid); kb > peakTree.Load() {
				peakTree.Store(kb)
			}
			samples.Add(1)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

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
		if !waitReady(b, svc, fmt.Sprintf("r%dn%03d", round, i), 20*time.Minute) {
			failures++
		}
	}
	total := time.Since(t0)
	close(stop)
	sampler.Wait()
	b.StopTimer()
	b.ReportMetric(total.Seconds(), "all-ready-s")
	b.ReportMetric(float64(n)/total.Minutes(), "tenants/min")
	b.ReportMetric(float64(failures), "failures")
	b.ReportMetric(float64(peakTree.Load())/1024, "peak-service+engines-MB")
	b.ReportMetric(float64(procKB(svc.proc.Pid, "VmHWM"))/1024, "peak-service-MB")
	if failures > 0 {
		b.Errorf("%d of %d signups did not become ready", failures, n)
	}
}

// waitReady polls the tenant until ready (true) or failed or the deadline (false).
func waitReady(b *testing.B, svc *signupService, id string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		code, doc := svc.do(b, "GET", "/v1/tenants/"+id, nil)
		if code == http.StatusOK && doc["state"] == "ready" {
			return true
		}
		if code == http.StatusOK && doc["state"] == "failed" {
			b.Logf("%s failed: %v", id, doc["lastError"])
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// treeRSSKB sums the resident memory of pid and all its descendants.
func treeRSSKB(pid int) int64 {
	children := map[int][]int{}
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
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 {
			ppid, _ := strconv.Atoi(fields[1])
			children[ppid] = append(children[ppid], p)
		}
	}
	var total int64
	var walk func(int)
	walk = func(p int) {
		total += procKB(p, "VmRSS")
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return total
}
