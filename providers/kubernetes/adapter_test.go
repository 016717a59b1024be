package kubernetes_test

import (
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	k8sp "github.com/tenantfleet/tenantfleet/providers/kubernetes"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// conformanceTenant is the scenario's first tenant, defaulted.
func conformanceTenant() components.TenantSpec { return conformance.Tenants()[0].WithDefaults() }

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason string
		edit   func(c *k8sp.Config)
		want   string
	}{
		{"no context and not in-cluster", func(c *k8sp.Config) { c.Context = "" }, "tenantfleet:kubernetes.context: is required"},
		{"both a context and in-cluster", func(c *k8sp.Config) { c.InCluster = true }, "tenantfleet:kubernetes.inCluster: cannot be true with a context"},
		{"no ingress class", func(c *k8sp.Config) { c.Ingress.ClassName = "" }, "tenantfleet:kubernetes.ingress.className"},
		{"a base domain that is one label", func(c *k8sp.Config) { c.Ingress.BaseDomain = "localhost" }, "tenantfleet:kubernetes.ingress.baseDomain"},
		{"a base domain in capitals", func(c *k8sp.Config) { c.Ingress.BaseDomain = "Tenants.Example.com" }, "tenantfleet:kubernetes.ingress.baseDomain"},
		{"no ingress namespace", func(c *k8sp.Config) { c.Ingress.Namespace = "" }, "tenantfleet:kubernetes.ingress.namespace"},
		{"a storage class that is no name", func(c *k8sp.Config) { c.StorageClass = "Fast SSD" }, "tenantfleet:kubernetes.storageClass"},
		{"another database operator", func(c *k8sp.Config) { c.Database.Operator = "zalando" }, "tenantfleet:kubernetes.database.operator: must be cloudnative-pg"},
		{"an image with a tag as repository", func(c *k8sp.Config) { c.Database.ImageRepository = "ghcr.io/cloudnative-pg/postgresql:16" }, "tenantfleet:kubernetes.database.imageRepository"},
		{"another queue operator", func(c *k8sp.Config) { c.Queue.Operator = "strimzi" }, "tenantfleet:kubernetes.queue.operator: must be rabbitmq-messaging-topology"},
		{"the former queue operator", func(c *k8sp.Config) { c.Queue.Operator = "nack" }, "tenantfleet:kubernetes.queue.operator: is no longer supported"},
		{"no AMQP URL", func(c *k8sp.Config) { c.Queue.URL = "" }, "tenantfleet:kubernetes.queue.url: is required"},
		{"an AMQP URL with credentials", func(c *k8sp.Config) { c.Queue.URL = "amqp://admin:secret@rabbitmq:5672" }, "tenantfleet:kubernetes.queue.url: is not amqp://host[:port]"},
		{"an AMQP URL with a vhost", func(c *k8sp.Config) { c.Queue.URL = "amqp://rabbitmq:5672/tenants" }, "tenantfleet:kubernetes.queue.url: is not amqp://host[:port]"},
		{"a NATS URL", func(c *k8sp.Config) { c.Queue.URL = "nats://nats:4222" }, "tenantfleet:kubernetes.queue.url"},
		{"a port out of range", func(c *k8sp.Config) { c.Queue.URL = "amqp://rabbitmq:70000" }, "tenantfleet:kubernetes.queue.url: has no valid port"},
		{"no RabbitMQ namespace", func(c *k8sp.Config) { c.Queue.Namespace = "" }, "tenantfleet:kubernetes.queue.namespace"},
		{"neither a cluster nor a connection secret", func(c *k8sp.Config) { c.Queue.RabbitmqCluster = "" }, "tenantfleet:kubernetes.queue.rabbitmqCluster: is required"},
		{"both a cluster and a connection secret", func(c *k8sp.Config) { c.Queue.ConnectionSecret = "rabbit-admin" }, "tenantfleet:kubernetes.queue.connectionSecret: cannot be set with queue.rabbitmqCluster"},
		{"a cluster name that is no name", func(c *k8sp.Config) { c.Queue.RabbitmqCluster = "Rabbit MQ" }, "tenantfleet:kubernetes.queue.rabbitmqCluster: is not an object name"},
	} {
		c := testConfig()
		tc.edit(&c)
		_, err := k8sp.NewWithConfig(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.reason, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error repeats a password: %v", tc.reason, err)
		}
	}
	if _, err := k8sp.NewWithConfig(testConfig()); err != nil {
		t.Fatalf("the profile's config is refused: %v", err)
	}
}

func TestImages(t *testing.T) {
	t.Parallel()
	a, err := k8sp.NewWithConfig(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	spec := conformanceTenant()
	for ref, want := range map[string]string{
		"tenant-app:dev":                                     "",
		"registry.example.com:5000/team/app:1.2":             "",
		"ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64): "",
		"registry.example.com:5000/team/app":                 "needs a tag or a digest",
		"docker.io/tenantfleet/tenant-app":                   "needs a tag or a digest",
		"docker.io/tenantfleet/tenant-app:latest":            "must not be latest",
		"Docker.io/UPPER/app:1":                              "is not an image reference",
	} {
		s := spec
		s.Web.Image = ref
		err := a.ValidateTenant(s)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: refused: %v", ref, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), "web.image") || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want one naming web.image saying %q", ref, err, want)
		}
	}
}

func TestLabelsAreLabelValuesAndAnnotationsExact(t *testing.T) {
	t.Parallel()
	long := "production-" + strings.Repeat("x", 89)
	for _, v := range []string{"dev", "Prod_EU.2", long, ".hidden", "a--b"} {
		got := naming.KubernetesLabelValue(v)
		if !naming.IsKubernetesLabelValue(got) {
			t.Errorf("KubernetesLabelValue(%q) = %q, not a label value", v, got)
		}
		if naming.IsKubernetesLabelValue(v) && got != v {
			t.Errorf("KubernetesLabelValue(%q) = %q, want it unchanged", v, got)
		}
	}
	if naming.KubernetesLabelValue(long) == naming.KubernetesLabelValue(long+"y") {
		t.Error("two long stack names share a label value")
	}
}

func TestOneSubscriberPerTenantQueue(t *testing.T) {
	t.Parallel()
	a, err := k8sp.NewWithConfig(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	spec := components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{
		{Name: "signups", Tenant: "acme", Filter: &components.FilterSpec{Attribute: "kind", Values: []string{"signup"}}},
		{Name: "upgrades", Tenant: "acme", Filter: &components.FilterSpec{Attribute: "kind", Values: []string{"upgrade"}}},
		{Name: "headers", Filter: &components.FilterSpec{Attribute: "X-Trace", Values: []string{"1"}}},
	}}
	err = a.ValidateFanout(spec)
	for _, want := range []string{"subscribers[1].tenant", "is subscribers[0]'s too", "subscribers[2].filter.attribute", `may not start with "x-"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateFanout: %v, want it to say %q", err, want)
		}
	}
	spec.Subscribers = spec.Subscribers[:1]
	if err := a.ValidateFanout(spec); err != nil {
		t.Errorf("one subscriber into acme's queue: %v", err)
	}
}
