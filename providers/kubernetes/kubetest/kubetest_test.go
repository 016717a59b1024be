package kubetest_test

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/providers/kubernetes/kubetest"
)

// TestStart starts a cluster and checks what the Kubernetes adapter's tests
// rely on: the kubeconfig, the CRDs served and schema-checked, and a deleted
// namespace going away with what it holds, which takes the controller-manager.
func TestStart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs etcd, kube-apiserver and kube-controller-manager (drop -short to run it)")
	}
	c := kubetest.Start(t)
	ctx := t.Context()

	kc, err := os.ReadFile(c.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if string(kc) != c.Kubeconfig() {
		t.Errorf("KubeconfigPath() holds\n%s\nwant Kubeconfig()\n%s", kc, c.Kubeconfig())
	}
	if !strings.Contains(c.Kubeconfig(), "server: "+c.Server()+"\n") {
		t.Errorf("Kubeconfig() does not name the server %s:\n%s", c.Server(), c.Kubeconfig())
	}

	for _, list := range []string{
		"/apis/postgresql.cnpg.io/v1/clusters",
		"/apis/rabbitmq.com/v1beta1/queues",
		"/apis/rabbitmq.com/v1beta1/bindings",
	} {
		obj, status, err := c.Get(ctx, list)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusOK {
			t.Errorf("GET %s: %d %v, want 200", list, status, obj["message"])
		}
	}

	const ns = "kubetest-probe"
	if _, err := c.Create(ctx, "/api/v1/namespaces", map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
	}); err != nil {
		t.Fatal(err)
	}
	if got := c.Namespaces(ctx); !slices.Contains(got, ns) {
		t.Fatalf("Namespaces() = %v, want it to hold %s", got, ns)
	}

	// Custom resources the schemas accept, in the namespace; and one they refuse.
	queues := "/apis/rabbitmq.com/v1beta1/namespaces/" + ns + "/queues"
	rabbit := map[string]any{"name": "rabbitmq", "namespace": "rabbitmq-system"}
	for path, obj := range map[string]map[string]any{
		"/apis/postgresql.cnpg.io/v1/namespaces/" + ns + "/clusters": {
			"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
			"metadata": map[string]any{"name": "db"},
			"spec":     map[string]any{"instances": 1, "storage": map[string]any{"size": "1Gi"}},
		},
		queues: {
			"apiVersion": "rabbitmq.com/v1beta1", "kind": "Queue",
			"metadata": map[string]any{"name": "orders"},
			"spec":     map[string]any{"name": "orders", "type": "quorum", "durable": true, "rabbitmqClusterReference": rabbit},
		},
	} {
		if _, err := c.Create(ctx, path, obj); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create(ctx, "/apis/rabbitmq.com/v1beta1/namespaces/"+ns+"/bindings", map[string]any{
		"apiVersion": "rabbitmq.com/v1beta1", "kind": "Binding",
		"metadata": map[string]any{"name": "bad"},
		"spec":     map[string]any{"source": "orders", "destination": "orders", "destinationType": "sometimes", "rabbitmqClusterReference": rabbit},
	}); err == nil || !strings.Contains(err.Error(), "422") {
		t.Errorf("creating a Binding with destinationType \"sometimes\": %v, want a 422", err)
	}
	if err := c.Patch(ctx, queues+"/orders", `{"metadata":{"labels":{"probe":"yes"}}}`); err != nil {
		t.Fatal(err)
	}
	if got := c.List(ctx, queues); len(got) != 1 {
		t.Errorf("List(%s) = %d items, want 1", queues, len(got))
	}

	if err := c.Delete(ctx, "/api/v1/namespaces/"+ns); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for slices.Contains(c.Namespaces(ctx), ns) {
		if time.Now().After(deadline) {
			obj, _, _ := c.Get(ctx, "/api/v1/namespaces/"+ns)
			t.Fatalf("namespace %s still there 90s after its delete (is the controller-manager running?): %v", ns, obj["status"])
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, status, err := c.Get(ctx, "/apis/postgresql.cnpg.io/v1/namespaces/"+ns+"/clusters/db"); err != nil || status != http.StatusNotFound {
		t.Errorf("the namespace's Cluster after the namespace went: %d %v, want 404", status, err)
	}
	if err := c.Delete(ctx, "/api/v1/namespaces/"+ns); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("deleting the namespace again: %v, want a 404", err)
	}
}
