package kubernetes_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	k8sp "github.com/tenantfleet/tenantfleet/providers/kubernetes"
	"github.com/tenantfleet/tenantfleet/providers/rules"
	"github.com/tenantfleet/tenantfleet/queue"
)

// TestStreamsDeliverAsDeclared does what the NACK controller does with the
// Stream, Consumer and Stream-patch objects the adapter declares for the
// scenario (the field mapping of nats-io/nack v0.23.0's stream and
// consumer controllers: name, subjects, retention, maxAge, storage,
// duplicateWindow, sources with subjectTransforms; durableName, ackPolicy,
// ackWait, maxDeliver, filterSubject) on an in-process nats-server, then
// drives them with the apps' queue client: a message published to the
// topic reaches every subscriber's queue on the queue's own subject, and a
// tenant's message that keeps failing lands in its dead-letter stream.
func TestStreamsDeliverAsDeclared(t *testing.T) {
	t.Parallel()
	g := conformance.Check(profile()).Graph
	if g == nil {
		t.Fatal("the scenario did not run")
	}
	js, server := startNATS(t)
	ctx := t.Context()

	streams := g.OfType(k8sp.TypeStream)
	patches := g.OfType(k8sp.TypeStreamPatch)
	// Streams without sources first: a source names a stream that exists.
	for _, pass := range []bool{false, true} {
		for _, s := range streams {
			cfg := streamConfig(t, s, patches)
			if (len(cfg.Sources) > 0) != pass {
				continue
			}
			if _, err := js.CreateStream(ctx, cfg); err != nil {
				t.Fatalf("stream %s: %v", cfg.Name, err)
			}
		}
	}
	type queueOf struct{ url, deadLetterURL string }
	queues := map[string]queueOf{} // by stream name
	for _, c := range g.OfType(k8sp.TypeConsumer) {
		in := resource.NewObjectProperty(c.Inputs)
		stream, _ := rules.String(in, "spec.streamName")
		durable, _ := rules.String(in, "spec.durableName")
		filter, _ := rules.String(in, "spec.filterSubject")
		ackWait, _ := rules.String(in, "spec.ackWait")
		maxDeliver, _ := rules.Int(in, "spec.maxDeliver")
		ack, _ := rules.String(in, "spec.ackPolicy")
		wait, err := time.ParseDuration(ackWait)
		if err != nil || ack != "explicit" {
			t.Fatalf("consumer %s: ackWait %q (%v), ackPolicy %q", c.Name, ackWait, err, ack)
		}
		if _, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable: durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: wait, MaxDeliver: maxDeliver,
			FilterSubject: filter, DeliverPolicy: jetstream.DeliverAllPolicy,
		}); err != nil {
			t.Fatalf("consumer %s: %v", c.Name, err)
		}
		// The stream's dead-letter stream is its sibling object.
		var dlq conformance.Resource
		for _, s := range streams {
			if s.Name == strings.TrimSuffix(c.Name, "-consumer")+"-dead-letter" {
				dlq = s
			}
		}
		if dlq.Name == "" {
			t.Fatalf("consumer %s: no dead-letter stream", c.Name)
		}
		dlqName, _ := rules.String(resource.NewObjectProperty(dlq.Inputs), "spec.name")
		dlqSubject := rules.Elements(resource.NewObjectProperty(dlq.Inputs), "spec.subjects")[0].StringValue()
		queues[stream] = queueOf{
			url:           fmt.Sprintf("%s?stream=%s&subject=%s&consumer=%s&maxReceiveCount=%d", server, stream, filter, durable, components.DefaultMaxReceiveCount),
			deadLetterURL: fmt.Sprintf("%s?stream=%s&subject=%s", server, dlqName, dlqSubject),
		}
	}

	// Publish to the topic as `tenantfleet publish` does.
	var topicStream, topicSubject string
	for _, s := range streams {
		if strings.HasSuffix(s.Name, "-topic-stream") {
			in := resource.NewObjectProperty(s.Inputs)
			topicStream, _ = rules.String(in, "spec.name")
			topicSubject = rules.Elements(in, "spec.subjects")[0].StringValue()
		}
	}
	pub, err := queue.OpenTopic(ctx, queue.TopicConfig{Cloud: queue.CloudKubernetes, Topic: fmt.Sprintf("%s?stream=%s&subject=%s", server, topicStream, topicSubject)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	if _, err := pub.Send(ctx, queue.Outgoing{Body: []byte("invoice.paid"), Attributes: map[string]string{"event_type": "invoice.paid"}}); err != nil {
		t.Fatal(err)
	}

	// Every subscriber's queue (billing's, audit's, acme's work queue) gets it once.
	subscribed := 0
	for _, p := range patches {
		target, _ := rules.String(resource.NewObjectProperty(p.Inputs), "metadata.name")
		q, ok := queues[target]
		if !ok {
			t.Fatalf("patch %s targets %s, which has no consumer", p.Name, target)
		}
		subscribed++
		r := openReceiver(t, q.url, q.deadLetterURL)
		m := receive(t, r)
		if string(m.Body) != "invoice.paid" || m.Attribute("event_type") != "invoice.paid" {
			t.Errorf("%s received %q %v", target, m.Body, m.Attributes)
		}
		if err := r.Ack(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if subscribed != len(conformance.Fanout(false).Subscribers) {
		t.Errorf("%d subscriptions, want one per subscriber", subscribed)
	}

	// A tenant's work that fails maxReceiveCount times is dead-lettered.
	for stream, q := range queues {
		if !strings.Contains(stream, "acme") {
			continue
		}
		s, err := queue.OpenSender(ctx, queue.Config{Cloud: queue.CloudKubernetes, URL: q.url, DeadLetterURL: q.deadLetterURL})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		if _, err := s.Send(ctx, queue.Outgoing{Body: []byte("poison")}); err != nil {
			t.Fatal(err)
		}
		r := openReceiver(t, q.url, q.deadLetterURL)
		for range components.DefaultMaxReceiveCount {
			m := receive(t, r)
			if err := r.Nack(ctx, m, 0); err != nil {
				t.Fatal(err)
			}
		}
		dlq := streamOf(t, js, q.deadLetterURL)
		if info, err := dlq.Info(ctx); err != nil || info.State.Msgs != 1 {
			t.Fatalf("dead-letter stream of %s: %+v, %v", stream, info, err)
		}
	}
}

// streamConfig is what NACK makes of a Stream object and the patches that target it.
func streamConfig(t *testing.T, s conformance.Resource, patches []conformance.Resource) jetstream.StreamConfig {
	t.Helper()
	in := resource.NewObjectProperty(s.Inputs)
	name, _ := rules.String(in, "spec.name")
	objName, _ := rules.String(in, "metadata.name")
	retention, _ := rules.String(in, "spec.retention")
	storage, _ := rules.String(in, "spec.storage")
	maxAge, _ := rules.String(in, "spec.maxAge")
	cfg := jetstream.StreamConfig{Name: name, Retention: map[string]jetstream.RetentionPolicy{
		"limits": jetstream.LimitsPolicy, "interest": jetstream.InterestPolicy, "workqueue": jetstream.WorkQueuePolicy,
	}[retention], Storage: map[string]jetstream.StorageType{"file": jetstream.FileStorage, "memory": jetstream.MemoryStorage}[storage]}
	for _, subj := range rules.Elements(in, "spec.subjects") {
		cfg.Subjects = append(cfg.Subjects, subj.StringValue())
	}
	var err error
	if cfg.MaxAge, err = time.ParseDuration(maxAge); err != nil {
		t.Fatalf("stream %s maxAge %q: %v", name, maxAge, err)
	}
	if d, ok := rules.String(in, "spec.duplicateWindow"); ok {
		if cfg.Duplicates, err = time.ParseDuration(d); err != nil {
			t.Fatalf("stream %s duplicateWindow %q: %v", name, d, err)
		}
	}
	for _, p := range patches {
		pin := resource.NewObjectProperty(p.Inputs)
		if target, _ := rules.String(pin, "metadata.name"); target != objName {
			continue
		}
		for _, src := range rules.Elements(pin, "spec.sources") {
			srcName, _ := rules.String(src, "name")
			ss := &jetstream.StreamSource{Name: srcName}
			for _, tr := range rules.Elements(src, "subjectTransforms") {
				from, _ := rules.String(tr, "source")
				to, _ := rules.String(tr, "dest")
				ss.SubjectTransforms = append(ss.SubjectTransforms, jetstream.SubjectTransformConfig{Source: from, Destination: to})
			}
			cfg.Sources = append(cfg.Sources, ss)
		}
	}
	return cfg
}

// startNATS runs an in-process nats-server with JetStream and returns a
// JetStream client and its nats://host:port.
func startNATS(t *testing.T) (jetstream.JetStream, string) {
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
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port)
}

func openReceiver(t *testing.T, queueURL, deadLetterURL string) queue.Receiver {
	t.Helper()
	r, err := queue.OpenReceiver(t.Context(), queue.Config{Cloud: queue.CloudKubernetes, URL: queueURL, DeadLetterURL: deadLetterURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// receive waits for one message (a source copies asynchronously).
func receive(t *testing.T, r queue.Receiver) queue.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		msgs, err := r.Receive(ctx, 1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) > 0 {
			return msgs[0]
		}
	}
	t.Fatal("no message within a minute")
	return queue.Message{}
}

func streamOf(t *testing.T, js jetstream.JetStream, rawURL string) jetstream.Stream {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), u.Query().Get("stream"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
