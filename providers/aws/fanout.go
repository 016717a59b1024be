package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Topic implements components.FanoutProvisioner: an SNS topic encrypted with
// the AWS-managed SNS key.
func (a *Adapter) Topic(ctx *pulumi.Context, name string, in components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		Name:           pulumi.String(naming.AWS.SNSTopic.Unique(in.Scope.Stack, in.Name)),
		KmsMasterKeyId: pulumi.String("alias/aws/sns"),
		Tags:           tags(in.Scope),
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("SNS topic: %w", err)
	}
	return &components.Topic{ID: topic.Arn, Native: map[string]pulumi.Resource{"topic": topic}}, nil
}

// Subscribe implements components.FanoutProvisioner: an SQS subscription with
// raw message delivery (subscribers read the published body and attributes
// as is), an optional filter policy on message attributes, SNS delivery
// failures redriven to the subscriber's dead-letter queue, and queue policies
// that let only this topic send to the queue and its dead-letter queue.
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	opts := childOptions(parent)
	onlyTopic := func(queueARN pulumi.StringOutput) pulumi.StringOutput {
		return pulumi.All(queueARN, in.Topic.ID).ApplyT(func(v []any) (string, error) {
			return jsonString(map[string]any{
				"Version": "2012-10-17",
				"Statement": []map[string]any{{
					"Sid": "FromTopicOnly", "Effect": "Allow",
					"Principal": map[string]any{"Service": "sns.amazonaws.com"},
					"Action":    "sqs:SendMessage", "Resource": v[0],
					"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": v[1]}},
				}},
			})
		}).(pulumi.StringOutput)
	}
	queuePolicy, err := sqs.NewQueuePolicy(ctx, name+"-queue-policy", &sqs.QueuePolicyArgs{
		QueueUrl: in.Queue.URL, Policy: onlyTopic(in.Queue.ID),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("queue policy: %w", err)
	}
	dlqPolicy, err := sqs.NewQueuePolicy(ctx, name+"-dlq-policy", &sqs.QueuePolicyArgs{
		QueueUrl: in.Queue.DeadLetterURL, Policy: onlyTopic(in.Queue.DeadLetterID),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("dead-letter queue policy: %w", err)
	}

	args := &sns.TopicSubscriptionArgs{
		Topic:              in.Topic.ID,
		Protocol:           pulumi.String("sqs"),
		Endpoint:           in.Queue.ID,
		RawMessageDelivery: pulumi.Bool(true),
		RedrivePolicy: in.Queue.DeadLetterID.ApplyT(func(arn string) (string, error) {
			return jsonString(map[string]any{"deadLetterTargetArn": arn})
		}).(pulumi.StringOutput),
	}
	if f := in.Subscriber.Filter; f != nil {
		policy, err := jsonString(map[string][]string{f.Attribute: f.Values})
		if err != nil {
			return nil, err
		}
		args.FilterPolicy = pulumi.String(policy)
		args.FilterPolicyScope = pulumi.String("MessageAttributes")
	}
	sub, err := sns.NewTopicSubscription(ctx, name+"-subscription", args,
		append(opts, pulumi.DependsOn([]pulumi.Resource{queuePolicy, dlqPolicy}))...)
	if err != nil {
		return nil, fmt.Errorf("SNS subscription: %w", err)
	}
	return &components.Subscription{Native: map[string]pulumi.Resource{
		"subscription": sub, "queue-policy": queuePolicy, "dead-letter-queue-policy": dlqPolicy,
	}}, nil
}
