package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/queue"
)

// publishCommand publishes one message to the stack's fanout topic.
func (a *App) publishCommand() *cobra.Command {
	var (
		f     stackFlags
		data  string
		attrs []string
		id    string
	)
	cmd := &cobra.Command{
		Use:   "publish --stack NAME --data MESSAGE",
		Short: "Publish one message to the stack's fanout topic",
		Long: `Publish sends one message to the topic of the stack's fanout (the stack output
fanout.topicId), so every subscriber receives it once. --attr sets message
attributes, which subscriber filters match and apps read alongside the body:
SNS message attributes on AWS, application properties on Azure, Pub/Sub
attributes on GCP, Kafka record headers on DigitalOcean, AMQP headers on
Kubernetes, NATS headers on the local cloud.

Credentials are the cloud's usual ones, as for its own CLI:
  aws            the AWS SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and
                 AWS_SECRET_ACCESS_KEY, aws sso login, a role where it runs)
  azure          DefaultAzureCredential (az login, AZURE_CLIENT_ID and
                 AZURE_TENANT_ID with a secret or a federated token, a managed
                 identity); the identity needs Azure Service Bus Data Sender on
                 the topic (the namespace has SAS keys disabled)
  gcp            Application Default Credentials (gcloud auth
                 application-default login, GOOGLE_APPLICATION_CREDENTIALS)
  digitalocean   the fanout's own publisher user, from the stack's secret output
                 fanout.publisher (nothing to set up)
  kubernetes     the fanout's own publisher user, named in the topic's URL: set
                 QUEUE_PASSWORD to its password (the Secret
                 <topic>-user-credentials in the stack's namespace, key
                 password), and QUEUE_CA_CERT to the broker's CA certificate
                 (PEM) for an amqps:// topic signed by a private CA
  local          none

Exit codes: 0 published; 1 the publish failed; 2 usage error, a stack without
a fanout, or missing credentials.`,
		Example: `  tenantfleet publish --stack dev --data '{"type":"account.created","account":"42"}'
  tenantfleet publish --stack prod --data 'hello' --attr event_type=invoice.paid
  tenantfleet publish --stack dev --data 'once' --id evt-0001   # local cloud: deduplicated`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			msg := queue.Outgoing{Body: []byte(data), Attributes: map[string]string{}, ID: id}
			for _, kv := range attrs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErrorf("--attr %q: want NAME=VALUE", kv)
				}
				if _, dup := msg.Attributes[k]; dup {
					return usageErrorf("--attr %s given twice: an attribute has one value", k)
				}
				msg.Attributes[k] = v
			}
			// ShowSecrets: DigitalOcean's publisher password is a secret
			// output; it is used here and never printed.
			report, err := a.stackWithProjectDir(cmd, engine.OpOutputs, engine.StackOptions{Stack: f.stack, ProjectDir: f.projectDir, Backend: f.backend, Verbose: a.verbose, ShowSecrets: true})
			if err != nil {
				return err
			}
			tc, err := fanoutTopic(f.stack, report.Outputs, os.Getenv)
			if err != nil {
				return err
			}
			if id != "" && tc.Cloud != queue.CloudLocal {
				return usageErrorf("--id: deduplication by message id is the local cloud's only; stack %s publishes to %s", f.stack, tc.Cloud)
			}
			tc.Name = "tenantfleet-publish"
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			pub, err := queue.OpenTopic(ctx, tc)
			if err != nil {
				return usageErrorf("publish to the fanout of stack %s: %v", f.stack, err)
			}
			defer func() { _ = pub.Close() }()
			msgID, err := pub.Send(ctx, msg)
			// A duplicate id is what a retried publish should get: the
			// message is there once, which is success.
			duplicate := errors.Is(err, queue.ErrDuplicate)
			if err != nil && !duplicate {
				return failedErrorf("publish to %s: %v", topicName(tc), err)
			}
			if f.json {
				return writeJSON(a.Stdout, map[string]any{"stack": f.stack, "cloud": tc.Cloud, "topic": topicName(tc), "messageId": msgID, "duplicate": duplicate})
			}
			if duplicate {
				notef(a.Stderr, "not published again: %v\n", err)
				return nil
			}
			notef(a.Stderr, "published %d bytes to %s (%s, message %s)\n", len(data), topicName(tc), tc.Cloud, msgID)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&data, "data", "", "the message body (required)")
	cmd.Flags().StringArrayVar(&attrs, "attr", nil, "a message attribute NAME=VALUE (repeatable)")
	cmd.Flags().StringVar(&id, "id", "", "local cloud only: a message id; a second publish with the same id within two minutes is dropped as a duplicate")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

// fanoutTopic finds the stack's fanout topic in its outputs and the cloud it
// is on, from the topic id's form: every cloud's is distinct. getenv
// (os.Getenv) gives a Kubernetes publisher's password.
func fanoutTopic(stack string, outputs map[string]any, getenv func(string) string) (queue.TopicConfig, error) {
	fanout, _ := outputs["fanout"].(map[string]any)
	topic, _ := fanout["topicId"].(string)
	if topic == "" {
		return queue.TopicConfig{}, usageErrorf("stack %s has no fanout: set tenantfleet:fanout in Pulumi.%s.yaml and run up", stack, stack)
	}
	tc := queue.TopicConfig{Topic: topic}
	switch {
	case strings.HasPrefix(topic, "nats://"):
		tc.Cloud = queue.CloudLocal
	case strings.HasPrefix(topic, "amqp://"), strings.HasPrefix(topic, "amqps://"):
		// A Kubernetes stack's RabbitMQ, by its in-cluster address
		// (reachable from where the cluster's DNS resolves, or through a
		// port-forward and the topic id edited). The URL names the
		// publisher user; its password is not a stack output.
		tc.Cloud = queue.CloudKubernetes
		tc.Password = getenv(queue.EnvQueuePassword)
		tc.CACert = getenv(queue.EnvQueueCACert)
		if tc.Password == "" {
			return queue.TopicConfig{}, usageErrorf("stack %s publishes to RabbitMQ as the fanout's publisher user: set %s to its password (the Secret <topic>-user-credentials in the stack's namespace, key password)", stack, queue.EnvQueuePassword)
		}
	case strings.HasPrefix(topic, "arn:"):
		tc.Cloud = queue.CloudAWS
	case strings.HasPrefix(strings.ToLower(topic), "/subscriptions/"):
		tc.Cloud = queue.CloudAzure
	case strings.HasPrefix(topic, "projects/"):
		tc.Cloud = queue.CloudGCP
	default:
		// DigitalOcean's topic id is the Kafka topic's name; its publisher
		// user is a separate output.
		p, ok := fanout["publisher"].(map[string]any)
		if !ok {
			return queue.TopicConfig{}, usageErrorf("stack %s: the fanout's topic %q is of no cloud tenantfleet knows, and the stack has no fanout.publisher output (run up with this tenantfleet to add it)", stack, topic)
		}
		tc.Cloud = queue.CloudDigitalOcean
		tc.Topic, _ = p["url"].(string)
		tc.Password, _ = p["password"].(string)
		tc.CACert, _ = p["caCertificate"].(string)
		if tc.Topic == "" || tc.Password == "" || tc.Password == "[secret]" {
			return queue.TopicConfig{}, usageErrorf("stack %s: the fanout.publisher output lacks the publisher's url or password", stack)
		}
	}
	return tc, nil
}

// topicName is how messages name the topic: the subject on the local cloud,
// the Kafka URL on DigitalOcean, the id elsewhere (the AMQP URL on
// Kubernetes); the URLs hold no password (the queue package refuses one).
func topicName(tc queue.TopicConfig) string {
	if tc.Cloud == queue.CloudLocal {
		if i := strings.Index(tc.Topic, "subject="); i >= 0 {
			return strings.SplitN(tc.Topic[i+len("subject="):], "&", 2)[0]
		}
	}
	return tc.Topic
}
