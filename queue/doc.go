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
//
// Credentials come only from the contract and the cloud's workload
// identity: the AWS SDK's default chain (the ECS task role), Azure's
// DefaultAzureCredential (the app's user-assigned identity, AZURE_CLIENT_ID),
// Google's Application Default Credentials (the Cloud Run service account),
// and QUEUE_PASSWORD and QUEUE_CA_CERT on DigitalOcean. Nothing here logs or
// returns a password.
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
// SNS, pstest for Pub/Sub (the real gRPC API, in-process) and kfake for
// Kafka (with SASL/SCRAM and TLS). Azure Service Bus has no server that runs
// here: its driver is tested with a double of the azservicebus client. Each
// driver's file says where those servers differ from the cloud.
package queue
