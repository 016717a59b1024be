package kubernetes_test

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	k8sp "github.com/tenantfleet/tenantfleet/providers/kubernetes"
	"github.com/tenantfleet/tenantfleet/providers/kubernetes/kubernetesoffline"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// Namespaces of the profile's cluster services.
const (
	ingressNamespace = "ingress-nginx"
	rabbitNamespace  = "rabbitmq-system"
	cnpgNamespace    = "cnpg-system"
)

// stackConfig is a tenantfleet:kubernetes config: the profile's, with the
// given JSON object members added or replaced.
func stackConfig(members ...string) map[string]string {
	base := map[string]string{
		"context": `"test"`,
		"ingress": fmt.Sprintf(`{"className":"nginx","baseDomain":"tenants.example.com","namespace":%q}`, ingressNamespace),
		"queue":   fmt.Sprintf(`{"url":"amqp://rabbitmq.rabbitmq-system.svc.cluster.local:5672","namespace":%q,"rabbitmqCluster":"rabbitmq"}`, rabbitNamespace),
	}
	for _, m := range members {
		k, v, _ := strings.Cut(m, ":")
		base[strings.Trim(k, `"`)] = v
	}
	var parts []string
	for k, v := range base {
		parts = append(parts, fmt.Sprintf("%q:%s", k, v))
	}
	slices.Sort(parts)
	return map[string]string{"tenantfleet:kubernetes": "{" + strings.Join(parts, ",") + "}"}
}

// profile states facts about pulumi-kubernetes resource types for the conformance suite.
func profile() *conformance.Profile {
	return &conformance.Profile{
		New:     k8sp.New,
		Config:  stackConfig(),
		Outputs: kubernetesoffline.Outputs,
		Kinds: map[string][]string{
			"database":     {k8sp.TypeCluster},
			"queue":        {k8sp.TypeQueue},
			"web":          {k8sp.TypeDeployment},
			"worker":       {k8sp.TypeDeployment},
			"topic":        {k8sp.TypeExchange},
			"subscription": {k8sp.TypeBinding},
		},
		// The provider has no metadata.
		Untaggable:      []string{k8sp.TypeProvider},
		SupportsFilters: true,
		Tags: func(r conformance.Resource) (map[string]string, bool) {
			ann, ok := stringMap(r.Inputs, "metadata.annotations")
			if !ok {
				return nil, false
			}
			return k8sp.TagsOf(ann), true
		},
		Database:         database,
		WorkloadEnv:      workloadEnv,
		SubscriberAccess: subscriberAccess,
		Rules:            k8sp.Rules,
		Variants:         variants,
		InvalidTenants: []conformance.InvalidTenant{
			{Reason: "every tenant's database is a cluster of its own", Field: "database.placement", Mutate: func(s *components.TenantSpec) {
				s.Database.Placement = components.PlacementShared
			}},
			{Reason: "CloudNativePG publishes no PostgreSQL 12 images", Field: "database.version", Mutate: func(s *components.TenantSpec) {
				s.Database.Version = "12"
			}},
			{Reason: "an image without a tag is pulled as latest", Field: "web.image", Mutate: func(s *components.TenantSpec) {
				s.Web.Image = "docker.io/tenantfleet/tenant-app"
			}},
			{Reason: "latest is not a release", Field: "worker.image", Mutate: func(s *components.TenantSpec) {
				s.Worker.Image = "docker.io/tenantfleet/tenant-app:latest"
			}},
			{Reason: "no node has 32 vCPUs to give", Field: "web.cpu", Mutate: func(s *components.TenantSpec) {
				s.Web.CPU, s.Web.MemoryMiB = 32000, 65536
			}},
		},
	}
}

// variants are the adapter's options, each of which the API server must accept.
var variants = []conformance.Variant{
	{Name: "in-cluster, a storage class, TLS by cert-manager", Config: stackConfig(
		`"context":""`, `"inCluster":true`, `"storageClass":"fast-ssd"`,
		fmt.Sprintf(`"ingress":{"className":"nginx","baseDomain":"apps.example.org","namespace":%q,"clusterIssuer":"letsencrypt"}`, ingressNamespace))},
	{Name: "the operators elsewhere", Config: stackConfig(
		`"database":{"operator":"cloudnative-pg","operatorNamespace":"postgres-operator","imageRepository":"registry.example.com/mirror/postgresql"}`,
		`"queue":{"operator":"rabbitmq-messaging-topology","url":"amqps://rabbit.messaging:5671","namespace":"messaging","connectionSecret":"rabbit-admin"}`)},
	{Name: "web apps of a fixed size", Tenants: func(ts []components.TenantSpec) {
		for i := range ts {
			ts[i].Web.MinInstances, ts[i].Web.MaxInstances = 3, 3
		}
	}},
	{Name: "PostgreSQL 17 and 14", Tenants: func(ts []components.TenantSpec) { ts[0].Database.Version, ts[1].Database.Version = "17", "14" }},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	g := conformance.Run(t, profile())
	t.Run("golden graph", func(t *testing.T) {
		t.Parallel()
		conformance.Golden(t, g, ".")
	})
	t.Run("objects are unique per namespace", func(t *testing.T) {
		t.Parallel()
		seen := map[string]string{}
		rabbit := map[string]string{}
		for _, r := range g.Custom() {
			if r.Type == k8sp.TypeProvider {
				continue
			}
			ns, _ := rules.String(resource.NewObjectProperty(r.Inputs), "metadata.namespace")
			name, _ := rules.String(resource.NewObjectProperty(r.Inputs), "metadata.name")
			key := r.Type + " " + ns + "/" + name
			if prev, dup := seen[key]; dup {
				t.Errorf("%s and %s are both %s", prev, r, key)
			}
			seen[key] = r.String()
			// Queues, exchanges, users and policies are named in RabbitMQ
			// too, per vhost (users per broker): one object each.
			switch r.Type {
			case k8sp.TypeQueue, k8sp.TypeExchange, k8sp.TypePolicy, k8sp.TypeUser:
				sn, _ := rules.String(resource.NewObjectProperty(r.Inputs), "spec.name")
				if r.Type == k8sp.TypeUser { // its username is its object's name
					sn = name
				}
				key := r.Type + " " + sn
				if prev, dup := rabbit[key]; dup {
					t.Errorf("%s and %s declare the same RabbitMQ %s", prev, r, key)
				}
				rabbit[key] = r.String()
			}
		}
	})
	t.Run("each queue's user reaches its own queue only", func(t *testing.T) {
		t.Parallel()
		for _, q := range g.OfType(k8sp.TypeQueue) {
			name, _ := rules.String(resource.NewObjectProperty(q.Inputs), "spec.name")
			owner := strings.TrimSuffix(name, ".dead-letter")
			for _, problem := range queueAccess(g, owner, name) {
				t.Error(problem)
			}
		}
	})
	t.Run("every namespaced object is in a namespace of the stack", func(t *testing.T) {
		t.Parallel()
		namespaces := map[string]bool{}
		for _, r := range g.OfType(k8sp.TypeNamespace) {
			name, _ := rules.String(resource.NewObjectProperty(r.Inputs), "metadata.name")
			namespaces[name] = true
		}
		if len(namespaces) != 3 { // the stack's, and one per tenant
			t.Errorf("namespaces %v, want the stack's and one per tenant", namespaces)
		}
		for _, r := range g.Custom() {
			switch r.Type {
			case k8sp.TypeNamespace, k8sp.TypeProvider:
				continue
			}
			ns, _ := rules.String(resource.NewObjectProperty(r.Inputs), "metadata.namespace")
			if !namespaces[ns] {
				t.Errorf("%s is in namespace %q, not one of the stack's", r, ns)
			}
		}
	})
}

// stringMap reads a map of strings at path in inputs.
func stringMap(inputs resource.PropertyMap, path string) (map[string]string, bool) {
	v, ok := rules.Lookup(resource.NewObjectProperty(inputs), path)
	if !ok || !v.IsObject() {
		return nil, false
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		if e.IsString() {
			out[string(k)] = e.StringValue()
		}
	}
	return out, true
}

// namespaceOf is an object's namespace.
func namespaceOf(r conformance.Resource) string {
	ns, _ := rules.String(resource.NewObjectProperty(r.Inputs), "metadata.namespace")
	return ns
}

// database reports what lets anyone but the tenant reach a database
// cluster: a namespace without a default-deny policy, a policy admitting
// pods of other namespaces (other than the operator's, on its status port)
// or addresses to the database's pods, a service exposing it, superuser access.
func database(g *conformance.Graph, r conformance.Resource) []string {
	var problems []string
	in := resource.NewObjectProperty(r.Inputs)
	if on, ok := rules.Lookup(in, "spec.enableSuperuserAccess"); !ok || !on.IsBool() || on.BoolValue() {
		problems = append(problems, "superuser access is not turned off")
	}
	for _, svc := range rules.Elements(in, "spec.managed.services.additional") {
		if typ, _ := rules.String(svc, "serviceTemplate.spec.type"); typ != "" && typ != "ClusterIP" {
			problems = append(problems, "an additional service of type "+typ+" exposes the database")
		}
	}
	ns := namespaceOf(r)
	cluster, _ := rules.String(in, "metadata.name")
	denied := false
	for _, np := range g.OfType(k8sp.TypeNetworkPolicy) {
		if namespaceOf(np) != ns {
			continue
		}
		spec, _ := rules.Lookup(resource.NewObjectProperty(np.Inputs), "spec")
		sel, _ := stringMap(np.Inputs, "spec.podSelector.matchLabels")
		exprs := rules.Elements(spec, "podSelector.matchExpressions")
		all := len(sel) == 0 && len(exprs) == 0
		if all && slices.ContainsFunc(rules.Elements(spec, "policyTypes"), func(v resource.PropertyValue) bool {
			return v.IsString() && v.StringValue() == "Ingress"
		}) && len(rules.Elements(spec, "ingress")) == 0 {
			denied = true
		}
		if !all && sel["cnpg.io/cluster"] != cluster {
			continue // another set of pods
		}
		for _, rule := range rules.Elements(spec, "ingress") {
			from := rules.Elements(rule, "from")
			if len(from) == 0 {
				problems = append(problems, fmt.Sprintf("network policy %s admits every source", np.Name))
			}
			for _, peer := range from {
				if rules.Present(peer, "ipBlock") {
					problems = append(problems, fmt.Sprintf("network policy %s admits addresses (ipBlock)", np.Name))
				}
				if !rules.Present(peer, "namespaceSelector") {
					continue // pods of the database's own namespace
				}
				name, _ := rules.String(peer, "namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name")
				if name == "" {
					if lbl, ok := rules.Lookup(peer, "namespaceSelector.matchLabels"); ok && lbl.IsObject() {
						if v, ok := lbl.ObjectValue()["kubernetes.io/metadata.name"]; ok && v.IsString() {
							name = v.StringValue()
						}
					}
				}
				if name != cnpgNamespace {
					problems = append(problems, fmt.Sprintf("network policy %s admits pods of other namespaces (%q) to the database", np.Name, name))
				}
			}
		}
	}
	if !denied {
		problems = append(problems, "no default-deny network policy in namespace "+ns)
	}
	return problems
}

// workloadEnv reads the environment of a Deployment's containers.
func workloadEnv(r conformance.Resource) []conformance.WorkloadEnv {
	if r.Type != k8sp.TypeDeployment {
		return nil
	}
	var out []conformance.WorkloadEnv
	for _, c := range rules.Elements(resource.NewObjectProperty(r.Inputs), "spec.template.spec.containers") {
		env := conformance.WorkloadEnv{Plain: map[string]string{}}
		for _, e := range rules.Elements(c, "env") {
			name, _ := rules.String(e, "name")
			switch {
			case rules.Present(e, "valueFrom.secretKeyRef"):
				env.Secret = append(env.Secret, name)
			case rules.Present(e, "value"):
				v, _ := rules.Lookup(e, "value")
				env.Plain[name] = conformance.String(v)
			}
		}
		out = append(out, env)
	}
	return out
}

// amqpQuery is one query parameter of an AMQP URL (queue, exchange).
func amqpQuery(raw, key string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Query().Get(key)
}

// subscriberAccess reports what is missing for the queue to receive the
// topic's messages and only those: a binding from the topic's exchange,
// no binding from any exchange but the topic's and the queue's own, and no
// user but the queue's own that may read it or write to its exchange, nor
// any but the topic's publisher that may write to the topic.
func subscriberAccess(g *conformance.Graph, topicID, queueURL, deadLetterURL string) []string {
	topic, q, dlq := amqpQuery(topicID, "exchange"), amqpQuery(queueURL, "queue"), amqpQuery(deadLetterURL, "queue")
	var problems []string
	found := 0
	for _, b := range g.OfType(k8sp.TypeBinding) {
		in := resource.NewObjectProperty(b.Inputs)
		if dest, _ := rules.String(in, "spec.destination"); dest != q {
			continue
		}
		switch src, _ := rules.String(in, "spec.source"); src {
		case topic:
			found++
		case q: // the queue's own exchange, which its senders use
		default:
			problems = append(problems, fmt.Sprintf("queue %s is also bound to exchange %s", q, src))
		}
	}
	if found == 0 {
		problems = append(problems, fmt.Sprintf("queue %s has no binding from the topic's exchange %s", q, topic))
	}
	if dlq == q || dlq == "" {
		problems = append(problems, "the dead-letter queue is not a queue of its own")
	}
	problems = append(problems, queueAccess(g, q, q, dlq)...)
	for _, p := range g.OfType(k8sp.TypePermission) {
		in := resource.NewObjectProperty(p.Inputs)
		user, _ := rules.String(in, "spec.userReference.name")
		if user != topic && permits(in, "write", topic) {
			problems = append(problems, fmt.Sprintf("user %s may publish to the topic %s", user, topic))
		}
	}
	return problems
}

// queueAccess reports every user but owner whose permission reaches the
// RabbitMQ queues or exchanges named: reading them, writing to them, or
// configuring (declaring, deleting, binding) them.
func queueAccess(g *conformance.Graph, owner string, names ...string) []string {
	var problems []string
	for _, p := range g.OfType(k8sp.TypePermission) {
		in := resource.NewObjectProperty(p.Inputs)
		user, _ := rules.String(in, "spec.userReference.name")
		for _, name := range names {
			for _, right := range []string{"configure", "write", "read"} {
				if permits(in, right, name) && (user != owner || right == "configure") {
					problems = append(problems, fmt.Sprintf("user %s may %s %s", user, right, name))
				}
			}
		}
	}
	return problems
}

// permits reports whether a Permission's regular expression for right
// (configure, write, read) matches the resource name, as RabbitMQ matches it.
func permits(in resource.PropertyValue, right, name string) bool {
	re, ok := rules.String(in, "spec.permissions."+right)
	if !ok {
		return false
	}
	m, err := regexp.MatchString(re, name)
	return err != nil || m // an expression RabbitMQ would refuse counts as open
}
