package kubernetes

import (
	"errors"
	"fmt"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// topic is the adapter's state of a fanout topic: the stream subscriber
// queues source.
type topic struct {
	stream     *apiextensions.CustomResource
	streamName string
	subject    string
}

// Topic implements components.FanoutProvisioner: a JetStream stream in the
// stack's namespace that publishers write to, keeping each message as long
// as a dead-letter queue does, so a subscriber that was down catches up.
// Topic.ID is its URL, nats://host:port?stream=...&subject=..., the form
// `tenantfleet publish` and the queue package take.
func (a *Adapter) Topic(ctx *pulumi.Context, name string, in components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	streamName := naming.Kubernetes.Stream.Unique(a.project, in.Scope.Stack, "topic", in.Name)
	subject := "tenantfleet.topic." + streamName
	s, err := a.stream(ctx, name+"-stream", in.Scope, streamName, p.namespace, pulumi.Map{
		"name":      pulumi.String(streamName),
		"subjects":  pulumi.ToStringArray([]string{subject}),
		"retention": pulumi.String("limits"),
		"maxAge":    pulumi.String(seconds(components.DeadLetterRetentionSeconds)),
	}, childOptions(parent, p.provider))
	if err != nil {
		return nil, err
	}
	return &components.Topic{
		ID:     pulumi.String(a.natsURL(streamName, subject, "")).ToStringOutput(),
		Native: map[string]pulumi.Resource{"topic": s},
		State:  &topic{stream: s, streamName: streamName, subject: subject},
	}, nil
}

// Subscribe implements components.FanoutProvisioner: the subscriber's queue
// stream sources the topic stream, so every message published lands in
// the queue once, on the queue's subject. The source is a server-side apply patch of the queue's
// Stream object owned by this subscription (its field manager's), so the
// queue's own declaration, a tenant's or the fanout's, never removes it,
// and removing the subscription removes only the source. Only the
// topic's messages reach a queue: its subject is the queue's own, which
// no publisher is given (JetStream accounts authorize publishers; NACK
// does not declare them).
//
// Filters are refused: a JetStream source filters on subjects, and a
// publisher's message attributes are headers, which no stream filters on.
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	if err := checkFilter(in.Subscriber); err != nil {
		return nil, err
	}
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	t, err := components.TopicState[*topic](in.Topic, Name)
	if err != nil {
		return nil, fmt.Errorf("kubernetes subscription: %w", err)
	}
	q, err := components.QueueState[*queue](in.Queue, Name)
	if err != nil {
		return nil, fmt.Errorf("kubernetes subscription: %w", err)
	}
	patch, err := apiextensions.NewCustomResourcePatch(ctx, name+"-source", &apiextensions.CustomResourcePatchArgs{
		ApiVersion: pulumi.String(nackAPIVersion),
		Kind:       pulumi.String("Stream"),
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(q.objectName),
			Namespace: q.namespace,
		},
		OtherFields: k8s.UntypedArgs{"spec": pulumi.Map{
			// A sourced message keeps its subject unless transformed: onto
			// the queue's own subject, the one its consumer filters on.
			"sources": pulumi.Array{pulumi.Map{
				"name": pulumi.String(t.streamName),
				"subjectTransforms": pulumi.Array{pulumi.Map{
					"source": pulumi.String(t.subject), "dest": pulumi.String(q.subject),
				}},
			}},
		}},
	}, childOptions(parent, p.provider, pulumi.DependsOn([]pulumi.Resource{q.stream, t.stream}))...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes subscription: %w", err)
	}
	return &components.Subscription{Native: map[string]pulumi.Resource{"subscription": patch}}, nil
}

// ValidateFanout implements components.FanoutCloud.
func (a *Adapter) ValidateFanout(spec components.FanoutSpec) error {
	var errs []error
	for i, sub := range spec.Subscribers {
		if err := checkFilter(sub); err != nil {
			errs = append(errs, components.Prefix(fmt.Sprintf("subscribers[%d].", i), err))
		}
	}
	return errors.Join(errs...)
}

// checkFilter refuses a subscriber filter (see Subscribe).
func checkFilter(sub components.SubscriberSpec) error {
	if sub.Filter == nil {
		return nil
	}
	return &components.FieldError{Field: "filter", Value: sub.Filter.Attribute,
		Reason: "is not supported on Kubernetes: JetStream sources filter on subjects, not on message attributes; give the subscriber every message and filter in its reader"}
}
