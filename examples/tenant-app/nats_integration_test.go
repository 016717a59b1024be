package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tenantfleet/tenantfleet/queue"
)

// startJetStream runs an in-process NATS server with JetStream storing in a
// temporary directory, like the local cloud's runtime.
func startJetStream(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// createLocalQueue creates what the local cloud creates for a queue (see
// internal/localcloud QueueSpec): a work-queue stream on "queue.<name>" and a
// durable pull consumer "worker". It returns the queue's QUEUE_URL.
func createLocalQueue(t *testing.T, js jetstream.JetStream, srv *server.Server, name string, maxDeliver int) string {
	t.Helper()
	ctx := t.Context()
	subject := "queue." + name
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{subject}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, MaxAge: time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{
		Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: maxDeliver, AckWait: 30 * time.Second,
	}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("nats://127.0.0.1:%d?stream=%s&subject=%s&consumer=worker", srv.Addr().(*net.TCPAddr).Port, name, subject)
}

// countingQueue records what the worker does with each message.
type countingQueue struct {
	queue.Receiver
	mu         sync.Mutex
	acks       map[string]int
	naks       map[string]int
	deliveries map[string][]int
}

func (c *countingQueue) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	msgs, err := c.Receiver.Receive(ctx, limit, wait)
	c.mu.Lock()
	for _, m := range msgs {
		c.deliveries[string(m.Body)] = append(c.deliveries[string(m.Body)], m.Deliveries)
	}
	c.mu.Unlock()
	return msgs, err
}

func (c *countingQueue) Ack(ctx context.Context, m Message) error {
	c.mu.Lock()
	c.acks[string(m.Body)]++
	c.mu.Unlock()
	return c.Receiver.Ack(ctx, m)
}

func (c *countingQueue) Nack(ctx context.Context, m Message, d time.Duration) error {
	c.mu.Lock() // counted before the nack reaches the server
	c.naks[string(m.Body)]++
	c.mu.Unlock()
	return c.Receiver.Nack(ctx, m, d)
}

func (c *countingQueue) counts(body string) (acks, naks int, deliveries []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acks[body], c.naks[body], append([]int(nil), c.deliveries[body]...)
}

func TestWorkerAgainstEmbeddedJetStream(t *testing.T) {
	t.Parallel()

	const maxDeliver = 3
	srv := startJetStream(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	queueURL := createLocalQueue(t, js, srv, "acme", maxDeliver)

	// The server announces a message that ran out of deliveries: that is
	// when the local cloud moves it to the dead-letter stream.
	advisories := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.acme.worker", advisories)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }() // the server goes away with the test

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// The web app's side: publish only (does not bind the consumer).
	qc := queue.Config{Cloud: "local", URL: queueURL}
	pub, err := queue.OpenSender(ctx, qc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	if _, err := pub.Send(ctx, queue.Outgoing{Body: []byte("hello"), Attributes: map[string]string{"Trace": "t-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Send(ctx, queue.Outgoing{Body: []byte("doomed"), Attributes: map[string]string{failHeader: "always"}}); err != nil {
		t.Fatal(err)
	}

	// The worker's side.
	wq, err := queue.OpenReceiver(ctx, qc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = wq.Close() }()
	q := &countingQueue{Receiver: wq, acks: map[string]int{}, naks: map[string]int{}, deliveries: map[string][]int{}}
	store := &memStore{}
	done := make(chan error, 1)
	o := workerOptions{Batch: 10, Wait: 300 * time.Millisecond, Handle: 5 * time.Second, Backoff: 50 * time.Millisecond}
	go func() { done <- runWorker(ctx, q, store, quietLog(), o) }()

	select {
	case m := <-advisories:
		var adv struct {
			Stream     string `json:"stream"`
			Consumer   string `json:"consumer"`
			StreamSeq  uint64 `json:"stream_seq"`
			Deliveries int    `json:"deliveries"`
		}
		if err := json.Unmarshal(m.Data, &adv); err != nil {
			t.Fatal(err)
		}
		if adv.Stream != "acme" || adv.Consumer != "worker" || adv.StreamSeq != 2 || adv.Deliveries != maxDeliver {
			t.Errorf("max-deliveries advisory %s", m.Data)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no max-deliveries advisory for the always-fail message")
	}
	waitFor(t, func() bool { a, _, _ := q.counts("hello"); return a == 1 })
	time.Sleep(2 * o.Wait) // room for a (wrong) extra delivery

	if acks, naks, deliveries := q.counts("hello"); acks != 1 || naks != 0 || len(deliveries) != 1 {
		t.Errorf("normal message: %d acks, %d naks, deliveries %v", acks, naks, deliveries)
	}
	evs := store.all()
	if len(evs) != 1 || evs[0].Subject != "queue.acme" || evs[0].Body != "hello" || !jsonEqual(evs[0].Attributes, `{"Trace":"t-1"}`) {
		t.Errorf("stored %+v", evs)
	}
	acks, naks, deliveries := q.counts("doomed")
	if acks != 0 || naks != maxDeliver || fmt.Sprint(deliveries) != "[1 2 3]" {
		t.Errorf("always-fail message: %d acks, %d naks (want %d), deliveries %v", acks, naks, maxDeliver, deliveries)
	}

	// Work-queue retention: the acked message is gone; the dead one waits
	// for the runtime to move it to the dead-letter stream.
	st, err := js.Stream(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 || info.State.FirstSeq != 2 {
		t.Errorf("stream state %+v", info.State)
	}

	// Graceful shutdown.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop after cancel")
	}
}

func TestNATSQueueBindsButNeverCreatesTheConsumer(t *testing.T) {
	t.Parallel()

	srv := startJetStream(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	queueURL := createLocalQueue(t, js, srv, "acme", 5)
	badURL := queueURL[:len(queueURL)-len("worker")] + "nobody"

	ctx := t.Context()
	q, err := queue.OpenReceiver(ctx, queue.Config{Cloud: "local", URL: badURL})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Close() }()
	_, err = q.Receive(ctx, 1, 100*time.Millisecond)
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("receive with a missing consumer: %v", err)
	}
	if _, err := js.Consumer(ctx, "acme", "nobody"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the consumer was created: %v", err)
	}
}
