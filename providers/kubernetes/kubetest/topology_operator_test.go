package kubetest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tenantfleet/tenantfleet/providers/kubernetes/kubetest"
	"github.com/tenantfleet/tenantfleet/queue/rabbittest"
)

// topologyWait bounds each wait on the operator or the namespace
// controller: generous, for a loaded 2-core machine (each takes well under a
// second on an idle one).
const topologyWait = 2 * time.Minute

// TestTopologyOperatorReconciles runs RabbitMQ's messaging topology operator
// against a real RabbitMQ and checks what the Kubernetes adapter relies on:
// objects in a tenant's namespace, reaching RabbitMQ through a connection
// Secret in another namespace, become Ready and exist in RabbitMQ as
// declared; a User gets a generated credentials Secret that logs in; and
// deleting the tenant's namespace removes its vhost and user from RabbitMQ.
//
//nolint:paralleltest // the subtests are phases of one scenario and run in turn: each needs what the one before did.
func TestTopologyOperatorReconciles(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs etcd, kube-apiserver, kube-controller-manager, RabbitMQ and the topology operator (drop -short to run it)")
	}
	c := kubetest.Start(t)
	// RabbitMQ before the operator, so that the operator stops first.
	rmq := rabbittest.Start(t)
	c.StartTopologyOperator(t)
	ctx := t.Context()

	const (
		connNS, connSecret = "rabbitmq-connection", "rabbitmq-admin"
		ns, vhost          = "tenant-a", "tenant-a"
		user               = "worker"
		queue, exchange    = "orders", "tenant-a.events"
	)
	ref := map[string]any{
		"connectionSecret": map[string]any{"name": connSecret},
		"namespace":        connNS,
	}
	// metadata.name differs from spec.name on purpose: RabbitMQ's names
	// come from spec.
	objects := []struct{ resource, name string }{
		{"vhosts", "vhost"},
		{"users", user},
		{"permissions", "worker-tenant-a"},
		{"exchanges", "events"},
		{"queues", "orders-queue"},
		{"bindings", "events-to-orders"},
	}
	specs := map[string]map[string]any{
		"vhosts": {"name": vhost},
		"users":  {},
		"permissions": {
			"vhost": vhost, "userReference": map[string]any{"name": user},
			"permissions": map[string]any{"configure": "^$", "write": "^tenant-a\\.", "read": "^orders$"},
		},
		"exchanges": {"name": exchange, "vhost": vhost, "type": "topic", "durable": true},
		"queues": {
			"name": queue, "vhost": vhost, "type": "quorum", "durable": true,
			"arguments": map[string]any{"x-delivery-limit": 5, "x-dead-letter-exchange": "tenant-a.dead-letters"},
		},
		"bindings": {
			"vhost": vhost, "source": exchange, "destination": queue, "destinationType": "queue",
			"routingKey": "orders.#",
		},
	}
	kinds := map[string]string{
		"vhosts": "Vhost", "users": "User", "permissions": "Permission",
		"exchanges": "Exchange", "queues": "Queue", "bindings": "Binding",
	}
	path := func(resource, name string) string {
		return "/apis/rabbitmq.com/v1beta1/namespaces/" + ns + "/" + resource + "/" + name
	}

	if !t.Run("declare", func(t *testing.T) {
		for _, name := range []string{connNS, ns} {
			if _, err := c.Create(ctx, "/api/v1/namespaces", map[string]any{
				"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Create(ctx, "/api/v1/namespaces/"+connNS+"/secrets", map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{
				"name":        connSecret,
				"annotations": map[string]any{"rabbitmq.com/topology-allowed-namespaces": "*"},
			},
			"stringData": map[string]any{
				"uri": rmq.ManagementURL, "username": rmq.AdminUser, "password": rmq.AdminPassword,
			},
		}); err != nil {
			t.Fatal(err)
		}
		for _, o := range objects {
			spec := specs[o.resource]
			spec["rabbitmqClusterReference"] = ref
			if _, err := c.Create(ctx, "/apis/rabbitmq.com/v1beta1/namespaces/"+ns+"/"+o.resource, map[string]any{
				"apiVersion": "rabbitmq.com/v1beta1", "kind": kinds[o.resource],
				"metadata": map[string]any{"name": o.name},
				"spec":     spec,
			}); err != nil {
				t.Fatal(err)
			}
		}
	}) {
		t.FailNow()
	}

	var username string
	if !t.Run("ready", func(t *testing.T) {
		for _, o := range objects {
			obj := waitFor(t, c, path(o.resource, o.name), "Ready=True", func(obj map[string]any) bool {
				return condition(obj, "Ready") == "True"
			})
			md, _ := obj["metadata"].(map[string]any)
			finalizers, _ := md["finalizers"].([]any)
			if want := "deletion.finalizers." + o.resource + ".rabbitmq.com"; !slices.Contains(finalizers, any(want)) {
				t.Errorf("%s/%s: finalizers %v, want %s", o.resource, o.name, finalizers, want)
			}
			status, _ := obj["status"].(map[string]any)
			if got, want := status["observedGeneration"], md["generation"]; got != want {
				t.Errorf("%s/%s: status.observedGeneration %v, want the generation %v", o.resource, o.name, got, want)
			}
		}
		// The User's status names its credentials Secret and the
		// generated username (not the object's name).
		obj, _, err := c.Get(ctx, path("users", user))
		if err != nil {
			t.Fatal(err)
		}
		status, _ := obj["status"].(map[string]any)
		username, _ = status["username"].(string)
		credentials, _ := status["credentials"].(map[string]any)
		if username == "" || username == user || credentials["name"] != user+"-user-credentials" {
			t.Fatalf("User status %v: want a generated username and credentials {name: %s-user-credentials}", status, user)
		}
	}) {
		t.FailNow()
	}

	t.Run("credentials", func(t *testing.T) {
		secretPath := "/api/v1/namespaces/" + ns + "/secrets/" + user + "-user-credentials"
		obj, status, err := c.Get(ctx, secretPath)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET %s: %d %v %v", secretPath, status, err, obj["message"])
		}
		data, _ := obj["data"].(map[string]any)
		got := map[string]string{}
		for k, v := range data {
			s, _ := v.(string)
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatalf("%s: data[%s]: %v", secretPath, k, err)
			}
			got[k] = string(b)
		}
		if len(got) != 2 || got["username"] != username || got["password"] == "" {
			t.Fatalf("%s holds keys %v (username %q), want exactly username %q and a password",
				secretPath, slices.Sorted(maps.Keys(got)), got["username"], username)
		}
		password := got["password"]
		md, _ := obj["metadata"].(map[string]any)
		owners, _ := md["ownerReferences"].([]any)
		if len(owners) != 1 || owners[0].(map[string]any)["kind"] != "User" || owners[0].(map[string]any)["name"] != user {
			t.Errorf("%s: ownerReferences %v, want the User %s", secretPath, owners, user)
		}

		// What the tenant's apps do: log in to the vhost with the
		// Secret's credentials; what the Permission grants is enforced.
		conn, err := amqp.DialConfig(rmq.AMQPURL, amqp.Config{
			SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: username, Password: password}},
			Vhost: vhost,
		})
		if err != nil {
			t.Fatalf("AMQP login to vhost %s with the credentials Secret: %v", vhost, err)
		}
		defer func() { _ = conn.Close() }()
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil); err != nil {
			t.Errorf("passive declare of queue %s: %v", queue, err)
		}
		if _, err := ch.QueueDeclare("not-granted", true, false, false, false, nil); err == nil {
			t.Errorf("declaring a queue succeeded, want access refused (configure is ^$)")
		}
	})

	t.Run("in RabbitMQ", func(t *testing.T) {
		v := url.PathEscape(vhost)
		for _, tc := range []struct {
			path string
			want map[string]any // fields of the answer
		}{
			{"/api/vhosts/" + v, map[string]any{"name": vhost}},
			{"/api/users/" + url.PathEscape(username), map[string]any{"name": username, "tags": []any{}}},
			{"/api/permissions/" + v + "/" + url.PathEscape(username), map[string]any{
				"configure": "^$", "write": "^tenant-a\\.", "read": "^orders$",
			}},
			{"/api/exchanges/" + v + "/" + url.PathEscape(exchange), map[string]any{
				"type": "topic", "durable": true, "auto_delete": false,
			}},
			{"/api/queues/" + v + "/" + queue, map[string]any{
				"type": "quorum", "durable": true, "auto_delete": false,
				// JSON numbers in spec.arguments reach RabbitMQ as
				// numbers; spec.type becomes the argument x-queue-type.
				"arguments": map[string]any{
					"x-delivery-limit": 5.0, "x-dead-letter-exchange": "tenant-a.dead-letters", "x-queue-type": "quorum",
				},
			}},
		} {
			status, body := management(t, rmq, tc.path)
			if status != http.StatusOK {
				t.Errorf("GET %s: %d %s", tc.path, status, body)
				continue
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("GET %s: %v", tc.path, err)
			}
			for k := range got {
				if _, ok := tc.want[k]; !ok {
					delete(got, k)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
			}
		}
		bindings := "/api/bindings/" + v + "/e/" + url.PathEscape(exchange) + "/q/" + queue
		status, body := management(t, rmq, bindings)
		var got []struct {
			RoutingKey string `json:"routing_key"`
		}
		if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil ||
			len(got) != 1 || got[0].RoutingKey != "orders.#" {
			t.Errorf("GET %s: %d %s, want one binding with routing key orders.#", bindings, status, body)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.Delete(ctx, "/api/v1/namespaces/"+ns); err != nil {
			t.Fatal(err)
		}
		// The namespace goes once every object in it is gone: once the
		// operator has deleted each from RabbitMQ and dropped its finalizer.
		deadline := time.Now().Add(topologyWait)
		for slices.Contains(c.Namespaces(ctx), ns) {
			if time.Now().After(deadline) {
				var left []string
				for _, o := range objects {
					if obj, status, _ := c.Get(ctx, path(o.resource, o.name)); status == http.StatusOK {
						left = append(left, fmt.Sprintf("%s/%s %v", o.resource, o.name, obj["status"]))
					}
				}
				t.Fatalf("namespace %s still there %s after its delete; objects left: %v", ns, topologyWait, left)
			}
			time.Sleep(200 * time.Millisecond)
		}
		for _, p := range []string{"/api/vhosts/" + url.PathEscape(vhost), "/api/users/" + url.PathEscape(username)} {
			if status, body := management(t, rmq, p); status != http.StatusNotFound {
				t.Errorf("GET %s after the namespace went: %d %s, want 404", p, status, body)
			}
		}
		// The connection Secret's namespace is untouched.
		if _, status, err := c.Get(ctx, "/api/v1/namespaces/"+connNS+"/secrets/"+connSecret); err != nil || status != http.StatusOK {
			t.Errorf("the connection Secret after the tenant's namespace went: %d %v, want 200", status, err)
		}
	})
}

// waitFor polls the object at path until ok holds (what names it) and
// returns it, failing the test after topologyWait.
func waitFor(t *testing.T, c *kubetest.Cluster, path, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(topologyWait)
	for {
		obj, status, err := c.Get(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if status == http.StatusOK && ok(obj) {
			return obj
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s after %s: %d, status %v", path, what, topologyWait, status, obj["status"])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// condition returns the status ("True", "False") of the condition of type
// typ in obj's status.conditions, or "" when there is none.
func condition(obj map[string]any, typ string) string {
	status, _ := obj["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		cond, _ := c.(map[string]any)
		if cond["type"] == typ {
			s, _ := cond["status"].(string)
			return s
		}
	}
	return ""
}

// management GETs path from RabbitMQ's management API as the administrator.
func management(t *testing.T, rmq *rabbittest.Server, path string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rmq.ManagementURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(rmq.AdminUser, rmq.AdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}
