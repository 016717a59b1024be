package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// The clouds, as TENANTFLEET_CLOUD names them.
const (
	CloudLocal        = "local"
	CloudAWS          = "aws"
	CloudAzure        = "azure"
	CloudGCP          = "gcp"
	CloudDigitalOcean = "digitalocean"
	// CloudKubernetes queues are RabbitMQ quorum queues and its topics
	// headers exchanges (declared through RabbitMQ's messaging-topology
	// operator), spoken to over AMQP 0-9-1 (amqp.go).
	CloudKubernetes = "kubernetes"
)

// Clouds lists every cloud this package has a client for.
func Clouds() []string {
	return []string{CloudLocal, CloudAWS, CloudAzure, CloudGCP, CloudDigitalOcean, CloudKubernetes}
}

// The variables of tenantfleet's environment contract that ConfigFromEnv
// reads (README "The environment contract"). Errors name them.
const (
	EnvCloud         = "TENANTFLEET_CLOUD"
	EnvQueueURL      = "QUEUE_URL"
	EnvDeadLetterURL = "DEAD_LETTER_QUEUE_URL"
	EnvQueuePassword = "QUEUE_PASSWORD"
	EnvQueueCACert   = "QUEUE_CA_CERT"
)

// Message is one delivery from a work queue. Ack or Nack it on the Receiver
// it came from.
type Message struct {
	// ID is the queue's id for the message (SQS MessageId, Pub/Sub message
	// id, Service Bus MessageId, NATS Nats-Msg-Id or stream sequence, Kafka
	// <topic>/<partition>/<offset>, AMQP message-id).
	ID string
	// Subject is where the message was published, when the queue says: the
	// NATS subject, the Kafka topic; else the queue's name.
	Subject string
	Body    []byte
	// Attributes are the message's attributes: SQS message attributes,
	// Pub/Sub attributes, Service Bus application properties, NATS or Kafka
	// headers (a repeated header's values joined with ", "), AMQP headers.
	Attributes map[string]string
	// Deliveries is 1 on the first delivery; 0 when the queue does not say.
	Deliveries int

	handle any // the driver's own, for Ack and Nack
}

// Attribute is a case-insensitive attribute lookup: senders are not always
// careful with case, and some transports change it.
func (m Message) Attribute(name string) string {
	if v, ok := m.Attributes[name]; ok {
		return v
	}
	for k, v := range m.Attributes {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Outgoing is a message to send.
type Outgoing struct {
	Body []byte
	// Attributes travel with the message (see Message.Attributes). Names
	// and values must be non-empty text; each cloud has its own limits,
	// which Send reports.
	Attributes map[string]string
	// ID, when set, is the message's deduplication id. Only the local
	// cloud honours it (NATS drops a second message with the same id within
	// two minutes); Send refuses it elsewhere rather than ignore it.
	ID string
}

// Receiver is the consuming side of a tenant's work queue.
type Receiver interface {
	// Receive waits up to wait for at most limit messages. It returns as
	// soon as it has one message (with whatever else is already there), and
	// early, with what it has, when ctx ends.
	Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error)
	// Ack removes the message from the queue for good.
	Ack(ctx context.Context, m Message) error
	// Nack hands the message back for redelivery after delay (0: at once).
	// Once a message has been delivered the queue's maxReceiveCount times,
	// it moves to the dead-letter queue instead (see the package doc for
	// where each cloud does that).
	Nack(ctx context.Context, m Message, delay time.Duration) error
	// Close releases the client. Messages neither acked nor nacked are
	// redelivered after the visibility timeout.
	Close() error
}

// Sender sends messages to one queue or topic.
type Sender interface {
	// Send sends m and returns the id the cloud gave it.
	Send(ctx context.Context, m Outgoing) (string, error)
	Close() error
}

// Config says which queue to open and how. ConfigFromEnv fills it from the
// environment contract.
type Config struct {
	// Cloud is TENANTFLEET_CLOUD: local, aws, azure, gcp, digitalocean or kubernetes.
	Cloud string
	// URL is QUEUE_URL, the work queue in the cloud's own form (see the
	// package doc).
	URL string
	// DeadLetterURL is DEAD_LETTER_QUEUE_URL. Only the clients that
	// dead-letter themselves (DigitalOcean's Kafka) need it.
	DeadLetterURL string
	// Password is QUEUE_PASSWORD, set where the queue takes a password
	// (DigitalOcean's Kafka, Kubernetes' RabbitMQ: the user the URL
	// names); secret, never logged.
	Password string
	// CACert is QUEUE_CA_CERT, the PEM certificate of a private CA the
	// brokers' certificates are signed by (DigitalOcean's Kafka, RabbitMQ
	// over amqps).
	CACert string
	// Name names the client to the server where it can be named (NATS
	// connection name, Kafka client id, AMQP connection_name);
	// "tenantfleet" when empty.
	Name string
	// Logger receives the client's own warnings (reconnects, dropped
	// leases); nil discards them.
	Logger *slog.Logger

	hooks hooks // tests only
}

// ConfigFromEnv reads the contract's queue variables with getenv (os.Getenv).
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Cloud:         strings.TrimSpace(getenv(EnvCloud)),
		URL:           strings.TrimSpace(getenv(EnvQueueURL)),
		DeadLetterURL: strings.TrimSpace(getenv(EnvDeadLetterURL)),
		Password:      getenv(EnvQueuePassword), // verbatim
		CACert:        getenv(EnvQueueCACert),
	}
}

// TopicConfig says which fanout topic to open for sending.
type TopicConfig struct {
	// Cloud is the stack's cloud.
	Cloud string
	// Topic is the fanout's topic in the cloud's own form: the stack output
	// fanout.topicId (a NATS topic URL, an SNS topic ARN, a Service Bus
	// topic's Azure resource id, projects/P/topics/T, an
	// amqp[s]://<publisher>@<host>/<vhost>?exchange=<exchange> URL), or on
	// DigitalOcean fanout.topicUrl (kafka://<publisher>@<host>:<port>/<topic>).
	Topic string
	// Password is the publisher user's password (DigitalOcean, Kubernetes).
	Password string
	// CACert is the brokers' CA certificate, PEM (DigitalOcean, Kubernetes
	// over amqps).
	CACert string
	// Name and Logger as in Config.
	Name   string
	Logger *slog.Logger

	hooks hooks // tests only
}

// ErrUnknownCloud is returned for a cloud this package has no client for.
var ErrUnknownCloud = errors.New("unknown cloud")

// OpenReceiver opens the work queue c names for consuming.
func OpenReceiver(ctx context.Context, c Config) (Receiver, error) {
	c = c.withDefaults()
	switch c.Cloud {
	case CloudLocal:
		return openNATSReceiver(ctx, c)
	case CloudKubernetes:
		return openAMQPReceiver(ctx, c)
	case CloudAWS:
		return openSQSReceiver(ctx, c)
	case CloudAzure:
		return openServiceBusReceiver(ctx, c)
	case CloudGCP:
		return openPubSubReceiver(ctx, c)
	case CloudDigitalOcean:
		return openKafkaReceiver(ctx, c)
	}
	return nil, c.unknownCloud()
}

// OpenSender opens the work queue c names for sending into it (what a
// tenant's web app does to hand work to its worker).
func OpenSender(ctx context.Context, c Config) (Sender, error) {
	c = c.withDefaults()
	switch c.Cloud {
	case CloudLocal:
		return openNATSSender(ctx, c)
	case CloudKubernetes:
		return openAMQPSender(ctx, c)
	case CloudAWS:
		return openSQSSender(ctx, c)
	case CloudAzure:
		return openServiceBusSender(ctx, c)
	case CloudGCP:
		return openPubSubSender(ctx, c)
	case CloudDigitalOcean:
		return openKafkaSender(ctx, c)
	}
	return nil, c.unknownCloud()
}

// OpenTopic opens a fanout topic for publishing.
func OpenTopic(ctx context.Context, t TopicConfig) (Sender, error) {
	if t.Logger == nil {
		t.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if t.Name == "" {
		t.Name = "tenantfleet"
	}
	switch t.Cloud {
	case CloudLocal:
		return openNATSTopic(ctx, t)
	case CloudKubernetes:
		return openAMQPTopic(ctx, t)
	case CloudAWS:
		return openSNSTopic(ctx, t)
	case CloudAzure:
		return openServiceBusTopic(ctx, t)
	case CloudGCP:
		return openPubSubTopic(ctx, t)
	case CloudDigitalOcean:
		return openKafkaTopic(ctx, t)
	}
	return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownCloud, t.Cloud, strings.Join(Clouds(), ", "))
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Name == "" {
		c.Name = "tenantfleet"
	}
	return c
}

func (c Config) unknownCloud() error {
	if c.Cloud == "" {
		return fmt.Errorf("%s: not set: want one of %s", EnvCloud, strings.Join(Clouds(), ", "))
	}
	return fmt.Errorf("%s=%q: %w: want one of %s", EnvCloud, c.Cloud, ErrUnknownCloud, strings.Join(Clouds(), ", "))
}

// hooks are what tests change in the drivers: endpoints and protocols of
// the in-process servers they run. Production code never sets them.
type hooks struct {
	aws   awsHooks
	gcp   gcpHooks
	azure azureHooks
	kafka kafkaHooks
	amqp  amqpHooks
}

// refuseID is Send's answer to an Outgoing.ID on a cloud that does not
// deduplicate by id.
func refuseID(cloud string) error {
	return fmt.Errorf("a message id (deduplication) is supported on the local cloud only, not on %s", cloud)
}
