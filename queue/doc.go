// Package queue is the queue client of tenantfleet's tenant units: one
// small interface over each cloud's work queue and fanout topic, opened from
// the environment contract (README "The environment contract"), so an app
// written against it runs unchanged on every cloud tenantfleet deploys to.
// The example app (examples/tenant-app) and `tenantfleet publish` use it.
//
//	r, err := queue.OpenReceiver(ctx, queue.ConfigFromEnv(os.Getenv))
//	msgs, err := r.Receive(ctx, 10, 20*time.Second)
//	... r.Ack(ctx, m) or r.Nack(ctx, m, delay)
//
// # Per cloud
//
//	cloud          QUEUE_URL                                   client                      dead-lettering
//	local          nats://127.0.0.1:P?stream=S&subject=…&consumer=C  nats.go JetStream      server: the runtime, after the consumer's max deliveries
//	aws            https://sqs.R.amazonaws.com/A/Q             aws-sdk-go-v2 (SQS, SNS)    server: SQS redrive policy
//	azure          https://N.servicebus.windows.net/Q          azservicebus + azidentity   server: Service Bus maxDeliveryCount
//	gcp            projects/P/subscriptions/S                  cloud.google.com/go/pubsub/v2  server: the subscription's dead-letter policy
//	digitalocean   kafka://U@H:P/T?group=G&maxReceiveCount=N&visibilityTimeout=Ss  franz-go  client: this package (see kafka.go)
//	kubernetes     amqp[s]://U@H[:P]/VHOST?queue=Q&exchange=E  amqp091-go (AMQP 0-9-1)  server: RabbitMQ, after the quorum queue's delivery limit
//
// On Kubernetes, QUEUE_URL names the RabbitMQ user (its password is
// QUEUE_PASSWORD, never in the URL), the stack's vhost (percent-encoded:
// "/" is %2F), the tenant's quorum queue, which the Receiver consumes, and
// the direct exchange the Sender publishes to with the queue's name as
// routing key and mandatory set, so a message no queue takes is an error. A
// fanout's topicId is the same without queue= (a headers exchange; a
// publish no subscriber takes is dropped, as on SNS). Message.Deliveries is
// 1 + the queue's x-delivery-count, the deliveries that failed before
// (nacks, and channels that closed with the message unacked). RabbitMQ
// dead-letters a message, to the tenant's dead-letter queue, once its
// failed deliveries exceed the queue's delivery limit (the Kubernetes
// adapter's policy delivery-limit, or an x-delivery-limit argument), which
// is maxReceiveCount-1: it is delivered maxReceiveCount times, as on SQS.
// RabbitMQ cannot delay a requeue: a Nack with a delay holds the message
// unacked, invisible to other consumers, until at most 25 minutes after its
// delivery (RabbitMQ's consumer_timeout, 30 minutes from the delivery by
// default, would close the channel), and
// Close hands held messages back at once. Attribute names are at most 128
// bytes and may not start with x- (RabbitMQ's), values are non-empty text;
// RabbitMQ does not deduplicate, so Send refuses an Outgoing.ID. The client
// reopens its connection on the next call after a broker restart or a
// dropped connection; a message received on the dead connection can no
// longer be acked (Ack says so) and comes back. See amqp.go.
//
// Credentials come only from the contract and the cloud's workload
// identity: the AWS SDK's default chain (the ECS task role), Azure's
// DefaultAzureCredential (the app's user-assigned identity, AZURE_CLIENT_ID),
// Google's Application Default Credentials (the Cloud Run service account),
// and QUEUE_PASSWORD and QUEUE_CA_CERT on DigitalOcean and Kubernetes.
// Nothing here logs or returns a password.
//
// Why the clouds' own SDKs and not gocloud.dev's pubsub drivers: gocloud's
// portable Message has no delivery count and its Nack takes no delay on any
// driver; its Kafka driver cannot Nack at all, let alone dead-letter, which
// DigitalOcean's queues need from the client; and the release on the module
// proxy that has the current SDKs (v0.47.0) requires Go 1.26, while this
// module builds with Go 1.25. Each driver here is a few hundred lines on the
// library its cloud maintains.
//
// # Tested against
//
// The local cloud's JetStream (nats-server, in-process), goaws for SQS and
// SNS, pstest for Pub/Sub (the real gRPC API, in-process), kfake for Kafka
// (with SASL/SCRAM and TLS) and a real RabbitMQ 3.10 node (Debian's
// rabbitmq-server, through queue/rabbittest; `make kube` installs it). Azure
// Service Bus has no server that runs here: its driver is tested with a
// double of the azservicebus client. Each driver's file says where those
// servers differ from the cloud.
package queue
