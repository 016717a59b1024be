// Google Cloud Pub/Sub (TENANTFLEET_CLOUD=gcp).
//
// QUEUE_URL is the full name of a pull subscription,
// projects/<project>/subscriptions/<id> (providers/gcp/queue.go), and a
// fanout's topicId the full name of a topic, projects/<project>/topics/<id>.
// Both are checked against Pub/Sub's naming rules before anything is sent.
// The driver uses Pub/Sub's unary RPCs (cloud.google.com/go/pubsub/v2/apiv1)
// rather than the streaming high-level subscriber, whose background leases
// do not fit a synchronous Receive/Ack/Nack:
//
//   - Receive is Pull with MaxMessages = limit, repeated until a Pull brings
//     messages or wait has passed (Pub/Sub may answer a Pull with nothing
//     before that). Transient errors (UNAVAILABLE, INTERNAL, ...) are retried
//     within wait and reported once wait has passed. When ctx ends, Receive
//     returns nothing and no error. A Pull cancelled in flight cannot hand
//     back what the server had already sent it: such a message comes back
//     once the subscription's ack deadline expires, and that delivery counts
//     toward the dead-letter limit.
//   - Message.ID is the Pub/Sub message id, Subject the subscription id,
//     Attributes the message's attributes, and Deliveries its DeliveryAttempt,
//     which Pub/Sub sets (1 on the first delivery, best effort) only on a
//     subscription with a dead-letter policy, as tenantfleet's all have;
//     elsewhere it is 0.
//   - Ack is Acknowledge.
//   - Nack(delay) is ModifyAckDeadline with delay in whole seconds, rounded
//     up and clamped to the 0..600 seconds Pub/Sub accepts: the message comes
//     back once that deadline passes. Pub/Sub counts a nack (deadline 0) and
//     an expired deadline alike as a delivery attempt (DeadLetterPolicy:
//     "1 + NACKs + ack deadline exceeded"). The subscription's retry policy
//     adds its own wait before a redelivery: tenantfleet's queues back off
//     exponentially from 10 to 600 seconds, so on them Nack(0) does not
//     redeliver at once.
//   - Dead-lettering is Pub/Sub's own, best effort: after about the
//     subscription's maxDeliveryAttempts (the queue's maxReceiveCount) the
//     service wraps the message in a new one, adds attributes naming the
//     source subscription, and publishes it to the dead-letter topic, read
//     through DEAD_LETTER_QUEUE_URL, another subscription this driver opens
//     the same way. The same message may be dead-lettered more than once.
//
// Sending into a work queue (OpenSender, what a tenant's web app does):
// Pub/Sub publishes to topics, not subscriptions. The gcp adapter names a
// tenant queue's topic and its subscription with the same id (both
// pubsubID(scope, owner) in providers/gcp/queue.go), so the sender derives
// the topic projects/P/topics/<id> from QUEUE_URL projects/P/subscriptions/<id>.
// A fanout subscriber's own queue is a subscription on the fanout's topic and
// has no topic of its own to send to: Send reports the derived topic as not
// found. Only the web app may publish (roles/pubsub.publisher on its queue
// topic); the worker may only consume. OpenTopic publishes to a fanout's
// topic (what tenantfleet publish does).
//
// Send checks Pub/Sub's message limits first (https://cloud.google.com/pubsub/quotas#resource_limits):
// at most 100 attributes, each name at most 256 bytes and not starting with
// "goog" (reserved by Google), each value at most 1024 bytes, names and
// values valid UTF-8, the publish request at most 10 MB, and a message with
// neither body nor attributes is refused (PubsubMessage: "must contain
// either a non-empty data field or at least one attribute"). Outgoing.ID is
// refused: Pub/Sub does not deduplicate by a publisher's id.
//
// Credentials are Application Default Credentials only: on Cloud Run the
// service's own service account; elsewhere GOOGLE_APPLICATION_CREDENTIALS or
// gcloud auth application-default login. They are looked up when a client
// opens, so a missing login fails at once with a message saying how to
// provide one. With PUBSUB_EMULATOR_HOST set, as in Google's own libraries,
// the client connects to that address in plain text without credentials.
//
// Checked against pstest (pubsub_test.go lists where it differs from
// Pub/Sub), not against Pub/Sub itself: the retry policy's wait after a
// nack, the attributes of dead letters, the service's own enforcement of the
// limits above, and credentials on Cloud Run are as Google documents them,
// unverified here.

package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/auth/credentials"
	vkit "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// gcpHooks are the test hooks of this driver.
type gcpHooks struct {
	// opts, when set, replace the driver's own client options (credentials,
	// emulator): tests point the clients at a pstest server with them.
	opts []option.ClientOption
	// extra follow the driver's own options, credentials included: tests
	// that open a client with found credentials point it at loopback with
	// them, never at Google.
	extra []option.ClientOption
}

// Pub/Sub's limits (https://cloud.google.com/pubsub/quotas#resource_limits
// and the ModifyAckDeadlineRequest reference).
const (
	pubsubMaxAttributes     = 100
	pubsubMaxAttributeName  = 256  // bytes
	pubsubMaxAttributeValue = 1024 // bytes
	pubsubMaxRequestBytes   = 10_000_000
	pubsubMaxAckDeadline    = 600 // seconds
	// pubsubReservedPrefix starts no id and no attribute name. The rule is
	// written in lowercase; whether Pub/Sub also refuses "Goog..." is not
	// documented, so only the lowercase form is refused here (the gcp
	// adapter avoids any case when it makes names).
	pubsubReservedPrefix = "goog"
)

// pubsubEmulatorEnv is the variable Google's libraries read for the
// emulator's address.
const pubsubEmulatorEnv = "PUBSUB_EMULATOR_HOST"

// Pub/Sub resource names. A topic or subscription id is 3-255 characters of
// [A-Za-z0-9-_.~+%] starting with a letter, not starting with "goog"
// (https://cloud.google.com/pubsub/docs/admin#resource_names). A project id
// is 6-30 lowercase letters, digits and hyphens, starting with a letter and
// not ending with a hyphen (Resource Manager, Project.projectId), possibly
// after the domain of a legacy domain-scoped project ("example.com:my-app").
var (
	pubsubIDPattern      = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$`)
	pubsubProjectPattern = regexp.MustCompile(`^(?:[a-z0-9][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
)

// pubsubName is a parsed projects/<project>/<kind>/<id> name.
type pubsubName struct {
	Project string
	Kind    string // "topics" or "subscriptions"
	ID      string
}

func (n pubsubName) String() string { return "projects/" + n.Project + "/" + n.Kind + "/" + n.ID }

// parsePubSubName parses a topic or subscription name of the given kind;
// what names the variable it came from (QUEUE_URL, topic) for errors.
func parsePubSubName(what, raw, kind string) (pubsubName, error) {
	want := "projects/<project>/" + kind + "/<id>"
	bad := func(why string) (pubsubName, error) {
		return pubsubName{}, fmt.Errorf("%s: %s (want %s)", what, why, want)
	}
	if strings.TrimSpace(raw) == "" {
		return bad("empty")
	}
	parts := strings.Split(raw, "/")
	if len(parts) != 4 || parts[0] != "projects" {
		return bad(fmt.Sprintf("%q is not a Pub/Sub resource name", raw))
	}
	n := pubsubName{Project: parts[1], Kind: parts[2], ID: parts[3]}
	if n.Kind != kind {
		return bad(fmt.Sprintf("%q names %s, not %s", raw, n.Kind, kind))
	}
	if !pubsubProjectPattern.MatchString(n.Project) {
		return bad(fmt.Sprintf("project %q is not a project id (6-30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen)", n.Project))
	}
	if !pubsubIDPattern.MatchString(n.ID) {
		return bad(fmt.Sprintf("id %q must be 3-255 characters of letters, digits and - _ . ~ + %%, starting with a letter", n.ID))
	}
	if strings.HasPrefix(n.ID, pubsubReservedPrefix) {
		return bad(fmt.Sprintf("id %q starts with %q, which Pub/Sub reserves", n.ID, pubsubReservedPrefix))
	}
	return n, nil
}

// queueTopic is the topic of a tenant's work queue: the gcp adapter gives the
// topic and its subscription the same id.
func (n pubsubName) queueTopic() pubsubName {
	return pubsubName{Project: n.Project, Kind: "topics", ID: n.ID}
}

// pubsubClientOptions are the options every client of this driver opens
// with: the test hooks', else the emulator's (applied by apiv1 itself when
// PUBSUB_EMULATOR_HOST is set), else Application Default Credentials,
// looked up now so that a missing login fails here rather than on the first
// call.
func pubsubClientOptions(h gcpHooks, name string) ([]option.ClientOption, error) {
	if len(h.opts) > 0 {
		return h.opts, nil
	}
	opts := []option.ClientOption{option.WithUserAgent(name)}
	if os.Getenv(pubsubEmulatorEnv) != "" {
		return append(opts, h.extra...), nil
	}
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{
		Scopes:           vkit.DefaultAuthScopes(),
		UseSelfSignedJWT: true, // as the generated clients detect them
	})
	if err != nil {
		return nil, fmt.Errorf("no Google Cloud credentials (Application Default Credentials): %w; "+
			"sign in with `gcloud auth application-default login`, "+
			"or set GOOGLE_APPLICATION_CREDENTIALS to a service account key or credential configuration file, "+
			"or run with a service account attached (Cloud Run, Compute Engine); "+
			"for the Pub/Sub emulator set %s", err, pubsubEmulatorEnv)
	}
	return append(append(opts, option.WithAuthCredentials(creds)), h.extra...), nil
}

// pubsubReceiver consumes one subscription.
type pubsubReceiver struct {
	sub    pubsubName
	client *vkit.SubscriptionAdminClient
	log    *slog.Logger
}

// pubsubHandle is Message.handle: the ack id and the subscription it is
// valid on.
type pubsubHandle struct {
	sub   string
	ackID string
}

func openPubSubReceiver(ctx context.Context, c Config) (Receiver, error) {
	sub, err := parsePubSubName(EnvQueueURL, c.URL, "subscriptions")
	if err != nil {
		return nil, err
	}
	opts, err := pubsubClientOptions(c.hooks.gcp, c.Name)
	if err != nil {
		return nil, err
	}
	client, err := vkit.NewSubscriptionAdminClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub subscriber client for %s: %w", sub, err)
	}
	return &pubsubReceiver{sub: sub, client: client, log: c.Logger}, nil
}

// pullRetryMax caps the wait between two Pulls after a transient error.
const pullRetryMax = 5 * time.Second

func (q *pubsubReceiver) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	limit = min(max(limit, 1), math.MaxInt32)
	deadline := time.Now().Add(wait)
	req := &pubsubpb.PullRequest{
		Subscription: q.sub.String(),
		MaxMessages:  int32(limit),
		// wait <= 0 asks for what is there now. Google discourages
		// ReturnImmediately for throughput; it is what such a caller wants.
		ReturnImmediately: wait <= 0, //nolint:staticcheck // deprecated, still served
	}
	var lastErr error
	backoff := 100 * time.Millisecond
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if wait > 0 {
			pctx, cancel = context.WithDeadline(ctx, deadline)
		}
		// No library retries: a retry loop inside Pull would hide its error
		// behind the deadline; this loop retries and remembers it.
		resp, err := q.client.Pull(pctx, req, gax.WithRetry(func() gax.Retryer { return nil }))
		cancel()
		// Messages a Pull brought are returned even when ctx has just ended:
		// dropped, they would stay leased until their ack deadline.
		if err == nil && len(resp.GetReceivedMessages()) > 0 {
			return q.messages(resp.GetReceivedMessages()), nil
		}
		if ctx.Err() != nil {
			return nil, nil // the caller is done; nothing came back
		}
		// DEADLINE_EXCEEDED is a Pull that found nothing in time: ours (the
		// server may report it a moment before the context does) or the
		// server's own.
		switch {
		case err == nil:
			lastErr = nil
		case status.Code(err) == codes.DeadlineExceeded:
			err = nil
		case pullRetryable(err):
			lastErr = err
			q.log.Warn("queue pull failed; retrying", "subscription", q.sub.String(), "err", err)
		default:
			return nil, fmt.Errorf("pull from %s (%s): %w", q.sub, EnvQueueURL, err)
		}
		if wait <= 0 || !time.Now().Before(deadline) {
			if lastErr != nil {
				return nil, fmt.Errorf("pull from %s (%s): %w", q.sub, EnvQueueURL, lastErr)
			}
			return nil, nil
		}
		if err != nil {
			if !sleepCtx(ctx, min(backoff, time.Until(deadline))) {
				return nil, nil
			}
			backoff = min(2*backoff, pullRetryMax)
		}
	}
}

// pullRetryable are the codes the generated client retries Pull on.
func pullRetryable(err error) bool {
	switch status.Code(err) {
	case codes.Unknown, codes.Aborted, codes.Unavailable, codes.Internal, codes.ResourceExhausted:
		return true
	}
	return false
}

// sleepCtx waits d unless ctx ends first, and says whether it waited.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (q *pubsubReceiver) messages(rms []*pubsubpb.ReceivedMessage) []Message {
	out := make([]Message, 0, len(rms))
	for _, rm := range rms {
		pm := rm.GetMessage()
		attrs := maps.Clone(pm.GetAttributes())
		if attrs == nil {
			attrs = map[string]string{}
		}
		out = append(out, Message{
			ID:         pm.GetMessageId(),
			Subject:    q.sub.ID,
			Body:       pm.GetData(),
			Attributes: attrs,
			Deliveries: int(rm.GetDeliveryAttempt()),
			handle:     pubsubHandle{sub: q.sub.String(), ackID: rm.GetAckId()},
		})
	}
	return out
}

func (q *pubsubReceiver) handle(m Message) (pubsubHandle, error) {
	h, ok := m.handle.(pubsubHandle)
	if !ok || h.sub != q.sub.String() {
		return pubsubHandle{}, errors.New("message was not received from this queue")
	}
	return h, nil
}

func (q *pubsubReceiver) Ack(ctx context.Context, m Message) error {
	h, err := q.handle(m)
	if err != nil {
		return err
	}
	if err := q.client.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: h.sub, AckIds: []string{h.ackID}}); err != nil {
		return fmt.Errorf("ack message %s on %s: %w", m.ID, q.sub, err)
	}
	return nil
}

// Nack sets the message's ack deadline to delay, in whole seconds rounded
// up and clamped to Pub/Sub's 0..600: the message is redelivered once it
// passes (see the file comment for the subscription's retry policy).
func (q *pubsubReceiver) Nack(ctx context.Context, m Message, delay time.Duration) error {
	h, err := q.handle(m)
	if err != nil {
		return err
	}
	req := &pubsubpb.ModifyAckDeadlineRequest{Subscription: h.sub, AckIds: []string{h.ackID}, AckDeadlineSeconds: nackSeconds(delay)}
	if err := q.client.ModifyAckDeadline(ctx, req); err != nil {
		return fmt.Errorf("nack message %s on %s: %w", m.ID, q.sub, err)
	}
	return nil
}

// nackSeconds is delay as an ack deadline: whole seconds rounded up, within
// 0..600.
func nackSeconds(delay time.Duration) int32 {
	if delay <= 0 {
		return 0
	}
	if delay >= pubsubMaxAckDeadline*time.Second {
		return pubsubMaxAckDeadline
	}
	return int32((delay + time.Second - 1) / time.Second)
}

func (q *pubsubReceiver) Close() error { return q.client.Close() }

// pubsubSender publishes to one topic: a tenant queue's (OpenSender) or a
// fanout's (OpenTopic).
type pubsubSender struct {
	topic pubsubName
	// queue is the QUEUE_URL subscription the topic was derived from; zero
	// for a fanout topic.
	queue  pubsubName
	client *vkit.TopicAdminClient
}

// openPubSubSender opens the topic of the work queue QUEUE_URL names: the
// topic with the subscription's id in the same project (see the file
// comment). A fanout subscriber's queue has no such topic.
func openPubSubSender(ctx context.Context, c Config) (Sender, error) {
	sub, err := parsePubSubName(EnvQueueURL, c.URL, "subscriptions")
	if err != nil {
		return nil, err
	}
	return newPubSubSender(ctx, sub.queueTopic(), sub, c.hooks.gcp, c.Name)
}

func openPubSubTopic(ctx context.Context, tc TopicConfig) (Sender, error) {
	topic, err := parsePubSubName("topic", tc.Topic, "topics")
	if err != nil {
		return nil, err
	}
	return newPubSubSender(ctx, topic, pubsubName{}, tc.hooks.gcp, tc.Name)
}

func newPubSubSender(ctx context.Context, topic, queue pubsubName, h gcpHooks, name string) (Sender, error) {
	opts, err := pubsubClientOptions(h, name)
	if err != nil {
		return nil, err
	}
	client, err := vkit.NewTopicAdminClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub publisher client for %s: %w", topic, err)
	}
	return &pubsubSender{topic: topic, queue: queue, client: client}, nil
}

// Send publishes m and returns the message id Pub/Sub gave it.
func (s *pubsubSender) Send(ctx context.Context, m Outgoing) (string, error) {
	if m.ID != "" {
		return "", refuseID(CloudGCP)
	}
	if err := checkPubSubAttributes(m.Attributes); err != nil {
		return "", err
	}
	if len(m.Body) == 0 && len(m.Attributes) == 0 {
		return "", errors.New("a Pub/Sub message needs a body or at least one attribute")
	}
	req := &pubsubpb.PublishRequest{
		Topic:    s.topic.String(),
		Messages: []*pubsubpb.PubsubMessage{{Data: m.Body, Attributes: m.Attributes}},
	}
	if n := proto.Size(req); n > pubsubMaxRequestBytes {
		return "", fmt.Errorf("message is %d bytes with its attributes; Pub/Sub publishes at most %d bytes (10 MB)", n, pubsubMaxRequestBytes)
	}
	resp, err := s.client.Publish(ctx, req)
	if err != nil {
		return "", s.publishError(err)
	}
	if ids := resp.GetMessageIds(); len(ids) == 1 {
		return ids[0], nil
	}
	return "", fmt.Errorf("publish to %s: Pub/Sub returned %d message ids for 1 message", s.topic, len(resp.GetMessageIds()))
}

func (s *pubsubSender) publishError(err error) error {
	err = fmt.Errorf("publish to %s: %w", s.topic, err)
	if s.queue == (pubsubName{}) {
		return err
	}
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%w (the topic is derived from %s=%s, whose topic has the subscription's id; "+
			"a fanout subscriber's queue is a subscription on the fanout's topic and has no topic of its own to send to)",
			err, EnvQueueURL, s.queue)
	case codes.PermissionDenied:
		return fmt.Errorf("%w (only a tenant's web app may publish to its queue topic; the worker may only consume)", err)
	}
	return err
}

// checkPubSubAttributes applies Pub/Sub's attribute limits (see the file
// comment), naming the attribute at fault. Names are checked in order, so
// the same message always gets the same error.
func checkPubSubAttributes(attrs map[string]string) error {
	if n := len(attrs); n > pubsubMaxAttributes {
		return fmt.Errorf("%d attributes: Pub/Sub takes at most %d", n, pubsubMaxAttributes)
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		if err := checkAttribute(k, v); err != nil {
			return err
		}
		switch {
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("attribute %q: Pub/Sub attribute names and values must be valid UTF-8", k)
		case len(k) > pubsubMaxAttributeName:
			return fmt.Errorf("attribute %q: name is %d bytes; Pub/Sub takes at most %d", k, len(k), pubsubMaxAttributeName)
		case strings.HasPrefix(k, pubsubReservedPrefix):
			return fmt.Errorf("attribute %q: names starting with %q are reserved by Pub/Sub", k, pubsubReservedPrefix)
		case len(v) > pubsubMaxAttributeValue:
			return fmt.Errorf("attribute %q: value is %d bytes; Pub/Sub takes at most %d", k, len(v), pubsubMaxAttributeValue)
		}
	}
	return nil
}

func (s *pubsubSender) Close() error { return s.client.Close() }
