package local

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Queue is the plugin's Queue resource: a JetStream work-queue stream with
// one durable consumer, and its dead-letter stream.
type Queue struct {
	pulumi.CustomResourceState

	Name          pulumi.StringOutput `pulumi:"name"`
	URL           pulumi.StringOutput `pulumi:"url"`
	DeadLetterURL pulumi.StringOutput `pulumi:"deadLetterUrl"`
}

// Queue implements components.QueueProvisioner. A message moves to the
// dead-letter stream after MaxReceiveCount deliveries without an ack; the
// visibility timeout is the consumer's ack wait. Queue.ID is the runtime's
// queue name, which subscriptions name; the dead-letter stream has no name
// in the runtime's API, so its URL is DeadLetterID.
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	q := &Queue{}
	err := ctx.RegisterResource(QueueType, name, pulumi.Map{
		"name":             physical(naming.Local.Queue, in.Scope, in.Owner),
		"maxDeliver":       pulumi.Int(in.Spec.MaxReceiveCount),
		"ackWaitSeconds":   pulumi.Int(in.Spec.VisibilityTimeoutSeconds),
		"retentionSeconds": pulumi.Int(in.Spec.RetentionSeconds),
		"tags":             tags(in.Scope),
	}, q, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("local queue: %w", err)
	}
	return &components.Queue{
		URL:           q.URL,
		DeadLetterURL: q.DeadLetterURL,
		ID:            q.Name,
		DeadLetterID:  q.DeadLetterURL,
		Native:        map[string]pulumi.Resource{"queue": q},
	}, nil
}
