package azure_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/azure"
	"github.com/tenantfleet/tenantfleet/providers/azure/azureoffline"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

const (
	serverType       = "azure-native:dbforpostgresql:Server"
	containerAppType = "azure-native:app:ContainerApp"
	namespaceType    = "azure-native:servicebus:Namespace"
	topicType        = "azure-native:servicebus:Topic"
	subscriptionType = "azure-native:servicebus:Subscription"
)

// profile states facts about azure-native resource types for the conformance suite.
func profile() *conformance.Profile {
	return &conformance.Profile{
		New:     azure.New,
		Config:  map[string]string{"tenantfleet:azure": `{"location":"westeurope"}`},
		Outputs: azureoffline.Outputs,
		Invoke:  azureoffline.Invoke,
		Kinds: map[string][]string{
			"database":     {serverType},
			"queue":        {"azure-native:servicebus:Queue"},
			"web":          {containerAppType},
			"worker":       {containerAppType},
			"topic":        {topicType},
			"subscription": {subscriptionType},
		},
		// These types have no tags argument: child entities of a server, a
		// network or a namespace, RBAC and locks, and random's resources.
		Untaggable: []string{
			"azure-native:network:Subnet", "azure-native:dbforpostgresql:Database",
			"azure-native:servicebus:Queue", topicType, subscriptionType, "azure-native:servicebus:Rule",
			"azure-native:authorization:RoleAssignment", "azure-native:authorization:ManagementLockByScope",
			"random:index/randomPassword:RandomPassword",
		},
		Tags: conformance.StringMapInput("tags"),
		// Input keys naming a resource of their own type only (resourceGroupName,
		// namespaceName, topicName are also a child's reference to its parent).
		NameKeys: []string{"serverName", "databaseName", "queueName", "containerAppName", "resourceName", "subscriptionName", "environmentName", "workspaceName", "deploymentName"},
		Database: func(_ *conformance.Graph, r conformance.Resource) []string {
			var problems []string
			network := conformance.Object(r.Inputs["network"])
			if s := network["publicNetworkAccess"]; !s.IsString() || s.StringValue() != "Disabled" {
				problems = append(problems, "publicNetworkAccess is not Disabled: the server is reachable from the internet")
			}
			if s := network["delegatedSubnetResourceId"]; !s.IsString() && !s.IsComputed() && !s.IsOutput() {
				problems = append(problems, "the server is not in a delegated subnet: no app could reach it")
			}
			if v, ok := r.Inputs["administratorLoginPassword"]; !ok || !v.IsSecret() {
				problems = append(problems, "the admin password input is not a secret")
			}
			if v := conformance.Object(r.Inputs["backup"])["backupRetentionDays"]; !v.IsNumber() || v.NumberValue() < 7 {
				problems = append(problems, "backup retention is not set (at least 7 days)")
			}
			return problems
		},
		WorkloadEnv:      containerAppEnv,
		SubscriberAccess: subscriberAccess,
		SupportsFilters:  true,
		Rules:            azure.Rules,
		// The Azure adapter has one stack option (tenantfleet:azure.location);
		// these variants add what reaches Azure names beyond the neutral ones.
		Variants: []conformance.Variant{
			// Tenant ids that are valid DNS labels and name the databases
			// every flexible server already has.
			{Name: "tenant ids that name a flexible server's own databases", Tenants: func(ts []components.TenantSpec) {
				ts[0].ID, ts[1].ID = "postgres", "template1"
			}},
			// Pulumi stack names may start with an underscore
			// (sdk/go/common/tokens/stack_name.go: [A-Za-z0-9_.-]{1,100});
			// Service Bus entity names must start with a letter or digit.
			{Name: "stack starting with an underscore", Stack: "_prod"},
			{Name: "another location", Config: map[string]string{"tenantfleet:azure": `{"location":"swedencentral"}`}},
		},
		InvalidTenants: []conformance.InvalidTenant{
			{Reason: "Container Apps has no 0.5 vCPU / 2 GiB size", Field: "web.memoryMiB", Mutate: func(s *components.TenantSpec) {
				s.Web.CPU, s.Web.MemoryMiB = 500, 2048
			}},
			{Reason: "Service Bus locks last at most 5 minutes", Field: "queue.visibilityTimeoutSeconds", Mutate: func(s *components.TenantSpec) {
				s.Queue.VisibilityTimeoutSeconds = 600
			}},
			{Reason: "flexible server keeps backups at least 7 days", Field: "database.backupRetentionDays", Mutate: func(s *components.TenantSpec) {
				s.Database.BackupRetentionDays = 3
			}},
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	g := conformance.Run(t, profile())
	t.Run("golden graph", func(t *testing.T) { conformance.Golden(t, g, ".") })
}

// containerAppEnv reads the environment of a Container App's only container:
// plain values, and the variables that reference a Container Apps secret
// (secretRef) whose value is a Pulumi secret.
func containerAppEnv(r conformance.Resource) []conformance.WorkloadEnv {
	if r.Type != containerAppType {
		return nil
	}
	containers := conformance.Array(conformance.Object(r.Inputs["template"])["containers"])
	if len(containers) != 1 {
		return nil
	}
	// The SDK marks the whole configuration secret when a secret is inside it.
	configuration := r.Inputs["configuration"]
	secrets := map[string]bool{}
	for _, s := range conformance.Array(conformance.Object(configuration)["secrets"]) {
		o := conformance.Object(s)
		if o["name"].IsString() && (o["value"].IsSecret() || configuration.IsSecret()) {
			secrets[o["name"].StringValue()] = true
		}
	}
	plain := map[string]string{}
	var secret []string
	for _, e := range conformance.Array(conformance.Object(containers[0])["env"]) {
		o := conformance.Object(e)
		name := o["name"].StringValue()
		if ref := o["secretRef"]; ref.IsString() {
			if secrets[ref.StringValue()] {
				secret = append(secret, name)
			}
			continue
		}
		v := o["value"]
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if v.IsString() {
			plain[name] = v.StringValue()
		}
	}
	return []conformance.WorkloadEnv{{Plain: plain, Secret: secret}}
}

// subscriberAccess checks that a subscription of the topic forwards into the
// queue, that the dead-letter queue is the queue's own sub-queue, and that
// the namespace has no SAS keys (only RBAC can send).
func subscriberAccess(g *conformance.Graph, topicID, queueURL, dlqURL string) []string {
	var problems []string
	if dlqURL != queueURL+"/$DeadLetterQueue" {
		problems = append(problems, fmt.Sprintf("dead-letter URL %s is not the $DeadLetterQueue of %s", dlqURL, queueURL))
	}
	u, err := url.Parse(queueURL)
	if err != nil || !strings.HasSuffix(u.Host, ".servicebus.windows.net") {
		return append(problems, fmt.Sprintf("queue URL %s is not a Service Bus URL", queueURL))
	}
	namespace, queue := strings.TrimSuffix(u.Host, ".servicebus.windows.net"), strings.TrimPrefix(u.Path, "/")
	topicName := ""
	for _, t := range g.OfType(topicType) {
		if t.ID == topicID {
			topicName = t.Inputs["topicName"].StringValue()
		}
	}
	forwarded := false
	for _, s := range g.OfType(subscriptionType) {
		if topicName != "" && s.Inputs["topicName"].StringValue() == topicName && s.Inputs["forwardTo"].StringValue() == queue {
			forwarded = true
		}
	}
	if !forwarded {
		problems = append(problems, fmt.Sprintf("no subscription of topic %s forwards into queue %s", topicID, queue))
	}
	for _, ns := range g.OfType(namespaceType) {
		if ns.Inputs["namespaceName"].StringValue() != namespace {
			continue
		}
		if v := ns.Inputs["disableLocalAuth"]; !v.IsBool() || !v.BoolValue() {
			problems = append(problems, fmt.Sprintf("namespace %s allows SAS keys (disableLocalAuth is not true)", namespace))
		}
	}
	for _, typ := range []string{"NamespaceAuthorizationRule", "QueueAuthorizationRule", "TopicAuthorizationRule"} {
		if n := len(g.OfType("azure-native:servicebus:" + typ)); n > 0 {
			problems = append(problems, fmt.Sprintf("%d SAS %s resources exist", n, typ))
		}
	}
	return problems
}
