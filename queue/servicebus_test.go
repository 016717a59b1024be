package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// Service Bus has no emulator that runs here: these tests check the URL
// mapping and the driver's logic against a double of azservicebus's
// Receiver and Sender.

func TestParseServiceBusQueueURL(t *testing.T) {
	t.Parallel()

	got, err := parseServiceBusQueueURL(EnvQueueURL, "https://tf-prod-bus.servicebus.windows.net/prod-acme")
	if err != nil {
		t.Fatal(err)
	}
	if want := (serviceBusEntity{Namespace: "tf-prod-bus.servicebus.windows.net", Name: "prod-acme"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, tc := range []struct{ url, why string }{
		{"", "empty"},
		{"http://tf-prod-bus.servicebus.windows.net/q", "not https"},
		{"https://tf-prod-bus.servicebus.windows.net/", "no queue"},
		{"https://tf-prod-bus.example.com/q", "not a Service Bus namespace"},
		{"https://tf-prod-bus.servicebus.windows.net:443/q", "not a Service Bus namespace"},
		{"https://bus.servicebus.windows.net/q", "6 to 50"},
		{"https://1tfprodbus.servicebus.windows.net/q", "starting with a letter"},
		{"https://tf-prod-bus.servicebus.windows.net/q?x=1", "query"},
		{"https://key:secret@tf-prod-bus.servicebus.windows.net/q", "user info"},
		{"https://tf-prod-bus.servicebus.windows.net/q/$DeadLetterQueue", "dead-letter queue"},
		{"https://tf-prod-bus.servicebus.windows.net/-q", "start and end"},
		{"https://tf-prod-bus.servicebus.windows.net/q%20x", "letters, digits"},
		{"nats://127.0.0.1:4222?stream=a&subject=b&consumer=c", "not https"},
	} {
		_, err := parseServiceBusQueueURL(EnvQueueURL, tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.why) || !strings.HasPrefix(err.Error(), "QUEUE_URL: ") {
			t.Errorf("%q: error %v, want one starting QUEUE_URL: and saying %q", tc.url, err, tc.why)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error repeats the password: %v", tc.url, err)
		}
	}
}

func TestParseServiceBusTopicID(t *testing.T) {
	t.Parallel()

	id := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/tf-prod/providers/Microsoft.ServiceBus/namespaces/tf-prod-bus/topics/account-events"
	got, err := parseServiceBusTopicID(id)
	if err != nil {
		t.Fatal(err)
	}
	if want := (serviceBusEntity{Namespace: "tf-prod-bus.servicebus.windows.net", Name: "account-events"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		"",
		"arn:aws:sns:us-east-1:123456789012:events",
		strings.Replace(id, "/topics/", "/queues/", 1),
		strings.Replace(id, "Microsoft.ServiceBus", "Microsoft.EventHub", 1),
		strings.Replace(id, "tf-prod-bus", "bus", 1),
	} {
		if _, err := parseServiceBusTopicID(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// fakeServiceBus is a double of one Service Bus queue with peek-lock
// semantics: a delivery count per message and dead-lettering after
// maxDelivery abandons.
type fakeServiceBus struct {
	mu          sync.Mutex
	maxDelivery uint32
	ready       []*azservicebus.ReceivedMessage
	locked      map[*azservicebus.ReceivedMessage]bool
	completed   []*azservicebus.ReceivedMessage
	deadLetters []*azservicebus.ReceivedMessage
	sent        []*azservicebus.Message
	closed      bool
	arrived     chan struct{}
}

func newFakeServiceBus(maxDelivery uint32) *fakeServiceBus {
	return &fakeServiceBus{maxDelivery: maxDelivery, locked: map[*azservicebus.ReceivedMessage]bool{}, arrived: make(chan struct{}, 100)}
}

func (f *fakeServiceBus) ReceiveMessages(ctx context.Context, n int, _ *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error) {
	for {
		f.mu.Lock()
		if len(f.ready) > 0 {
			k := min(n, len(f.ready))
			out := f.ready[:k]
			f.ready = f.ready[k:]
			for _, m := range out {
				m.DeliveryCount++
				until := time.Now().Add(time.Minute)
				m.LockedUntil = &until
				f.locked[m] = true
			}
			f.mu.Unlock()
			return out, nil
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.arrived:
		}
	}
}

func (f *fakeServiceBus) settle(m *azservicebus.ReceivedMessage) error {
	if !f.locked[m] {
		return errors.New("lock lost")
	}
	delete(f.locked, m)
	return nil
}

func (f *fakeServiceBus) CompleteMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.CompleteMessageOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.settle(m); err != nil {
		return err
	}
	f.completed = append(f.completed, m)
	return nil
}

func (f *fakeServiceBus) AbandonMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.AbandonMessageOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.settle(m); err != nil {
		return err
	}
	if m.DeliveryCount >= f.maxDelivery {
		f.deadLetters = append(f.deadLetters, m)
		return nil
	}
	f.ready = append(f.ready, m)
	f.arrived <- struct{}{}
	return nil
}

func (f *fakeServiceBus) SendMessage(_ context.Context, m *azservicebus.Message, _ *azservicebus.SendMessageOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	f.ready = append(f.ready, &azservicebus.ReceivedMessage{MessageID: *m.MessageID, Body: m.Body, ApplicationProperties: m.ApplicationProperties})
	f.arrived <- struct{}{}
	return nil
}

func (f *fakeServiceBus) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// manualTimers stands in for time.AfterFunc: fire runs what is due.
type manualTimers struct {
	mu  sync.Mutex
	fns []func()
	d   []time.Duration
}

func (m *manualTimers) afterFunc(d time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := len(m.fns)
	m.fns = append(m.fns, f)
	m.d = append(m.d, d)
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		stopped := m.fns[i] != nil
		m.fns[i] = nil
		return stopped
	}
}

func (m *manualTimers) fire() {
	m.mu.Lock()
	fns := m.fns
	m.fns = make([]func(), len(fns))
	m.mu.Unlock()
	for _, f := range fns {
		if f != nil {
			f()
		}
	}
}

func openFakeServiceBus(t *testing.T, bus *fakeServiceBus, timers *manualTimers) (Receiver, Sender) {
	t.Helper()
	h := hooks{azure: azureHooks{
		receiver:  func(_, _ string) (sbReceiver, error) { return bus, nil },
		sender:    func(_, _ string) (sbSender, error) { return bus, nil },
		afterFunc: timers.afterFunc,
	}}
	c := Config{Cloud: CloudAzure, URL: "https://tf-prod-bus.servicebus.windows.net/prod-acme", hooks: h}
	r, err := OpenReceiver(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSender(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func TestServiceBusReceiveAckNackDeadLetter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bus := newFakeServiceBus(3)
	timers := &manualTimers{}
	r, s := openFakeServiceBus(t, bus, timers)

	// Nothing there: Receive returns empty once wait passes, without error.
	msgs, err := r.Receive(ctx, 10, time.Millisecond)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("empty queue: %v, %v", msgs, err)
	}

	id, err := s.Send(ctx, Outgoing{Body: []byte("hello"), Attributes: map[string]string{"event_type": "invoice.paid"}})
	if err != nil || len(id) != 32 {
		t.Fatalf("send: id %q, %v", id, err)
	}
	if _, err := s.Send(ctx, Outgoing{Body: []byte("x"), ID: "evt-1"}); err == nil || !strings.Contains(err.Error(), "local cloud only") {
		t.Errorf("a message id: %v", err)
	}

	msgs = receiveOne(t, r)
	m := msgs[0]
	if m.ID != id || string(m.Body) != "hello" || m.Attribute("EVENT_TYPE") != "invoice.paid" || m.Deliveries != 1 || m.Subject != "prod-acme" {
		t.Errorf("received %+v", m)
	}
	// Nack at once: abandoned, delivered again with the count up.
	if err := r.Nack(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	m = receiveOne(t, r)[0]
	if m.Deliveries != 2 {
		t.Errorf("deliveries %d after one nack, want 2", m.Deliveries)
	}
	// Nack with a delay inside the lock: abandoned only when the timer fires.
	if err := r.Nack(ctx, m, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Receive(ctx, 10, time.Millisecond); len(got) != 0 {
		t.Fatalf("redelivered before the delay: %+v", got)
	}
	timers.fire()
	m = receiveOne(t, r)[0]
	if m.Deliveries != 3 {
		t.Errorf("deliveries %d, want 3", m.Deliveries)
	}
	// The third failure dead-letters (Service Bus's maxDeliveryCount).
	if err := r.Nack(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
	if len(bus.deadLetters) != 1 {
		t.Fatalf("dead letters %d, want 1", len(bus.deadLetters))
	}

	// Ack completes.
	if _, err := s.Send(ctx, Outgoing{Body: []byte("two")}); err != nil {
		t.Fatal(err)
	}
	m = receiveOne(t, r)[0]
	if err := r.Ack(ctx, m); err != nil {
		t.Fatal(err)
	}
	if len(bus.completed) != 1 || string(bus.completed[0].Body) != "two" {
		t.Errorf("completed %v", bus.completed)
	}
	if err := r.Ack(ctx, Message{}); err == nil {
		t.Error("ack of a message from elsewhere: no error")
	}
}

func TestServiceBusDelayedNack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bus := newFakeServiceBus(10)
	timers := &manualTimers{}
	r, s := openFakeServiceBus(t, bus, timers)
	for range 2 {
		if _, err := s.Send(ctx, Outgoing{Body: []byte("m")}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := r.Receive(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	// A delay past the lock: left to expire, no timer.
	if err := r.Nack(ctx, msgs[0], 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(timers.fns) != 0 {
		t.Errorf("a timer for a delay past the lock")
	}
	// A delay inside the lock, then an ack before it fires: the ack wins.
	if err := r.Nack(ctx, msgs[1], time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.Ack(ctx, msgs[1]); err != nil {
		t.Fatal(err)
	}
	timers.fire()
	if len(bus.ready) != 0 || len(bus.completed) != 1 {
		t.Errorf("ready %d, completed %d", len(bus.ready), len(bus.completed))
	}
	// Close abandons what a delay still holds.
	if _, err := s.Send(ctx, Outgoing{Body: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	m := receiveOne(t, r)[0]
	if err := r.Nack(ctx, m, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if len(bus.ready) != 1 || !bus.closed {
		t.Errorf("after close: ready %d, closed %v", len(bus.ready), bus.closed)
	}
}

func TestServiceBusSendLimits(t *testing.T) {
	t.Parallel()
	bus := newFakeServiceBus(10)
	_, s := openFakeServiceBus(t, bus, &manualTimers{})
	for _, tc := range []struct {
		m   Outgoing
		why string
	}{
		{Outgoing{Body: make([]byte, serviceBusMaxMessage+1)}, "262144"},
		{Outgoing{Attributes: map[string]string{"big": strings.Repeat("x", serviceBusMaxHeader)}}, "properties"},
		{Outgoing{Attributes: map[string]string{"": "x"}}, "empty name"},
		{Outgoing{Attributes: map[string]string{"a\nb": "x"}}, "control"},
	} {
		if _, err := s.Send(t.Context(), tc.m); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("error %v, want one saying %q", err, tc.why)
		}
	}
	if len(bus.sent) != 0 {
		t.Errorf("%d refused messages were sent", len(bus.sent))
	}
}

type failingCredential struct{}

func (failingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("DefaultAzureCredential: failed to acquire a token")
}

func TestServiceBusTopicNeedsCredentials(t *testing.T) {
	t.Parallel()
	bus := newFakeServiceBus(10)
	topic := "/subscriptions/s/resourceGroups/g/providers/Microsoft.ServiceBus/namespaces/tf-prod-bus/topics/account-events"
	tc := TopicConfig{Cloud: CloudAzure, Topic: topic, hooks: hooks{azure: azureHooks{
		sender:     func(_, _ string) (sbSender, error) { return bus, nil },
		credential: func() (azcore.TokenCredential, error) { return failingCredential{}, nil },
	}}}
	_, err := OpenTopic(t.Context(), tc)
	if err == nil || !strings.Contains(err.Error(), "no Azure credentials") || !strings.Contains(err.Error(), "az login") {
		t.Errorf("error %v, want one saying there are no credentials and how to sign in", err)
	}
	tc.hooks.azure.credential = nil
	pub, err := OpenTopic(t.Context(), tc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Send(t.Context(), Outgoing{Body: []byte("e"), Attributes: map[string]string{"event_type": "a"}}); err != nil {
		t.Fatal(err)
	}
	if len(bus.sent) != 1 || bus.sent[0].ApplicationProperties["event_type"] != "a" {
		t.Errorf("sent %+v", bus.sent)
	}
}

// receiveOne receives until a message arrives (the double answers at once).
func receiveOne(t *testing.T, r Receiver) []Message {
	t.Helper()
	msgs, err := r.Receive(t.Context(), 1, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %d messages, %v", len(msgs), err)
	}
	return msgs
}
