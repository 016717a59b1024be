package cost

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// BenchmarkPlan measures the offline plan on AWS for 100 and 1,000 tenants
// (with a fanout to every tenant): the program run under mocks ("record"),
// the pricing of what it registered ("pricing"), their share, and the
// process's peak RSS (VmHWM; it only grows, so run one size per process for
// an exact figure: -bench 'Plan/tenants=1000').
//
//	go test ./internal/cost -run '^$' -bench BenchmarkPlan -benchtime 1x
func BenchmarkPlan(b *testing.B) {
	cat, err := pricing.LoadCatalog("")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			tiers := map[string]string{}
			for i := range n {
				tiers[fmt.Sprintf("t%04d", i)] = []string{"small", "medium", "large"}[i%3]
			}
			cfg := fleetConfig("aws", tiers, true)
			var recordTime, priceTime time.Duration
			var resources int
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				res, parents, err := record(b.Context(), "aws", "bench", cfg)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				est, err := pricing.NewEstimator(cat, map[string]string{"aws": "us-east-1"}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Build("bench", "aws", "us-east-1", cat, est, StepsFromPlan(res, parents)); err != nil {
					b.Fatal(err)
				}
				recordTime += t1.Sub(t0)
				priceTime += time.Since(t1)
				resources = len(res)
			}
			b.ReportMetric(float64(resources), "resources")
			b.ReportMetric(recordTime.Seconds()/float64(b.N), "record-s")
			b.ReportMetric(priceTime.Seconds()/float64(b.N), "pricing-s")
			b.ReportMetric(100*priceTime.Seconds()/(recordTime+priceTime).Seconds(), "pricing-%")
			b.ReportMetric(float64(selfKB("VmHWM"))/1024, "peak-RSS-MB")
		})
	}
}

func selfKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }() // read-only
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
