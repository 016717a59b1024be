package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCostOfALocalStack prices a real engine preview of a local stack: every
// resource costs $0 and says it is local or free, the JSON report follows
// its schema, and --fail-delta makes a CI gate (exit 4).
//
//nolint:paralleltest // end-to-end: runs the real engine, PostgreSQL and NATS; serial so the 2-core CI keeps its timing margins.
func TestCostOfALocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the real engine (drop -short to run it)")
	}
	f := newFleet(t, map[string]string{"e2e": e2eStack})
	out := f.must(0, "cost", "--stack", "e2e", "--format", "json")
	var report struct {
		SchemaVersion int    `json:"schemaVersion"`
		Cloud         string `json:"cloud"`
		Groups        []struct {
			Kind      string `json:"kind"`
			Name      string `json:"name"`
			Resources []struct {
				Type string  `json:"type"`
				Op   string  `json:"op"`
				Kind string  `json:"kind"`
				Cost float64 `json:"monthlyAfter"`
				Note string  `json:"note"`
			} `json:"resources"`
		} `json:"groups"`
		Totals struct {
			After float64 `json:"monthlyAfter"`
			Delta float64 `json:"monthlyDelta"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("cost --format json: %v\n%s", err, out)
	}
	if report.SchemaVersion != 1 || report.Cloud != "local" || report.Totals.After != 0 {
		t.Fatalf("report: %+v", report)
	}
	tenants, local := 0, 0
	for _, g := range report.Groups {
		if g.Kind == "tenant" {
			tenants++
		}
		for _, r := range g.Resources {
			if r.Op != "create" || r.Cost != 0 || (r.Kind != "local" && r.Kind != "free") || r.Note == "" {
				t.Errorf("%s: %+v", g.Name, r)
			}
			if r.Kind == "local" {
				local++
			}
		}
	}
	if tenants != 2 || local < 8 {
		t.Errorf("%d tenant groups, %d local resources", tenants, local)
	}
	table := f.must(0, "cost", "--stack", "e2e")
	if !strings.Contains(table, "$0.00 (local)") || !strings.Contains(table, "tenant acme") {
		t.Errorf("table:\n%s", table)
	}
	// A gate: nothing may be added (delta 0 is not above 0, but is above -1).
	f.must(0, "cost", "--stack", "e2e", "--fail-delta", "0")
	f.must(4, "cost", "--stack", "e2e", "--fail-delta", "-1")
	// Nothing was created by pricing a preview.
	f.assertStackEmpty(t, "e2e")
}

var costTiming = regexp.MustCompile(`previewSeconds=([0-9.e-]+) pricingSeconds=([0-9.e-]+)`)

// BenchmarkCost measures `tenantfleet cost --stack` of a 20-tenant local
// stack (runtime started first): the whole run, the engine preview and the
// pricing, and pricing's share.
func BenchmarkCost(b *testing.B) {
	f := newFleet(b, map[string]string{"bench": benchStack(20)})
	f.must(0, "local", "start")
	b.ResetTimer()
	var wall, preview, pricing float64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		cmd := exec.Command(filepath.Join(f.bin, "tenantfleet"), "cost", "--stack", "bench", "--verbose", "--format", "json")
		cmd.Dir, cmd.Env = f.projectDir, f.env
		outb, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("cost: %v\n%s", err, outb)
		}
		wall += time.Since(t0).Seconds()
		m := costTiming.FindStringSubmatch(string(outb))
		if m == nil {
			b.Fatalf("no timing in the output")
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		q, _ := strconv.ParseFloat(m[2], 64)
		preview += p
		pricing += q
	}
	n := float64(b.N)
	b.ReportMetric(wall/n, "cost-s")
	b.ReportMetric(preview/n, "preview-s")
	b.ReportMetric(pricing/n*1000, "pricing-ms")
	b.ReportMetric(100*pricing/wall, "pricing-%")
}
