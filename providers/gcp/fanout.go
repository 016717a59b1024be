package gcp

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/eventarc"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/pubsub"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/workflows"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// The relay's pieces: the event Eventarc delivers for a Pub/Sub message, and
// the Workflows connector that publishes.
const (
	messagePublishedEvent = "google.cloud.pubsub.topic.v1.messagePublished"
	publishConnector      = "googleapis.pubsub.v1.projects.topics.publish"
)

// Topic implements components.FanoutProvisioner: a Pub/Sub topic. Its ID is
// the topic's full name, projects/P/topics/T, what publishers publish to.
func (a *Adapter) Topic(ctx *pulumi.Context, name string, in components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	topic, err := pubsub.NewTopic(ctx, name, &pubsub.TopicArgs{
		Name:    pulumi.String(naming.GCP.PubSub.Unique(in.Scope.Stack, in.Name)),
		Project: a.project(),
		Labels:  labels(in.Scope),
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("Pub/Sub topic: %w", err)
	}
	return &components.Topic{ID: topicName(topic), Native: map[string]pulumi.Resource{"topic": topic}}, nil
}

// Subscribe implements components.FanoutProvisioner.
//
// A subscriber with a queue of its own receives in a pull subscription on
// the fanout topic, named as Queue named it, with the subscriber's queue
// settings, its dead-letter topic, and the filter as a native Pub/Sub filter
// (attributes.attr = "v1" OR attributes.attr = "v2"; messages that do not
// match are acknowledged for it). A subscription only ever receives its own
// topic's messages: nothing else can write into that queue.
//
// A subscriber naming a tenant receives in the tenant's work queue, which
// is a subscription on the tenant's own topic. Pub/Sub cannot forward one
// topic into another, so an Eventarc trigger on the fanout topic runs a
// relay workflow for every message, which applies the filter and republishes
// the data and attributes into the tenant's topic. See the package doc for
// its delivery guarantees.
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	if in.Subscriber.Tenant != "" {
		return a.relay(ctx, name, in, parent)
	}
	prefix := "projects/" + a.cfg.Project + "/subscriptions/"
	subID := in.Queue.URL.ApplyT(func(url string) (string, error) {
		if !strings.HasPrefix(url, prefix) {
			return "", fmt.Errorf("gcp: queue %s is not a subscription of project %s", url, a.cfg.Project)
		}
		return strings.TrimPrefix(url, prefix), nil
	}).(pulumi.StringOutput)
	var filter string
	if f := in.Subscriber.Filter; f != nil {
		filter = filterExpression(f)
	}
	sub, err := a.subscription(ctx, name+"-subscription", subscriptionArgs{
		scope: in.Scope, name: subID, topic: in.Topic.ID, spec: in.Subscriber.Queue.WithDefaults(),
		deadLetterTopic: in.Queue.DeadLetterID, filter: filter,
	}, childOptions(parent)...)
	if err != nil {
		return nil, err
	}
	return &components.Subscription{Native: map[string]pulumi.Resource{
		"subscription": sub.subscription, "agent-subscriber": sub.agentSubscribes,
	}}, nil
}

// filterExpression is the Pub/Sub filter keeping messages whose attribute
// equals one of the values, with every value a quoted string literal.
func filterExpression(f *components.FilterSpec) string {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	terms := make([]string, len(f.Values))
	for i, v := range f.Values {
		terms[i] = fmt.Sprintf(`attributes.%s = "%s"`, f.Attribute, quote.Replace(v))
	}
	return strings.Join(terms, " OR ")
}

// relay delivers the fanout topic into a tenant's work queue: an Eventarc
// trigger on the fanout topic and the workflow it runs for each message.
//
// Identities, each limited to its one hop:
//   - the workflow runs as its own service account, which may publish to the
//     tenant's queue topic and nothing else;
//   - the trigger runs as another, used by nothing else, which may invoke
//     workflows (roles/workflows.invoker on the project, as Eventarc's own
//     setup grants it: Workflows has no per-workflow IAM, and IAM conditions
//     on resource.name are documented only for the services IAM lists, which
//     we could not confirm Workflows is one of; a condition that never
//     matches would fail every delivery) and receive events
//     (roles/eventarc.eventReceiver, a project role that grants nothing else);
//   - the Pub/Sub service agent may mint tokens for the trigger's account,
//     which Eventarc's push subscription needs in projects older than April 2021.
func (a *Adapter) relay(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	opts := childOptions(parent)
	scope := in.Scope

	relayIdentity, err := serviceaccount.NewAccount(ctx, name+"-relay-identity", &serviceaccount.AccountArgs{
		AccountId:   pulumi.String(physical(naming.GCP.ServiceAccount, scope, name, "relay")),
		Project:     a.project(),
		DisplayName: pulumi.String(fmt.Sprintf("tenantfleet relay %s into tenant %s", in.Subscriber.Name, scope.Tenant)),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("relay service account: %w", err)
	}
	publishes, err := pubsub.NewTopicIAMMember(ctx, name+"-relay-publisher", &pubsub.TopicIAMMemberArgs{
		Topic: in.Queue.ID, Project: a.project(), Role: pulumi.String(rolePublisher), Member: relayIdentity.Member,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("relay publisher grant: %w", err)
	}
	filter := in.Subscriber.Filter
	source := in.Queue.ID.ApplyT(func(topic string) (string, error) { return relaySource(topic, filter) }).(pulumi.StringOutput)
	workflowName := physical(naming.GCP.Workflow, scope, name)
	workflow, err := workflows.NewWorkflow(ctx, name+"-relay", &workflows.WorkflowArgs{
		Name:           pulumi.String(workflowName),
		Project:        a.project(),
		Region:         pulumi.String(a.cfg.Region),
		Description:    pulumi.String(fmt.Sprintf("tenantfleet: relays fanout subscriber %s into tenant %s's work queue", in.Subscriber.Name, scope.Tenant)),
		ServiceAccount: relayIdentity.Email,
		SourceContents: source,
		Labels:         labels(scope),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{publishes}))...)
	if err != nil {
		return nil, fmt.Errorf("relay workflow: %w", err)
	}

	triggerIdentity, err := serviceaccount.NewAccount(ctx, name+"-trigger-identity", &serviceaccount.AccountArgs{
		AccountId:   pulumi.String(physical(naming.GCP.ServiceAccount, scope, name, "trigger")),
		Project:     a.project(),
		DisplayName: pulumi.String(fmt.Sprintf("tenantfleet trigger %s into tenant %s", in.Subscriber.Name, scope.Tenant)),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("trigger service account: %w", err)
	}
	invokes, err := projects.NewIAMMember(ctx, name+"-trigger-invoker", &projects.IAMMemberArgs{
		Project: a.project(), Role: pulumi.String("roles/workflows.invoker"), Member: triggerIdentity.Member,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("trigger invoker grant: %w", err)
	}
	receives, err := projects.NewIAMMember(ctx, name+"-trigger-receiver", &projects.IAMMemberArgs{
		Project: a.project(), Role: pulumi.String("roles/eventarc.eventReceiver"), Member: triggerIdentity.Member,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("trigger event receiver grant: %w", err)
	}
	tokens, err := serviceaccount.NewIAMMember(ctx, name+"-trigger-token-creator", &serviceaccount.IAMMemberArgs{
		ServiceAccountId: triggerIdentity.Name, Role: pulumi.String("roles/iam.serviceAccountTokenCreator"),
		Member: a.pubsubServiceAgent(ctx),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("trigger token creator grant: %w", err)
	}
	trigger, err := eventarc.NewTrigger(ctx, name+"-trigger", &eventarc.TriggerArgs{
		Name:     pulumi.String(physical(naming.GCP.EventarcTrigger, scope, name)),
		Project:  a.project(),
		Location: pulumi.String(a.cfg.Region),
		MatchingCriterias: eventarc.TriggerMatchingCriteriaArray{
			eventarc.TriggerMatchingCriteriaArgs{Attribute: pulumi.String("type"), Value: pulumi.String(messagePublishedEvent)},
		},
		// The fanout topic itself, rather than a topic Eventarc would create.
		Transport:      &eventarc.TriggerTransportArgs{Pubsub: &eventarc.TriggerTransportPubsubArgs{Topic: in.Topic.ID}},
		Destination:    &eventarc.TriggerDestinationArgs{Workflow: workflow.ID()},
		ServiceAccount: triggerIdentity.Email,
		Labels:         labels(scope),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{invokes, receives, tokens}))...)
	if err != nil {
		return nil, fmt.Errorf("create Eventarc trigger: %w", err)
	}
	return &components.Subscription{Native: map[string]pulumi.Resource{
		"relay-identity": relayIdentity, "relay-publisher": publishes, "relay-workflow": workflow,
		"trigger-identity": triggerIdentity, "trigger-invoker": invokes, "trigger-receiver": receives,
		"trigger-token-creator": tokens, "trigger": trigger,
	}}, nil
}

// relaySource is the relay workflow: it reads the Pub/Sub message from the
// Eventarc event, drops it unless its attribute matches the filter (when
// there is one), and publishes its data and attributes to topic, retrying
// transient errors (http.default_retry: 429, 502, 503, 504, connection
// errors). The filter and topic are YAML data, never part of an expression.
//
// It keeps to the syntax the Workflows reference documents (workflowSyntax
// checks it): the empty map a message without attributes falls back to is
// defined in an assign step (maps are defined in assign steps; expressions
// have no map literal), and a switch condition that drops the message runs
// an embedded return step (a condition carries next or steps).
func relaySource(topic string, f *components.FilterSpec) (string, error) {
	type m = map[string]any
	steps := []any{
		m{"read": m{"assign": []any{
			m{"message": "${event.data.message}"},
			m{"no_attributes": m{}},
			m{"attributes": `${default(map.get(message, "attributes"), no_attributes)}`},
		}}},
	}
	if f != nil {
		drop := func(name string) m {
			return m{"steps": []any{m{name: m{"return": "filtered out"}}}}
		}
		absent, rejected := drop("attribute_absent"), drop("value_not_accepted")
		absent["condition"] = "${not(attribute in attributes)}"
		rejected["condition"] = "${not(attributes[attribute] in accepted)}"
		steps = append(steps,
			m{"filter": m{"assign": []any{m{"attribute": f.Attribute}, m{"accepted": f.Values}}}},
			// A switch stops at its first true condition, so the lookup runs
			// only when the attribute is there.
			m{"match": m{"switch": []any{absent, rejected}}},
		)
	}
	steps = append(steps,
		m{"publish": m{
			"try": m{
				"call": publishConnector,
				"args": m{"topic": topic, "body": m{"messages": []any{m{
					"data":       `${default(map.get(message, "data"), "")}`,
					"attributes": "${attributes}",
				}}}},
				"result": "published",
			},
			"retry": "${http.default_retry}",
		}},
		m{"done": m{"return": "${published.messageIds}"}},
	)
	out, err := yaml.Marshal(m{"main": m{"params": []string{"event"}, "steps": steps}})
	if err != nil {
		return "", fmt.Errorf("relay workflow source: %w", err)
	}
	return string(out), nil
}
