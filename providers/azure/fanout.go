package azure

import (
	"fmt"
	"strings"

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
	return &components.Topic{ID: topic.ID().ToStringOutput(), Native: map[string]pulumi.Resource{"topic": topic}}, nil
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
// A filter replaces the subscription's $Default rule (which accepts
// everything) by a SQL filter "user.[attr] IN ('v1', 'v2')" on the
// application property.
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	topic, ok := in.Topic.Native["topic"].(*servicebus.Topic)
	if !ok {
		return nil, fmt.Errorf("azure: the topic was not made by the Azure adapter")
	}
	// The queue's entity name, from its URL in the platform namespace.
	prefix := p.namespaceURL() + "/"
	queueName := in.Queue.URL.ApplyT(func(url string) (string, error) {
		if !strings.HasPrefix(url, prefix) {
			return "", fmt.Errorf("azure: queue %s is not in the platform namespace; forwarding stays inside one namespace", url)
		}
		return strings.TrimPrefix(url, prefix), nil
	}).(pulumi.StringOutput)

	opts := childOptions(parent)
	subName := naming.Azure.ServiceBusSubscription.Name(in.Subscriber.Name)
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
	if f := in.Subscriber.Filter; f != nil {
		rule, err := servicebus.NewRule(ctx, name+"-filter", &servicebus.RuleArgs{
			ResourceGroupName: p.group.Name,
			NamespaceName:     p.namespace.Name,
			TopicName:         topic.Name,
			SubscriptionName:  sub.Name,
			// Replaces the accept-all rule Service Bus creates with the subscription.
			RuleName:   pulumi.String("$Default"),
			FilterType: servicebus.FilterTypeSqlFilter,
			SqlFilter:  &servicebus.SqlFilterArgs{SqlExpression: pulumi.String(sqlIn(f.Attribute, f.Values))},
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("subscription filter: %w", err)
		}
		native["filter"] = rule
	}
	return &components.Subscription{Native: native}, nil
}

// sqlIn is the SQL filter "user.[attr] IN ('v1', 'v2')", quoted so no
// attribute or value can break out of its literal.
func sqlIn(attr string, values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprintf("user.[%s] IN (%s)", strings.ReplaceAll(attr, "]", "]]"), strings.Join(quoted, ", "))
}
