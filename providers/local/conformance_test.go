package local_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/local"
	"github.com/tenantfleet/tenantfleet/providers/local/localoffline"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

// profile states facts about the tenantfleet-local plugin's resource types
// for the conformance suite.
func profile() *conformance.Profile {
	return &conformance.Profile{
		New:     local.New,
		Outputs: localoffline.Outputs,
		Kinds: map[string][]string{
			"database":     {local.DatabaseType},
			"queue":        {local.QueueType},
			"web":          {local.ProcessType},
			"worker":       {local.ProcessType},
			"topic":        {local.TopicType},
			"subscription": {local.SubscriptionType},
		},
		// Every plugin resource takes a tags input.
		Untaggable: nil,
		Tags:       conformance.StringMapInput("tags"),
		NameKeys:   []string{"name"},
		// The runtime's PostgreSQL listens on 127.0.0.1 only and lets only the
		// database's own role connect, by design: nothing in the inputs can
		// open it. What an adapter could get wrong is the password: the plugin
		// generates it, so the program must never pass one in.
		Database: func(_ *conformance.Graph, r conformance.Resource) []string {
			var problems []string
			if _, ok := r.Inputs["password"]; ok {
				problems = append(problems, "a password input is set: the plugin generates the password")
			}
			if v := r.Inputs["name"]; !v.IsString() || v.StringValue() == "" {
				problems = append(problems, "no database name")
			}
			return problems
		},
		WorkloadEnv: processEnv,
		// The local cloud has no access policies: a queue stream receives
		// only what the runtime's own subscriptions source into it, so the
		// rule is that a Subscription links the topic to the queue.
		SubscriberAccess: subscriberAccess,
		SupportsFilters:  false,
		Rules:            append(local.Rules, pluginCheckRules()...),
		// The scenario's images exist (localtest.Images); these do not, and
		// must be refused before the tenant's database and queue are registered.
		InvalidTenants: []conformance.InvalidTenant{
			{Reason: "a web image the local cloud does not have", Field: "web.image",
				Mutate: func(s *components.TenantSpec) { s.Web.Image = "registry.example.com/tenant-app:9.9.9" }},
			{Reason: "a worker image the local cloud does not have", Field: "worker.image",
				Mutate: func(s *components.TenantSpec) { s.Worker.Image = "registry.example.com/no-such-worker:1.0.0" }},
			{Reason: "a worker command not in its image", Field: "worker.command[0]",
				Mutate: func(s *components.TenantSpec) { s.Worker.Command = []string{"/app/no-such-program"} }},
		},
	}
}

//nolint:paralleltest // localtest.Images sets TENANTFLEET_LOCAL_* with t.Setenv.
func TestConformance(t *testing.T) {
	localtest.Images(t, localtest.ScenarioImages...)
	g := conformance.Run(t, profile())
	t.Run("golden graph", func(t *testing.T) { conformance.Golden(t, g, ".") })
}

// processEnv reads a Process's environment: env is plain; secretEnv counts
// as secret only when the whole input is registered as a secret, otherwise
// its variables are plain values (and the suite reports DATABASE_PASSWORD).
func processEnv(r conformance.Resource) []conformance.WorkloadEnv {
	if r.Type != local.ProcessType {
		return nil
	}
	plain, _ := conformance.StringMapInput("env")(r)
	if plain == nil {
		plain = map[string]string{}
	}
	var secret []string
	if v, ok := r.Inputs["secretEnv"]; ok {
		if v.IsSecret() {
			for k := range v.SecretValue().Element.ObjectValue() {
				secret = append(secret, string(k))
			}
		} else if v.IsObject() {
			for k, e := range v.ObjectValue() {
				plain[string(k)] = e.String()
			}
		}
	}
	return []conformance.WorkloadEnv{{Plain: plain, Secret: secret}}
}

// subscriberAccess checks that a Subscription sources the topic (found by its
// URL, the fanout's topic id) into the queue whose URL and dead-letter URL
// the subscriber got.
func subscriberAccess(g *conformance.Graph, topicURL, queueURL, dlqURL string) []string {
	topic := nameWithOutput(g, local.TopicType, "url", topicURL)
	queue := nameWithOutput(g, local.QueueType, "url", queueURL)
	if topic == "" || queue == "" {
		return []string{fmt.Sprintf("no Topic with url %s or no Queue with url %s", topicURL, queueURL)}
	}
	var problems []string
	if dlq := nameWithOutput(g, local.QueueType, "deadLetterUrl", dlqURL); dlq != queue {
		problems = append(problems, fmt.Sprintf("dead-letter queue %s does not belong to queue %s", dlqURL, queue))
	}
	linked := false
	for _, s := range g.OfType(local.SubscriptionType) {
		if s.Inputs["topic"].StringValue() == topic && s.Inputs["queue"].StringValue() == queue {
			linked = true
		}
	}
	if !linked {
		problems = append(problems, fmt.Sprintf("no Subscription delivers topic %s into queue %s", topic, queue))
	}
	return problems
}

func nameWithOutput(g *conformance.Graph, typ string, key resource.PropertyKey, value string) string {
	for _, r := range g.OfType(typ) {
		if v := r.Outputs[key]; v.IsString() && v.StringValue() == value {
			return r.Inputs["name"].StringValue()
		}
	}
	return ""
}

// runtimeName is what the runtime accepts as a name (internal/localcloud's API).
var runtimeName = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)

// TestPhysicalNamesFitTheRuntime checks every name the scenario registers
// against the runtime's rule.
//
//nolint:paralleltest // localtest.Images sets TENANTFLEET_LOCAL_* with t.Setenv.
func TestPhysicalNamesFitTheRuntime(t *testing.T) {
	localtest.Images(t, localtest.ScenarioImages...)
	r := conformance.Check(profile())
	if r.Graph == nil {
		t.Fatalf("the scenario failed: %v", r.Findings)
	}
	for _, res := range r.Graph.Custom() {
		name := res.Inputs["name"].StringValue()
		if !runtimeName.MatchString(name) {
			t.Errorf("%s: name %q breaks the runtime's rule %s", res, name, runtimeName)
		}
	}
}
