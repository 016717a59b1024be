package kubernetes

import (
	"fmt"
	"net/url"
	"strconv"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// queueConsumer is the durable consumer every queue's readers share.
const queueConsumer = "worker"

// queue is the adapter's state of a queue: its Stream object, which a
// fanout's subscription patches to source the topic.
type queue struct {
	consumer   pulumi.Resource
	stream     *apiextensions.CustomResource
	objectName string
	namespace  pulumi.StringOutput
	subject    string
}

// Queue implements components.QueueProvisioner: a JetStream work-queue
// stream (each message is delivered to one reader and removed once acked),
// its dead-letter stream, and the durable consumer the readers share, as
// NACK Stream and Consumer objects in the tenant's namespace (the stack's
// for a fanout subscriber's own queue). The visibility timeout is the
// consumer's ack wait; retention is the stream's max age. Dead-lettering is
// the client's, as on DigitalOcean: QUEUE_URL carries maxReceiveCount, the
// server counts deliveries, and the queue package moves a message to the
// dead-letter stream when it is nacked on its last delivery or arrives once
// more after a reader failed that one (the consumer itself has no delivery
// limit).
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	namespace := p.namespace
	if in.Foundation != nil {
		f, err := foundationOf(in.Foundation)
		if err != nil {
			return nil, err
		}
		namespace = f.namespace
	}
	scope, spec := in.Scope, in.Spec
	opts := childOptions(parent, p.provider)
	streamName := a.physical(naming.Kubernetes.Stream, scope, in.Owner)
	dlqName := a.physical(naming.Kubernetes.Stream, scope, in.Owner, "dead-letter")
	subject, dlqSubject := "tenantfleet.queue."+streamName, "tenantfleet.dead-letter."+dlqName
	// Objects are named after their streams: a fanout's subscriber
	// queues share the stack's namespace.
	stream, err := a.stream(ctx, name+"-stream", scope, streamName, namespace, pulumi.Map{
		"name":      pulumi.String(streamName),
		"subjects":  pulumi.ToStringArray([]string{subject}),
		"retention": pulumi.String("workqueue"),
		"maxAge":    pulumi.String(seconds(spec.RetentionSeconds)),
	}, opts)
	if err != nil {
		return nil, err
	}
	dlq, err := a.stream(ctx, name+"-dead-letter", scope, dlqName, namespace, pulumi.Map{
		"name":      pulumi.String(dlqName),
		"subjects":  pulumi.ToStringArray([]string{dlqSubject}),
		"retention": pulumi.String("limits"),
		"maxAge":    pulumi.String(seconds(components.DeadLetterRetentionSeconds)),
		// A message moved twice (its reader crashed between publishing it
		// here and terminating it, and it came back a visibility timeout
		// later) is stored once: the window outlasts the timeout.
		"duplicateWindow": pulumi.String(seconds(max(120, spec.VisibilityTimeoutSeconds+60))),
	}, opts)
	if err != nil {
		return nil, err
	}
	consumer, err := apiextensions.NewCustomResource(ctx, name+"-consumer", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(nackAPIVersion),
		Kind:       pulumi.String("Consumer"),
		Metadata:   waitForReady(a.metadata(scope, streamName+"-"+queueConsumer, namespace)),
		OtherFields: k8s.UntypedArgs{"spec": pulumi.Map{
			"servers":       pulumi.ToStringArray([]string{a.nats.URL}),
			"streamName":    pulumi.String(streamName),
			"durableName":   pulumi.String(queueConsumer),
			"deliverPolicy": pulumi.String("all"),
			"ackPolicy":     pulumi.String("explicit"),
			"ackWait":       pulumi.String(seconds(spec.VisibilityTimeoutSeconds)),
			// One delivery more than maxReceiveCount: the client moves a
			// message whose reader failed its last one without a nack
			// (crashed) when it arrives once more (queue package).
			"maxDeliver":    pulumi.Int(spec.MaxReceiveCount + 1),
			"filterSubject": pulumi.String(subject),
		}},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{stream}), operatorTimeouts)...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes queue consumer: %w", err)
	}
	queueURL := a.natsURL(streamName, subject, queueConsumer) + "&maxReceiveCount=" + strconv.Itoa(spec.MaxReceiveCount)
	dlqURL := a.natsURL(dlqName, dlqSubject, "")
	return &components.Queue{
		URL:           pulumi.String(queueURL).ToStringOutput(),
		DeadLetterURL: pulumi.String(dlqURL).ToStringOutput(),
		ID:            pulumi.String(streamName).ToStringOutput(),
		DeadLetterID:  pulumi.String(dlqName).ToStringOutput(),
		Native:        map[string]pulumi.Resource{"queue": stream, "dead-letter-queue": dlq, "queue-consumer": consumer},
		State:         &queue{consumer: consumer, stream: stream, objectName: streamName, namespace: namespace, subject: subject},
	}, nil
}

// stream declares one NACK Stream object holding a file-backed stream on
// the config's NATS server.
func (a *Adapter) stream(ctx *pulumi.Context, name string, scope components.Scope, streamName string, ns pulumi.StringOutput, spec pulumi.Map, opts []pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	spec["servers"] = pulumi.ToStringArray([]string{a.nats.URL})
	spec["storage"] = pulumi.String("file")
	spec["replicas"] = pulumi.Int(a.cfg.Queue.Replicas)
	spec["discard"] = pulumi.String("old")
	s, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(nackAPIVersion),
		Kind:        pulumi.String("Stream"),
		Metadata:    waitForReady(a.metadata(scope, streamName, ns)),
		OtherFields: k8s.UntypedArgs{"spec": spec},
	}, append(opts, operatorTimeouts)...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes stream %s: %w", streamName, err)
	}
	return s, nil
}

// natsURL is a queue or topic URL as the queue package reads it:
// nats://host:port?stream=...&subject=...[&consumer=...].
func (a *Adapter) natsURL(stream, subject, consumer string) string {
	q := url.Values{"stream": {stream}, "subject": {subject}}
	if consumer != "" {
		q.Set("consumer", consumer)
	}
	return a.nats.URL + "?" + q.Encode()
}

// seconds is a Go duration string of s seconds, as NACK parses durations.
func seconds(s int) string { return strconv.Itoa(s) + "s" }
