package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/queue"
)

// publish finds the cloud from the form of the fanout's topic id, and on
// DigitalOcean the publisher user from the fanout.publisher output.
func TestFanoutTopic(t *testing.T) {
	t.Parallel()

	fanout := func(topic string, extra map[string]any) map[string]any {
		f := map[string]any{"topicId": topic, "queueUrls": map[string]any{}}
		for k, v := range extra {
			f[k] = v
		}
		return map[string]any{"fanout": f}
	}
	for _, tc := range []struct {
		reason  string
		outputs map[string]any
		want    queue.TopicConfig
		name    string
	}{
		{"local", fanout("nats://127.0.0.1:4222?stream=t&subject=topic.dev.account-events", nil),
			queue.TopicConfig{Cloud: "local", Topic: "nats://127.0.0.1:4222?stream=t&subject=topic.dev.account-events"}, "topic.dev.account-events"},
		{"kubernetes", fanout("amqp://tf-dev-topic-events@rabbitmq.tf-dev.svc:5672/tf-dev?exchange=tf-dev-topic-events", nil),
			queue.TopicConfig{Cloud: "kubernetes", Topic: "amqp://tf-dev-topic-events@rabbitmq.tf-dev.svc:5672/tf-dev?exchange=tf-dev-topic-events", Password: "p4ss"},
			"amqp://tf-dev-topic-events@rabbitmq.tf-dev.svc:5672/tf-dev?exchange=tf-dev-topic-events"},
		{"kubernetes over TLS", fanout("amqps://pub@rabbitmq.example.com/tf-prod?exchange=events", nil),
			queue.TopicConfig{Cloud: "kubernetes", Topic: "amqps://pub@rabbitmq.example.com/tf-prod?exchange=events", Password: "p4ss", CACert: "CA PEM"}, ""},
		{"a NATS topic is the local cloud's wherever its server is", fanout("nats://nats.example.com:4222?stream=t&subject=topic.t", nil),
			queue.TopicConfig{Cloud: "local", Topic: "nats://nats.example.com:4222?stream=t&subject=topic.t"}, "topic.t"},
		{"aws", fanout("arn:aws:sns:eu-west-1:123456789012:prod-account-events", nil),
			queue.TopicConfig{Cloud: "aws", Topic: "arn:aws:sns:eu-west-1:123456789012:prod-account-events"}, "arn:aws:sns:eu-west-1:123456789012:prod-account-events"},
		{"azure", fanout("/subscriptions/s/resourceGroups/g/providers/Microsoft.ServiceBus/namespaces/tf-prod-bus/topics/account-events", nil),
			queue.TopicConfig{Cloud: "azure", Topic: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ServiceBus/namespaces/tf-prod-bus/topics/account-events"}, ""},
		{"gcp", fanout("projects/acme-prod/topics/prod-account-events", nil),
			queue.TopicConfig{Cloud: "gcp", Topic: "projects/acme-prod/topics/prod-account-events"}, ""},
		{"digitalocean", fanout("prod-account-events", map[string]any{"publisher": map[string]any{
			"url": "kafka://prod-account-events-publisher@kafka.example.com:25073/prod-account-events", "password": "p4ss", "caCertificate": "PEM"}}),
			queue.TopicConfig{Cloud: "digitalocean", Topic: "kafka://prod-account-events-publisher@kafka.example.com:25073/prod-account-events", Password: "p4ss", CACert: "PEM"}, ""},
	} {
		env := map[string]string{queue.EnvQueuePassword: "p4ss"}
		if strings.HasPrefix(tc.want.Topic, "amqps:") {
			env[queue.EnvQueueCACert] = "CA PEM"
		}
		got, err := fanoutTopic("prod", tc.outputs, func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("%s: %v", tc.reason, err)
			continue
		}
		if got.Cloud != tc.want.Cloud || got.Topic != tc.want.Topic || got.Password != tc.want.Password || got.CACert != tc.want.CACert {
			t.Errorf("%s: got %+v, want %+v", tc.reason, got, tc.want)
		}
		if want := tc.name; want != "" && topicName(got) != want {
			t.Errorf("%s: topicName %q, want %q", tc.reason, topicName(got), want)
		}
		if strings.Contains(topicName(got), "p4ss") {
			t.Errorf("%s: topicName shows the password", tc.reason)
		}
	}

	for _, tc := range []struct {
		reason  string
		outputs map[string]any
		want    string
	}{
		{"no fanout", map[string]any{"tenants": map[string]any{}}, "stack prod has no fanout"},
		{"a topic of no known cloud", fanout("prod-account-events", nil), "no fanout.publisher output"},
		{"a masked password", fanout("t", map[string]any{"publisher": map[string]any{"url": "kafka://u@h:1/t", "password": "[secret]"}}), "lacks the publisher's url or password"},
		{"kubernetes without QUEUE_PASSWORD", fanout("amqp://pub@rabbitmq:5672/v?exchange=events", nil), "set QUEUE_PASSWORD to its password"},
	} {
		_, err := fanoutTopic("prod", tc.outputs, func(string) string { return "" })
		var exit *ExitError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &exit) || exit.Code != ExitUsage {
			t.Errorf("%s: got %v, want a usage error saying %q", tc.reason, err, tc.want)
		}
	}
}
