package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tenantfleet/tenantfleet/queue/rabbittest"
)

// amqpTestPassword is in URLs the parser must refuse; no error may show it.
const amqpTestPassword = "s3cret-pw"

func TestParseAMQPURL(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		reason string
		url    string
		kind   amqpKind
		want   amqpTarget
	}{
		{"a work queue to consume", "amqp://acme@rabbitmq.tf.svc:5672/tf-dev?queue=acme.work&exchange=acme.work", amqpReceive,
			amqpTarget{User: "acme", Host: "rabbitmq.tf.svc:5672", VHost: "tf-dev", Queue: "acme.work", Exchange: "acme.work"}},
		{"a dead-letter queue names no exchange", "amqp://acme@h/tf-dev?queue=acme.work.dead-letter", amqpReceive,
			amqpTarget{User: "acme", Host: "h:5672", VHost: "tf-dev", Queue: "acme.work.dead-letter"}},
		{"a work queue to send into", "amqps://acme@h/tf-dev?exchange=acme.work&queue=acme.work", amqpSend,
			amqpTarget{TLS: true, User: "acme", Host: "h:5671", VHost: "tf-dev", Queue: "acme.work", Exchange: "acme.work"}},
		{"a topic; the vhost percent-encoded", "amqps://pub@h:5999/tenantfleet%2Fdev?exchange=events", amqpTopic,
			amqpTarget{TLS: true, User: "pub", Host: "h:5999", VHost: "tenantfleet/dev", Exchange: "events"}},
		{"the vhost /", "amqp://u@h/%2F?exchange=e", amqpTopic, amqpTarget{User: "u", Host: "h:5672", VHost: "/", Exchange: "e"}},
		{"an IPv6 host and an encoded user", "amqp://a%40b@[::1]:1234/v?queue=q", amqpReceive, amqpTarget{User: "a@b", Host: "[::1]:1234", VHost: "v", Queue: "q"}},
	} {
		got, err := parseAMQPURL(EnvQueueURL, EnvQueuePassword, tc.url, tc.kind)
		if err != nil {
			t.Errorf("%s: %v", tc.reason, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: -want +got\n-%+v\n+%+v", tc.reason, tc.want, got)
		}
	}

	for _, tc := range []struct {
		reason string
		url    string
		kind   amqpKind
		want   string
	}{
		{"empty", " ", amqpReceive, "empty"},
		{"another scheme", "nats://u@h/v?queue=q", amqpReceive, `scheme "nats" is not amqp or amqps`},
		{"opaque", "amqp:u@h/v?queue=q", amqpReceive, "missing //"},
		{"no user", "amqp://h/v?queue=q", amqpReceive, "no user"},
		{"a password", "amqp://u:" + amqpTestPassword + "@h/v?queue=q", amqpReceive, "carries a password: give only the user, and the password in QUEUE_PASSWORD"},
		{"an empty password", "amqp://u:@h/v?queue=q", amqpReceive, "carries a password"},
		{"a password url cannot parse", "amqp://u:" + amqpTestPassword + "/x@h/v?queue=q", amqpReceive, "carries a password"},
		{"a password with a bad port", "amqp://u:" + amqpTestPassword + "@h:x/v?queue=q", amqpReceive, "carries a password"},
		{"no host", "amqp://u@/v?queue=q", amqpReceive, "no host"},
		{"a bad port", "amqp://u@h:0/v?queue=q", amqpReceive, `port "0"`},
		{"an empty port", "amqp://u@h:/v?queue=q", amqpReceive, "empty port"},
		{"no vhost", "amqp://u@h?queue=q", amqpReceive, "no vhost"},
		{"an empty vhost", "amqp://u@h/?queue=q", amqpReceive, "no vhost"},
		{"a vhost of two segments", "amqp://u@h/a/b?queue=q", amqpReceive, "write a / in it as %2F"},
		{"a fragment", "amqp://u@h/v?queue=q#x", amqpReceive, "fragment"},
		{"an unknown parameter", "amqp://u@h/v?queue=q&prefetch=10", amqpReceive, `unknown query parameter "prefetch"`},
		{"a repeated parameter", "amqp://u@h/v?queue=q&queue=r", amqpReceive, `"queue" given 2 times`},
		{"an empty queue", "amqp://u@h/v?queue=", amqpReceive, `queue "" is not a valid name`},
		{"a reserved name", "amqp://u@h/v?queue=q&exchange=amq.direct", amqpSend, "amq. are RabbitMQ's own"},
		{"a malformed query", "amqp://u@h/v?queue=%zz", amqpReceive, "malformed query"},
		{"a topic's URL as a queue's", "amqp://u@h/v?exchange=events", amqpReceive, "no queue: this is a topic's URL"},
		{"a queue's URL as a topic's", "amqp://u@h/v?queue=q&exchange=e", amqpTopic, "a topic's URL names only its exchange"},
		{"a sender needs the exchange", "amqp://u@h/v?queue=q", amqpSend, "no exchange: a work queue is sent to through its exchange"},
		{"nothing named", "amqp://u@h/v", amqpTopic, "no exchange"},
	} {
		_, err := parseAMQPURL(EnvQueueURL, EnvQueuePassword, tc.url, tc.kind)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "QUEUE_URL: ") {
			t.Errorf("%s: error %v, want one starting QUEUE_URL: and saying %q", tc.reason, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), amqpTestPassword) {
			t.Errorf("%s: the error shows the password: %v", tc.reason, err)
		}
	}
}

// The checks OpenReceiver, OpenSender and OpenTopic make before they
// connect, and Send's before it publishes.
func TestAMQPConfigChecks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := "amqp://acme@127.0.0.1:1/v?queue=acme.work&exchange=acme.work"
	for _, tc := range []struct {
		reason string
		open   func() error
		want   string
	}{
		{"no password", func() error {
			_, err := OpenReceiver(ctx, Config{Cloud: CloudKubernetes, URL: url})
			return err
		}, `QUEUE_PASSWORD: not set: the password of RabbitMQ user "acme"`},
		{"a CA without TLS", func() error {
			_, err := OpenSender(ctx, Config{Cloud: CloudKubernetes, URL: url, Password: "p", CACert: "PEM"})
			return err
		}, "QUEUE_CA_CERT is set but the URL is amqp://"},
		{"a CA that is no PEM", func() error {
			_, err := OpenReceiver(ctx, Config{Cloud: CloudKubernetes, URL: strings.Replace(url, "amqp:", "amqps:", 1), Password: "p", CACert: "PEM"})
			return err
		}, "QUEUE_CA_CERT: no PEM certificate"},
		{"a topic without its password", func() error {
			_, err := OpenTopic(ctx, TopicConfig{Cloud: CloudKubernetes, Topic: "amqp://pub@127.0.0.1:1/v?exchange=events"})
			return err
		}, `no password for RabbitMQ user "pub"`},
		{"a topic unreachable", func() error {
			_, err := OpenTopic(ctx, TopicConfig{Cloud: CloudKubernetes, Topic: "amqp://pub@127.0.0.1:1/v?exchange=events", Password: amqpTestPassword})
			return err
		}, "connect to amqp://pub@127.0.0.1:1/v"},
	} {
		err := tc.open()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.reason, err, tc.want)
		}
	}

	// The broker is not there: the clients open anyway and try again on
	// each call (the operator may not have declared everything yet).
	s, err := OpenSender(ctx, Config{Cloud: CloudKubernetes, URL: url, Password: amqpTestPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for _, tc := range []struct {
		m    Outgoing
		want string
	}{
		{Outgoing{Body: []byte("x"), ID: "dedup-1"}, "supported on the local cloud only, not on kubernetes"},
		{Outgoing{Body: []byte("x"), Attributes: map[string]string{"": "v"}}, "empty name"},
		{Outgoing{Body: []byte("x"), Attributes: map[string]string{"k": ""}}, `attribute "k": empty value`},
		{Outgoing{Body: []byte("x"), Attributes: map[string]string{"x-match": "any"}}, "x- are RabbitMQ's own"},
		{Outgoing{Body: []byte("x"), Attributes: map[string]string{"k": "a\nb"}}, "control characters"},
		{Outgoing{Body: []byte("x"), Attributes: map[string]string{strings.Repeat("k", 129): "v"}}, "at most 128"},
		{Outgoing{Body: []byte("x"), Attributes: map[string]string{"k": strings.Repeat("v", amqpMaxHeaders)}}, "attributes of 65537 bytes"},
		{Outgoing{Body: []byte("x")}, "connect to amqp://acme@127.0.0.1:1/v"},
	} {
		if _, err := s.Send(ctx, tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("send %+v: error %v, want one saying %q", tc.m.Attributes, err, tc.want)
		}
	}
}

func TestAMQPHeaderString(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"text", "text"},
		{[]byte("bytes"), "bytes"},
		{int64(-42), "-42"},
		{uint8(7), "7"},
		{true, "true"},
		{1.5, "1.5"},
		{float32(0.25), "0.25"},
		{at, "2026-12-03T09:00:00Z"},
		{amqp.Decimal{Scale: 2, Value: -5}, "-0.05"},
		{amqp.Decimal{Scale: 0, Value: 12}, "12"},
		{nil, ""},
		// x-death, as RabbitMQ writes it.
		{[]any{amqp.Table{"count": int64(1), "queue": "acme.work", "reason": "delivery_limit", "time": at, "routing-keys": []any{"acme.work"}}},
			`[{"count":1,"queue":"acme.work","reason":"delivery_limit","routing-keys":["acme.work"],"time":"2026-12-03T09:00:00Z"}]`},
	} {
		if got := amqpHeaderString(tc.v); got != tc.want {
			t.Errorf("%#v: got %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestAMQP runs the Kubernetes client against one RabbitMQ node shared by
// its subtests (a node takes about 10 seconds to start); each subtest
// declares its own vhost, as a stack has, and uses the tenants' own users.
func TestAMQP(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs RabbitMQ (drop -short to run it)")
	}
	server := rabbittest.Start(t)

	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		st := newAMQPStack(t, server, "tenantfleet/round-trip", 5, "acme")
		ctx := t.Context()
		r := st.receiver(st.config("acme", "acme"))
		s := st.sender(st.config("acme", "acme"))

		if msgs, err := r.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
			t.Fatalf("empty queue, no wait: %v, %v", msgs, err)
		}
		if msgs, err := r.Receive(ctx, 10, 20*time.Millisecond); err != nil || len(msgs) != 0 {
			t.Fatalf("empty queue: %v, %v", msgs, err)
		}
		id, err := s.Send(ctx, Outgoing{Body: []byte("hello"), Attributes: map[string]string{"trace": "t-1", "Event-Type": "invoice.paid"}})
		if err != nil {
			t.Fatal(err)
		}
		m := receiveOne(t, r)[0]
		want := map[string]string{"trace": "t-1", "Event-Type": "invoice.paid"}
		if string(m.Body) != "hello" || m.ID != id || len(id) != 32 || m.Subject != "acme.work" || m.Deliveries != 1 || !equalAttributes(m.Attributes, want) {
			t.Errorf("received %+v, want body hello, id %s, subject acme.work, 1 delivery, attributes %v", m, id, want)
		}
		if err := r.Ack(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := r.Ack(ctx, m); err == nil || !strings.Contains(err.Error(), "already acked or nacked") {
			t.Errorf("a second ack: %v", err)
		}
		if err := r.Ack(ctx, Message{ID: "x"}); err == nil || !strings.Contains(err.Error(), "not received from this queue") {
			t.Errorf("an ack of a message from elsewhere: %v", err)
		}
		if msgs, err := r.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
			t.Errorf("acked, still there: %v, %v", msgs, err)
		}

		// What is there is returned together, up to limit.
		for i := range 3 {
			if _, err := s.Send(ctx, Outgoing{Body: fmt.Appendf(nil, "m%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		msgs, err := r.Receive(ctx, 2, time.Minute)
		if err != nil || len(msgs) != 2 || string(msgs[0].Body) != "m0" || string(msgs[1].Body) != "m1" {
			t.Fatalf("receive 2 of 3: %v, %v", msgs, err)
		}
		msgs = append(msgs, receiveOne(t, r)...)
		for _, m := range msgs {
			if err := r.Ack(ctx, m); err != nil {
				t.Fatal(err)
			}
		}

		// A waiting Receive returns with the first message, and early
		// when its context ends.
		got := make(chan []Message, 1)
		go func() {
			msgs, _ := r.Receive(ctx, 10, 10*time.Minute)
			got <- msgs
		}()
		if _, err := s.Send(ctx, Outgoing{Body: []byte("late")}); err != nil {
			t.Fatal(err)
		}
		select {
		case msgs := <-got:
			if len(msgs) != 1 || string(msgs[0].Body) != "late" {
				t.Fatalf("waiting receive: %v", msgs)
			}
			if err := r.Ack(ctx, msgs[0]); err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("a waiting Receive did not return with the message sent")
		}
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			msgs, err := r.Receive(cctx, 10, 10*time.Minute)
			if err != nil {
				t.Errorf("receive ended by its context: %v", err)
			}
			got <- msgs
		}()
		cancel()
		select {
		case msgs := <-got:
			if len(msgs) != 0 {
				t.Errorf("receive ended by its context: %v", msgs)
			}
		case <-time.After(time.Minute):
			t.Fatal("Receive did not return when its context ended")
		}

		// A routing key no queue is bound with: the message comes back.
		misrouted := st.sender(Config{Cloud: CloudKubernetes, URL: st.url("acme", "queue=acme.nothing&exchange=acme.work"), Password: st.passwords["acme"]})
		if _, err := misrouted.Send(ctx, Outgoing{Body: []byte("lost?")}); !errors.Is(err, errAMQPUnroutable) || !strings.Contains(err.Error(), "NO_ROUTE") {
			t.Errorf("unroutable send: %v", err)
		}
		if _, err := s.Send(ctx, Outgoing{Body: []byte("after")}); err != nil {
			t.Errorf("send after an unroutable one: %v", err)
		}

		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Receive(ctx, 1, 0); !errors.Is(err, errAMQPClosed) {
			t.Errorf("receive after Close: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		st.noPasswordInLogs()
	})

	t.Run("dead letters after maxReceiveCount deliveries", func(t *testing.T) {
		t.Parallel()
		const maxReceiveCount = 5
		st := newAMQPStack(t, server, "tenantfleet/dead-letter", maxReceiveCount, "acme")
		ctx := t.Context()
		r := st.receiver(st.config("acme", "acme"))
		s := st.sender(st.config("acme", "acme"))
		if _, err := s.Send(ctx, Outgoing{Body: []byte("poison"), Attributes: map[string]string{"trace": "t-9"}}); err != nil {
			t.Fatal(err)
		}
		// delivery-limit maxReceiveCount-1: RabbitMQ 3.10 dead-letters a
		// message when a return makes its count exceed the limit, so it
		// is delivered maxReceiveCount times, as SQS does.
		for want := 1; want <= maxReceiveCount; want++ {
			m := receiveOne(t, r)[0]
			if m.Deliveries != want || string(m.Body) != "poison" {
				t.Fatalf("delivery %d: %+v", want, m)
			}
			if err := r.Nack(ctx, m, 0); err != nil {
				t.Fatal(err)
			}
		}
		dlq := st.receiver(Config{Cloud: CloudKubernetes, URL: st.url("acme", "queue=acme.work.dead-letter"), Password: st.passwords["acme"]})
		d := receiveOne(t, dlq)[0]
		if string(d.Body) != "poison" || d.Attribute("trace") != "t-9" || d.Subject != "acme.work.dead-letter" || d.Deliveries != 1 ||
			d.Attribute("x-first-death-reason") != "delivery_limit" || d.Attribute("x-first-death-queue") != "acme.work" ||
			!strings.Contains(d.Attribute("x-death"), `"reason":"delivery_limit"`) {
			t.Errorf("dead letter %+v", d)
		}
		if err := dlq.Ack(ctx, d); err != nil {
			t.Fatal(err)
		}
		// It is in the dead-letter queue, so it has left the work queue.
		if msgs, err := r.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
			t.Errorf("the work queue still holds %v (%v)", msgs, err)
		}
	})

	t.Run("a tenant reaches only its own queue", func(t *testing.T) {
		t.Parallel()
		st := newAMQPStack(t, server, "tenantfleet/isolation", 5, "acme", "globex")
		st.topic("events", map[string]map[string]string{"acme": nil, "globex": nil})
		ctx := t.Context()
		globexSender := st.sender(st.config("globex", "globex"))
		if _, err := globexSender.Send(ctx, Outgoing{Body: []byte("globex's")}); err != nil {
			t.Fatal(err)
		}

		stranger := st.receiver(st.config("acme", "globex"))
		_, err := stranger.Receive(ctx, 10, 0)
		assertAccessRefused(t, "consuming another tenant's queue", err)
		intruder := st.sender(st.config("acme", "globex"))
		_, err = intruder.Send(ctx, Outgoing{Body: []byte("acme's, into globex's")})
		assertAccessRefused(t, "publishing to another tenant's exchange", err)
		topic, err := OpenTopic(ctx, TopicConfig{Cloud: CloudKubernetes, Topic: st.url("acme", "exchange=events"), Password: st.passwords["acme"], Logger: st.logger})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = topic.Close() }()
		_, err = topic.Send(ctx, Outgoing{Body: []byte("acme's, into the topic")})
		assertAccessRefused(t, "publishing to the topic", err)

		// globex's queue holds its own message, never delivered before,
		// and nothing else.
		own := st.receiver(st.config("globex", "globex"))
		m := receiveOne(t, own)[0]
		if string(m.Body) != "globex's" || m.Deliveries != 1 {
			t.Errorf("globex received %+v", m)
		}
		if msgs, err := own.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
			t.Errorf("globex's queue also holds %v (%v)", msgs, err)
		}
		st.noPasswordInLogs()
	})

	t.Run("topic", func(t *testing.T) {
		t.Parallel()
		st := newAMQPStack(t, server, "tenantfleet/topic", 5, "acme", "globex")
		st.topic("events", map[string]map[string]string{"acme": nil, "globex": {"event_type": "invoice.paid"}})
		st.topic("unheard", nil)
		ctx := t.Context()
		pub, err := OpenTopic(ctx, TopicConfig{Cloud: CloudKubernetes, Topic: st.url(server.AdminUser, "exchange=events"), Password: server.AdminPassword, Name: "publish-test", Logger: st.logger})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = pub.Close() }()
		for _, event := range []string{"invoice.paid", "account.created"} {
			if _, err := pub.Send(ctx, Outgoing{Body: []byte(event), Attributes: map[string]string{"event_type": event}}); err != nil {
				t.Fatal(err)
			}
		}
		acme := st.receiver(st.config("acme", "acme"))
		msgs, err := acme.Receive(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 2 || string(msgs[0].Body) != "invoice.paid" || string(msgs[1].Body) != "account.created" || msgs[1].Attribute("event_type") != "account.created" {
			t.Errorf("the unfiltered subscriber received %v, %v", msgs, err)
		}
		globex := st.receiver(st.config("globex", "globex"))
		msgs, err = globex.Receive(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "invoice.paid" {
			t.Errorf("the filtered subscriber received %v, %v", msgs, err)
		}
		// Publishes were confirmed once in the queues: nothing else comes.
		if msgs, err := globex.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
			t.Errorf("the filtered subscriber also received %v (%v)", msgs, err)
		}

		// A topic without subscribers takes the message and drops it.
		quiet, err := OpenTopic(ctx, TopicConfig{Cloud: CloudKubernetes, Topic: st.url(server.AdminUser, "exchange=unheard"), Password: server.AdminPassword})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = quiet.Close() }()
		if _, err := quiet.Send(ctx, Outgoing{Body: []byte("into the void")}); err != nil {
			t.Errorf("publish to a topic without subscribers: %v", err)
		}
		if _, err := OpenTopic(ctx, TopicConfig{Cloud: CloudKubernetes, Topic: st.url(server.AdminUser, "exchange=nowhere"), Password: server.AdminPassword}); err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
			t.Errorf("a topic that is not there: %v", err)
		}
	})

	t.Run("nack with a delay holds the message", func(t *testing.T) {
		t.Parallel()
		st := newAMQPStack(t, server, "tenantfleet/nack-delay", 5, "acme")
		ctx := t.Context()
		timers1, timers2 := &amqpFakeTimers{}, &amqpFakeTimers{}
		c1, c2 := st.config("acme", "acme"), st.config("acme", "acme")
		c1.hooks.amqp.afterFunc, c2.hooks.amqp.afterFunc = timers1.afterFunc, timers2.afterFunc
		clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		c2.hooks.amqp.now = func() time.Time { return clock }
		r1, r2 := st.receiver(c1), st.receiver(c2)
		s := st.sender(st.config("acme", "acme"))
		if _, err := s.Send(ctx, Outgoing{Body: []byte("later")}); err != nil {
			t.Fatal(err)
		}

		m := receiveOne(t, r1)[0]
		if err := r1.Nack(ctx, m, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		if d := timers1.delays(); !slices.Equal(d, []time.Duration{5 * time.Minute}) {
			t.Fatalf("timers set: %v", d)
		}
		if err := r1.Ack(ctx, m); err == nil || !strings.Contains(err.Error(), "already acked or nacked") {
			t.Errorf("ack of a held message: %v", err)
		}
		// Held, unacked: no other consumer gets it.
		if msgs, err := r2.Receive(ctx, 10, 0); err != nil || len(msgs) != 0 {
			t.Fatalf("a held message was delivered to another receiver: %v, %v", msgs, err)
		}
		timers1.fire(0)
		m = receiveOne(t, r2)[0]
		if string(m.Body) != "later" || m.Deliveries != 2 {
			t.Fatalf("after the delay: %+v", m)
		}

		// A delay past amqpMaxHold after the delivery is cut (the
		// message was delivered 20 minutes ago on r2's clock); Close hands
		// held messages back.
		clock = clock.Add(20 * time.Minute)
		if err := r2.Nack(ctx, m, time.Hour); err != nil {
			t.Fatal(err)
		}
		if d := timers2.delays(); !slices.Equal(d, []time.Duration{amqpMaxHold - 20*time.Minute}) {
			t.Fatalf("timers set: %v", d)
		}
		if err := r2.Close(); err != nil {
			t.Fatal(err)
		}
		if !timers2.stopped(0) {
			t.Error("Close left the delay's timer running")
		}
		m = receiveOne(t, r1)[0]
		if string(m.Body) != "later" || m.Deliveries != 3 {
			t.Fatalf("after Close: %+v", m)
		}
		timers2.fire(0) // too late: nothing happens
		if err := r1.Ack(ctx, m); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(st.logs.String(), "nack delay cut") {
			t.Errorf("no warning about the cut delay in the log:\n%s", st.logs.String())
		}
	})

	t.Run("reconnects after the broker closed the connection", func(t *testing.T) {
		t.Parallel()
		st := newAMQPStack(t, server, "tenantfleet/reconnect", 5, "acme")
		ctx := t.Context()
		c := st.config("acme", "acme")
		c.Name = "worker-reconnect-test"
		r := st.receiver(c)
		s := st.sender(c)
		if _, err := s.Send(ctx, Outgoing{Body: []byte("in flight")}); err != nil {
			t.Fatal(err)
		}
		m := receiveOne(t, r)[0]
		if props := server.Ctl(t, "list_connections", "--silent", "client_properties"); strings.Count(props, `{"connection_name","`+c.Name+`"}`) != 2 {
			t.Errorf("the connections' client properties, want two named %s:\n%s", c.Name, props)
		}

		closed := []<-chan *amqp.Error{st.notifyClose(r.(*amqpReceiver).conn), st.notifyClose(s.(*amqpSender).conn)}
		server.Ctl(t, "close_all_connections", "-p", st.vhost, "tenantfleet test")
		for _, c := range closed {
			select {
			case reason := <-c:
				t.Logf("closed: %v", reason)
			case <-time.After(time.Minute):
				t.Fatal("the client did not see its connection closed")
			}
		}
		if err := r.Ack(ctx, m); !errors.Is(err, errAMQPDeliveryGone) {
			t.Errorf("ack of a message from the closed connection: %v", err)
		}
		if err := r.Nack(ctx, m, 0); !errors.Is(err, errAMQPDeliveryGone) {
			t.Errorf("nack of a message from the closed connection: %v", err)
		}

		// The next calls reconnect; the message comes back, its delivery
		// counted as failed.
		if _, err := s.Send(ctx, Outgoing{Body: []byte("after")}); err != nil {
			t.Fatalf("send after the connection closed: %v", err)
		}
		msgs, err := r.Receive(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 2 || string(msgs[0].Body) != "in flight" || msgs[0].Deliveries != 2 || string(msgs[1].Body) != "after" {
			t.Fatalf("receive after the connection closed: %+v, %v", msgs, err)
		}
		for _, m := range msgs {
			if err := r.Ack(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if logs := st.logs.String(); strings.Count(logs, "queue connection lost; reconnecting") != 2 || !strings.Contains(logs, "tenantfleet test") {
			t.Errorf("want a warning per client naming the reason, got:\n%s", logs)
		}
		st.noPasswordInLogs()
	})

	t.Run("amqps with a private CA", func(t *testing.T) {
		t.Parallel()
		st := newAMQPStack(t, server, "tenantfleet/tls", 5, "acme")
		ctx := t.Context()
		serverTLS, caPEM := kafkaSelfSignedTLS(t)
		proxy := amqpTLSProxy(t, serverTLS, strings.TrimPrefix(server.AMQPURL, "amqp://"))
		c := st.config("acme", "acme")
		c.URL = strings.Replace(strings.Replace(c.URL, "amqp://", "amqps://", 1), st.host, proxy, 1)
		c.CACert = caPEM
		s := st.sender(c)
		if _, err := s.Send(ctx, Outgoing{Body: []byte("over TLS")}); err != nil {
			t.Fatal(err)
		}
		if m := receiveOne(t, st.receiver(c))[0]; string(m.Body) != "over TLS" {
			t.Errorf("received %+v", m)
		}
		c.CACert = ""
		untrusted := st.sender(c)
		if _, err := untrusted.Send(ctx, Outgoing{Body: []byte("x")}); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("a server certificate of an unknown CA: %v", err)
		}
	})
}

// amqpStack is a stack's RabbitMQ topology, declared through the
// management API as the messaging-topology operator declares it.
type amqpStack struct {
	t      *testing.T
	server *rabbittest.Server
	vhost  string
	host   string // 127.0.0.1:<port>
	// users and passwords are by tenant (and the administrator's user
	// name): users are the node's, not the vhost's, so each stack has
	// its own.
	users     map[string]string
	passwords map[string]string
	logs      *kafkaLogBuffer
	logger    *slog.Logger
}

// newAMQPStack declares vhost and in it, per tenant, its user, queue,
// dead-letter queue and exchange, with the permissions and the policy the
// Kubernetes adapter gives them. The administrator may use the vhost too.
func newAMQPStack(t *testing.T, s *rabbittest.Server, vhost string, maxReceiveCount int, tenants ...string) *amqpStack {
	t.Helper()
	st := &amqpStack{t: t, server: s, vhost: vhost, host: strings.TrimPrefix(s.AMQPURL, "amqp://"),
		users: map[string]string{s.AdminUser: s.AdminUser}, passwords: map[string]string{s.AdminUser: s.AdminPassword}, logs: &kafkaLogBuffer{}}
	st.logger = slog.New(slog.NewTextHandler(st.logs, nil))
	v := url.PathEscape(vhost)
	s.API(t, "PUT", "/vhosts/"+v, map[string]any{})
	s.API(t, "PUT", "/permissions/"+v+"/"+url.PathEscape(s.AdminUser), map[string]any{"configure": ".*", "write": ".*", "read": ".*"})
	for _, tenant := range tenants {
		user := tenant + "-" + vhost[strings.LastIndex(vhost, "/")+1:]
		password := amqpRandomID()
		st.users[tenant], st.passwords[tenant] = user, password
		// As the Kubernetes adapter declares them (providers/kubernetes
		// queue.go): permissions on exact names, plain quorum queues, and
		// the delivery limit and dead-lettering in a policy set after them.
		q := tenant + ".work"
		dlq := q + ".dead-letter"
		quoted := regexp.QuoteMeta(q)
		s.API(t, "PUT", "/users/"+user, map[string]any{"password": password, "tags": ""})
		s.API(t, "PUT", "/permissions/"+v+"/"+user, map[string]any{
			"configure": "^$", "write": "^" + quoted + "$", "read": "^" + quoted + `(\.dead-letter)?$`,
		})
		for _, name := range []string{q, dlq} {
			s.API(t, "PUT", "/queues/"+v+"/"+name, map[string]any{"durable": true, "arguments": map[string]any{"x-queue-type": "quorum"}})
		}
		s.API(t, "PUT", "/policies/"+v+"/"+q, map[string]any{"pattern": "^" + quoted + "$", "apply-to": "queues", "priority": 10,
			"definition": map[string]any{
				"delivery-limit":          maxReceiveCount - 1,
				"dead-letter-exchange":    "",
				"dead-letter-routing-key": dlq,
				"dead-letter-strategy":    "at-least-once",
				"overflow":                "reject-publish",
			}})
		s.API(t, "PUT", "/exchanges/"+v+"/"+tenant+".work", map[string]any{"type": "direct", "durable": true})
		s.API(t, "POST", "/bindings/"+v+"/e/"+tenant+".work/q/"+tenant+".work", map[string]any{"routing_key": tenant + ".work"})
	}
	return st
}

// topic declares a headers exchange bound to the queues of subscribers,
// each with its filter (attribute = value) or none.
func (st *amqpStack) topic(name string, subscribers map[string]map[string]string) {
	st.t.Helper()
	v := url.PathEscape(st.vhost)
	st.server.API(st.t, "PUT", "/exchanges/"+v+"/"+name, map[string]any{"type": "headers", "durable": true})
	for tenant, filter := range subscribers {
		args := map[string]any{"x-match": "all"}
		for k, val := range filter {
			args[k] = val
		}
		st.server.API(st.t, "POST", "/bindings/"+v+"/e/"+name+"/q/"+tenant+".work", map[string]any{"arguments": args})
	}
}

// url is an amqp:// URL in the stack's vhost with query, signed in as as's
// user (as: a tenant, or the administrator).
func (st *amqpStack) url(as, query string) string {
	return "amqp://" + url.PathEscape(st.users[as]) + "@" + st.host + "/" + url.PathEscape(st.vhost) + "?" + query
}

// config is the environment contract of tenant's work queue, signed in as
// as's user.
func (st *amqpStack) config(as, tenant string) Config {
	return Config{
		Cloud:    CloudKubernetes,
		URL:      st.url(as, "queue="+tenant+".work&exchange="+tenant+".work"),
		Password: st.passwords[as],
		Name:     "amqp-test-" + as,
		Logger:   st.logger,
	}
}

func (st *amqpStack) receiver(c Config) Receiver {
	st.t.Helper()
	if c.Logger == nil {
		c.Logger = st.logger
	}
	r, err := OpenReceiver(st.t.Context(), c)
	if err != nil {
		st.t.Fatalf("OpenReceiver: %v", err)
	}
	st.t.Cleanup(func() { _ = r.Close() })
	return r
}

func (st *amqpStack) sender(c Config) Sender {
	st.t.Helper()
	if c.Logger == nil {
		c.Logger = st.logger
	}
	s, err := OpenSender(st.t.Context(), c)
	if err != nil {
		st.t.Fatalf("OpenSender: %v", err)
	}
	st.t.Cleanup(func() { _ = s.Close() })
	return s
}

// notifyClose returns a channel that receives when c's current connection
// closes.
func (st *amqpStack) notifyClose(c *amqpConn) <-chan *amqp.Error {
	st.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		st.t.Fatal("not connected")
	}
	return c.conn.NotifyClose(make(chan *amqp.Error, 1))
}

func (st *amqpStack) noPasswordInLogs() {
	st.t.Helper()
	logs := st.logs.String()
	for user, password := range st.passwords {
		if strings.Contains(logs, password) {
			st.t.Errorf("the log shows %s's password:\n%s", user, logs)
		}
	}
}

func assertAccessRefused(t *testing.T, what string, err error) {
	t.Helper()
	var amqpErr *amqp.Error
	if !errors.As(err, &amqpErr) || amqpErr.Code != amqp.AccessRefused || !strings.Contains(err.Error(), "ACCESS_REFUSED") {
		t.Errorf("%s: %v, want a 403 ACCESS_REFUSED", what, err)
	}
}

func equalAttributes(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// amqpFakeTimers records the timers a receiver sets, which fire only when
// the test says.
type amqpFakeTimers struct {
	mu     sync.Mutex
	timers []*amqpFakeTimer
}

type amqpFakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (ft *amqpFakeTimers) afterFunc(d time.Duration, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	tm := &amqpFakeTimer{d: d, f: f}
	ft.timers = append(ft.timers, tm)
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		was := !tm.stopped
		tm.stopped = true
		return was
	}
}

func (ft *amqpFakeTimers) delays() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []time.Duration
	for _, tm := range ft.timers {
		out = append(out, tm.d)
	}
	return out
}

func (ft *amqpFakeTimers) stopped(i int) bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.timers[i].stopped
}

// fire runs timer i's function, as time.AfterFunc would when it is due.
func (ft *amqpFakeTimers) fire(i int) {
	ft.mu.Lock()
	f := ft.timers[i].f
	ft.mu.Unlock()
	f()
}

// amqpTLSProxy terminates TLS with cfg on a loopback port and forwards each
// connection to backend: an amqps endpoint in front of the test node.
func amqpTLSProxy(t *testing.T, cfg *tls.Config, backend string) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			front, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = front.Close() }()
				back, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer func() { _ = back.Close() }()
				done := make(chan struct{})
				go func() {
					_, _ = io.Copy(back, front)
					_ = back.Close()
					close(done)
				}()
				_, _ = io.Copy(front, back)
				_ = front.Close()
				<-done
			})
		}
	})
	return l.Addr().String()
}
