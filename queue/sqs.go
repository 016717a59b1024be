package queue

// Amazon SQS and SNS, for tenant units on AWS (providers/aws), with
// aws-sdk-go-v2 directly.
//
// QUEUE_URL is the SQS queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>
// (or .amazonaws.com.cn, or the legacy https://<region>.queue.amazonaws.com/...);
// the client's region is the URL's. A URL on any other host is a local SQS
// (goaws, LocalStack): its endpoint must then be configured the SDK's way
// (AWS_ENDPOINT_URL_SQS) and the region is the SDK configuration's. A
// fanout's topicId is the SNS topic ARN, arn:aws:sns:<region>:<account>:<name>,
// whose region the client uses. Credentials come only from the SDK's
// default chain: on ECS Fargate the task role, elsewhere the environment,
// the shared config files (profiles, SSO) or an instance role.
//
// The mapping:
//
//   - Receive is ReceiveMessage with MaxNumberOfMessages min(limit, 10),
//     long polling for wait (rounded up to whole seconds; SQS waits at most
//     20 s per call, so a longer wait polls again), all message attributes
//     and the system attributes ApproximateReceiveCount and SentTimestamp.
//     It returns as soon as a poll brings messages. When ctx ends, Receive
//     returns nothing and no error at once; the poll still open finishes in
//     the background and any message it brings is handed back
//     (ChangeMessageVisibility 0) rather than hidden for the visibility
//     timeout. Close aborts such polls: what SQS gave one in the instant it
//     was aborted comes back after the visibility timeout.
//   - Message.ID is the SQS MessageId, Subject the queue's name, Attributes
//     the message attributes (String and Number as they are, Binary in
//     standard base64), Deliveries ApproximateReceiveCount.
//   - Ack is DeleteMessage with the receipt handle.
//   - Nack(delay) is ChangeMessageVisibility to delay, in whole seconds
//     rounded up, at most SQS's 12 hours: 0 makes the message visible at
//     once.
//   - Dead-lettering is SQS's own: the queue's redrive policy (set by the
//     adapter) moves a message to the dead-letter queue when it is received
//     more than maxReceiveCount times. DEAD_LETTER_QUEUE_URL is another SQS
//     queue URL, opened the same way when one wants to read it.
//   - Send (a tenant's web app enqueueing work) is SendMessage with String
//     message attributes, checked first against SQS's limits (sqs_limits.go);
//     the id is the MessageId. Outgoing.ID is refused: standard queues do not
//     deduplicate. OpenSender refuses a FIFO queue (.fifo), which tenantfleet
//     never creates and which would need a message group id.
//   - A topic's Send (tenantfleet publish into a fanout) is SNS Publish with
//     String message attributes, checked against SNS's limits and against
//     the 10 attributes SNS can deliver raw into SQS (the adapter subscribes
//     queues with raw message delivery; SNS discards a message with more). A
//     subscription's filter policy matches those attributes. Before the first
//     Publish the topic retrieves credentials, for at most a few seconds, so
//     a machine without any gets a clear error instead of a hang on the
//     instance metadata service.
//
// Rights: the adapter's task roles (providers/aws/workload.go) allow, on the
// tenant's own queue only, sqs:ReceiveMessage, sqs:DeleteMessage,
// sqs:ChangeMessageVisibility, sqs:GetQueueAttributes and sqs:GetQueueUrl,
// plus sqs:SendMessage for the web app. This driver calls only
// ReceiveMessage, DeleteMessage and ChangeMessageVisibility (receiver) and
// SendMessage (sender); the queues use SQS-managed encryption, so no KMS
// right is needed. The dead-letter queue is outside the task roles' rights:
// reading it takes the operator's credentials. Publishing needs sns:Publish
// on the topic, which no task role has either.

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// awsHooks are the test hooks of this driver: options applied after the
// driver's own, so a test can point the clients at goaws (a base endpoint,
// static credentials, a region) and make the SQS client speak the query
// protocol goaws understands instead of the SDK's default JSON protocol;
// and shorten the wait for credentials before a publish.
type awsHooks struct {
	config             []func(*config.LoadOptions) error
	sqs                []func(*sqs.Options)
	sns                []func(*sns.Options)
	credentialsTimeout time.Duration // awsCredentialsTimeout when 0
}

const (
	// sqsMaxBatch is the most messages one ReceiveMessage returns.
	sqsMaxBatch = 10
	// sqsMaxWait is the longest long poll (WaitTimeSeconds) SQS accepts.
	sqsMaxWait = 20 * time.Second
	// sqsMaxVisibility is the longest visibility timeout SQS accepts.
	sqsMaxVisibility = 12 * time.Hour
	// awsCredentialsTimeout bounds the search for credentials before a
	// publish: the SDK's chain ends with the EC2 instance metadata service,
	// which does not answer at all off EC2.
	awsCredentialsTimeout = 5 * time.Second
	// sqsHandBackTimeout bounds each ChangeMessageVisibility that hands back
	// a message an abandoned poll brought.
	sqsHandBackTimeout = 5 * time.Second
)

// errSQSClosed is returned by a Receive that Close interrupted.
var errSQSClosed = errors.New("queue client is closed")

// sqsReceipt is a Message.handle of this driver: the receipt handle.
type sqsReceipt string

// sqsQueue is a tenant's work queue (or its dead-letter queue) on SQS.
type sqsQueue struct {
	q      sqsURL
	client *sqs.Client
	log    *slog.Logger

	life  context.Context // ends at Close
	close context.CancelFunc
	polls sync.WaitGroup // abandoned polls still running
}

func openSQSReceiver(ctx context.Context, c Config) (Receiver, error) {
	return openSQS(ctx, c)
}

func openSQSSender(ctx context.Context, c Config) (Sender, error) {
	q, err := openSQS(ctx, c)
	if err != nil {
		return nil, err
	}
	if q.q.FIFO() {
		_ = q.Close()
		return nil, fmt.Errorf("%s: %q is a FIFO queue; tenantfleet's queues are standard queues and this client does not send message group ids", EnvQueueURL, q.q.Name)
	}
	return q, nil
}

func openSQS(ctx context.Context, c Config) (*sqsQueue, error) {
	u, err := parseSQSURL(c.URL)
	if err != nil {
		return nil, err
	}
	cfg, err := awsConfig(ctx, c.hooks.aws, u.Region, c.Name)
	if err != nil {
		return nil, err
	}
	client := sqs.NewFromConfig(cfg, c.hooks.aws.sqs...)
	if u.Region == "" { // a local SQS
		o := client.Options()
		if o.BaseEndpoint == nil {
			return nil, fmt.Errorf("%s: %s is not an AWS SQS host; for a local SQS (goaws, LocalStack) set AWS_ENDPOINT_URL_SQS to its endpoint", EnvQueueURL, u.Host)
		}
		if o.Region == "" {
			return nil, fmt.Errorf("%s: %s is not an AWS SQS host, so the region comes from the AWS configuration, and none is set (AWS_REGION)", EnvQueueURL, u.Host)
		}
	}
	life, cancel := context.WithCancel(context.Background())
	return &sqsQueue{q: u, client: client, log: c.Logger, life: life, close: cancel}, nil
}

// awsConfig loads the SDK's default configuration; region, when set,
// overrides the configured one. name goes into the User-Agent (app/<name>).
func awsConfig(ctx context.Context, h awsHooks, region, name string) (aws.Config, error) {
	opts := append([]func(*config.LoadOptions) error{config.WithAppID(name)}, h.config...)
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		// The loader's errors name files and profiles, never secrets.
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

func (q *sqsQueue) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	limit = min(max(limit, 1), sqsMaxBatch)
	deadline := time.Now().Add(wait)
	for {
		if ctx.Err() != nil {
			return nil, nil
		}
		if q.life.Err() != nil {
			return nil, errSQSClosed
		}
		msgs, err := q.poll(ctx, limit, waitSeconds(time.Until(deadline)))
		if err != nil || len(msgs) > 0 || time.Until(deadline) <= 0 {
			return msgs, err
		}
	}
}

// waitSeconds is d as SQS's WaitTimeSeconds: whole seconds rounded up, 0 to
// 20.
func waitSeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32(math.Ceil(min(d, sqsMaxWait).Seconds()))
}

// visibilitySeconds is a Nack's delay as SQS's VisibilityTimeout: whole
// seconds rounded up, 0 to 12 hours.
func visibilitySeconds(d time.Duration) int32 {
	return int32(math.Ceil(min(max(d, 0), sqsMaxVisibility).Seconds()))
}

type sqsPoll struct {
	out *sqs.ReceiveMessageOutput
	err error
}

// poll makes one ReceiveMessage call. The call does not end with ctx:
// when ctx ends first, poll returns nothing at once and leaves the call to
// finish in the background, handing back whatever it brings.
func (q *sqsQueue) poll(ctx context.Context, limit int, wait int32) ([]Message, error) {
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(q.life, cancel) // Close aborts it
	done := make(chan sqsPoll, 1)
	go func() {
		defer stop()
		defer cancel()
		out, err := q.client.ReceiveMessage(callCtx, &sqs.ReceiveMessageInput{
			QueueUrl:              aws.String(q.q.URL),
			MaxNumberOfMessages:   int32(limit),
			WaitTimeSeconds:       wait,
			MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{
				sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
				sqstypes.MessageSystemAttributeNameSentTimestamp,
			},
		})
		done <- sqsPoll{out, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			if q.life.Err() != nil {
				return nil, errSQSClosed
			}
			return nil, fmt.Errorf("receive from SQS queue %s: %w", q.q.Name, r.err)
		}
		msgs := make([]Message, 0, len(r.out.Messages))
		for _, m := range r.out.Messages {
			msgs = append(msgs, sqsMessage(q.q.Name, m))
		}
		return msgs, nil
	case <-ctx.Done():
		q.polls.Add(1)
		go func() {
			defer q.polls.Done()
			if r := <-done; r.err == nil {
				q.handBack(r.out.Messages)
			}
		}()
		return nil, nil
	}
}

// handBack makes messages an abandoned poll brought visible again.
func (q *sqsQueue) handBack(msgs []sqstypes.Message) {
	for _, m := range msgs {
		ctx, cancel := context.WithTimeout(q.life, sqsHandBackTimeout)
		_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(q.q.URL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
		cancel()
		if err != nil {
			q.log.Warn("could not hand back a message received after Receive returned; it is redelivered after the visibility timeout",
				"queue", q.q.Name, "id", aws.ToString(m.MessageId), "err", err)
		}
	}
}

// sqsMessage converts a received message. Binary attributes, which this
// package never sends, arrive in standard base64.
func sqsMessage(queue string, m sqstypes.Message) Message {
	msg := Message{
		ID:         aws.ToString(m.MessageId),
		Subject:    queue,
		Body:       []byte(aws.ToString(m.Body)),
		Attributes: make(map[string]string, len(m.MessageAttributes)),
		handle:     sqsReceipt(aws.ToString(m.ReceiptHandle)),
	}
	if n, err := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		msg.Deliveries = n
	}
	for k, v := range m.MessageAttributes {
		switch {
		case v.StringValue != nil:
			msg.Attributes[k] = *v.StringValue
		case v.BinaryValue != nil:
			msg.Attributes[k] = base64.StdEncoding.EncodeToString(v.BinaryValue)
		}
	}
	return msg
}

func sqsHandle(m Message) (*string, error) {
	h, ok := m.handle.(sqsReceipt)
	if !ok || h == "" {
		return nil, errors.New("message was not received from this queue")
	}
	return aws.String(string(h)), nil
}

func (q *sqsQueue) Ack(ctx context.Context, m Message) error {
	h, err := sqsHandle(m)
	if err != nil {
		return err
	}
	if _, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.q.URL), ReceiptHandle: h}); err != nil {
		return fmt.Errorf("ack (delete) message %s on SQS queue %s: %w", m.ID, q.q.Name, err)
	}
	return nil
}

func (q *sqsQueue) Nack(ctx context.Context, m Message, delay time.Duration) error {
	h, err := sqsHandle(m)
	if err != nil {
		return err
	}
	secs := visibilitySeconds(delay)
	if _, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.q.URL), ReceiptHandle: h, VisibilityTimeout: secs,
	}); err != nil {
		return fmt.Errorf("nack (change visibility to %ds) message %s on SQS queue %s: %w", secs, m.ID, q.q.Name, err)
	}
	return nil
}

func (q *sqsQueue) Send(ctx context.Context, m Outgoing) (string, error) {
	if m.ID != "" {
		return "", refuseID(CloudAWS)
	}
	if err := checkSQSMessage(m); err != nil {
		return "", err
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.q.URL), MessageBody: aws.String(string(m.Body))}
	if len(m.Attributes) > 0 {
		in.MessageAttributes = make(map[string]sqstypes.MessageAttributeValue, len(m.Attributes))
		for k, v := range m.Attributes {
			in.MessageAttributes[k] = sqstypes.MessageAttributeValue{DataType: aws.String(awsAttributeType), StringValue: aws.String(v)}
		}
	}
	out, err := q.client.SendMessage(ctx, in)
	if err != nil {
		return "", fmt.Errorf("send to SQS queue %s: %w", q.q.Name, err)
	}
	return aws.ToString(out.MessageId), nil
}

// Close aborts polls that Receive abandoned and waits for them.
func (q *sqsQueue) Close() error {
	q.close()
	q.polls.Wait()
	return nil
}

// snsTopic is a fanout's SNS topic, for publishing.
type snsTopic struct {
	t            snsARN
	client       *sns.Client
	credsTimeout time.Duration

	mu       sync.Mutex
	hasCreds bool
}

func openSNSTopic(ctx context.Context, tc TopicConfig) (Sender, error) {
	t, err := parseSNSTopicARN(tc.Topic)
	if err != nil {
		return nil, err
	}
	cfg, err := awsConfig(ctx, tc.hooks.aws, t.Region, tc.Name)
	if err != nil {
		return nil, err
	}
	return &snsTopic{
		t:            t,
		client:       sns.NewFromConfig(cfg, tc.hooks.aws.sns...),
		credsTimeout: cmp.Or(tc.hooks.aws.credentialsTimeout, awsCredentialsTimeout),
	}, nil
}

func (t *snsTopic) Send(ctx context.Context, m Outgoing) (string, error) {
	if m.ID != "" {
		return "", refuseID(CloudAWS)
	}
	if err := checkSNSMessage(m); err != nil {
		return "", err
	}
	if err := t.credentials(ctx); err != nil {
		return "", err
	}
	in := &sns.PublishInput{TopicArn: aws.String(t.t.ARN), Message: aws.String(string(m.Body))}
	if len(m.Attributes) > 0 {
		in.MessageAttributes = make(map[string]snstypes.MessageAttributeValue, len(m.Attributes))
		for k, v := range m.Attributes {
			in.MessageAttributes[k] = snstypes.MessageAttributeValue{DataType: aws.String(awsAttributeType), StringValue: aws.String(v)}
		}
	}
	out, err := t.client.Publish(ctx, in)
	if err != nil {
		return "", fmt.Errorf("publish to SNS topic %s: %w", t.t.Name, err)
	}
	return aws.ToString(out.MessageId), nil
}

// credentials makes sure the client has credentials before its first
// publish, waiting at most awsCredentialsTimeout for the SDK's chain.
func (t *snsTopic) credentials(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hasCreds {
		return nil
	}
	provider := t.client.Options().Credentials
	if provider == nil {
		return errNoAWSCredentials("")
	}
	cctx, cancel := context.WithTimeout(ctx, t.credsTimeout)
	defer cancel()
	// The chain's errors are not passed on: some quote what a
	// credential_process printed, which may hold a secret.
	if _, err := provider.Retrieve(cctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return errNoAWSCredentials(fmt.Sprintf(" (gave up looking after %s)", t.credsTimeout))
		}
		return errNoAWSCredentials("")
	}
	t.hasCreds = true
	return nil
}

func errNoAWSCredentials(detail string) error {
	return fmt.Errorf("no AWS credentials found%s: set AWS_PROFILE to a profile of your AWS config, "+
		"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary ones), "+
		"or run `aws sso login` for an SSO profile, or run where a role provides them (an EC2 instance profile, an ECS task role)", detail)
}

func (t *snsTopic) Close() error { return nil }

// Compile-time proof of conformance.
var (
	_ Receiver = (*sqsQueue)(nil)
	_ Sender   = (*sqsQueue)(nil)
	_ Sender   = (*snsTopic)(nil)
)
