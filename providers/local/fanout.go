package local

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Topic is the plugin's Topic resource: a JetStream stream publishers write to.
type Topic struct {
	pulumi.CustomResourceState

	Name pulumi.StringOutput `pulumi:"name"`
	URL  pulumi.StringOutput `pulumi:"url"`

	// fanout is the fanout's name, which names its subscriptions.
	fanout string
}

// Subscription is the plugin's Subscription resource: the subscriber's
// queue stream sources the topic stream, so every message published to the
// topic lands in the queue once.
type Subscription struct {
	pulumi.CustomResourceState

	Name  pulumi.StringOutput `pulumi:"name"`
	Topic pulumi.StringOutput `pulumi:"topic"`
	Queue pulumi.StringOutput `pulumi:"queue"`
}

// Topic implements components.FanoutProvisioner. Topic.ID is the topic's
// URL, what publishers use: nats://127.0.0.1:<port>?stream=...&subject=...
func (a *Adapter) Topic(ctx *pulumi.Context, name string, in components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	t := &Topic{fanout: in.Name}
	err := ctx.RegisterResource(TopicType, name, pulumi.Map{
		"name": pulumi.String(naming.Local.Topic.Unique(in.Scope.Stack, in.Name)),
		"tags": tags(in.Scope),
	}, t, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("local topic: %w", err)
	}
	return &components.Topic{ID: t.URL, Native: map[string]pulumi.Resource{"topic": t}, State: t}, nil
}

// Subscribe implements components.FanoutProvisioner. The local cloud has no
// access policies: only the runtime's own subscriptions write into a queue
// stream, so the Subscription is both the delivery and the access rule.
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	if err := checkFilter(in.Subscriber); err != nil {
		return nil, err
	}
	topic, err := components.TopicState[*Topic](in.Topic, Name)
	if err != nil {
		return nil, fmt.Errorf("local subscription: %w", err)
	}
	if in.Queue == nil {
		return nil, fmt.Errorf("local subscription: no queue")
	}
	sub := &Subscription{}
	err = ctx.RegisterResource(SubscriptionType, name, pulumi.Map{
		"name":  pulumi.String(naming.Local.Subscription.Unique(in.Scope.Stack, topic.fanout, in.Subscriber.Name)),
		"topic": topic.Name,
		"queue": in.Queue.ID,
		"tags":  tags(in.Scope),
	}, sub, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("local subscription: %w", err)
	}
	return &components.Subscription{Native: map[string]pulumi.Resource{"subscription": sub}}, nil
}
