package gcp_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/gcp"
	"github.com/tenantfleet/tenantfleet/providers/gcp/gcpoffline"
)

const (
	instanceType       = "gcp:sql/databaseInstance:DatabaseInstance"
	userType           = "gcp:sql/user:User"
	serviceType        = "gcp:cloudrunv2/service:Service"
	topicType          = "gcp:pubsub/topic:Topic"
	subscriptionType   = "gcp:pubsub/subscription:Subscription"
	topicMemberType    = "gcp:pubsub/topicIAMMember:TopicIAMMember"
	subMemberType      = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
	triggerType        = "gcp:eventarc/trigger:Trigger"
	workflowType       = "gcp:workflows/workflow:Workflow"
	publishConnector   = "googleapis.pubsub.v1.projects.topics.publish"
	testProject        = "tenantfleet-test"
	testRegion         = "europe-west1"
	publisherRole      = "roles/pubsub.publisher"
	subscriberRole     = "roles/pubsub.subscriber"
	subscriptionPrefix = "projects/" + testProject + "/subscriptions/"
)

// profile states facts about pulumi-gcp resource types for the conformance suite.
func profile() *conformance.Profile {
	return &conformance.Profile{
		New:     gcp.New,
		Config:  map[string]string{"tenantfleet:gcp": fmt.Sprintf(`{"project":%q,"region":%q}`, testProject, testRegion)},
		Outputs: gcpoffline.Outputs,
		Invoke:  gcpoffline.Invoke,
		Kinds: map[string][]string{
			"database":     {instanceType, userType},
			"queue":        {subscriptionType},
			"web":          {serviceType},
			"worker":       {serviceType},
			"topic":        {topicType},
			"subscription": {subscriptionType, triggerType},
		},
		// These types have no labels argument: networks and subnetworks (only
		// instances of Compute carry labels), the peering, a database and user
		// inside an instance, secret versions, service accounts, every IAM
		// member, and random's resources.
		Untaggable: []string{
			"gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork", "gcp:servicenetworking/connection:Connection",
			"gcp:sql/database:Database", userType, "gcp:secretmanager/secretVersion:SecretVersion",
			"gcp:serviceaccount/account:Account", "gcp:serviceaccount/iAMMember:IAMMember", "gcp:projects/iAMMember:IAMMember",
			"gcp:secretmanager/secretIamMember:SecretIamMember", topicMemberType, subMemberType,
			"gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "random:index/randomPassword:RandomPassword",
		},
		Tags: labelsOf,
		// "name" names a resource of its own type everywhere it is used here;
		// service accounts are named by accountId. (secretId also names a
		// secret's IAM members, which share it, so it cannot be listed.)
		NameKeys:         []string{"name", "accountId"},
		Database:         database,
		WorkloadEnv:      cloudRunEnv,
		SubscriberAccess: subscriberAccess,
		SupportsFilters:  true,
		Rules:            gcp.Rules,
		Variants:         variants(),
		InvalidTenants: []conformance.InvalidTenant{
			{Reason: "Pub/Sub dead-letters after 5 to 100 delivery attempts", Field: "queue.maxReceiveCount", Mutate: func(s *components.TenantSpec) {
				s.Queue.MaxReceiveCount = 3
			}},
			{Reason: "Pub/Sub ack deadlines are at most 600 seconds", Field: "queue.visibilityTimeoutSeconds", Mutate: func(s *components.TenantSpec) {
				s.Queue.VisibilityTimeoutSeconds = 700
			}},
			{Reason: "a subscription keeps messages at most 7 days", Field: "queue.retentionSeconds", Mutate: func(s *components.TenantSpec) {
				s.Queue.RetentionSeconds = 10 * 24 * 3600
			}},
			{Reason: "Cloud Run gives 1 vCPU at most 4 GiB", Field: "web.memoryMiB", Mutate: func(s *components.TenantSpec) {
				s.Web.CPU, s.Web.MemoryMiB = 1000, 8192
			}},
			{Reason: "Cloud Run gives 4 vCPU at most 16 GiB", Field: "worker.memoryMiB", Mutate: func(s *components.TenantSpec) {
				s.Worker.CPU, s.Worker.MemoryMiB = 4000, 32768
			}},
			{Reason: "Cloud Run sets K_SERVICE itself", Field: "worker.env.K_SERVICE", Mutate: func(s *components.TenantSpec) {
				s.Worker.Env = map[string]string{"K_SERVICE": "x"}
			}},
			{Reason: "every Cloud SQL instance has a postgres database and role", Field: "id", Mutate: func(s *components.TenantSpec) {
				s.ID = "postgres"
			}},
		},
	}
}

// variants are the adapter's own ways to run the provider-rules check: its
// stack config (the longest project id, a long region name), and tenant ids
// ValidateTenant accepts that come near names PostgreSQL or Cloud SQL keep:
// pg-monitor (a pg_ role name, which naming shapes) and cloudsqllogical (a
// role Cloud SQL creates only for logical replication, which the adapter
// never turns on: the tenant keeps it as its user name).
func variants() []conformance.Variant {
	config := func(project, region string) map[string]string {
		return map[string]string{"tenantfleet:gcp": fmt.Sprintf(`{"project":%q,"region":%q}`, project, region)}
	}
	return []conformance.Variant{
		{Name: "project id of the longest length", Config: config("p"+strings.Repeat("x", 28)+"9", testRegion)},
		{Name: "region with a long name", Config: config(testProject, "northamerica-northeast2")},
		{Name: "tenant ids that are PostgreSQL or Cloud SQL role names", Tenants: func(ts []components.TenantSpec) {
			ts[0].ID, ts[1].ID = "pg-monitor", "cloudsqllogical"
		}},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	g := conformance.Run(t, profile())
	t.Run("golden graph", func(t *testing.T) { conformance.Golden(t, g, ".") })
}

// labelsOf reads a resource's labels: settings.userLabels on a Cloud SQL
// instance, labels everywhere else.
func labelsOf(r conformance.Resource) (map[string]string, bool) {
	if r.Type == instanceType {
		return conformance.StringMapInput("userLabels")(conformance.Resource{Inputs: conformance.Object(r.Inputs["settings"])})
	}
	return conformance.StringMapInput("labels")(r)
}

// database reports what would make a Cloud SQL instance reachable from the
// internet, unencrypted or unrecoverable, and a user's password in plaintext.
func database(_ *conformance.Graph, r conformance.Resource) []string {
	var problems []string
	if r.Type == userType {
		if v, ok := r.Inputs["password"]; !ok || !v.IsSecret() {
			problems = append(problems, "the user's password input is not a secret")
		}
		return problems
	}
	settings := conformance.Object(r.Inputs["settings"])
	ip := conformance.Object(settings["ipConfiguration"])
	if v := ip["ipv4Enabled"]; !v.IsBool() || v.BoolValue() {
		problems = append(problems, "ipConfiguration.ipv4Enabled is not false: the instance has a public IPv4 address")
	}
	if n := len(conformance.Array(ip["authorizedNetworks"])); n > 0 {
		problems = append(problems, fmt.Sprintf("%d authorized networks may connect from outside the VPC", n))
	}
	if v := ip["privateNetwork"]; !v.IsString() && !v.IsComputed() && !v.IsOutput() {
		problems = append(problems, "ipConfiguration.privateNetwork is not set: no workload could reach the instance")
	}
	if v := ip["sslMode"]; !v.IsString() || (v.StringValue() != "ENCRYPTED_ONLY" && v.StringValue() != "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") {
		problems = append(problems, "ipConfiguration.sslMode does not require TLS")
	}
	backup := conformance.Object(settings["backupConfiguration"])
	if v := backup["enabled"]; !v.IsBool() || !v.BoolValue() {
		problems = append(problems, "automated backups are not enabled")
	}
	if v := backup["pointInTimeRecoveryEnabled"]; !v.IsBool() || !v.BoolValue() {
		problems = append(problems, "point-in-time recovery is not enabled")
	}
	if v, ok := r.Inputs["rootPassword"]; ok && !v.IsSecret() {
		problems = append(problems, "the root password input is not a secret")
	}
	return problems
}

// cloudRunEnv reads the environment the only container of a Cloud Run
// service gets: plain env values, the variables read from Secret Manager
// (valueSource.secretKeyRef), and PORT, which Cloud Run sets itself to the
// declared container port (and refuses in env).
func cloudRunEnv(r conformance.Resource) []conformance.WorkloadEnv {
	if r.Type != serviceType {
		return nil
	}
	containers := conformance.Array(conformance.Object(r.Inputs["template"])["containers"])
	if len(containers) != 1 {
		return nil
	}
	c := conformance.Object(containers[0])
	plain := map[string]string{}
	var secret []string
	for _, e := range conformance.Array(c["envs"]) {
		o := conformance.Object(e)
		name := conformance.String(o["name"])
		if ref := conformance.Object(conformance.Object(o["valueSource"])["secretKeyRef"]); conformance.String(ref["secret"]) != "" {
			secret = append(secret, name)
			continue
		}
		if v := o["value"]; v.IsString() || (v.IsSecret() && v.SecretValue().Element.IsString()) {
			plain[name] = conformance.String(v)
		}
	}
	for _, p := range conformance.Array(c["ports"]) {
		if port := conformance.Object(p)["containerPort"]; port.IsNumber() {
			plain[components.EnvPort] = fmt.Sprint(port.NumberValue())
		}
	}
	return []conformance.WorkloadEnv{{Plain: plain, Secret: secret}}
}

// subscriberAccess checks that messages of the topic reach the queue and
// only it, and that the queue dead-letters into its dead-letter queue:
//   - the queue is a subscription; either it is on the topic, or an Eventarc
//     trigger on the topic runs a workflow that publishes into the queue's
//     topic, as an identity allowed to publish there;
//   - its dead-letter policy names the dead-letter subscription's topic,
//     another topic than its own;
//   - the Pub/Sub service agent may publish to that dead-letter topic and
//     acknowledge on the queue's subscription.
func subscriberAccess(g *conformance.Graph, topicID, queueURL, dlqURL string) []string {
	var problems []string
	queue, ok := subscriptionNamed(g, queueURL)
	if !ok {
		return []string{fmt.Sprintf("no subscription %s exists", queueURL)}
	}
	dlq, ok := subscriptionNamed(g, dlqURL)
	if !ok {
		return []string{fmt.Sprintf("no dead-letter subscription %s exists", dlqURL)}
	}
	queueTopic, dlqTopic := conformance.String(queue.Inputs["topic"]), conformance.String(dlq.Inputs["topic"])
	if got := conformance.String(conformance.Object(queue.Inputs["deadLetterPolicy"])["deadLetterTopic"]); got == "" || got != dlqTopic || got == queueTopic {
		problems = append(problems, fmt.Sprintf("%s dead-letters into %q, want the dead-letter topic %s", queueURL, got, dlqTopic))
	}
	if !granted(g, topicMemberType, "topic", dlqTopic, publisherRole, gcpoffline.PubSubServiceAgent) {
		problems = append(problems, fmt.Sprintf("the Pub/Sub service agent may not publish to the dead-letter topic %s", dlqTopic))
	}
	if !granted(g, subMemberType, "subscription", conformance.String(queue.Inputs["name"]), subscriberRole, gcpoffline.PubSubServiceAgent) {
		problems = append(problems, fmt.Sprintf("the Pub/Sub service agent may not acknowledge on %s to dead-letter", queueURL))
	}
	if queueTopic != topicID && !relays(g, topicID, queueTopic) {
		problems = append(problems, fmt.Sprintf("%s is not a subscription of topic %s, and no Eventarc trigger on the topic relays into its topic %s", queueURL, topicID, queueTopic))
	}
	return problems
}

func subscriptionNamed(g *conformance.Graph, full string) (conformance.Resource, bool) {
	name, ok := strings.CutPrefix(full, subscriptionPrefix)
	for _, s := range g.OfType(subscriptionType) {
		if ok && conformance.String(s.Inputs["name"]) == name && conformance.String(s.Inputs["project"]) == testProject {
			return s, true
		}
	}
	return conformance.Resource{}, false
}

// granted reports whether an IAM member resource of typ gives member role
// on the resource named target (by its full or short name).
func granted(g *conformance.Graph, typ, key, target, role, member string) bool {
	short := target[strings.LastIndex(target, "/")+1:]
	for _, m := range g.OfType(typ) {
		on := conformance.String(m.Inputs[resource.PropertyKey(key)])
		if (on == target || on == short) && conformance.String(m.Inputs["role"]) == role && conformance.String(m.Inputs["member"]) == member {
			return true
		}
	}
	return false
}

// relays reports whether an Eventarc trigger on topic runs a workflow that
// publishes into target, as a service account allowed to publish there.
func relays(g *conformance.Graph, topic, target string) bool {
	for _, t := range g.OfType(triggerType) {
		if conformance.String(conformance.Object(conformance.Object(t.Inputs["transport"])["pubsub"])["topic"]) != topic {
			continue
		}
		for _, w := range g.OfType(workflowType) {
			if w.ID != conformance.String(conformance.Object(t.Inputs["destination"])["workflow"]) {
				continue
			}
			identity := "serviceAccount:" + conformance.String(w.Inputs["serviceAccount"])
			if slices.Contains(publishTargets(conformance.String(w.Inputs["sourceContents"])), target) &&
				granted(g, topicMemberType, "topic", target, publisherRole, identity) {
				return true
			}
		}
	}
	return false
}

// publishTargets lists the topics a workflow source publishes to through the
// Pub/Sub connector.
func publishTargets(source string) []string {
	var doc any
	if err := yaml.Unmarshal([]byte(source), &doc); err != nil {
		return nil
	}
	var topics []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["call"] == publishConnector {
				if args, ok := v["args"].(map[string]any); ok {
					if t, ok := args["topic"].(string); ok {
						topics = append(topics, t)
					}
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return topics
}
