package queue

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// These tests run against pstest, the Go library's in-process Pub/Sub
// server, which serves the real gRPC API. Where it differs from Pub/Sub:
//   - it ignores a subscription's retry policy: a nack (deadline 0) makes the
//     message available at once, where tenantfleet's queues back off 10 s;
//   - it honours ack deadlines (on its own clock, which tests can set) and
//     sets DeliveryAttempt only with a dead-letter policy, as Pub/Sub does,
//     but counts deliveries per published message, not per subscription;
//   - it dead-letters exactly after maxDeliveryAttempts, forwarding the
//     message itself (same id, same attributes), where Pub/Sub does so best
//     effort, wraps it in a new message and adds attributes naming the
//     source subscription; it does not check maxDeliveryAttempts is 5-100;
//   - it checks no attribute limit, no IAM and no credentials, and takes at
//     most 4 MB a request (gRPC's default), where Pub/Sub takes 10 MB;
//   - an empty Pull waits 500 ms and looks once more, where Pub/Sub holds
//     it until a message comes or for a time of its own;
//   - a Pull the client has cancelled can still take a message in pstest
//     until the server sees the cancellation (Pub/Sub can do the same), so
//     no test publishes after a Receive that waited in vain on that queue.

const pubsubTestProject = "tenantfleet-test"

// pubsubFake is a pstest server with raw clients for setting it up.
type pubsubFake struct {
	srv *pstest.Server
	pub pubsubpb.PublisherClient
	sub pubsubpb.SubscriberClient
}

func newPubSubFake(t *testing.T, opts ...pstest.ServerReactorOption) *pubsubFake {
	t.Helper()
	// The hooks' options come after those PUBSUB_EMULATOR_HOST would add,
	// so the tests use the fake whatever the environment says.
	srv := pstest.NewServer(opts...)
	t.Cleanup(func() { _ = srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &pubsubFake{srv: srv, pub: pubsubpb.NewPublisherClient(conn), sub: pubsubpb.NewSubscriberClient(conn)}
}

// hooks point a driver at the fake. Each client gets a connection of its
// own, which it closes.
func (f *pubsubFake) hooks() hooks {
	return hooks{gcp: gcpHooks{opts: []option.ClientOption{
		option.WithEndpoint(f.srv.Addr),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithoutAuthentication(),
		option.WithTelemetryDisabled(),
	}}}
}

func pubsubTopicName(id string) string {
	return "projects/" + pubsubTestProject + "/topics/" + id
}

func pubsubSubName(id string) string {
	return "projects/" + pubsubTestProject + "/subscriptions/" + id
}

func (f *pubsubFake) topic(t *testing.T, id string) string {
	t.Helper()
	if _, err := f.pub.CreateTopic(t.Context(), &pubsubpb.Topic{Name: pubsubTopicName(id)}); err != nil {
		t.Fatalf("create topic %s: %v", id, err)
	}
	return pubsubTopicName(id)
}

// subscription creates subscription id on topic, dead-lettering into
// deadLetterTopic after maxAttempts deliveries when deadLetterTopic is set.
func (f *pubsubFake) subscription(t *testing.T, id, topic, deadLetterTopic string, maxAttempts int32) string {
	t.Helper()
	s := &pubsubpb.Subscription{Name: pubsubSubName(id), Topic: topic, AckDeadlineSeconds: 60}
	if deadLetterTopic != "" {
		s.DeadLetterPolicy = &pubsubpb.DeadLetterPolicy{DeadLetterTopic: deadLetterTopic, MaxDeliveryAttempts: maxAttempts}
	}
	if _, err := f.sub.CreateSubscription(t.Context(), s); err != nil {
		t.Fatalf("create subscription %s: %v", id, err)
	}
	return pubsubSubName(id)
}

// tenantQueue creates what the gcp adapter creates for a tenant's queue:
// a topic and a subscription with the same id, dead-lettering after
// maxAttempts into a dead-letter topic with its own subscription. It
// returns QUEUE_URL and DEAD_LETTER_QUEUE_URL.
func (f *pubsubFake) tenantQueue(t *testing.T, id string, maxAttempts int32) (queueURL, deadLetterURL string) {
	t.Helper()
	dlq := f.topic(t, id+"-dlq")
	deadLetterURL = f.subscription(t, id+"-dlq", dlq, "", 0)
	queueURL = f.subscription(t, id, f.topic(t, id), dlq, maxAttempts)
	return queueURL, deadLetterURL
}

func (f *pubsubFake) receiver(t *testing.T, url string) Receiver {
	t.Helper()
	r, err := OpenReceiver(t.Context(), Config{Cloud: CloudGCP, URL: url, hooks: f.hooks()})
	if err != nil {
		t.Fatalf("OpenReceiver(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func (f *pubsubFake) sender(t *testing.T, url string) Sender {
	t.Helper()
	s, err := OpenSender(t.Context(), Config{Cloud: CloudGCP, URL: url, hooks: f.hooks()})
	if err != nil {
		t.Fatalf("OpenSender(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pubsubWait bounds every Receive expected to find a message: generous,
// since it returns as soon as the message is there.
const pubsubWait = 30 * time.Second

// pubsubReceiveOne receives exactly one message.
func pubsubReceiveOne(t *testing.T, r Receiver) Message {
	t.Helper()
	msgs, err := r.Receive(t.Context(), 10, pubsubWait)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("Receive: got %d messages, want 1: %v", len(msgs), msgs)
	}
	return msgs[0]
}

func pubsubPublish(t *testing.T, f *pubsubFake, topic, body string, attrs map[string]string) string {
	t.Helper()
	resp, err := f.pub.Publish(t.Context(), &pubsubpb.PublishRequest{Topic: topic, Messages: []*pubsubpb.PubsubMessage{{Data: []byte(body), Attributes: attrs}}})
	if err != nil {
		t.Fatalf("publish to %s: %v", topic, err)
	}
	return resp.MessageIds[0]
}

func TestPubSubReceiveAck(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "orders", 5)
	r := f.receiver(t, queueURL)
	first := pubsubPublish(t, f, pubsubTopicName("orders"), "one", map[string]string{"kind": "order"})

	m := pubsubReceiveOne(t, r)
	want := Message{ID: first, Subject: "orders", Body: []byte("one"), Attributes: map[string]string{"kind": "order"}, Deliveries: 1}
	if diff := cmp.Diff(want, m, cmp.AllowUnexported(Message{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".handle" }, cmp.Ignore())); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if err := r.Ack(t.Context(), m); err != nil {
		t.Fatalf("Ack: %v", err)
	}

	// The acked message is gone for good: a second message is all that
	// comes. (pstest deletes an acked message from the subscription, so
	// this holds however long the ack deadline.)
	second := pubsubPublish(t, f, pubsubTopicName("orders"), "two", nil)
	m = pubsubReceiveOne(t, r)
	if m.ID != second || string(m.Body) != "two" || m.Deliveries != 1 {
		t.Errorf("after ack got %s %q (deliveries %d), want %s \"two\" (1)", m.ID, m.Body, m.Deliveries, second)
	}
	if m.Attributes == nil {
		t.Error("Attributes is nil for a message without attributes, want an empty map")
	}
	if got := f.srv.Message(first).Acks; got != 1 {
		t.Errorf("server saw %d acks of the first message, want 1", got)
	}
}

func TestPubSubReceiveLimit(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "batch", 5)
	r := f.receiver(t, queueURL)
	for i := range 3 {
		pubsubPublish(t, f, pubsubTopicName("batch"), fmt.Sprint(i), nil)
	}
	msgs, err := r.Receive(t.Context(), 2, pubsubWait)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("Receive(limit 2): got %d messages, want 2", len(msgs))
	}
	rest, err := r.Receive(t.Context(), 10, pubsubWait)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 {
		t.Fatalf("second Receive: got %d messages, want the 1 left", len(rest))
	}
}

func TestPubSubNackRedelivers(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "retry", 5)
	r := f.receiver(t, queueURL)
	id := pubsubPublish(t, f, pubsubTopicName("retry"), "again", nil)

	m := pubsubReceiveOne(t, r)
	if err := r.Nack(t.Context(), m, 0); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	// pstest makes a nacked message available at once (no retry policy
	// backoff), so it is there for the next Pull.
	again := pubsubReceiveOne(t, r)
	if again.ID != id || again.Deliveries != 2 {
		t.Errorf("redelivery: got %s with %d deliveries, want %s with 2", again.ID, again.Deliveries, id)
	}
	// The old delivery's handle is stale: acking it does not remove the
	// redelivered message (Pub/Sub and pstest both ignore an old ack id).
	if err := r.Ack(t.Context(), m); err != nil {
		t.Fatalf("Ack with a stale handle: %v", err)
	}
	if err := r.Ack(t.Context(), again); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if got := f.srv.Message(id).Acks; got != 1 {
		t.Errorf("server counted %d acks, want 1 (the stale one ignored)", got)
	}
}

// TestPubSubNackDelay holds pstest's clock: a message nacked with a delay
// stays away until the clock passes the delay, and comes back after.
func TestPubSubNackDelay(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	now := time.Now()
	f.srv.SetTimeNowFunc(func() time.Time { return now })
	queueURL, _ := f.tenantQueue(t, "later", 5)
	r := f.receiver(t, queueURL)
	id := pubsubPublish(t, f, pubsubTopicName("later"), "later", nil)

	m := pubsubReceiveOne(t, r)
	if err := r.Nack(t.Context(), m, 90*time.Second); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	// The clock stands still: the message stays leased for 90 s of it.
	// (No wait: a Pull left waiting in pstest when the clock moves on could
	// take the message into a response nobody reads.)
	msgs, err := r.Receive(t.Context(), 10, 0)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("Receive before the delay: %d messages, err %v; want none", len(msgs), err)
	}
	later := now.Add(91 * time.Second)
	f.srv.SetTimeNowFunc(func() time.Time { return later })
	again := pubsubReceiveOne(t, r)
	if again.ID != id || again.Deliveries != 2 {
		t.Errorf("after the delay: got %s with %d deliveries, want %s with 2", again.ID, again.Deliveries, id)
	}
	mods := f.srv.Message(id).Modacks
	if len(mods) != 1 || mods[0].AckDeadline != 90 {
		t.Errorf("modacks %+v, want one of 90 s", mods)
	}
}

func TestPubSubNackSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		delay time.Duration
		want  int32
		why   string
	}{
		{0, 0, "at once"},
		{-time.Second, 0, "negative is at once"},
		{time.Millisecond, 1, "rounded up to a whole second"},
		{1500 * time.Millisecond, 2, "rounded up"},
		{10 * time.Second, 10, "exact"},
		{600 * time.Second, 600, "Pub/Sub's maximum"},
		{time.Hour, 600, "clamped to Pub/Sub's maximum"},
	} {
		if got := nackSeconds(tc.delay); got != tc.want {
			t.Errorf("nackSeconds(%v) = %d, want %d (%s)", tc.delay, got, tc.want, tc.why)
		}
	}
}

// TestPubSubDeadLetter nacks a message every time on a subscription with a
// dead-letter policy: it arrives maxDeliveryAttempts times, counting 1..N,
// then lands in the dead-letter topic's subscription with its attributes.
//
//nolint:paralleltest // the phases run in turn on one message.
func TestPubSubDeadLetter(t *testing.T) {
	t.Parallel()
	const attempts = 5 // Pub/Sub's minimum maxDeliveryAttempts
	f := newPubSubFake(t)
	queueURL, deadLetterURL := f.tenantQueue(t, "poison", attempts)
	r := f.receiver(t, queueURL)
	attrs := map[string]string{"tenant": "acme", "kind": "poison"}
	id := pubsubPublish(t, f, pubsubTopicName("poison"), "bad", attrs)

	if !t.Run("deliveries", func(t *testing.T) {
		for want := 1; want <= attempts; want++ {
			m := pubsubReceiveOne(t, r)
			if m.ID != id || m.Deliveries != want {
				t.Fatalf("delivery %d: got %s with Deliveries %d", want, m.ID, m.Deliveries)
			}
			if err := r.Nack(t.Context(), m, 0); err != nil {
				t.Fatalf("Nack: %v", err)
			}
		}
	}) {
		return
	}
	t.Run("dead letter", func(t *testing.T) {
		dl := f.receiver(t, deadLetterURL)
		m := pubsubReceiveOne(t, dl)
		if string(m.Body) != "bad" || m.Subject != "poison-dlq" {
			t.Errorf("dead letter: body %q subject %q", m.Body, m.Subject)
		}
		// pstest forwards the attributes as they were; Pub/Sub adds its
		// CloudPubSubDeadLetterSource* attributes, so check inclusion.
		for k, v := range attrs {
			if m.Attributes[k] != v {
				t.Errorf("dead letter attribute %s = %q, want %q (all: %v)", k, m.Attributes[k], v, m.Attributes)
			}
		}
		// The dead-letter subscription has no dead-letter policy itself:
		// Pub/Sub does not count its deliveries.
		if m.Deliveries != 0 {
			t.Errorf("dead letter Deliveries %d, want 0", m.Deliveries)
		}
		if err := dl.Ack(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("gone from the queue", func(t *testing.T) {
		// Dead-lettering acked it on the queue's subscription.
		msgs, err := r.Receive(t.Context(), 10, time.Second)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("queue after dead-lettering: %d messages, err %v; want none", len(msgs), err)
		}
	})
}

//nolint:paralleltest // the phases run in turn on one queue (see the first comment).
func TestPubSubReceiveEmptyAndCancelled(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "quiet", 5)
	r := f.receiver(t, queueURL)

	// The phases that publish come first: a Pull that a waiting phase left
	// behind in pstest (cancelled by the client but not yet by the server)
	// could take a later message into a response nobody reads, as a
	// cancelled Pull can on Pub/Sub.
	t.Run("no wait", func(t *testing.T) {
		msgs, err := r.Receive(t.Context(), 1, 0)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("got %d messages, err %v; want none, no error", len(msgs), err)
		}
	})
	t.Run("no wait finds a message", func(t *testing.T) {
		id := pubsubPublish(t, f, pubsubTopicName("quiet"), "now", nil)
		msgs, err := r.Receive(t.Context(), 1, 0)
		if err != nil || len(msgs) != 1 || msgs[0].ID != id {
			t.Fatalf("got %v, err %v; want message %s", msgs, err, id)
		}
		if err := r.Ack(t.Context(), msgs[0]); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wait passes", func(t *testing.T) {
		msgs, err := r.Receive(t.Context(), 1, time.Second)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("got %d messages, err %v; want none, no error", len(msgs), err)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		msgs, err := r.Receive(ctx, 1, time.Hour)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("got %d messages, err %v; want none, no error", len(msgs), err)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			msgs, err := r.Receive(ctx, 1, time.Hour)
			done <- result{len(msgs), err}
		}()
		cancel() // before or during the Pull: either way Receive ends quietly
		select {
		case res := <-done:
			if res.err != nil || res.n != 0 {
				t.Fatalf("got %d messages, err %v; want none, no error", res.n, res.err)
			}
		case <-time.After(pubsubWait):
			t.Fatal("Receive did not return when its context ended")
		}
	})
}

func TestPubSubReceiveErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing subscription", func(t *testing.T) {
		t.Parallel()
		f := newPubSubFake(t)
		r := f.receiver(t, pubsubSubName("nowhere"))
		_, err := r.Receive(t.Context(), 1, pubsubWait)
		if err == nil || !strings.Contains(err.Error(), EnvQueueURL) || !strings.Contains(err.Error(), "nowhere") {
			t.Fatalf("got %v, want a not-found error naming QUEUE_URL and the subscription", err)
		}
	})
	t.Run("unavailable throughout", func(t *testing.T) {
		t.Parallel()
		// Every Pull fails with UNAVAILABLE: Receive keeps trying for wait,
		// then reports the error rather than an empty queue.
		f := newPubSubFake(t, pstest.WithErrorInjection("Pull", codes.Unavailable, "injected outage"))
		queueURL, _ := f.tenantQueue(t, "down", 5)
		r := f.receiver(t, queueURL)
		_, err := r.Receive(t.Context(), 1, time.Second)
		if err == nil || !strings.Contains(err.Error(), "injected outage") {
			t.Fatalf("got %v, want the injected error", err)
		}
	})
	t.Run("foreign message", func(t *testing.T) {
		t.Parallel()
		f := newPubSubFake(t)
		a, _ := f.tenantQueue(t, "a-queue", 5)
		b, _ := f.tenantQueue(t, "b-queue", 5)
		ra, rb := f.receiver(t, a), f.receiver(t, b)
		pubsubPublish(t, f, pubsubTopicName("a-queue"), "x", nil)
		m := pubsubReceiveOne(t, ra)
		if err := rb.Ack(t.Context(), m); err == nil {
			t.Error("Ack on another queue's receiver succeeded")
		}
		if err := rb.Nack(t.Context(), Message{ID: "m"}, 0); err == nil {
			t.Error("Nack of a message not received succeeded")
		}
	})
}

func TestPubSubSender(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "work", 5)
	s := f.sender(t, queueURL)
	r := f.receiver(t, queueURL)

	id, err := s.Send(t.Context(), Outgoing{Body: []byte("job"), Attributes: map[string]string{"type": "resize"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	// The message went to the topic with the subscription's id.
	if got := f.srv.Message(id); got == nil || got.Topic != pubsubTopicName("work") {
		t.Fatalf("server has %+v for id %s, want a message on %s", got, id, pubsubTopicName("work"))
	}
	m := pubsubReceiveOne(t, r)
	if m.ID != id || string(m.Body) != "job" || m.Attribute("type") != "resize" {
		t.Errorf("received %s %q %v, want %s \"job\" type=resize", m.ID, m.Body, m.Attributes, id)
	}

	t.Run("attributes only", func(t *testing.T) {
		t.Parallel()
		if _, err := s.Send(t.Context(), Outgoing{Attributes: map[string]string{"ping": "1"}}); err != nil {
			t.Fatalf("Send of attributes without a body: %v", err)
		}
	})
	t.Run("at the limits", func(t *testing.T) {
		t.Parallel()
		attrs := map[string]string{strings.Repeat("k", 256): strings.Repeat("v", 1024)}
		for i := len(attrs); i < 100; i++ {
			attrs[fmt.Sprintf("a%03d", i)] = "x"
		}
		if _, err := s.Send(t.Context(), Outgoing{Body: []byte("full"), Attributes: attrs}); err != nil {
			t.Fatalf("Send with 100 attributes, a 256-byte name and a 1024-byte value: %v", err)
		}
	})
}

// TestPubSubSendLimits checks each refusal names what is wrong and that
// nothing reached the server (pstest checks none of these limits).
func TestPubSubSendLimits(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "limits", 5)
	s := f.sender(t, queueURL)
	many := map[string]string{}
	for i := range 101 {
		many[fmt.Sprintf("a%03d", i)] = "x"
	}
	long := strings.Repeat("k", 257)
	t.Cleanup(func() { // after the subtests
		if n := len(f.srv.Messages()); n != 0 {
			t.Errorf("server received %d messages, want none", n)
		}
	})
	for _, tc := range []struct {
		name string
		m    Outgoing
		want string
	}{
		{"deduplication id", Outgoing{Body: []byte("x"), ID: "dedup-1"}, "local cloud only"},
		{"empty message", Outgoing{}, "body or at least one attribute"},
		{"101 attributes", Outgoing{Body: []byte("x"), Attributes: many}, "101 attributes"},
		{"name of 257 bytes", Outgoing{Body: []byte("x"), Attributes: map[string]string{long: "v"}}, fmt.Sprintf("attribute %q: name is 257 bytes", long)},
		{"reserved name", Outgoing{Body: []byte("x"), Attributes: map[string]string{"googId": "v"}}, `attribute "googId": names starting with "goog"`},
		{"value of 1025 bytes", Outgoing{Body: []byte("x"), Attributes: map[string]string{"big": strings.Repeat("v", 1025)}}, `attribute "big": value is 1025 bytes`},
		{"invalid UTF-8", Outgoing{Body: []byte("x"), Attributes: map[string]string{"bin": "\xff"}}, `attribute "bin": Pub/Sub attribute names and values must be valid UTF-8`},
		{"empty name", Outgoing{Body: []byte("x"), Attributes: map[string]string{"": "v"}}, "empty name"},
		{"control character", Outgoing{Body: []byte("x"), Attributes: map[string]string{"nl": "a\nb"}}, `attribute "nl": control characters`},
		{"body over 10 MB", Outgoing{Body: make([]byte, 10_000_000)}, "Pub/Sub publishes at most 10000000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(t.Context(), tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPubSubSenderFanoutQueue(t *testing.T) {
	t.Parallel()
	// A fanout subscriber's queue is a subscription on the fanout's topic:
	// the topic derived from it does not exist, and Send says why.
	f := newPubSubFake(t)
	queueURL := f.subscription(t, "billing-on-events", f.topic(t, "events"), "", 0)
	s := f.sender(t, queueURL)
	_, err := s.Send(t.Context(), Outgoing{Body: []byte("x")})
	if err == nil {
		t.Fatal("Send to a fanout subscriber's queue succeeded")
	}
	for _, want := range []string{pubsubTopicName("billing-on-events"), EnvQueueURL, "fanout subscriber"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestPubSubTopic(t *testing.T) {
	t.Parallel()
	f := newPubSubFake(t)
	topic := f.topic(t, "fanout-events")
	a := f.subscription(t, "fanout-events-a", topic, "", 0)
	b := f.subscription(t, "fanout-events-b", topic, "", 0)
	s, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudGCP, Topic: topic, hooks: f.hooks()})
	if err != nil {
		t.Fatalf("OpenTopic: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	attrs := map[string]string{"event": "tenant.created", "tenant": "acme"}
	id, err := s.Send(t.Context(), Outgoing{Body: []byte(`{"id":"acme"}`), Attributes: attrs})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	for _, sub := range []string{a, b} {
		m := pubsubReceiveOne(t, f.receiver(t, sub))
		if m.ID != id || string(m.Body) != `{"id":"acme"}` || !maps.Equal(m.Attributes, attrs) {
			t.Errorf("%s got %s %q %v, want %s with %v", sub, m.ID, m.Body, m.Attributes, id, attrs)
		}
	}

	t.Run("missing topic", func(t *testing.T) {
		s, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudGCP, Topic: pubsubTopicName("absent"), hooks: f.hooks()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		_, err = s.Send(t.Context(), Outgoing{Body: []byte("x")})
		if err == nil || !strings.Contains(err.Error(), pubsubTopicName("absent")) || strings.Contains(err.Error(), "fanout subscriber") {
			t.Fatalf("got %v, want a not-found error naming the topic, without the queue hint", err)
		}
	})
}

func TestPubSubNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw, kind string
		want      string // error substring; "" for valid
		why       string
	}{
		{"projects/my-project/subscriptions/orders", "subscriptions", "", "plain"},
		{"projects/my-project/subscriptions/A1-_.~+%z", "subscriptions", "", "every allowed character"},
		{"projects/my-project/subscriptions/" + "s" + strings.Repeat("x", 254), "subscriptions", "", "255 characters"},
		{"projects/example.com:my-project/subscriptions/orders", "subscriptions", "", "domain-scoped project"},
		{"projects/my-project/topics/events", "topics", "", "topic"},
		{"projects/my-project/subscriptions/Goog-ok", "subscriptions", "", "only lowercase goog is documented as reserved"},
		{"", "subscriptions", "empty", "empty"},
		{"   ", "subscriptions", "empty", "blank"},
		{"orders", "subscriptions", "not a Pub/Sub resource name", "bare id"},
		{"projects/my-project/subscriptions/orders/extra", "subscriptions", "not a Pub/Sub resource name", "too many parts"},
		{"//pubsub.googleapis.com/projects/my-project/subscriptions/orders", "subscriptions", "not a Pub/Sub resource name", "full resource name"},
		{"projects/my-project/topics/orders", "subscriptions", "names topics, not subscriptions", "topic for a queue"},
		{"projects/my-project/subscriptions/orders", "topics", "names subscriptions, not topics", "subscription for a topic"},
		{"projects/My-Project/subscriptions/orders", "subscriptions", `project "My-Project"`, "uppercase project"},
		{"projects/proj/subscriptions/orders", "subscriptions", `project "proj"`, "project too short"},
		{"projects/" + "p" + strings.Repeat("x", 30) + "/subscriptions/orders", "subscriptions", "is not a project id", "project too long"},
		{"projects/my-project-/subscriptions/orders", "subscriptions", "is not a project id", "project ends with a hyphen"},
		{"projects/1-project/subscriptions/orders", "subscriptions", "is not a project id", "project starts with a digit"},
		{"projects/my-project/subscriptions/ab", "subscriptions", `id "ab"`, "id too short"},
		{"projects/my-project/subscriptions/" + "s" + strings.Repeat("x", 255), "subscriptions", "3-255 characters", "id too long"},
		{"projects/my-project/subscriptions/1orders", "subscriptions", "starting with a letter", "id starts with a digit"},
		{"projects/my-project/subscriptions/ord ers", "subscriptions", "3-255 characters", "space in id"},
		{"projects/my-project/subscriptions/ord/ers", "subscriptions", "not a Pub/Sub resource name", "slash in id"},
		{"projects/my-project/subscriptions/google-orders", "subscriptions", `starts with "goog"`, "reserved prefix"},
		{"projects/my-project/subscriptions/", "subscriptions", `id ""`, "no id"},
	} {
		_, err := parsePubSubName(EnvQueueURL, tc.raw, tc.kind)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: parsePubSubName(%q): %v, want no error", tc.why, tc.raw, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: parsePubSubName(%q) = %v, want an error containing %q", tc.why, tc.raw, err, tc.want)
		case err != nil && !strings.HasPrefix(err.Error(), EnvQueueURL+": "):
			t.Errorf("%s: error %q does not start with %s", tc.why, err, EnvQueueURL)
		}
	}

	// The open functions validate before anything else.
	if _, err := OpenReceiver(t.Context(), Config{Cloud: CloudGCP, URL: "projects/p/topics/t"}); err == nil || !strings.Contains(err.Error(), EnvQueueURL) {
		t.Errorf("OpenReceiver with a topic: %v, want an error naming %s", err, EnvQueueURL)
	}
	if _, err := OpenSender(t.Context(), Config{Cloud: CloudGCP, URL: ""}); err == nil || !strings.Contains(err.Error(), EnvQueueURL) {
		t.Errorf("OpenSender with no URL: %v, want an error naming %s", err, EnvQueueURL)
	}
	if _, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudGCP, Topic: pubsubSubName("orders")}); err == nil || !strings.HasPrefix(err.Error(), "topic: ") {
		t.Errorf("OpenTopic with a subscription: %v, want an error naming the topic", err)
	}
}

func TestPubSubQueueTopic(t *testing.T) {
	t.Parallel()
	n, err := parsePubSubName(EnvQueueURL, "projects/my-project/subscriptions/stk-acme-x1y2", "subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.queueTopic().String(), "projects/my-project/topics/stk-acme-x1y2"; got != want {
		t.Errorf("queueTopic = %s, want %s", got, want)
	}
}

// TestPubSubNoCredentials: with no Application Default Credentials (a
// GOOGLE_APPLICATION_CREDENTIALS file that does not exist is the one lookup
// that fails the same everywhere, on or off Google Cloud), every open fails
// at once and says how to provide them.
func TestPubSubNoCredentials(t *testing.T) {
	t.Setenv(pubsubEmulatorEnv, "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	opens := map[string]func() error{
		"topic": func() error {
			_, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudGCP, Topic: pubsubTopicName("events")})
			return err
		},
		"receiver": func() error {
			_, err := OpenReceiver(t.Context(), Config{Cloud: CloudGCP, URL: pubsubSubName("orders")})
			return err
		},
		"sender": func() error {
			_, err := OpenSender(t.Context(), Config{Cloud: CloudGCP, URL: pubsubSubName("orders")})
			return err
		},
	}
	for name, open := range opens {
		err := open()
		if err == nil {
			t.Fatalf("%s: opened without credentials", name)
		}
		for _, want := range []string{"no Google Cloud credentials", "missing.json", "gcloud auth application-default login", "GOOGLE_APPLICATION_CREDENTIALS", "service account", pubsubEmulatorEnv} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", name, err, want)
			}
		}
	}
}

// TestPubSubCredentialsFile: a service account key in
// GOOGLE_APPLICATION_CREDENTIALS is found and the clients open with it. The
// clients dial at once, so they are pointed at a closed loopback port: no
// request leaves this machine (and none is made; a self-signed JWT needs no
// token server).
func TestPubSubCredentialsFile(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	file := filepath.Join(t.TempDir(), "key.json")
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": pubsubTestProject, "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "web@" + pubsubTestProject + ".iam.gserviceaccount.com",
		"client_id": "1", "token_uri": "https://oauth2.googleapis.com/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(pubsubEmulatorEnv, "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
	loopback := hooks{gcp: gcpHooks{extra: []option.ClientOption{option.WithEndpoint("127.0.0.1:1")}}}
	s, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudGCP, Topic: pubsubTopicName("events"), hooks: loopback})
	if err != nil {
		t.Fatalf("OpenTopic with a service account key: %v", err)
	}
	_ = s.Close()
	r, err := OpenReceiver(t.Context(), Config{Cloud: CloudGCP, URL: pubsubSubName("orders"), hooks: loopback})
	if err != nil {
		t.Fatalf("OpenReceiver with a service account key: %v", err)
	}
	_ = r.Close()
}

// TestPubSubEmulatorHost: PUBSUB_EMULATOR_HOST alone points the driver at
// an emulator, in plain text and without credentials (the unreadable
// GOOGLE_APPLICATION_CREDENTIALS would fail any lookup).
func TestPubSubEmulatorHost(t *testing.T) {
	f := newPubSubFake(t)
	queueURL, _ := f.tenantQueue(t, "emulated", 5)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	t.Setenv(pubsubEmulatorEnv, f.srv.Addr)

	s, err := OpenSender(t.Context(), Config{Cloud: CloudGCP, URL: queueURL})
	if err != nil {
		t.Fatalf("OpenSender: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r, err := OpenReceiver(t.Context(), Config{Cloud: CloudGCP, URL: queueURL})
	if err != nil {
		t.Fatalf("OpenReceiver: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	id, err := s.Send(t.Context(), Outgoing{Body: []byte("hi")})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := pubsubReceiveOne(t, r)
	if m.ID != id {
		t.Errorf("received %s, want %s", m.ID, id)
	}
	if err := r.Ack(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}
