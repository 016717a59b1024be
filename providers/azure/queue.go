package azure

import (
	"fmt"

	servicebus "github.com/pulumi/pulumi-azure-native-sdk/servicebus/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Queue implements components.QueueProvisioner: a Service Bus queue in the
// platform namespace. Service Bus gives every queue its own dead-letter
// sub-queue ($DeadLetterQueue), where a message lands after MaxDeliveryCount
// deliveries or when its time-to-live runs out. The queue is a child entity
// of the shared namespace, not of the tenant's resource group.
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	queueName := physical(naming.Azure.ServiceBusEntity, in.Scope, in.Owner)
	q, err := servicebus.NewQueue(ctx, name, &servicebus.QueueArgs{
		ResourceGroupName:                p.group.Name,
		NamespaceName:                    p.namespace.Name,
		QueueName:                        pulumi.String(queueName),
		LockDuration:                     pulumi.String(isoDuration(in.Spec.VisibilityTimeoutSeconds)),
		MaxDeliveryCount:                 pulumi.Int(in.Spec.MaxReceiveCount),
		DefaultMessageTimeToLive:         pulumi.String(isoDuration(in.Spec.RetentionSeconds)),
		DeadLetteringOnMessageExpiration: pulumi.Bool(true),
		EnableBatchedOperations:          pulumi.Bool(true),
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("service bus queue: %w", err)
	}
	url := p.namespaceURL() + "/" + queueName
	known := func(s string) pulumi.StringOutput {
		return q.ID().ApplyT(func(pulumi.ID) string { return s }).(pulumi.StringOutput)
	}
	return &components.Queue{
		URL:           known(url),
		DeadLetterURL: known(url + "/$DeadLetterQueue"),
		// The ARM id scopes role assignments; the dead-letter sub-queue is
		// covered by the queue's.
		ID:           q.ID().ToStringOutput(),
		DeadLetterID: pulumi.Sprintf("%s/$DeadLetterQueue", q.ID()),
		Native:       map[string]pulumi.Resource{"queue": q},
	}, nil
}
