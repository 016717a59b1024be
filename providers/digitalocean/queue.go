package digitalocean

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Native roles of a queue.
const (
	roleQueueTopic      = "queue-topic"
	roleDeadLetterTopic = "dead-letter-topic"
	roleQueueUser       = "queue-user"
)

// Kafka ACL permissions DigitalOcean knows.
const (
	permConsume        = "consume"
	permProduce        = "produce"
	permProduceConsume = "produceconsume"
)

// Topic settings of every queue, dead-letter and fanout topic.
const (
	// partitions bounds how many consumers of one group share a topic's
	// messages: three, as many as the workers a tenant would scale to.
	partitions = 3
	// minInsyncReplicas: a write acknowledged by all in-sync replicas is on
	// at least two of the three brokers.
	minInsyncReplicas = 2
)

// Queue implements components.QueueProvisioner with Kafka on the platform's
// cluster, DigitalOcean having no managed queue:
//   - the queue is a topic (Queue.ID, its name) keeping messages for the
//     spec's retention, read by one consumer group named as the topic;
//   - the dead-letter queue is a second topic (Queue.DeadLetterID) keeping
//     messages 14 days (components.DeadLetterRetentionSeconds);
//   - a Kafka user may produce to and consume from those two topics and no
//     other: its password is Queue.Credentials, which the apps get as QUEUE_PASSWORD.
//
// QUEUE_URL is kafka://<user>@<host>:<port>/<topic>?group=<group>&maxReceiveCount=<n>&visibilityTimeout=<s>s
// and DEAD_LETTER_QUEUE_URL kafka://<user>@<host>:<port>/<dead-letter topic>,
// both SASL/SCRAM over TLS. Kafka counts no deliveries and hides no message:
// consumers honour maxReceiveCount and visibilityTimeout themselves and move
// a message to the dead-letter topic (see the package doc).
func (a *Adapter) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	topicName := physical(naming.DigitalOcean.KafkaTopic, in.Scope, in.Owner)
	dlqName := physical(naming.DigitalOcean.KafkaTopic, in.Scope, in.Owner, "dlq")
	topic, err := a.kafkaTopic(ctx, name, p, topicName, in.Spec.RetentionSeconds, parent)
	if err != nil {
		return nil, fmt.Errorf("queue topic: %w", err)
	}
	dlq, err := a.kafkaTopic(ctx, name+"-dlq", p, dlqName, components.DeadLetterRetentionSeconds, parent)
	if err != nil {
		return nil, fmt.Errorf("dead-letter topic: %w", err)
	}
	user, err := kafkaUser(ctx, name+"-user", p, physical(naming.DigitalOcean.KafkaUser, in.Scope, in.Owner),
		[]acl{{topic.Name, permProduceConsume}, {dlq.Name, permProduceConsume}},
		childOptions(parent, pulumi.DependsOn([]pulumi.Resource{topic, dlq}))...)
	if err != nil {
		return nil, fmt.Errorf("queue user: %w", err)
	}
	q := in.Spec
	return &components.Queue{
		URL: pulumi.Sprintf("%s?group=%s&maxReceiveCount=%d&visibilityTimeout=%ds",
			kafkaURL(p, user.Name, topic.Name), topic.Name, q.MaxReceiveCount, q.VisibilityTimeoutSeconds),
		DeadLetterURL: kafkaURL(p, user.Name, dlq.Name),
		ID:            topic.Name,
		DeadLetterID:  dlq.Name,
		Credentials:   pulumi.ToSecret(user.Password).(pulumi.StringOutput),
		CACertificate: p.kafkaCA,
		Native:        map[string]pulumi.Resource{roleQueueTopic: topic, roleDeadLetterTopic: dlq, roleQueueUser: user},
	}, nil
}

// kafkaTopic creates a topic on the platform's Kafka cluster, replicated to
// every broker, keeping messages retention seconds.
//
// The stack's topics are created one at a time: each depends on the topic
// registered before it, the first on the cluster. terraform-provider-
// digitalocean v2.69.0, bridged by pulumi-digitalocean v4.55.0, crashes when
// DigitalOcean answers a topic creation 202 "topic is still provisioning"
// without the topic: resourceDigitalOceanDatabaseKafkaTopicCreate
// dereferences the nil topic (digitalocean/database/resource_database_kafka_topic.go:318).
// v2.99.1 fixes it (digitalocean/terraform-provider-digitalocean#1563), but
// no pulumi-digitalocean release bridges it: the newest on the module proxy,
// v4.77.0, was published on 2026-07-31, before v2.99.1 (2026-08-06). The API
// answers so when it cannot provision the topic within its ~20 s request, as
// on a just-created cluster asked for many topics at once (a stack's first
// update creates two per tenant, the fanout's, and two per subscriber with a
// queue of its own: 9 in the example). One creation at a time makes that
// rarer, and when it still happens the crash orphans one
// topic, not every topic in flight: the orphan exists on the cluster but not
// in the stack, so the next update fails to create it until it is imported
// (pulumi import digitalocean:index/databaseKafkaTopic:DatabaseKafkaTopic
// <name> <cluster id>/topic/<topic>) or deleted in the console.
func (a *Adapter) kafkaTopic(ctx *pulumi.Context, name string, p *platform, topic string, retention int, parent pulumi.Resource) (*digitalocean.DatabaseKafkaTopic, error) {
	p.topicsMu.Lock()
	defer p.topicsMu.Unlock()
	t, err := digitalocean.NewDatabaseKafkaTopic(ctx, name, &digitalocean.DatabaseKafkaTopicArgs{
		ClusterId:         p.kafka.ID(),
		Name:              pulumi.String(topic),
		PartitionCount:    pulumi.Int(partitions),
		ReplicationFactor: pulumi.Int(min(3, a.cfg.Kafka.Nodes)),
		Configs: digitalocean.DatabaseKafkaTopicConfigArray{
			digitalocean.DatabaseKafkaTopicConfigArgs{
				CleanupPolicy:     pulumi.String("delete"),
				RetentionMs:       pulumi.String(strconv.Itoa(retention * 1000)),
				MinInsyncReplicas: pulumi.Int(minInsyncReplicas),
			},
		},
	}, childOptions(parent, pulumi.DependsOn([]pulumi.Resource{p.lastTopic}))...)
	if err != nil {
		return nil, err
	}
	p.lastTopic = t
	return t, nil
}

// acl is one Kafka ACL: a permission on one topic, named literally.
type acl struct {
	topic      pulumi.StringInput
	permission string
}

// kafkaUser creates a user on the platform's Kafka cluster with exactly the
// given ACLs. DigitalOcean generates its password (an output, secret).
func kafkaUser(ctx *pulumi.Context, name string, p *platform, user string, acls []acl, opts ...pulumi.ResourceOption) (*digitalocean.DatabaseUser, error) {
	args := make(digitalocean.DatabaseUserSettingAclArray, 0, len(acls))
	for _, a := range acls {
		args = append(args, digitalocean.DatabaseUserSettingAclArgs{Topic: a.topic, Permission: pulumi.String(a.permission)})
	}
	return digitalocean.NewDatabaseUser(ctx, name, &digitalocean.DatabaseUserArgs{
		ClusterId: p.kafka.ID(),
		Name:      pulumi.String(user),
		Settings:  digitalocean.DatabaseUserSettingArray{digitalocean.DatabaseUserSettingArgs{Acls: args}},
	}, opts...)
}

// kafkaURL is tenantfleet's address of a topic: kafka://<user>@<host>:<port>/<topic>,
// SASL/SCRAM over TLS on the cluster's public endpoint. The password is never part of it.
func kafkaURL(p *platform, user, topic pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("kafka://%s@%s:%d/%s", user, p.kafka.Host, p.kafka.Port, topic)
}
