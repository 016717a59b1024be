package kubernetes_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantfleet/tenantfleet/providers/kubernetes/kubetest"
	"github.com/tenantfleet/tenantfleet/queue"
	"github.com/tenantfleet/tenantfleet/queue/rabbittest"
)

// receiveWait bounds each wait for a message that must come: generous for
// a loaded 2-core machine; a message that is there returns at once.
const receiveWait = 30 * time.Second

// tenantConn is how a tenant's pods reach their queue: QUEUE_URL and
// DEAD_LETTER_QUEUE_URL as the worker Deployment sets them, and
// QUEUE_PASSWORD read from the Secret its secretKeyRef names, which the
// topology operator generated.
type tenantConn struct {
	url, deadLetterURL, password string
}

// tenantQueue reads tenant's queue connection from its worker Deployment.
func tenantQueue(ctx context.Context, t *testing.T, c *kubetest.Cluster, namespaces []string, tenant string) tenantConn {
	t.Helper()
	for _, ns := range namespaces {
		obj, _, err := c.Get(ctx, "/api/v1/namespaces/"+ns)
		if err != nil {
			t.Fatal(err)
		}
		if nested[map[string]any](obj, "metadata", "annotations")["tenantfleet.dev/tenant"] != tenant {
			continue
		}
		d, _, err := c.Get(ctx, "/apis/apps/v1/namespaces/"+ns+"/deployments/worker")
		if err != nil {
			t.Fatal(err)
		}
		var conn tenantConn
		for _, ct := range nested[[]any](d, "spec", "template", "spec", "containers") {
			for _, e := range nested[[]any](ct.(map[string]any), "env") {
				e := e.(map[string]any)
				switch e["name"] {
				case queue.EnvQueueURL:
					conn.url, _ = e["value"].(string)
				case queue.EnvDeadLetterURL:
					conn.deadLetterURL, _ = e["value"].(string)
				case queue.EnvQueuePassword:
					if e["value"] != nil {
						t.Fatalf("%s: QUEUE_PASSWORD is a plain value, want a secretKeyRef", ns)
					}
					ref := nested[map[string]any](e, "valueFrom", "secretKeyRef")
					conn.password = secretValue(ctx, t, c, ns, ref["name"].(string), ref["key"].(string))
				}
			}
		}
		if conn.url == "" || conn.deadLetterURL == "" || conn.password == "" {
			t.Fatalf("%s: the worker's queue environment is incomplete: %+v", ns, conn)
		}
		return conn
	}
	t.Fatalf("no namespace of tenant %s among %v", tenant, namespaces)
	return tenantConn{}
}

// secretValue reads one key of a Secret.
func secretValue(ctx context.Context, t *testing.T, c *kubetest.Cluster, ns, name, key string) string {
	t.Helper()
	s, _, err := c.Get(ctx, "/api/v1/namespaces/"+ns+"/secrets/"+name)
	if err != nil {
		t.Fatalf("secret %s/%s: %v", ns, name, err)
	}
	v, err := base64.StdEncoding.DecodeString(nested[string](s, "data", key))
	if err != nil || len(v) == 0 {
		t.Fatalf("secret %s/%s has no %s", ns, name, key)
	}
	return string(v)
}

// userOf is the user an AMQP URL names.
func userOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		t.Fatalf("%q names no user", raw)
	}
	return u.User.Username()
}

// withUser is raw with its user replaced.
func withUser(t *testing.T, raw, user string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// checkQueues drives the queues the operator declared through the apps'
// queue client, as the tenants' pods and a publisher would.
func checkQueues(ctx context.Context, t *testing.T, c *kubetest.Cluster, stackNS string, outputs map[string]any, acme, globex tenantConn) {
	t.Helper()
	cfg := func(conn tenantConn) queue.Config {
		return queue.Config{Cloud: queue.CloudKubernetes, URL: conn.url, Password: conn.password}
	}

	t.Run("a tenant sends and receives on its own queue", func(t *testing.T) {
		send(ctx, t, cfg(acme), "hello", map[string]string{"kind": "greeting"})
		m := receiveOne(ctx, t, cfg(acme))
		if string(m.msg.Body) != "hello" || m.msg.Attribute("kind") != "greeting" || m.msg.Deliveries != 1 {
			t.Errorf("received %q %v (delivery %d), want hello with kind=greeting, delivery 1", m.msg.Body, m.msg.Attributes, m.msg.Deliveries)
		}
		m.ack(ctx, t)
	})

	t.Run("a tenant's credentials reach no other tenant's queue", func(t *testing.T) {
		send(ctx, t, cfg(globex), "globex's own", nil)
		// acme's user and password, globex's queue and exchange.
		intruder := queue.Config{Cloud: queue.CloudKubernetes, URL: withUser(t, globex.url, userOf(t, acme.url)), Password: acme.password}
		if r, err := queue.OpenReceiver(ctx, intruder); err == nil {
			msgs, err := r.Receive(ctx, 1, time.Second)
			_ = r.Close()
			if err == nil {
				t.Errorf("acme's user consumed from globex's queue: %d messages", len(msgs))
			}
		}
		if s, err := queue.OpenSender(ctx, intruder); err == nil {
			_, err := s.Send(ctx, queue.Outgoing{Body: []byte("forged")})
			_ = s.Close()
			if err == nil {
				t.Error("acme's user published to globex's exchange")
			}
		}
		// globex's user with acme's password.
		if r, err := queue.OpenReceiver(ctx, queue.Config{Cloud: queue.CloudKubernetes, URL: globex.url, Password: acme.password}); err == nil {
			if _, err := r.Receive(ctx, 1, time.Second); err == nil {
				t.Error("globex's user signed in with acme's password")
			}
			_ = r.Close()
		}
		m := receiveOne(ctx, t, cfg(globex))
		if string(m.msg.Body) != "globex's own" {
			t.Errorf("globex's queue holds %q, want only its own message", m.msg.Body)
		}
		m.ack(ctx, t)
	})

	t.Run("the broker dead-letters after maxReceiveCount deliveries", func(t *testing.T) {
		send(ctx, t, cfg(acme), "poison", nil)
		const maxReceiveCount = 5 // acme's default
		r, err := queue.OpenReceiver(ctx, cfg(acme))
		if err != nil {
			t.Fatal(err)
		}
		for want := 1; want <= maxReceiveCount; want++ {
			msgs, err := r.Receive(ctx, 1, receiveWait)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("delivery %d: %d messages, %v", want, len(msgs), err)
			}
			if m := msgs[0]; string(m.Body) != "poison" || m.Deliveries != want {
				t.Fatalf("delivery %d: %q (deliveries %d)", want, m.Body, m.Deliveries)
			}
			if err := r.Nack(ctx, msgs[0], 0); err != nil {
				t.Fatal(err)
			}
		}
		_ = r.Close()
		dead := receiveOne(ctx, t, queue.Config{Cloud: queue.CloudKubernetes, URL: acme.deadLetterURL, Password: acme.password})
		if string(dead.msg.Body) != "poison" {
			t.Errorf("dead-letter queue holds %q, want poison", dead.msg.Body)
		}
		dead.ack(ctx, t)
	})

	t.Run("the fanout delivers to every subscriber, filters applied", func(t *testing.T) {
		fanout, _ := outputs["fanout"].(map[string]any)
		topicURL, _ := fanout["topicId"].(string)
		billingURL, _ := fanout["queueUrls"].(map[string]any)["billing"].(string)
		if topicURL == "" || billingURL == "" {
			t.Fatalf("fanout outputs %v lack the topic or billing's queue", fanout)
		}
		publish(ctx, t, c, stackNS, outputs, "signup", "other", "upgrade")
		billing := queue.Config{Cloud: queue.CloudKubernetes, URL: billingURL,
			Password: secretValue(ctx, t, c, stackNS, userOf(t, billingURL)+"-user-credentials", "password")}
		for name, want := range map[string]struct {
			cfg    queue.Config
			bodies []string
		}{
			"billing (its own queue, no filter)": {billing, []string{"event 1", "event 2", "event 3"}},
			"acme (its work queue, no filter)":   {cfg(acme), []string{"event 1", "event 2", "event 3"}},
			// event 2 was routed before event 3: had the filter let it
			// through, it would come between 1 and 3.
			"globex (kind signup or upgrade)": {cfg(globex), []string{"event 1", "event 3"}},
		} {
			var got []string
			for range want.bodies {
				m := receiveOne(ctx, t, want.cfg)
				got = append(got, string(m.msg.Body))
				m.ack(ctx, t)
			}
			if !slices.Equal(got, want.bodies) {
				t.Errorf("%s received %q, want %q", name, got, want.bodies)
			}
		}
		// Only the publisher may publish to the topic.
		intruder := queue.TopicConfig{Cloud: queue.CloudKubernetes, Topic: withUser(t, topicURL, userOf(t, acme.url)), Password: acme.password}
		if s, err := queue.OpenTopic(ctx, intruder); err == nil {
			if _, err := s.Send(ctx, queue.Outgoing{Body: []byte("forged")}); err == nil {
				t.Error("acme's user published to the topic")
			}
			_ = s.Close()
		}
	})
}

// publish publishes one message per kind to the stack's fanout topic as
// its publisher user ("event <n>", attribute kind), as `tenantfleet publish`
// does.
func publish(ctx context.Context, t *testing.T, c *kubetest.Cluster, stackNS string, outputs map[string]any, kinds ...string) {
	t.Helper()
	fanout, _ := outputs["fanout"].(map[string]any)
	topicURL, _ := fanout["topicId"].(string)
	publisher := queue.TopicConfig{Cloud: queue.CloudKubernetes, Topic: topicURL,
		Password: secretValue(ctx, t, c, stackNS, userOf(t, topicURL)+"-user-credentials", "password")}
	topic, err := queue.OpenTopic(ctx, publisher)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = topic.Close() }()
	for i, kind := range kinds {
		if _, err := topic.Send(ctx, queue.Outgoing{Body: fmt.Appendf(nil, "event %d", i+1), Attributes: map[string]string{"kind": kind}}); err != nil {
			t.Fatal(err)
		}
	}
}

// send sends one message through a fresh sender.
func send(ctx context.Context, t *testing.T, c queue.Config, body string, attrs map[string]string) {
	t.Helper()
	s, err := queue.OpenSender(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.Send(ctx, queue.Outgoing{Body: []byte(body), Attributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

// received is one message and the receiver holding it.
type received struct {
	r   queue.Receiver
	msg queue.Message
}

func (m received) ack(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := m.r.Ack(ctx, m.msg); err != nil {
		t.Fatal(err)
	}
	_ = m.r.Close()
}

// receiveOne opens a receiver and takes one message, which must come.
func receiveOne(ctx context.Context, t *testing.T, c queue.Config) received {
	t.Helper()
	r, err := queue.OpenReceiver(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.Receive(ctx, 1, receiveWait)
	if err != nil || len(msgs) != 1 {
		_ = r.Close()
		t.Fatalf("receive from %s: %d messages, %v", c.URL, len(msgs), err)
	}
	return received{r: r, msg: msgs[0]}
}

// stackNamespace is the one of namespaces that is the stack's, not a tenant's.
func stackNamespace(ctx context.Context, t *testing.T, c *kubetest.Cluster, namespaces []string) string {
	t.Helper()
	for _, ns := range namespaces {
		obj, _, err := c.Get(ctx, "/api/v1/namespaces/"+ns)
		if err != nil {
			t.Fatal(err)
		}
		if nested[map[string]any](obj, "metadata", "labels")["tenantfleet.dev/component"] != "tenant-unit" {
			return ns
		}
	}
	t.Fatalf("no stack namespace among %v", namespaces)
	return ""
}

// notReady describes every RabbitMQ object of the cluster that is not
// Ready, with its status: what an up that waited in vain waited for.
func notReady(ctx context.Context, c *kubetest.Cluster) string {
	var b strings.Builder
	for _, kind := range []string{"vhosts", "users", "permissions", "policies", "queues", "exchanges", "bindings"} {
		for _, obj := range c.List(ctx, "/apis/rabbitmq.com/v1beta1/"+kind) {
			if !ready(obj) {
				fmt.Fprintf(&b, "not Ready: %s %s/%s: %v\n", kind, nested[string](obj, "metadata", "namespace"),
					nested[string](obj, "metadata", "name"), nested[any](obj, "status"))
			}
		}
	}
	return b.String()
}

// ready reports whether an operator's object has the condition Ready True.
func ready(obj map[string]any) bool {
	for _, c := range nested[[]any](obj, "status", "conditions") {
		if c, ok := c.(map[string]any); ok && c["type"] == "Ready" && c["status"] == "True" {
			return true
		}
	}
	return false
}

// managementNames lists the names at a RabbitMQ management API path
// (/api/vhosts, /api/users), sorted.
func managementNames(ctx context.Context, t *testing.T, s *rabbittest.Server, path string) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.ManagementURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.AdminUser, s.AdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var items []struct {
		Name string `json:"name"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	slices.Sort(out)
	return out
}
