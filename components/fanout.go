package components

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MessagingFanoutType is the MessagingFanout's type token. It is part of
// every child's URN: never change it without aliases.
const MessagingFanoutType = "tenantfleet:index:MessagingFanout"

// ValidateFanout checks spec neutrally and then against cloud's limits.
// tenants are the stack's tenant ids, which subscribers may name.
func ValidateFanout(cloud FanoutCloud, spec FanoutSpec, tenants []string) error {
	if err := spec.Validate(tenants); err != nil {
		return err
	}
	return cloud.ValidateFanout(spec)
}

// MessagingFanout is one topic delivered to every subscriber's queue, each
// with its own dead-letter queue. Only the topic may write to those queues.
type MessagingFanout struct {
	pulumi.ResourceState

	// TopicID is what publishers address (the topic ARN on AWS).
	TopicID pulumi.StringOutput `pulumi:"topicId"`
	// QueueURLs maps each subscriber name to the queue it receives in.
	QueueURLs pulumi.StringMapOutput `pulumi:"queueUrls"`
	// DeadLetterQueueURLs maps each subscriber name to its dead-letter queue.
	DeadLetterQueueURLs pulumi.StringMapOutput `pulumi:"deadLetterQueueUrls"`
	// Publisher is the topic's publisher user where the cloud has one
	// (DigitalOcean): url, password (a secret) and caCertificate. nil
	// elsewhere, where publishers use their own cloud identity.
	Publisher *TopicPublisher

	// Native is the escape hatch: the cloud's resources by role.
	Native map[string]pulumi.Resource
}

// MessagingFanoutArgs configures a MessagingFanout.
type MessagingFanoutArgs struct {
	Spec FanoutSpec
	// TenantQueues holds the work queue of every tenant of the stack, by
	// tenant id; a subscriber naming a tenant receives into that queue.
	TenantQueues map[string]*Queue
	// Cloud provisions the queues, the topic and the subscriptions: an
	// Adapter, or any FanoutCloud.
	Cloud FanoutCloud
	// Platform is the stack's shared pieces; required when Cloud is a
	// PlatformProvisioner, nil otherwise.
	Platform *Platform
}

// NewMessagingFanout validates args.Spec and then provisions the topic and one
// subscription per subscriber. Nothing is registered when the spec is invalid.
func NewMessagingFanout(ctx *pulumi.Context, name string, args *MessagingFanoutArgs, opts ...pulumi.ResourceOption) (*MessagingFanout, error) {
	if args == nil || args.Cloud == nil {
		return nil, fmt.Errorf("messaging fanout %q: a cloud adapter is required", name)
	}
	spec := args.Spec
	if err := ValidateFanout(args.Cloud, spec, sortedKeysOf(args.TenantQueues)); err != nil {
		return nil, fmt.Errorf("messaging fanout %q: %w", name, err)
	}

	fanout := &MessagingFanout{Native: map[string]pulumi.Resource{}}
	if err := ctx.RegisterComponentResource(MessagingFanoutType, name, fanout, opts...); err != nil {
		return nil, fmt.Errorf("register messaging fanout %q: %w", name, err)
	}
	cloud, platform := args.Cloud, args.Platform
	shared := Scope{Stack: ctx.Stack(), Component: ComponentFanout, Tenant: SharedTenant}

	topic, err := cloud.Topic(ctx, name+"-topic", TopicInput{Scope: shared, Name: spec.Name, Platform: platform}, fanout)
	if err != nil {
		return nil, fmt.Errorf("messaging fanout %q: topic: %w", name, err)
	}
	maps.Copy(fanout.Native, topic.Native)

	queueURLs, deadLetterURLs := pulumi.StringMap{}, pulumi.StringMap{}
	for i, sub := range spec.Subscribers {
		field := fmt.Sprintf("subscribers[%d]", i)
		scope, queue := shared, args.TenantQueues[sub.Tenant]
		if sub.Tenant != "" {
			scope.Tenant = sub.Tenant
		} else {
			queue, err = cloud.Queue(ctx, name+"-"+sub.Name, QueueInput{Scope: scope, Owner: spec.Name + "/" + sub.Name, Spec: sub.Queue.WithDefaults(), Platform: platform}, fanout)
			if err != nil {
				return nil, fmt.Errorf("messaging fanout %q: %s: queue: %w", name, field, err)
			}
			copyPrefixed(fanout.Native, sub.Name+"/", queue.Native)
		}
		s, err := cloud.Subscribe(ctx, name+"-"+sub.Name, SubscriptionInput{Scope: scope, Subscriber: sub, Topic: topic, Queue: queue, Platform: platform}, fanout)
		if err != nil {
			return nil, fmt.Errorf("messaging fanout %q: %w", name, Prefix(field+".", err))
		}
		copyPrefixed(fanout.Native, sub.Name+"/", s.Native)
		queueURLs[sub.Name] = queue.URL
		deadLetterURLs[sub.Name] = queue.DeadLetterURL
	}

	fanout.TopicID = topic.ID
	fanout.Publisher = topic.Publisher
	fanout.QueueURLs = queueURLs.ToStringMapOutput()
	fanout.DeadLetterQueueURLs = deadLetterURLs.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(fanout, fanout.Outputs()); err != nil {
		return nil, fmt.Errorf("messaging fanout %q: register outputs: %w", name, err)
	}
	return fanout, nil
}

// Outputs is the fanout's outputs by name, as registered on the component
// and as a stack exports them.
func (f *MessagingFanout) Outputs() pulumi.Map {
	outs := pulumi.Map{
		"topicId":             f.TopicID,
		"queueUrls":           f.QueueURLs,
		"deadLetterQueueUrls": f.DeadLetterQueueURLs,
	}
	if p := f.Publisher; p != nil {
		outs["publisher"] = pulumi.Map{
			"url":           p.URL,
			"password":      pulumi.ToSecret(p.Password),
			"caCertificate": p.CACertificate,
		}
	}
	return outs
}

// copyPrefixed copies src into dst with every key prefixed, so the resources
// of different subscribers keep apart ("billing/queue", "audit/queue").
func copyPrefixed(dst map[string]pulumi.Resource, prefix string, src map[string]pulumi.Resource) {
	for k, v := range src {
		dst[prefix+k] = v
	}
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
