package queue

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestParseNATSURL(t *testing.T) {
	t.Parallel()

	got, err := parseNATSURL(EnvQueueURL, "nats://127.0.0.1:4222?stream=acme&subject=queue.acme&consumer=worker", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (natsTarget{Server: "nats://127.0.0.1:4222", Stream: "acme", Subject: "queue.acme", Consumer: "worker"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// Credentials are kept for the connection but not shown.
	got, err = parseNATSURL(EnvQueueURL, "nats://u:secret@127.0.0.1:4222/?consumer=worker&subject=queue.a&stream=a", true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Server != "nats://u:secret@127.0.0.1:4222" || strings.Contains(got.Redacted(), "secret") {
		t.Errorf("server %q, redacted %q", got.Server, got.Redacted())
	}
	// A topic names no consumer.
	if _, err := parseNATSURL("topic", "nats://127.0.0.1:4222?stream=t&subject=topic.t", false); err != nil {
		t.Errorf("topic URL: %v", err)
	}

	for _, tc := range []struct{ url, why string }{
		{"", "empty"},
		{"http://127.0.0.1:4222?stream=a&subject=queue.a&consumer=worker", "scheme"},
		{"nats://127.0.0.1?stream=a&subject=queue.a&consumer=worker", "port"},
		{"nats://127.0.0.1:0?stream=a&subject=queue.a&consumer=worker", "port"},
		{"nats://127.0.0.1:x?stream=a&subject=queue.a&consumer=worker", "not a URL"},
		{"nats://:4222?stream=a&subject=queue.a&consumer=worker", "host"},
		{"nats://127.0.0.1:4222", "missing stream, subject, consumer"},
		{"nats://127.0.0.1:4222?stream=a&subject=queue.a", "missing consumer"},
		{"nats://127.0.0.1:4222/queues/a?stream=a&subject=queue.a&consumer=w", "path"},
		{"nats://127.0.0.1:4222?stream=a.b&subject=queue.a&consumer=w", "plain names"},
		{"nats://127.0.0.1:4222?stream=a&subject=queue.>&consumer=w", "wildcards"},
		{"nats://127.0.0.1:4222?stream=a&subject=queue.a&consumer=w&%zz", "query"},
		{"nats:opaque", "host"},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/acme", "scheme"},
	} {
		_, err := parseNATSURL(EnvQueueURL, tc.url, true)
		if err == nil || !strings.Contains(err.Error(), tc.why) || !strings.HasPrefix(err.Error(), "QUEUE_URL: ") {
			t.Errorf("%q: error %v, want one starting QUEUE_URL: and saying %q", tc.url, err, tc.why)
		}
	}
}

func TestOpenUnknownCloud(t *testing.T) {
	t.Parallel()

	if _, err := OpenReceiver(t.Context(), Config{}); err == nil || !strings.Contains(err.Error(), "TENANTFLEET_CLOUD: not set") {
		t.Errorf("no cloud: %v", err)
	}
	if _, err := OpenSender(t.Context(), Config{Cloud: "heroku"}); !errors.Is(err, ErrUnknownCloud) || !strings.Contains(err.Error(), `TENANTFLEET_CLOUD="heroku"`) {
		t.Errorf("unknown cloud: %v", err)
	}
	if _, err := OpenTopic(t.Context(), TopicConfig{Cloud: "heroku"}); !errors.Is(err, ErrUnknownCloud) {
		t.Errorf("unknown cloud topic: %v", err)
	}
}

// startJetStream runs an in-process NATS server with JetStream, as the
// local cloud's runtime does, with a work-queue stream and durable consumer
// "worker" (maxDeliver deliveries) on queue.<name> and a topic stream on
// topic.<name>.
func startJetStream(t *testing.T, name string, maxDeliver int) (queueURL, topicURL string, js jetstream.JetStream) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"queue." + name}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: maxDeliver, AckWait: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name + "-topic", Subjects: []string{"topic." + name}, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	port := s.Addr().(*net.TCPAddr).Port
	return fmt.Sprintf("nats://127.0.0.1:%d?stream=%s&subject=queue.%s&consumer=worker", port, name, name),
		fmt.Sprintf("nats://127.0.0.1:%d?stream=%s-topic&subject=topic.%s", port, name, name), js
}

func TestNATSQueue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	queueURL, topicURL, js := startJetStream(t, "acme", 3)
	c := Config{Cloud: CloudLocal, URL: queueURL}

	s, err := OpenSender(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	r, err := OpenReceiver(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()

	if msgs, err := r.Receive(ctx, 10, 10*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Fatalf("empty queue: %v, %v", msgs, err)
	}
	if msgs, err := r.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("empty queue, no wait: %v, %v", msgs, err)
	}
	if _, err := s.Send(ctx, Outgoing{Body: []byte("hello"), Attributes: map[string]string{"Trace": "t-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, Outgoing{Body: []byte("x"), Attributes: map[string]string{"a b": "x"}}); err == nil {
		t.Error("a header name with a space was sent")
	}
	m := receiveOne(t, r)[0]
	if string(m.Body) != "hello" || m.Attribute("trace") != "t-1" || m.Deliveries != 1 || m.Subject != "queue.acme" || m.ID != "1" {
		t.Errorf("received %+v", m)
	}
	// Nack: delivered again, counted, until the consumer's max deliveries.
	for want := 2; want <= 3; want++ {
		if err := r.Nack(ctx, m, 0); err != nil {
			t.Fatal(err)
		}
		m = receiveOne(t, r)[0]
		if m.Deliveries != want {
			t.Errorf("delivery %d reported as %d", want, m.Deliveries)
		}
	}
	if err := r.Nack(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	// The third failure was the last: the runtime dead-letters it from here.
	if msgs, err := r.Receive(ctx, 10, 50*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Errorf("delivered past max deliveries: %v, %v", msgs, err)
	}

	// Ack removes it from the work-queue stream.
	if _, err := s.Send(ctx, Outgoing{Body: []byte("two")}); err != nil {
		t.Fatal(err)
	}
	m = receiveOne(t, r)[0]
	if err := r.Ack(ctx, m); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 { // the dead one, waiting for the runtime
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}

	// The topic: attributes travel, and an id deduplicates.
	pub, err := OpenTopic(ctx, TopicConfig{Cloud: CloudLocal, Topic: topicURL})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	id, err := pub.Send(ctx, Outgoing{Body: []byte("evt"), Attributes: map[string]string{"event_type": "a"}, ID: "evt-1"})
	if err != nil || id != "1" {
		t.Fatalf("publish: %q, %v", id, err)
	}
	if id, err := pub.Send(ctx, Outgoing{Body: []byte("evt"), ID: "evt-1"}); !errors.Is(err, ErrDuplicate) || id != "1" {
		t.Errorf("second publish with the id: %q, %v", id, err)
	}
	if _, err := OpenTopic(ctx, TopicConfig{Cloud: CloudLocal, Topic: "nats://127.0.0.1:1?stream=t&subject=topic.t"}); err == nil || !strings.Contains(err.Error(), "tenantfleet local status") {
		t.Errorf("no server: %v", err)
	}
}

func TestNATSQueueBindsButNeverCreatesTheConsumer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	queueURL, _, js := startJetStream(t, "acme", 5)
	badURL := strings.Replace(queueURL, "consumer=worker", "consumer=nobody", 1)
	r, err := OpenReceiver(ctx, Config{Cloud: CloudLocal, URL: badURL})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if _, err := r.Receive(ctx, 1, 100*time.Millisecond); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("receive with a missing consumer: %v", err)
	}
	if _, err := js.Consumer(ctx, "acme", "nobody"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the consumer was created: %v", err)
	}
}
