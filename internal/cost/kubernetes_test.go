package cost

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// k8sReport runs a two-tenant Kubernetes fleet offline — acme small,
// globex large with its web app autoscaled from 2 to 4 replicas, and a
// fanout — and prices it with cat.
func k8sReport(t *testing.T, cat *pricing.Catalog) *Report {
	t.Helper()
	cfg := fleetConfig("kubernetes", map[string]string{"acme": "small", "globex": "large"}, true)
	web := cfg["tenantfleet:tenants"].([]any)[1].(map[string]any)["web"].(map[string]any)
	web["minInstances"], web["maxInstances"] = 2, 4
	res, parents, err := record(t.Context(), "kubernetes", "prod", cfg)
	if err != nil {
		t.Fatal(err)
	}
	est, err := pricing.NewEstimator(cat, map[string]string{"kubernetes": ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build("prod", "kubernetes", "", cat, est, StepsFromPlan(res, parents))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// k8sMonthly is what a pod set requesting vcpu and memGiB all month, with
// storageGiB of volumes, costs at cpu, mem and storage (per vCPU-hour,
// GiB-hour, GiB-month), rounded to cents as each resource of a report is.
func k8sMonthly(cpu, mem, storage, vcpu, memGiB, storageGiB float64) float64 {
	return round(vcpu*730*cpu + memGiB*730*mem + storageGiB*storage)
}

// TestKubernetesStackIsPricedFromRequests: each tenant of a Kubernetes stack
// costs what its database instances, web replicas (autoscaled: at the
// autoscaler's minimum) and worker request, at the catalog's rates; the
// platform and the fanout are objects with no cost of their own; the report
// says how it priced them. The user's rates (--catalog-dir) change it.
func TestKubernetesStackIsPricedFromRequests(t *testing.T) {
	t.Parallel()

	embedded, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	own := `cloud: kubernetes
version: "2027-01"
currency: USD
note: "Our rate card."
regions:
  any:
    k8s:requests:vcpu: {usd: 0.04, unit: vCPU-hours, source: rate card, retrieved: "2027-01-02"}
    k8s:requests:memory: {usd: 0.005, unit: GiB-hours, source: rate card, retrieved: "2027-01-02"}
    k8s:storage:persistent: {usd: 0.3, unit: GiB-months, source: rate card, retrieved: "2027-01-02"}
`
	if err := os.WriteFile(filepath.Join(dir, "kubernetes.yaml"), []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	mine, err := pricing.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}

	example := embedded.Cloud("kubernetes").Regions[pricing.AnyRegion]
	for _, tc := range []struct {
		name           string
		cat            *pricing.Catalog
		cpu, mem, disk float64
		says           string
	}{
		{"example rates", embedded, example["k8s:requests:vcpu"].USD, example["k8s:requests:memory"].USD,
			example["k8s:storage:persistent"].USD, "EXAMPLE rates"},
		{"the user's rates", mine, 0.04, 0.005, 0.3, "Our rate card."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			r := k8sReport(t, tc.cat)
			m := func(vcpu, memGiB, storageGiB float64) float64 {
				return k8sMonthly(tc.cpu, tc.mem, tc.disk, vcpu, memGiB, storageGiB)
			}
			// acme, small: database 1 × (0.5 vCPU, 1 GiB) and 20 GiB; web at
			// the default 1 to 2 replicas, so 1 × (0.5 vCPU, 1 GiB); worker
			// 1 × (0.25 vCPU, 0.5 GiB).
			wantAcme := m(0.5, 1, 20) + m(0.5, 1, 0) + m(0.25, 0.5, 0)
			// globex, large: database 3 × (2 vCPU, 8 GiB) and 3 × 20 GiB;
			// web at its minimum, 2 × (0.5 vCPU, 1 GiB); worker as acme's.
			wantGlobex := m(3*2, 3*8, 3*20) + m(2*0.5, 2*1, 0) + m(0.25, 0.5, 0)
			acme, globex := group(r, "tenant", "acme"), group(r, "tenant", "globex")
			if acme == nil || globex == nil {
				t.Fatalf("no tenant groups: %+v", r.Groups)
			}
			if acme.After != round(wantAcme) || globex.After != round(wantGlobex) {
				t.Errorf("acme %v, globex %v; want %v and %v", acme.After, globex.After, round(wantAcme), round(wantGlobex))
			}
			if r.Totals.After != round(wantAcme+wantGlobex) {
				t.Errorf("total %v, want the tenants' %v (the platform and the fanout cost nothing of their own)", r.Totals.After, round(wantAcme+wantGlobex))
			}
			// The two web apps are autoscaled: their replicas above the minimum are usage.
			if r.Totals.UsageDependent != 2 {
				t.Errorf("%d usage-dependent resources, want the 2 autoscaled web apps", r.Totals.UsageDependent)
			}
			for _, res := range globex.Resources {
				if res.Type == "kubernetes:apps/v1:Deployment" && res.Name == "globex-web" &&
					(len(res.Components) == 0 || !strings.Contains(res.Components[0].Name, "2 replicas × 0.5 vCPU, the autoscaler's minimum")) {
					t.Errorf("globex's web app: %+v", res.Components)
				}
			}

			// The report says how it priced the stack, in every format.
			if !strings.Contains(r.Basis, "requests") || !strings.Contains(r.Basis, tc.says) {
				t.Errorf("basis %q: want what is priced (requests) and %q", r.Basis, tc.says)
			}
			for _, format := range Formats {
				var buf bytes.Buffer
				if err := Render(&buf, r, format); err != nil {
					t.Fatal(err)
				}
				out := buf.String()
				if format == "json" {
					var back Report
					if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
						t.Fatal(err)
					}
					out = back.Basis
				}
				if !strings.Contains(out, "priced by the CPU, memory and persistent storage it requests") || !strings.Contains(out, tc.says) {
					t.Errorf("%s output does not say how it priced the stack:\n%s", format, out)
				}
			}
		})
	}
}
