package azure

import (
	"fmt"
	"strings"

	resources "github.com/pulumi/pulumi-azure-native-sdk/resources/v3"
	servicebus "github.com/pulumi/pulumi-azure-native-sdk/servicebus/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Topic implements components.FanoutProvisioner: a Service Bus topic in the
// platform namespace. Its ID is the topic's ARM id, which scopes a
// publisher's "Azure Service Bus Data Sender" role assignment.
func (a *Adapter) Topic(ctx *pulumi.Context, name string, in components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	topic, err := servicebus.NewTopic(ctx, name, &servicebus.TopicArgs{
		ResourceGroupName:       p.group.Name,
		NamespaceName:           p.namespace.Name,
		TopicName:               pulumi.String(naming.Azure.ServiceBusEntity.Unique(in.Scope.Stack, in.Name)),
		EnableBatchedOperations: pulumi.Bool(true),
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("service bus topic: %w", err)
	}
	return &components.Topic{ID: topic.ID().ToStringOutput(), Native: map[string]pulumi.Resource{"topic": topic}, State: &topicState{topic: topic}}, nil
}

// topicState is the adapter's state of a fanout topic: the Service Bus
// topic its subscriptions belong to.
type topicState struct {
	topic *servicebus.Topic
}

// Subscribe implements components.FanoutProvisioner: a subscription of the
// topic that auto-forwards (forwardTo) every message it receives into the
// subscriber's queue — its own, or the tenant's work queue. Forwarding rather
// than reading the subscription itself keeps one shape on every cloud: the
// subscriber reads a real queue with its own dead-letter sub-queue, the
// tenant's worker reads one queue for its work and its events, and the fanout
// reports queue URLs.
//
// Access: only this subscription delivers into the queue from the topic.
// Forwarding happens inside the namespace and needs no credential; the
// namespace has local (SAS) authentication disabled, so no key exists that
// could send to the queue, and the only role assignments on a queue are the
// tenant's own apps' (RBAC, scoped to that queue).
//
// Dead-lettering: expired messages and filter errors dead-letter in the
// subscription (it keeps a message only when forwarding fails); once
// forwarded, the queue's own maxDeliveryCount and $DeadLetterQueue apply.
//
// Filters: Service Bus gives every subscription a rule named $Default with a
// TrueFilter (everything matches) and delivers a message when any rule
// matches. A filtered subscriber gets
//   - its own subscription name (the subscriber's name + "_filtered", which
//     no subscriber name can be: they are DNS labels), so adding or removing
//     a filter replaces the subscription and a subscriber without a filter
//     always starts from Azure's own accept-all $Default;
//   - a SQL filter rule "user.[attr] IN ('v1', 'v2')" named filterRuleName.
//     azure-native cannot create a rule named $Default: it reads before it
//     creates and refuses a resource that exists (servicebus:DefaultRule,
//     which adopts it, arrives in azure-native v3.27.0, not on our proxy);
//   - an ARM template deployment that PUTs $Default with the FalseFilter
//     "1=0" (ARM deployments upsert, no existence check), so $Default
//     matches nothing even where Service Bus keeps it next to our rule.
//     Where Service Bus drops $Default itself once another rule is added
//     through ARM (as users report), this only leaves a $Default that
//     matches nothing: harmless either way.
//
// Between the subscription's creation and these two, $Default forwards
// everything (seconds): Service Bus's management API has no way to create a
// subscription without it (the ARM SBSubscription has no default rule
// property).
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	ts, err := components.TopicState[*topicState](in.Topic, Name)
	if err != nil {
		return nil, err
	}
	topic := ts.topic
	// The queue's entity name, from its URL in the platform namespace.
	prefix := p.namespaceURL() + "/"
	queueName := in.Queue.URL.ApplyT(func(url string) (string, error) {
		if !strings.HasPrefix(url, prefix) {
			return "", fmt.Errorf("azure: queue %s is not in the platform namespace; forwarding stays inside one namespace", url)
		}
		return strings.TrimPrefix(url, prefix), nil
	}).(pulumi.StringOutput)

	opts := childOptions(parent)
	f := in.Subscriber.Filter
	subName := subscriptionName(in.Subscriber)
	sub, err := servicebus.NewSubscription(ctx, name+"-subscription", &servicebus.SubscriptionArgs{
		ResourceGroupName:                p.group.Name,
		NamespaceName:                    p.namespace.Name,
		TopicName:                        topic.Name,
		SubscriptionName:                 pulumi.String(subName),
		ForwardTo:                        queueName,
		DeadLetteringOnMessageExpiration: pulumi.Bool(true),
		DeadLetteringOnFilterEvaluationExceptions: pulumi.Bool(true),
		MaxDeliveryCount:        pulumi.Int(components.DefaultMaxReceiveCount),
		EnableBatchedOperations: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("service bus subscription: %w", err)
	}
	native := map[string]pulumi.Resource{"subscription": sub}
	if f == nil {
		return &components.Subscription{Native: native}, nil
	}
	rule, err := servicebus.NewRule(ctx, name+"-filter", &servicebus.RuleArgs{
		ResourceGroupName: p.group.Name,
		NamespaceName:     p.namespace.Name,
		TopicName:         topic.Name,
		SubscriptionName:  sub.Name,
		RuleName:          pulumi.String(filterRuleName),
		FilterType:        servicebus.FilterTypeSqlFilter,
		SqlFilter:         &servicebus.SqlFilterArgs{SqlExpression: pulumi.String(sqlIn(f.Attribute, f.Values))},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("subscription filter: %w", err)
	}
	native["filter"] = rule
	// After the filter rule, so the subscription matches nothing but the
	// filter from here on, whichever way Service Bus treats $Default.
	deployment, err := resources.NewDeployment(ctx, name+"-default-rule", &resources.DeploymentArgs{
		ResourceGroupName: p.group.Name,
		DeploymentName:    pulumi.String(naming.Azure.Deployment.Unique(in.Scope.Stack, name, "default-rule")),
		Properties: &resources.DeploymentPropertiesArgs{
			Mode:     resources.DeploymentModeIncremental,
			Template: defaultRuleTemplate(),
			Parameters: resources.DeploymentParameterMap{
				"namespace":    resources.DeploymentParameterArgs{Value: p.namespace.Name},
				"topic":        resources.DeploymentParameterArgs{Value: topic.Name},
				"subscription": resources.DeploymentParameterArgs{Value: sub.Name},
			},
		},
		Tags: tags(in.Scope),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{rule}))...)
	if err != nil {
		return nil, fmt.Errorf("subscription $Default rule: %w", err)
	}
	native["default-rule"] = deployment
	return &components.Subscription{Native: native}, nil
}

// filterRuleName names the SQL filter rule of a filtered subscription (rule
// names are per subscription).
const filterRuleName = "tenantfleet-filter"

// falseFilter is the SQL filter that matches no message (Service Bus's
// FalseFilter is the SqlFilter 1=0).
const falseFilter = "1=0"

// subscriptionName is the Service Bus subscription of a subscriber: its
// name, or its name + "_filtered" when it has a filter (see Subscribe).
func subscriptionName(s components.SubscriberSpec) string {
	if s.Filter != nil {
		return naming.Azure.ServiceBusSubscription.Name(s.Name + "_filtered")
	}
	return naming.Azure.ServiceBusSubscription.Name(s.Name)
}

// defaultRuleTemplate is the ARM template that sets the $Default rule of a
// subscription to the FalseFilter. ARM deployments PUT their resources
// (create or update), so it replaces the rule Service Bus made.
func defaultRuleTemplate() pulumi.Map {
	str := func(s string) pulumi.String { return pulumi.String(s) }
	param := pulumi.Map{"type": str("string")}
	return pulumi.Map{
		"$schema":        str("https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"),
		"contentVersion": str("1.0.0.0"),
		"parameters":     pulumi.Map{"namespace": param, "topic": param, "subscription": param},
		"resources": pulumi.Array{pulumi.Map{
			"type":       str("Microsoft.ServiceBus/namespaces/topics/subscriptions/rules"),
			"apiVersion": str(serviceBusAPIVersion),
			"name":       str("[format('{0}/{1}/{2}/$Default', parameters('namespace'), parameters('topic'), parameters('subscription'))]"),
			"properties": pulumi.Map{"filterType": str("SqlFilter"), "sqlFilter": pulumi.Map{"sqlExpression": str(falseFilter)}},
		}},
	}
}

// serviceBusAPIVersion is the Service Bus API version azure-native v3 uses.
const serviceBusAPIVersion = "2024-01-01"

// sqlIn is the SQL filter "user.[attr] IN ('v1', 'v2')", quoted so no
// attribute or value can break out of its literal.
func sqlIn(attr string, values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprintf("user.[%s] IN (%s)", strings.ReplaceAll(attr, "]", "]]"), strings.Join(quoted, ", "))
}
