package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Queue implements components.QueueProvisioner: an SQS queue that redrives to
// its own dead-letter queue after MaxReceiveCount receives, both encrypted
// with SQS-managed keys (which, unlike the aws/sqs KMS key, SNS can deliver into).
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	opts := childOptions(parent)
	dlq, err := sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		Name:                    physical(naming.AWS.SQSQueue, in.Scope, in.Owner, "dlq"),
		MessageRetentionSeconds: pulumi.Int(components.DeadLetterRetentionSeconds),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    tags(in.Scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("dead-letter queue: %w", err)
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		return jsonString(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": in.Spec.MaxReceiveCount})
	}).(pulumi.StringOutput)
	q, err := sqs.NewQueue(ctx, name, &sqs.QueueArgs{
		Name:                     physical(naming.AWS.SQSQueue, in.Scope, in.Owner),
		VisibilityTimeoutSeconds: pulumi.Int(in.Spec.VisibilityTimeoutSeconds),
		MessageRetentionSeconds:  pulumi.Int(in.Spec.RetentionSeconds),
		SqsManagedSseEnabled:     pulumi.Bool(true),
		RedrivePolicy:            redrive,
		Tags:                     tags(in.Scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	// Only this queue may use the dead-letter queue.
	allow := q.Arn.ApplyT(func(arn string) (string, error) {
		return jsonString(map[string]any{"redrivePermission": "byQueue", "sourceQueueArns": []string{arn}})
	}).(pulumi.StringOutput)
	if _, err := sqs.NewRedriveAllowPolicy(ctx, name+"-dlq-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl: dlq.Url, RedriveAllowPolicy: allow,
	}, opts...); err != nil {
		return nil, fmt.Errorf("dead-letter redrive allow policy: %w", err)
	}
	return &components.Queue{
		URL: q.Url, DeadLetterURL: dlq.Url, ID: q.Arn, DeadLetterID: dlq.Arn,
		Native: map[string]pulumi.Resource{"queue": q, "dead-letter-queue": dlq},
	}, nil
}
