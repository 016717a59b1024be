package gcp

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/pubsub"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Pub/Sub roles.
const (
	rolePublisher  = "roles/pubsub.publisher"
	roleSubscriber = "roles/pubsub.subscriber"
)

// Redelivery backoff of every queue subscription: a nacked or expired
// message waits between these before Pub/Sub delivers it again.
const (
	minBackoff = "10s"
	maxBackoff = "600s"
)

// Queue implements components.QueueProvisioner. A queue is a pull
// subscription: QUEUE_URL is its full name projects/P/subscriptions/S, which
// consumers pull from. After MaxReceiveCount deliveries a message moves to
// a dead-letter topic, read through its own pull subscription
// (DEAD_LETTER_QUEUE_URL). The ack deadline is the visibility timeout and
// the subscription's retention the queue's.
//
// A tenant's work queue is a topic of its own (Queue.ID, what producers
// publish to) and the subscription on it. A fanout subscriber's queue is a
// subscription on the fanout's topic, created by Subscribe (the only place
// that knows the topic): Queue creates its dead-letter pieces and returns the
// subscription's name, and its ID is that subscription, the one resource
// access is granted on.
//
// Dead letters: a subscription keeps messages at most 7 days, so the
// dead-letter topic itself retains messages 14 days
// (components.DeadLetterRetentionSeconds): past 7 days a dead letter leaves
// the dead-letter subscription's backlog, but the subscription can still
// seek back to it (gcloud pubsub subscriptions seek --time) for another week.
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	opts := childOptions(parent)
	agent := a.pubsubServiceAgent(ctx)
	dlqID := pubsubID(in.Scope, in.Owner, "dlq")
	dlqTopic, err := pubsub.NewTopic(ctx, name+"-dlq", &pubsub.TopicArgs{
		Name: pulumi.String(dlqID), Project: a.project(),
		MessageRetentionDuration: seconds(components.DeadLetterRetentionSeconds),
		Labels:                   labels(in.Scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("dead-letter topic: %w", err)
	}
	dlqSub, err := pubsub.NewSubscription(ctx, name+"-dlq-subscription", &pubsub.SubscriptionArgs{
		Name: pulumi.String(dlqID), Project: a.project(),
		Topic:                    topicName(dlqTopic),
		AckDeadlineSeconds:       pulumi.Int(in.Spec.VisibilityTimeoutSeconds),
		MessageRetentionDuration: seconds(maxRetention),
		ExpirationPolicy:         neverExpire(),
		Labels:                   labels(in.Scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("dead-letter subscription: %w", err)
	}
	// Pub/Sub forwards dead letters as its service agent.
	agentPublishes, err := pubsub.NewTopicIAMMember(ctx, name+"-dlq-agent-publisher", &pubsub.TopicIAMMemberArgs{
		Topic: dlqTopic.Name, Project: a.project(), Role: pulumi.String(rolePublisher), Member: agent,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("dead-letter publisher grant: %w", err)
	}
	native := map[string]pulumi.Resource{
		"dead-letter-topic": dlqTopic, "dead-letter-subscription": dlqSub, "dead-letter-agent-publisher": agentPublishes,
	}
	q := &components.Queue{
		DeadLetterURL: subscriptionName(dlqSub),
		DeadLetterID:  topicName(dlqTopic),
		Native:        native,
	}

	subID := pubsubID(in.Scope, in.Owner)
	if in.Scope.Component == components.ComponentFanout {
		// Subscribe creates the subscription under this name. The URL is
		// known now; it resolves once the dead-letter grant exists.
		url := agentPublishes.ID().ApplyT(func(pulumi.ID) string {
			return fmt.Sprintf("projects/%s/subscriptions/%s", a.cfg.Project, subID)
		}).(pulumi.StringOutput)
		q.URL, q.ID = url, url
		return q, nil
	}

	topic, err := pubsub.NewTopic(ctx, name, &pubsub.TopicArgs{
		Name: pulumi.String(subID), Project: a.project(), Labels: labels(in.Scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("queue topic: %w", err)
	}
	sub, err := a.subscription(ctx, name+"-subscription", subscriptionArgs{
		scope: in.Scope, name: pulumi.String(subID), topic: topicName(topic), spec: in.Spec, deadLetterTopic: q.DeadLetterID,
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{agentPublishes}))...)
	if err != nil {
		return nil, err
	}
	native["topic"], native["subscription"], native["agent-subscriber"] = topic, sub.subscription, sub.agentSubscribes
	q.URL, q.ID = subscriptionName(sub.subscription), topicName(topic)
	return q, nil
}

// subscriptionArgs is a queue subscription to create: on a tenant's topic,
// or on a fanout's.
type subscriptionArgs struct {
	scope           components.Scope
	name            pulumi.StringInput
	topic           pulumi.StringInput
	spec            components.QueueSpec
	deadLetterTopic pulumi.StringInput
	filter          string
}

// queueSubscription is a created queue subscription and the grant that lets
// Pub/Sub dead-letter from it.
type queueSubscription struct {
	subscription    *pubsub.Subscription
	agentSubscribes *pubsub.SubscriptionIAMMember
}

// subscription creates a pull subscription with the queue's settings and
// dead-letter policy, and lets the Pub/Sub service agent acknowledge the
// messages it moves to the dead-letter topic (what dead-lettering needs on
// the source side; the dead-letter topic's publisher grant is the other half).
func (a *Adapter) subscription(ctx *pulumi.Context, name string, s subscriptionArgs, opts ...pulumi.ResourceOption) (*queueSubscription, error) {
	args := &pubsub.SubscriptionArgs{
		Name: s.name, Project: a.project(), Topic: s.topic,
		AckDeadlineSeconds:       pulumi.Int(s.spec.VisibilityTimeoutSeconds),
		MessageRetentionDuration: seconds(s.spec.RetentionSeconds),
		DeadLetterPolicy: &pubsub.SubscriptionDeadLetterPolicyArgs{
			DeadLetterTopic: s.deadLetterTopic, MaxDeliveryAttempts: pulumi.Int(s.spec.MaxReceiveCount),
		},
		RetryPolicy:      &pubsub.SubscriptionRetryPolicyArgs{MinimumBackoff: pulumi.String(minBackoff), MaximumBackoff: pulumi.String(maxBackoff)},
		ExpirationPolicy: neverExpire(),
		Labels:           labels(s.scope),
	}
	if s.filter != "" {
		args.Filter = pulumi.String(s.filter)
	}
	sub, err := pubsub.NewSubscription(ctx, name, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("queue subscription: %w", err)
	}
	grant, err := pubsub.NewSubscriptionIAMMember(ctx, name+"-agent-subscriber", &pubsub.SubscriptionIAMMemberArgs{
		Subscription: sub.Name, Project: a.project(), Role: pulumi.String(roleSubscriber), Member: a.pubsubServiceAgent(ctx),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("dead-letter subscriber grant: %w", err)
	}
	return &queueSubscription{subscription: sub, agentSubscribes: grant}, nil
}

// topicName is a topic's full name, projects/P/topics/T.
func topicName(t *pubsub.Topic) pulumi.StringOutput {
	return pulumi.Sprintf("projects/%s/topics/%s", t.Project, t.Name)
}

// subscriptionName is a subscription's full name, projects/P/subscriptions/S.
func subscriptionName(s *pubsub.Subscription) pulumi.StringOutput {
	return pulumi.Sprintf("projects/%s/subscriptions/%s", s.Project, s.Name)
}

// neverExpire turns off Pub/Sub's default deletion of a subscription after
// 31 days without a subscriber: a quiet queue or dead-letter queue must stay.
func neverExpire() *pubsub.SubscriptionExpirationPolicyArgs {
	return &pubsub.SubscriptionExpirationPolicyArgs{Ttl: pulumi.String("")}
}

// seconds is a protobuf duration ("600s"), the format Pub/Sub takes.
func seconds(s int) pulumi.StringPtrInput { return pulumi.String(fmt.Sprintf("%ds", s)) }
