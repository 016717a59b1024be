package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchStack is a local stack of n tenants (web app, worker, database, work
// queue each) and, when n > 0, a fanout delivering to every tenant's queue.
// n == 0 is the engine floor: the program registers nothing but the stack.
func benchStack(n int) string {
	var b strings.Builder
	b.WriteString("config:\n  tenantfleet:cloud: local\n  tenantfleet:tenants:")
	if n == 0 {
		b.WriteString(" []\n")
		return b.String()
	}
	b.WriteString("\n")
	for i := range n {
		fmt.Fprintf(&b, "    - {id: t%02d, web: {image: \"tenant-app:dev\"}, worker: {image: \"tenant-app:dev\"}}\n", i)
	}
	b.WriteString("  tenantfleet:fanout:\n    name: account-events\n    subscribers:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - {name: t%02d, tenant: t%02d}\n", i, i)
	}
	return b.String()
}

// BenchmarkUp measures `tenantfleet up` on the local cloud from an empty
// stack: wall time, the peak RSS of the largest process of the update (the
// CLI with its inline program, the engine, or the provider plugin), the
// runtime's peak RSS, and the RSS of the tenants' app processes afterwards.
// The runtime is started before the clock runs, so its one-time initdb is
// not counted (it is reported as runtime-start-s). Run it with `make bench`.
func BenchmarkUp(b *testing.B) {
	for _, n := range []int{0, 2, 20} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			f := newFleet(b, map[string]string{"bench": benchStack(n)})
			start := time.Now()
			f.must(0, "local", "start")
			b.ReportMetric(time.Since(start).Seconds(), "runtime-start-s")
			b.ResetTimer() // ns/op is the up alone, not the builds and the runtime start above

			var wall time.Duration
			var peakKB int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if i > 0 {
					f.must(0, "destroy", "--stack", "bench")
				}
				b.StartTimer()
				t0 := time.Now()
				cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), "up", "--stack", "bench")
				cmd.Dir, cmd.Env = f.projectDir, f.env
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("up: %v\n%s", err, out)
				}
				wall += time.Since(t0)
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peakKB {
					peakKB = ru.Maxrss // KiB on Linux: the largest of the CLI and its reaped descendants
				}
			}
			b.StopTimer()
			b.ReportMetric(wall.Seconds()/float64(b.N), "up-s")
			b.ReportMetric(float64(peakKB)/1024, "peak-up-MB")

			status, err := f.runtime().Status(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(procKB(status.PID, "VmHWM"))/1024, "runtime-peak-MB")
			var appsKB int64
			for _, p := range status.Processes {
				appsKB += procKB(p.PID, "VmRSS")
			}
			b.ReportMetric(float64(appsKB)/1024, "apps-MB")
			b.ReportMetric(float64(len(status.Processes)), "processes")
			f.must(0, "destroy", "--stack", "bench")
		})
	}
}

// procKB reads a "Vm...: N kB" field of /proc/<pid>/status; 0 when unreadable.
func procKB(pid int, field string) int64 {
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer func() { _ = file.Close() }() // read-only: a close error loses nothing
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
