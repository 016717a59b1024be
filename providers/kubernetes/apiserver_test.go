package kubernetes_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/internal/engine/enginetest"
	k8sp "github.com/tenantfleet/tenantfleet/providers/kubernetes"
	"github.com/tenantfleet/tenantfleet/providers/kubernetes/kubetest"
	"github.com/tenantfleet/tenantfleet/queue"
	"github.com/tenantfleet/tenantfleet/queue/rabbittest"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// awaitedTypes are the types whose readiness pulumi-kubernetes waits for
// (ready replicas, endpoints, a load balancer address, CloudNativePG's
// Ready condition the adapter asks it to wait for): with no kubelet, no
// ingress controller and no CloudNativePG they never become ready here.
// The RabbitMQ objects are not among them: the real topology operator
// runs in this test, against a real RabbitMQ, and makes them Ready.
var awaitedTypes = []string{k8sp.TypeDeployment, k8sp.TypeService, k8sp.TypeIngress, k8sp.TypeCluster}

// skipAwait runs program with the provider's documented way to skip
// readiness waits (the pulumi.com/skipAwait annotation) added to the
// awaited types: this test's program only, never the adapter's.
func skipAwait(program pulumi.RunFunc) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		err := ctx.RegisterResourceTransform(func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			if !slices.Contains(awaitedTypes, args.Type) {
				return nil
			}
			props := pulumi.Map{}
			for k, v := range args.Props {
				props[k] = v
			}
			meta := pulumi.Map{}
			if m, ok := props["metadata"].(pulumi.Map); ok {
				for k, v := range m {
					meta[k] = v
				}
			}
			ann := pulumi.Map{}
			if a, ok := meta["annotations"].(pulumi.Map); ok {
				for k, v := range a {
					ann[k] = v
				}
			}
			ann["pulumi.com/skipAwait"] = pulumi.String("true")
			meta["annotations"] = ann
			props["metadata"] = meta
			return &pulumi.ResourceTransformResult{Props: props, Opts: args.Opts}
		})
		if err != nil {
			return err
		}
		return program(ctx)
	}
}

// rabbitSecret is the connection Secret the test's topology operator
// reaches RabbitMQ with, in rabbitNamespace.
const rabbitSecret = "rabbitmq-admin"

// apiServerStack is a 2-tenant stack with a fanout on the test cluster,
// its queues on the RabbitMQ at amqpURL (amqp://host:port).
func apiServerStack(amqpURL string) map[string]any {
	tenant := func(id string, extra map[string]any) map[string]any {
		t := map[string]any{
			"id":       id,
			"database": map[string]any{"deletionProtection": false},
			"web":      map[string]any{"image": "docker.io/tenantfleet/tenant-app:1.0.0"},
			"worker":   map[string]any{"image": "docker.io/tenantfleet/tenant-app:1.0.0"},
		}
		for k, v := range extra {
			t[k] = v
		}
		return t
	}
	return map[string]any{
		"tenantfleet:cloud": "kubernetes",
		"tenantfleet:kubernetes": map[string]any{
			"context": "kubetest",
			"ingress": map[string]any{"className": "nginx", "baseDomain": "tenants.example.com", "namespace": ingressNamespace},
			"queue":   map[string]any{"url": amqpURL, "namespace": rabbitNamespace, "connectionSecret": rabbitSecret},
		},
		"tenantfleet:tenants": []any{
			tenant("acme", nil),
			tenant("globex", map[string]any{
				"database": map[string]any{"tier": "medium", "storageGB": 50, "version": "15", "deletionProtection": false},
				"web":      map[string]any{"image": "docker.io/tenantfleet/tenant-app:1.0.0", "port": 3000, "minInstances": 2, "maxInstances": 4},
				"queue":    map[string]any{"maxReceiveCount": 7, "visibilityTimeoutSeconds": 90},
			}),
		},
		"tenantfleet:fanout": map[string]any{
			"name": "account-events",
			"subscribers": []any{
				map[string]any{"name": "billing"},
				map[string]any{"name": "acme-inbox", "tenant": "acme"},
				map[string]any{"name": "globex-signups", "tenant": "globex", "filter": map[string]any{"attribute": "kind", "values": []any{"signup", "upgrade"}}},
			},
		},
	}
}

// TestAgainstAPIServer applies a stack to a real kube-apiserver (with etcd,
// the garbage-collector and namespace controllers, and the operators'
// CRDs) through the real engine and the pulumi-kubernetes plugin, with
// RabbitMQ's real messaging-topology operator declaring the queues on a
// real RabbitMQ: the API server's schemas and admission accept every
// object, the operator makes each RabbitMQ object Ready, the apps' queue
// client with a tenant's generated credentials works its own queue and is
// refused another tenant's, the fanout delivers (filters included), a
// second preview has nothing to do, a change behind the engine shows as
// drift, and destroy leaves no namespace, vhost or user behind.
//
//nolint:paralleltest // it sets KUBECONFIG and XDG_STATE_HOME with t.Setenv for the engine it starts.
func TestAgainstAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a control plane and the real engine (drop -short to run it)")
	}
	cluster := kubetest.Start(t)
	rabbit := rabbittest.Start(t)
	ctx := t.Context()
	// RabbitMQ's namespace, then the connection Secret in it (in order).
	for _, o := range []struct {
		path string
		obj  any
	}{
		{"/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": rabbitNamespace}}},
		{"/api/v1/namespaces/" + rabbitNamespace + "/secrets", map[string]any{
			"metadata":   map[string]any{"name": rabbitSecret, "annotations": map[string]any{"rabbitmq.com/topology-allowed-namespaces": "*"}},
			"stringData": map[string]any{"uri": rabbit.ManagementURL, "username": rabbit.AdminUser, "password": rabbit.AdminPassword},
		}},
	} {
		if _, err := cluster.Create(ctx, o.path, o.obj); err != nil {
			t.Fatal(err)
		}
	}
	cluster.StartTopologyOperator(t)
	env := enginetest.Isolate(t)
	plugin := filepath.Join(env.ExeDir, "pulumi-resource-kubernetes")
	if _, err := os.Stat(plugin); err != nil {
		t.Fatalf("%s is missing: run `make kube` (make test does)", plugin)
	}
	t.Setenv("KUBECONFIG", cluster.KubeconfigPath())
	runner := &engine.Runner{Program: skipAwait(stacks.Program), Stderr: io.Discard, ExeDir: env.ExeDir}
	config := apiServerStack(rabbit.AMQPURL)
	const stack = "k8s"
	run := func(t *testing.T, op engine.Operation, opts engine.StackOptions) (engine.Report, []engine.DriftResource) {
		t.Helper()
		var drift engine.DriftCollector
		var progress strings.Builder
		opts.Stack, opts.Config, opts.Events, opts.Progress = stack, config, drift.Handle, &progress
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		report, err := runner.Run(ctx, op, opts)
		if err != nil {
			t.Fatalf("%s: %v\n%s\n%s", op, err, progress.String(), notReady(t.Context(), cluster))
		}
		t.Logf("%s: %.1fs, changes %v", op, report.DurationSeconds, report.Changes)
		return report, drift.Resources()
	}
	var namespaces []string
	var outputs map[string]any

	if !t.Run("up creates every object and the API server accepts them", func(t *testing.T) {
		up, _ := run(t, engine.OpUp, engine.StackOptions{NewStack: true})
		if up.Changes["create"] == 0 {
			t.Fatalf("up created nothing: %v", up.Changes)
		}
		outputs = up.Outputs
		namespaces = stackNamespaces(ctx, cluster, stack)
		if len(namespaces) != 3 {
			t.Fatalf("namespaces of stack %s: %v, want the stack's and one per tenant", stack, namespaces)
		}
		perTenant := map[string]int{
			"/apis/apps/v1/namespaces/%s/deployments":                     2,
			"/api/v1/namespaces/%s/services":                              1,
			"/api/v1/namespaces/%s/serviceaccounts":                       2, // web, worker (no controller adds "default" here)
			"/api/v1/namespaces/%s/resourcequotas":                        1,
			"/api/v1/namespaces/%s/limitranges":                           1,
			"/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies":    5,
			"/apis/networking.k8s.io/v1/namespaces/%s/ingresses":          1,
			"/apis/postgresql.cnpg.io/v1/namespaces/%s/clusters":          1,
			"/apis/rabbitmq.com/v1beta1/namespaces/%s/queues":             2,
			"/apis/rabbitmq.com/v1beta1/namespaces/%s/policies":           2,
			"/apis/rabbitmq.com/v1beta1/namespaces/%s/exchanges":          1,
			"/apis/rabbitmq.com/v1beta1/namespaces/%s/bindings":           1,
			"/apis/rabbitmq.com/v1beta1/namespaces/%s/users":              1,
			"/apis/rabbitmq.com/v1beta1/namespaces/%s/permissions":        1,
			"/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers": 1,
		}
		tenants := 0
		for _, ns := range namespaces {
			obj, _, err := cluster.Get(ctx, "/api/v1/namespaces/"+ns)
			if err != nil {
				t.Fatal(err)
			}
			labels := nested[map[string]any](obj, "metadata", "labels")
			if labels["tenantfleet.dev/component"] != "tenant-unit" {
				continue
			}
			tenants++
			if labels["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("namespace %s: labels %v, want pod-security enforce restricted", ns, labels)
			}
			for path, want := range perTenant {
				if got := len(cluster.List(ctx, fmt.Sprintf(path, ns))); got != want {
					t.Errorf("%s: %d objects, want %d", fmt.Sprintf(path, ns), got, want)
				}
			}
			for _, d := range cluster.List(ctx, "/apis/apps/v1/namespaces/"+ns+"/deployments") {
				for _, c := range nested[[]any](d, "spec", "template", "spec", "containers") {
					for _, e := range nested[[]any](c.(map[string]any), "env") {
						e := e.(map[string]any)
						if e["name"] == "DATABASE_PASSWORD" && (e["value"] != nil || nested[map[string]any](e, "valueFrom", "secretKeyRef") == nil) {
							t.Errorf("%s/%s: DATABASE_PASSWORD is %v, want a secretKeyRef", ns, nested[string](d, "metadata", "name"), e)
						}
					}
				}
			}
		}
		if tenants != 2 {
			t.Errorf("%d tenant namespaces, want 2", tenants)
		}
		// The operator made every RabbitMQ object Ready (up waited for it).
		for _, ns := range namespaces {
			for _, kind := range []string{"vhosts", "queues", "policies", "exchanges", "bindings", "users", "permissions"} {
				for _, obj := range cluster.List(ctx, "/apis/rabbitmq.com/v1beta1/namespaces/"+ns+"/"+kind) {
					if !ready(obj) {
						t.Errorf("%s %s/%s is not Ready: %v", kind, ns, nested[string](obj, "metadata", "name"), nested[any](obj, "status"))
					}
				}
			}
		}
	}) {
		return
	}

	t.Run("the apps' queue client works the queues the operator declared", func(t *testing.T) {
		acme, globex := tenantQueue(ctx, t, cluster, namespaces, "acme"), tenantQueue(ctx, t, cluster, namespaces, "globex")
		checkQueues(ctx, t, cluster, stackNamespace(ctx, t, cluster, namespaces), outputs, acme, globex)
	})

	t.Run("a changed filter keeps routing the values it still names", func(t *testing.T) {
		// globex-signups: [signup upgrade] -> [upgrade]. The binding for
		// "upgrade" must outlive the change, though "signup"'s goes.
		subs := config["tenantfleet:fanout"].(map[string]any)["subscribers"].([]any)
		subs[2].(map[string]any)["filter"] = map[string]any{"attribute": "kind", "values": []any{"upgrade"}}
		up, _ := run(t, engine.OpUp, engine.StackOptions{})
		if up.Changes["delete"] != 1 || up.Changes["create"] != 0 {
			t.Errorf("up changes %v, want the one binding of signup deleted", up.Changes)
		}
		globex := tenantQueue(ctx, t, cluster, namespaces, "globex")
		publish(ctx, t, cluster, stackNamespace(ctx, t, cluster, namespaces), outputs, "signup", "upgrade")
		m := receiveOne(ctx, t, queue.Config{Cloud: queue.CloudKubernetes, URL: globex.url, Password: globex.password})
		if got := m.msg.Attribute("kind"); got != "upgrade" {
			t.Errorf("globex received kind=%s first, want upgrade (signup is no longer in its filter)", got)
		}
		m.ack(ctx, t)
	})

	t.Run("a second preview has nothing to do", func(t *testing.T) {
		run(t, engine.OpPreview, engine.StackOptions{ExpectNoChanges: true})
	})

	t.Run("a change behind the engine is drift", func(t *testing.T) {
		var worker string
		for _, ns := range namespaces {
			if len(cluster.List(ctx, "/apis/apps/v1/namespaces/"+ns+"/deployments")) > 0 {
				worker = "/apis/apps/v1/namespaces/" + ns + "/deployments/worker"
				break
			}
		}
		if err := cluster.Patch(ctx, worker, `{"spec":{"replicas":3}}`); err != nil {
			t.Fatal(err)
		}
		_, drift := run(t, engine.OpRefresh, engine.StackOptions{PreviewOnly: true})
		if !slices.ContainsFunc(drift, func(d engine.DriftResource) bool { return d.Type == k8sp.TypeDeployment }) {
			t.Fatalf("refresh found drift %v, want the worker Deployment", drift)
		}
		run(t, engine.OpUp, engine.StackOptions{Refresh: true})
		obj, _, err := cluster.Get(ctx, worker)
		if err != nil {
			t.Fatal(err)
		}
		if r := nested[float64](obj, "spec", "replicas"); r != 1 {
			t.Errorf("after up --refresh the worker has %v replicas, want 1", r)
		}
		run(t, engine.OpPreview, engine.StackOptions{ExpectNoChanges: true})
	})

	t.Run("destroy leaves no namespace, vhost or user", func(t *testing.T) {
		run(t, engine.OpDestroy, engine.StackOptions{})
		deadline := time.Now().Add(2 * time.Minute)
		for {
			left := stackNamespaces(ctx, cluster, stack)
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("namespaces left after destroy: %v", left)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The operator's finalizers removed them from RabbitMQ before
		// the namespaces could go.
		if vhosts := managementNames(ctx, t, rabbit, "/api/vhosts"); !slices.Equal(vhosts, []string{"/"}) {
			t.Errorf("vhosts left after destroy: %v", vhosts)
		}
		if users := managementNames(ctx, t, rabbit, "/api/users"); !slices.Equal(users, []string{rabbit.AdminUser}) {
			t.Errorf("users left after destroy: %v", users)
		}
	})
}

// stackNamespaces lists the namespaces labelled with the stack, terminating ones included.
func stackNamespaces(ctx context.Context, c *kubetest.Cluster, stack string) []string {
	var out []string
	for _, ns := range c.List(ctx, "/api/v1/namespaces?labelSelector=tenantfleet.dev%2Fstack%3D"+stack) {
		out = append(out, nested[string](ns, "metadata", "name"))
	}
	slices.Sort(out)
	return out
}

// nested reads a value of type T at path in a decoded JSON object (the zero T when absent).
func nested[T any](obj map[string]any, path ...string) T {
	var zero T
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return zero
		}
		cur = m[p]
	}
	v, _ := cur.(T)
	return v
}
