package pricing_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

const (
	k8sDeployment = "kubernetes:apps/v1:Deployment"
	k8sAutoscaler = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
	k8sCluster    = "kubernetes:postgresql.cnpg.io/v1:Cluster"
)

// k8sRates are the rates of a kubernetes catalog: per vCPU-hour, per
// GiB-hour, per GiB-month.
type k8sRates struct{ cpu, mem, storage float64 }

func k8sRatesOf(t *testing.T, cat *pricing.Catalog) k8sRates {
	t.Helper()
	cc := cat.Cloud("kubernetes")
	if cc == nil {
		t.Fatal("no kubernetes catalog")
	}
	prices := cc.Regions[pricing.AnyRegion]
	r := k8sRates{prices["k8s:requests:vcpu"].USD, prices["k8s:requests:memory"].USD, prices["k8s:storage:persistent"].USD}
	if r.cpu <= 0 || r.mem <= 0 || r.storage <= 0 {
		t.Fatalf("the kubernetes catalog lacks a rate: %+v", r)
	}
	return r
}

// monthly is what vcpu and GiB requested all month and GiB of volumes cost at r.
func (r k8sRates) monthly(vcpu, memGiB, storageGiB float64) float64 {
	return vcpu*pricing.HoursPerMonth*r.cpu + memGiB*pricing.HoursPerMonth*r.mem + storageGiB*r.storage
}

func k8sMeta(name, namespace string) map[string]any {
	return map[string]any{"name": name, "namespace": namespace}
}

func k8sDeploy(name, namespace string, replicas any, containers ...map[string]any) map[string]any {
	spec := map[string]any{"template": map[string]any{"spec": map[string]any{"containers": toAny(containers)}}}
	if replicas != nil {
		spec["replicas"] = replicas
	}
	return map[string]any{"metadata": k8sMeta(name, namespace), "spec": spec}
}

func k8sContainer(name, cpu, memory string) map[string]any {
	return map[string]any{"name": name, "image": "docker.io/x/y:1", "resources": map[string]any{
		"requests": map[string]any{"cpu": cpu, "memory": memory}, "limits": map[string]any{"cpu": cpu, "memory": memory}}}
}

func k8sHPA(namespace, target string, minReplicas, maxReplicas float64) map[string]any {
	return map[string]any{"metadata": k8sMeta(target, namespace), "spec": map[string]any{
		"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
		"minReplicas":    minReplicas, "maxReplicas": maxReplicas,
	}}
}

func k8sPG(namespace string, instances float64, cpu, memory, size string) map[string]any {
	return map[string]any{"metadata": k8sMeta("db", namespace), "spec": map[string]any{
		"instances": instances,
		"resources": map[string]any{"requests": map[string]any{"cpu": cpu, "memory": memory}},
		"storage":   map[string]any{"size": size},
	}}
}

func toAny(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

func k8sRes(typ, name string, inputs map[string]any) pricing.Resource {
	return pricing.Resource{URN: "urn:pulumi:prod::tenantfleet::tenantfleet:index:TenantUnit$" + typ + "::" + name, Type: typ, Inputs: inputs}
}

// k8sTwoTenants is a two-tenant stack as the Kubernetes adapter registers
// it: acme small (a one-instance database, an autoscaled web app at
// 1 to 2 replicas, a worker), globex large (three database instances of
// 2 vCPU and 8 GiB with 50 GiB each, a web app fixed at 3 replicas of
// 1 vCPU and 2 GiB, a worker), and the free objects around them.
func k8sTwoTenants() []pricing.Resource {
	var out []pricing.Resource
	for _, free := range []string{
		"kubernetes:core/v1:Namespace", "kubernetes:core/v1:ResourceQuota", "kubernetes:core/v1:LimitRange",
		"kubernetes:core/v1:Secret", "kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:Service",
		"kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:networking.k8s.io/v1:Ingress",
		"kubernetes:rabbitmq.com/v1beta1:Vhost", "kubernetes:rabbitmq.com/v1beta1:Queue", "kubernetes:rabbitmq.com/v1beta1:Exchange",
		"kubernetes:rabbitmq.com/v1beta1:Binding", "kubernetes:rabbitmq.com/v1beta1:Policy", "kubernetes:rabbitmq.com/v1beta1:User",
		"kubernetes:rabbitmq.com/v1beta1:Permission", "pulumi:providers:kubernetes", "random:index/randomPassword:RandomPassword",
	} {
		out = append(out, k8sRes(free, "acme-"+free[strings.LastIndex(free, ":")+1:], map[string]any{"metadata": k8sMeta("x", "acme")}))
	}
	return append(out,
		k8sRes(k8sCluster, "acme-db-cluster", k8sPG("acme", 1, "500m", "1024Mi", "20Gi")),
		k8sRes(k8sDeployment, "acme-web", k8sDeploy("web", "acme", nil, k8sContainer("web", "500m", "1024Mi"))),
		k8sRes(k8sAutoscaler, "acme-web-autoscaler", k8sHPA("acme", "web", 1, 2)),
		k8sRes(k8sDeployment, "acme-worker", k8sDeploy("worker", "acme", 1.0, k8sContainer("worker", "250m", "512Mi"))),
		k8sRes(k8sCluster, "globex-db-cluster", k8sPG("globex", 3, "2", "8Gi", "50Gi")),
		k8sRes(k8sDeployment, "globex-web", k8sDeploy("web", "globex", 3.0, k8sContainer("web", "1000m", "2048Mi"))),
		k8sRes(k8sDeployment, "globex-worker", k8sDeploy("worker", "globex", 1.0, k8sContainer("worker", "250m", "512Mi"))),
	)
}

func k8sEstimator(t *testing.T, cat *pricing.Catalog, usage *pricing.Usage) *pricing.Estimator {
	t.Helper()
	est, err := pricing.NewEstimator(cat, map[string]string{"kubernetes": ""}, usage)
	if err != nil {
		t.Fatal(err)
	}
	return est
}

// k8sTotals prices a stack: the known monthly total per tenant (the
// resource name's first part), and what each resource costs.
func k8sTotals(t *testing.T, est *pricing.Estimator, res []pricing.Resource) (map[string]float64, map[string]pricing.Priced) {
	t.Helper()
	stack := pricing.NewStack(res)
	totals, each := map[string]float64{}, map[string]pricing.Priced{}
	for _, r := range res {
		p, err := est.PriceIn(r, stack)
		if err != nil {
			t.Fatalf("%s: %v", r.URN, err)
		}
		name := r.URN[strings.LastIndex(r.URN, "::")+2:]
		each[name] = p
		total, _ := p.Monthly()
		if p.Kind == pricing.Free && (total != 0 || len(p.Components) != 0 || p.Note == "") {
			t.Errorf("%s (%s) is free but has components or no note: %+v", name, r.Type, p)
		}
		totals[strings.SplitN(name, "-", 2)[0]] += total
	}
	return totals, each
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestKubernetesPricesWhatTenantsRequest: a two-tenant stack costs what its
// pods and volumes request at the catalog's rates, computed here by hand.
func TestKubernetesPricesWhatTenantsRequest(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	r := k8sRatesOf(t, cat)
	totals, each := k8sTotals(t, k8sEstimator(t, cat, nil), k8sTwoTenants())

	// acme: database 1 × (0.5 vCPU, 1 GiB) + 20 GiB; web at its minimum,
	// 1 × (0.5 vCPU, 1 GiB); worker 1 × (0.25 vCPU, 0.5 GiB).
	wantAcme := r.monthly(0.5, 1, 20) + r.monthly(0.5, 1, 0) + r.monthly(0.25, 0.5, 0)
	// globex: database 3 × (2 vCPU, 8 GiB) + 3 × 50 GiB; web 3 × (1 vCPU,
	// 2 GiB); worker 1 × (0.25 vCPU, 0.5 GiB).
	wantGlobex := r.monthly(3*2, 3*8, 3*50) + r.monthly(3*1, 3*2, 0) + r.monthly(0.25, 0.5, 0)
	if !near(totals["acme"], wantAcme) || !near(totals["globex"], wantGlobex) {
		t.Errorf("acme %v, globex %v; want %v and %v", totals["acme"], totals["globex"], wantAcme, wantGlobex)
	}
	// With the example rates: acme's 1.25 vCPU, 2.5 GiB and 20 GiB,
	// 19.9025375 + 5.334475 + 2.
	if got := totals["acme"]; !near(got, 27.2370125) {
		t.Errorf("acme at the example rates: %v, want 1.25 × 730 × 0.021811 + 2.5 × 730 × 0.002923 + 20 × 0.10 = 27.2370125", got)
	}

	db := each["globex-db-cluster"]
	want := []string{
		"Requested CPU (3 instances × 2 vCPU) 4380 vCPU-hours k8s:requests:vcpu",
		"Requested memory (3 instances × 8 GiB) 17520 GiB-hours k8s:requests:memory",
		"Storage (3 instances × 50Gi) 150 GiB-months k8s:storage:persistent",
	}
	if got := k8sComponents(db); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("globex's database:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if db.Kind != pricing.Sized || !strings.Contains(db.Note, "CloudNativePG") {
		t.Errorf("globex's database: kind %s, note %q", db.Kind, db.Note)
	}
	if got := k8sComponents(each["globex-web"]); len(got) != 2 || !strings.HasPrefix(got[0], "Requested CPU (3 replicas × 1 vCPU) 2190 ") {
		t.Errorf("globex's web app at spec.replicas: %v", got)
	}
}

// k8sComponents shows each component as "name quantity unit sku".
func k8sComponents(p pricing.Priced) []string {
	var out []string
	for _, c := range p.Components {
		q := "depends on usage"
		if c.MonthlyQuantity != nil {
			q = strconv.FormatFloat(*c.MonthlyQuantity, 'f', -1, 64)
		}
		out = append(out, c.Name+" "+q+" "+c.Unit+" "+c.SKU)
	}
	return out
}

// TestKubernetesAutoscaledAtMinimum: a Deployment a HorizontalPodAutoscaler
// scales costs its minReplicas all month, as Cloud Run's and Container Apps'
// minimum instances do; the replica-hours above it are usage.
func TestKubernetesAutoscaledAtMinimum(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	r := k8sRatesOf(t, cat)
	web := k8sRes(k8sDeployment, "acme-web", k8sDeploy("web", "acme", nil, k8sContainer("web", "500m", "1Gi"), k8sContainer("proxy", "0.5", "1024Mi")))
	hpa := k8sRes(k8sAutoscaler, "acme-web-autoscaler", k8sHPA("acme", "web", 2, 4))
	// The same names in another namespace, and another Deployment's autoscaler: not this one's.
	other := k8sRes(k8sAutoscaler, "globex-web-autoscaler", k8sHPA("globex", "web", 5, 9))
	worker := k8sRes(k8sAutoscaler, "acme-worker-autoscaler", k8sHPA("acme", "worker", 7, 9))

	price := func(est *pricing.Estimator, stack ...pricing.Resource) pricing.Priced {
		t.Helper()
		p, err := est.PriceIn(web, pricing.NewStack(stack))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	est := k8sEstimator(t, cat, nil)
	p := price(est, web, hpa, other, worker)
	total, unknown := p.Monthly()
	// 2 replicas × (1 vCPU, 2 GiB): two containers of 0.5 vCPU and 1 GiB each.
	if want := r.monthly(2*1, 2*2, 0); !near(total, want) || !unknown {
		t.Errorf("autoscaled web app: %v (usage unknown %v), want %v at 2 replicas and the extra replicas as usage", total, unknown, want)
	}
	if got := k8sComponents(p); len(got) != 4 || got[0] != "Requested CPU (2 replicas × 1 vCPU, the autoscaler's minimum) 1460 vCPU-hours k8s:requests:vcpu" ||
		got[2] != "Requested CPU (replicas above the minimum) depends on usage vCPU-hours k8s:requests:vcpu" {
		t.Errorf("components:\n%s", strings.Join(got, "\n"))
	}

	// 100 replica-hours above the minimum: 100 × (1 vCPU, 2 GiB) more.
	usage := &pricing.Usage{Version: 1, Resources: map[string]map[string]float64{"acme-web": {"additional_replica_hours": 100}}}
	withUsage, unknown := price(k8sEstimator(t, cat, usage), web, hpa).Monthly()
	if want := r.monthly(2*1, 2*2, 0) + 100*1*r.cpu + 100*2*r.mem; !near(withUsage, want) || unknown {
		t.Errorf("with 100 extra replica-hours: %v (unknown %v), want %v", withUsage, unknown, want)
	}

	// In a preview, the autoscaler's target may not be known yet: the one
	// autoscaler of the namespace with an unknown target is the Deployment's.
	unknownTarget := k8sHPA("acme", "web", 3, 4)
	unknownTarget["spec"].(map[string]any)["scaleTargetRef"].(map[string]any)["name"] = nil
	preview := k8sRes(k8sAutoscaler, "acme-web-autoscaler", unknownTarget)
	if total, _ := price(est, web, preview, other).Monthly(); !near(total, r.monthly(3*1, 3*2, 0)) {
		t.Errorf("an autoscaler whose target is not known yet: %v, want %v (3 replicas)", total, r.monthly(3*1, 3*2, 0))
	}

	// No autoscaler for it (or none known: Price) and no spec.replicas:
	// Kubernetes runs 1.
	for _, p := range []pricing.Priced{price(est, web, other, worker), func() pricing.Priced {
		p, err := est.Price(web)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}()} {
		if total, unknown := p.Monthly(); !near(total, r.monthly(1, 2, 0)) || unknown || len(p.Components) != 2 ||
			!strings.Contains(p.Components[0].Name, "1 replica × 1 vCPU, Kubernetes' default") {
			t.Errorf("a Deployment nothing scales, without replicas: %v %v", total, k8sComponents(p))
		}
	}
}

// TestKubernetesRatesAreTheUsers: a catalog directory with the user's own
// kubernetes.yaml (--catalog-dir) prices at its rates and says what it says.
func TestKubernetesRatesAreTheUsers(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	own := `cloud: kubernetes
version: "2027-01"
currency: USD
note: "Rates of the platform team's rate card, 2027-01."
regions:
  any:
    k8s:requests:vcpu: {usd: 0.04, unit: vCPU-hours, source: "platform team rate card", retrieved: "2027-01-02"}
    k8s:requests:memory: {usd: 0.005, unit: GiB-hours, source: "platform team rate card", retrieved: "2027-01-02"}
    k8s:storage:persistent: {usd: 0.3, unit: GiB-months, source: "platform team rate card", retrieved: "2027-01-02"}
`
	if err := os.WriteFile(filepath.Join(dir, "kubernetes.yaml"), []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	mine, err := pricing.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	if r := k8sRatesOf(t, mine); r != (k8sRates{0.04, 0.005, 0.3}) {
		t.Fatalf("the user's rates read as %+v", r)
	}
	mineTotals, _ := k8sTotals(t, k8sEstimator(t, mine, nil), k8sTwoTenants())
	exampleTotals, _ := k8sTotals(t, k8sEstimator(t, embedded, nil), k8sTwoTenants())
	// acme requests 1.25 vCPU and 2.5 GiB all month and 20 GiB of volume.
	if want := 1.25*730*0.04 + 2.5*730*0.005 + 20*0.3; !near(mineTotals["acme"], want) {
		t.Errorf("acme at the user's rates: %v, want %v", mineTotals["acme"], want)
	}
	if mineTotals["acme"] == exampleTotals["acme"] || mineTotals["globex"] == exampleTotals["globex"] {
		t.Errorf("the user's rates change nothing: %v vs %v", mineTotals, exampleTotals)
	}
	if n := mine.Cloud("kubernetes").Note; n != "Rates of the platform team's rate card, 2027-01." {
		t.Errorf("note %q", n)
	}
	if !strings.Contains(embedded.Cloud("kubernetes").Note, "EXAMPLE") {
		t.Errorf("the embedded rates do not say they are examples: %q", embedded.Cloud("kubernetes").Note)
	}

	// A rate under a region: a cluster has none, and the catalog says where rates go.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "kubernetes.yaml"), []byte(strings.Replace(own, "  any:", "  us-east-1:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pricing.LoadCatalog(bad); err == nil || !strings.Contains(err.Error(), "regions.any") {
		t.Errorf("rates under a region: %v, want an error naming regions.any", err)
	}
	// A missing rate is an error naming it, never $0.
	missing := t.TempDir()
	if err := os.WriteFile(filepath.Join(missing, "kubernetes.yaml"), []byte(strings.Split(own, "    k8s:storage")[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	cat, err := pricing.LoadCatalog(missing)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k8sEstimator(t, cat, nil).Price(k8sRes(k8sCluster, "acme-db-cluster", k8sPG("acme", 1, "1", "1Gi", "20Gi")))
	var noPrice *pricing.MissingPriceError
	if !errors.As(err, &noPrice) || noPrice.SKU != "k8s:storage:persistent" {
		t.Errorf("a catalog without the storage rate: %v", err)
	}
}

// TestKubernetesRefusesWhatItCannotPrice: a pod that requests nothing, or a
// quantity that is not one, is an error naming the field, never $0.
func TestKubernetesRefusesWhatItCannotPrice(t *testing.T) {
	t.Parallel()

	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	est := k8sEstimator(t, cat, nil)
	noRequests := k8sDeploy("web", "acme", 1.0, map[string]any{"name": "web", "image": "x:1"})
	limitsOnly := k8sDeploy("web", "acme", 1.0, map[string]any{"name": "web", "resources": map[string]any{"limits": map[string]any{"cpu": "2", "memory": "1G"}}})
	for _, tc := range []struct {
		reason, typ string
		inputs      map[string]any
		want        string
	}{
		{"a container without requests or limits", k8sDeployment, noRequests, "resources.requests.cpu"},
		{"a CPU request that is not a quantity", k8sDeployment, k8sDeploy("web", "acme", 1.0, k8sContainer("web", "half", "1Gi")), `"half"`},
		{"a memory request that is not a quantity", k8sDeployment, k8sDeploy("web", "acme", 1.0, k8sContainer("web", "1", "0x10")), `"0x10"`},
		{"no containers", k8sDeployment, map[string]any{"metadata": k8sMeta("web", "acme")}, "containers"},
		{"a database without a volume size", k8sCluster, k8sPG("acme", 1, "1", "1Gi", ""), "spec.storage.size"},
		{"a database without resources", k8sCluster, map[string]any{"spec": map[string]any{"instances": 1.0, "storage": map[string]any{"size": "1Gi"}}}, "resources.requests.cpu"},
	} {
		_, err := est.Price(k8sRes(tc.typ, "acme-x", tc.inputs))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %s", tc.reason, err, tc.want)
		}
	}
	// A request not set is its limit, as the API server defaults it: 2 vCPU, 1e9 bytes.
	p, err := est.Price(k8sRes(k8sDeployment, "acme-web", limitsOnly))
	if err != nil {
		t.Fatal(err)
	}
	r := k8sRatesOf(t, cat)
	if total, _ := p.Monthly(); !near(total, r.monthly(2, 1e9/(1<<30), 0)) {
		t.Errorf("limits only: %v, want %v", total, r.monthly(2, 1e9/(1<<30), 0))
	}
}
