package digitalocean

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Native roles of a fanout.
const (
	roleTopic          = "topic"
	roleTopicPublisher = "topic-publisher"
	roleForwarderUser  = "forwarder-user"
	roleForwarder      = "forwarder"
)

// The forwarder's environment, read by cmd/tenantfleet-forwarder.
const (
	EnvForwardFrom     = "FORWARD_FROM"
	EnvForwardTo       = "FORWARD_TO"
	EnvForwardPassword = "FORWARD_PASSWORD"
	EnvForwardFilter   = "FORWARD_FILTER"
	EnvForwardCACert   = "FORWARD_CA_CERT"
)

// forwarderSize is the forwarder's container: one, the smallest there is.
const forwarderSize = "apps-s-1vcpu-0.5gb"

// Topic implements components.FanoutProvisioner: a Kafka topic on the
// platform's cluster (Topic.ID, its name, as a queue's ID is) keeping
// messages 14 days, so no subscriber loses one while its forwarder is down
// for less, and a publisher user that may produce to it and nothing else
// (Native "topic-publisher"; Topic.Publisher, which the fanout exports as
// its "publisher" output: url, password and caCertificate, what
// `tenantfleet publish` uses).
func (a *Adapter) Topic(ctx *pulumi.Context, name string, in components.TopicInput, parent pulumi.Resource) (*components.Topic, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	topic, err := a.kafkaTopic(ctx, name, p, naming.DigitalOcean.KafkaTopic.Unique(in.Scope.Stack, in.Name), components.DeadLetterRetentionSeconds, parent)
	if err != nil {
		return nil, fmt.Errorf("fanout topic: %w", err)
	}
	publisher, err := kafkaUser(ctx, name+"-publisher", p, naming.DigitalOcean.KafkaUser.Unique(in.Scope.Stack, in.Name, "publisher"),
		[]acl{{topic.Name, permProduce}}, childOptions(parent, pulumi.DependsOn([]pulumi.Resource{topic}))...)
	if err != nil {
		return nil, fmt.Errorf("fanout publisher user: %w", err)
	}
	return &components.Topic{
		ID: topic.Name,
		Publisher: &components.TopicPublisher{
			URL:           kafkaURL(p, publisher.Name, topic.Name),
			Password:      pulumi.ToSecret(publisher.Password).(pulumi.StringOutput),
			CACertificate: p.kafkaCA,
		},
		Native: map[string]pulumi.Resource{roleTopic: topic, roleTopicPublisher: publisher},
	}, nil
}

// Subscribe implements components.FanoutProvisioner. Kafka cannot deliver
// one topic into another, so every subscriber (with a queue of its own or a
// tenant's) gets a forwarder: an App Platform app with one worker running the
// config's forwarderImage, which consumes the fanout topic in a consumer
// group of its own, keeps the messages whose header matches the filter,
// produces them into the queue's topic and only then commits (at least
// once). Each subscriber thus receives every matching message into a real
// queue, as SNS into SQS.
//
// The forwarder's Kafka user may consume the fanout topic and produce to the
// queue's topic, nothing else; the queue's own user and it are the only ones
// that may write to the queue.
func (a *Adapter) Subscribe(ctx *pulumi.Context, name string, in components.SubscriptionInput, parent pulumi.Resource) (*components.Subscription, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	img, err := parseImage(a.cfg.ForwarderImage)
	if err != nil {
		return nil, &components.FieldError{Field: configKey + ".forwarderImage", Value: a.cfg.ForwarderImage, Reason: err.Error()}
	}
	userName := physical(naming.DigitalOcean.KafkaUser, in.Scope, name, "forwarder")
	user, err := kafkaUser(ctx, name+"-forwarder-user", p, userName,
		[]acl{{in.Topic.ID, permConsume}, {in.Queue.ID, permProduce}}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("forwarder user: %w", err)
	}
	env := []envVar{
		// The consumer group is the forwarder's own: each subscriber reads every message.
		{key: EnvForwardFrom, value: pulumi.Sprintf("%s?group=%s", kafkaURL(p, user.Name, in.Topic.ID), user.Name)},
		{key: EnvForwardTo, value: kafkaURL(p, user.Name, in.Queue.ID)},
		{key: EnvForwardPassword, value: pulumi.ToSecret(user.Password).(pulumi.StringOutput), secret: true},
		// The brokers' certificates are signed by the cluster's own CA.
		{key: EnvForwardCACert, value: p.kafkaCA},
	}
	if f := in.Subscriber.Filter; f != nil {
		filter, err := json.Marshal(struct {
			Attribute string   `json:"attribute"`
			Values    []string `json:"values"`
		}{f.Attribute, f.Values})
		if err != nil {
			return nil, fmt.Errorf("forwarder filter: %w", err)
		}
		env = append(env, envVar{key: EnvForwardFilter, value: pulumi.String(filter)})
	}
	app, err := a.newApp(ctx, name+"-forwarder", physical(naming.DigitalOcean.App, in.Scope, name, "fwd"), p, []component{{
		name: roleForwarder, image: img, size: forwarderSize, scale: workerScaling, env: env,
	}}, parent)
	if err != nil {
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	return &components.Subscription{Native: map[string]pulumi.Resource{roleForwarderUser: user, roleForwarder: app}}, nil
}
