package kubetest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// TopologyOperatorNamespace is the namespace StartTopologyOperator
	// creates and runs RabbitMQ's messaging topology operator for
	// (OPERATOR_NAMESPACE, where it keeps its leader election lease), as
	// upstream's manifests do.
	TopologyOperatorNamespace = "rabbitmq-system"
	// topologyOperatorLease is the Lease the operator takes before its
	// controllers start (main.go's LeaderElectionID).
	topologyOperatorLease = "messaging-topology-operator-leader-election"
)

// topologyOperatorEnv are the variables the operator reads (main.go and
// controllers/common.go): the caller's are dropped so that only
// StartTopologyOperator's settings apply.
var topologyOperatorEnv = []string{
	"KUBECONFIG", "OPERATOR_NAMESPACE", "OPERATOR_SCOPE_NAMESPACE", "ENABLE_WEBHOOKS",
	"MESSAGING_DOMAIN_NAME", "CONNECT_USING_PLAIN_HTTP", "SYNC_PERIOD", "MAX_CONCURRENT_RECONCILES",
	"LEASE_DURATION", "RENEW_DEADLINE", "RETRY_PERIOD", "ENABLE_DEBUG_PPROF",
}

// StartTopologyOperator runs RabbitMQ's messaging topology operator
// (bin/messaging-topology-operator, built by `make kube`) against the
// cluster: watching every namespace, without webhooks and without a metrics
// listener, as system:masters, its log in the cluster's directory. It
// creates TopologyOperatorNamespace and waits until the operator holds its
// leader election lease there, which it takes right before it starts its
// controllers. tb.Cleanup stops it: before the control plane stops when tb
// is the test given to Start or one of its subtests. The control plane's
// cleanup logs the end of its log when the test failed. It fails the test,
// naming `make kube`, when the binary is missing, and when called a second
// time on a cluster.
//
// The operator declares vhosts, users, permissions, queues, exchanges and
// bindings (rabbitmq.com/v1beta1) through RabbitMQ's management API, found
// through each object's rabbitmqClusterReference: with no RabbitmqCluster
// objects here (nothing runs cluster-operator's pods), a reference must name
// a connectionSecret (keys uri, username, password).
func (c *Cluster) StartTopologyOperator(tb testing.TB) {
	tb.Helper()
	began := time.Now()
	if c.topologyOperator {
		tb.Fatalf("kubetest: StartTopologyOperator called twice on one cluster")
	}
	c.topologyOperator = true
	bin := binary(tb, repoRoot(tb), "messaging-topology-operator")
	ctx, cancel := context.WithTimeout(tb.Context(), readyTimeout)
	defer cancel()
	if err := c.createNamespace(ctx, TopologyOperatorNamespace); err != nil {
		tb.Fatalf("kubetest: %v", err)
	}

	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(topologyOperatorEnv, name) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"OPERATOR_NAMESPACE="+TopologyOperatorNamespace,
		// Empty: every namespace.
		"OPERATOR_SCOPE_NAMESPACE=",
		// Webhooks need a serving certificate and a kube-apiserver that
		// can call back; the CRDs' schemas still apply.
		"ENABLE_WEBHOOKS=false",
		// Leader election cannot be turned off (main.go sets it), so it
		// is made lenient instead: with the defaults (15s, 10s) a renewal
		// delayed 10s on a loaded machine stops the operator mid-test.
		"LEASE_DURATION=600", "RENEW_DEADLINE=540", "RETRY_PERIOD=2",
	)
	p, err := c.start("messaging-topology-operator", bin, env,
		"--kubeconfig", c.kubeconfigPath,
		// "0" turns the metrics listener off: no port to choose.
		"--metrics-bind-address", "0",
		"--zap-encoder", "console",
		"--zap-time-encoding", "rfc3339nano",
	)
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	tb.Cleanup(p.stop)

	lease := "/apis/coordination.k8s.io/v1/namespaces/" + TopologyOperatorNamespace + "/leases/" + topologyOperatorLease
	err = c.waitReady(ctx, p, func(ctx context.Context) bool {
		obj, status, err := c.Get(ctx, lease)
		if err != nil || status != http.StatusOK {
			return false
		}
		spec, _ := obj["spec"].(map[string]any)
		holder, _ := spec["holderIdentity"].(string)
		return holder != ""
	})
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	tb.Logf("kubetest: messaging-topology-operator ready after %s (log %s)",
		time.Since(began).Round(10*time.Millisecond), p.log)
}

// createNamespace creates the namespace name; one already there will do.
func (c *Cluster) createNamespace(ctx context.Context, name string) error {
	body := mustJSON(map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	})
	const path = "/api/v1/namespaces"
	status, resp, err := c.do(ctx, http.MethodPost, path, "application/json", body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusConflict {
		return fmt.Errorf("creating namespace %s: %w", name, statusError(http.MethodPost, path, status, resp))
	}
	return nil
}
