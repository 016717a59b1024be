package queue

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// assertAllCommitted checks that the group committed every record of the
// queue's topic.
func (c *kafkaTestCluster) assertAllCommitted() {
	c.t.Helper()
	ends, got := c.endOffsets(kafkaTestQueue), c.committed(kafkaTestQueue, kafkaTestQueue)
	for p := range ends {
		if ends[p] > 0 && got[p] != ends[p] {
			c.t.Errorf("partition %d: committed %d, want the end offset %d (committed %v, ends %v)", p, got[p], ends[p], got, ends)
		}
	}
}

func TestKafkaSendReceiveAck(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	cfg := c.config(newKafkaClock(), 3, "30s")
	ids := c.send(c.sender(cfg), 6)
	r := c.receiver(cfg)
	idRE := regexp.MustCompile(`^` + kafkaTestQueue + `/[0-2]/\d+$`)
	for _, m := range kafkaReceiveN(t, r, 6) {
		if want := ids[string(m.Body)]; m.ID != want || !idRE.MatchString(m.ID) {
			t.Errorf("%s: ID %q, want %q, the id Send returned (<topic>/<partition>/<offset>)", m.Body, m.ID, want)
		}
		n := strings.TrimPrefix(string(m.Body), "message-0")
		if want := map[string]string{"n": n, "kind": "test"}; !maps.Equal(m.Attributes, want) {
			t.Errorf("%s: attributes %v, want %v", m.Body, m.Attributes, want)
		}
		if m.Subject != kafkaTestQueue || m.Deliveries != 1 {
			t.Errorf("%s: subject %q, deliveries %d; want %q, 1", m.Body, m.Subject, m.Deliveries, kafkaTestQueue)
		}
		if err := r.Ack(t.Context(), m); err != nil {
			t.Errorf("Ack %s: %v", m.Body, err)
		}
		if err := r.Ack(t.Context(), m); err != nil {
			t.Errorf("a second Ack of %s: %v, want nil", m.Body, err)
		}
	}
	kafkaReceiveNone(t, r)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.assertAllCommitted()
	if _, err := r.Receive(t.Context(), 1, 0); err == nil {
		t.Error("Receive after Close succeeded")
	}
	assertNoKafkaPassword(t, "logs", c.logs.String())
}

func TestKafkaNackRedelivers(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	cfg := c.config(newKafkaClock(), 3, "30s")
	ids := c.produce(1)
	r := c.receiver(cfg)
	first := kafkaReceiveN(t, r, 1)[0]
	if first.Deliveries != 1 || first.ID != ids["message-00"] {
		t.Fatalf("first delivery: ID %s, deliveries %d; want %s, 1", first.ID, first.Deliveries, ids["message-00"])
	}
	if err := r.Nack(t.Context(), first, 0); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	second := kafkaReceiveN(t, r, 1)[0]
	if second.Deliveries != 2 || second.ID != first.ID || string(second.Body) != string(first.Body) || !maps.Equal(second.Attributes, first.Attributes) {
		t.Errorf("redelivery %+v, want the first delivery %+v with Deliveries 2", second, first)
	}
	if err := r.Ack(t.Context(), first); err == nil || !strings.Contains(err.Error(), "already handed back") {
		t.Errorf("Ack of the nacked delivery: %v, want an error saying it was handed back", err)
	}
	if err := r.Ack(t.Context(), second); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	kafkaReceiveNone(t, r)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.assertAllCommitted()
}

func TestKafkaDeadLettersAfterMaxReceiveCount(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	cfg := c.config(newKafkaClock(), 2, "30s")
	ids := c.produce(1)
	r := c.receiver(cfg)
	first := kafkaReceiveN(t, r, 1)[0]
	if err := r.Nack(t.Context(), first, 0); err != nil {
		t.Fatalf("Nack 1: %v", err)
	}
	second := kafkaReceiveN(t, r, 1)[0]
	if second.Deliveries != 2 {
		t.Fatalf("second delivery counts %d, want 2", second.Deliveries)
	}
	// The last delivery allowed: a delay is moot, the message goes to the
	// dead-letter topic.
	if err := r.Nack(t.Context(), second, time.Hour); err != nil {
		t.Fatalf("Nack 2: %v", err)
	}
	kafkaReceiveNone(t, r)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.assertAllCommitted()

	queued := c.readAll(kafkaTestQueue)
	if len(queued) != 2 {
		t.Fatalf("the queue's topic holds %d records, want the original and its copy", len(queued))
	}
	copyOf := queued[slices.IndexFunc(queued, func(r *kgo.Record) bool { _, ok := kafkaHeader(r, KafkaHeaderMessageID); return ok })]
	dead := c.readAll(kafkaTestDLQ)
	if len(dead) != 1 {
		t.Fatalf("the dead-letter topic holds %d records, want 1", len(dead))
	}
	d := dead[0]
	if string(d.Value) != "message-00" {
		t.Errorf("dead-letter body %q, want message-00", d.Value)
	}
	want := map[string]string{
		"kind":                      "test",
		"n":                         "0",
		KafkaHeaderMessageID:        ids["message-00"],
		KafkaHeaderDeadLetterFrom:   kafkaID(copyOf),
		KafkaHeaderDeadLetterReason: "nacked on delivery 2 of 2 (maxReceiveCount)",
	}
	got := map[string]string{}
	for _, h := range d.Headers {
		if _, dup := got[h.Key]; dup {
			t.Errorf("dead-letter header %s repeated", h.Key)
		}
		got[h.Key] = string(h.Value)
	}
	if !maps.Equal(got, want) {
		t.Errorf("dead-letter headers\n got %v\nwant %v", got, want)
	}
}

func TestKafkaVisibilityTimeout(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	clock := newKafkaClock()
	r := c.receiver(c.config(clock, 2, "30s"))
	c.produce(1)
	first := kafkaReceiveN(t, r, 1)[0]

	clock.advance(30 * time.Second)
	second := kafkaReceiveN(t, r, 1)[0]
	if second.ID != first.ID || second.Deliveries != 2 {
		t.Fatalf("after the visibility timeout: ID %s deliveries %d, want %s, 2", second.ID, second.Deliveries, first.ID)
	}
	for op, settle := range map[string]func() error{
		"Ack":  func() error { return r.Ack(t.Context(), first) },
		"Nack": func() error { return r.Nack(t.Context(), first, 0) },
	} {
		if err := settle(); err == nil || !strings.Contains(err.Error(), "visibility timeout (30s) passed before this "+op) {
			t.Errorf("late %s: %v, want an error saying the visibility timeout passed", op, err)
		}
	}

	clock.advance(29 * time.Second)
	kafkaReceiveNone(t, r) // not yet
	clock.advance(time.Second)
	kafkaReceiveNone(t, r) // the last delivery timed out: dead-lettered
	if err := r.Ack(t.Context(), second); err == nil || !strings.Contains(err.Error(), "visibility timeout") {
		t.Errorf("late Ack: %v, want an error saying the visibility timeout passed", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.assertAllCommitted()
	dead := c.readAll(kafkaTestDLQ)
	if len(dead) != 1 {
		t.Fatalf("the dead-letter topic holds %d records, want 1", len(dead))
	}
	if why, _ := kafkaHeader(dead[0], KafkaHeaderDeadLetterReason); why != "visibility timeout 30s passed on delivery 2 of 2 (maxReceiveCount)" {
		t.Errorf("dead-letter reason %q", why)
	}
}

// TestKafkaNackDelayHoldsTheMessage: a copy due later is held, and its
// partition's commit with it, across a restart too.
//
//nolint:paralleltest // the subtests are phases of one scenario, in turn.
func TestKafkaNackDelayHoldsTheMessage(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	clock := newKafkaClock()
	cfg := c.config(clock, 5, "1h")
	r := c.receiver(cfg)
	c.produce(1)
	first := kafkaReceiveN(t, r, 1)[0]
	if err := r.Nack(t.Context(), first, 10*time.Minute); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	kafkaWaitHeld(t, r) // the copy is polled and held

	t.Run("the commit stops at the held copy", func(t *testing.T) {
		kr := r.(*kafkaReceiver)
		kr.commitMu.Lock()
		err := kr.commit(t.Context(), nil)
		kr.commitMu.Unlock()
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		queued := c.readAll(kafkaTestQueue)
		i := slices.IndexFunc(queued, func(r *kgo.Record) bool { _, ok := kafkaHeader(r, KafkaHeaderMessageID); return ok })
		if len(queued) != 2 || i < 0 {
			t.Fatalf("the queue's topic holds %d records, want the original and its copy", len(queued))
		}
		held := queued[i]
		if at, _ := kafkaHeader(held, KafkaHeaderNotBefore); at != clock.now().Add(10*time.Minute).Format(time.RFC3339Nano) {
			t.Errorf("%s = %q, want the clock's time + 10m", KafkaHeaderNotBefore, at)
		}
		if got := c.committed(kafkaTestQueue, kafkaTestQueue)[held.Partition]; got != held.Offset {
			t.Errorf("partition %d committed at %d, want %d, the held copy", held.Partition, got, held.Offset)
		}
	})

	t.Run("a restart keeps holding it", func(t *testing.T) {
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		r = c.receiver(cfg)
		clock.advance(10*time.Minute - time.Second)
		kafkaReceiveNone(t, r)
	})

	t.Run("delivered when due", func(t *testing.T) {
		kafkaWaitHeld(t, r)
		// Two more behind it: a Receive of one returns one, the held copy
		// first, however many records are already fetched.
		c.produce(2)
		clock.advance(time.Second)
		msgs, err := r.Receive(t.Context(), 1, 30*time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Receive(limit 1): %d messages, %v", len(msgs), err)
		}
		got := msgs[0]
		if got.ID != first.ID || got.Deliveries != 2 {
			t.Errorf("ID %s deliveries %d, want %s, 2 (the restart does not count)", got.ID, got.Deliveries, first.ID)
		}
		if err := r.Ack(t.Context(), got); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		for _, m := range kafkaReceiveN(t, r, 2) {
			if err := r.Ack(t.Context(), m); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		c.assertAllCommitted()
	})
}

func TestKafkaGracefulRestartLosesAndRepeatsNothing(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	cfg := c.config(newKafkaClock(), 3, "1h")
	const n = 30
	ids := c.produce(n)
	a := c.receiver(cfg)
	// Ack three of every four: message i is on partition i%3, so in every
	// partition unacked messages sit before acked ones, which a plain
	// offset commit cannot skip.
	var rest []string
	for _, m := range kafkaReceiveN(t, a, n) {
		var i int
		if _, err := fmt.Sscanf(string(m.Body), "message-%d", &i); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			rest = append(rest, string(m.Body))
			continue
		}
		if err := a.Ack(t.Context(), m); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	slices.Sort(rest)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b := c.receiver(cfg)
	got := kafkaReceiveN(t, b, len(rest))
	if bodies := kafkaBodies(got); !slices.Equal(bodies, rest) {
		t.Fatalf("after the restart got\n%v\nwant exactly the unacked\n%v", bodies, rest)
	}
	for _, m := range got {
		if m.ID != ids[string(m.Body)] || m.Deliveries != 1 {
			t.Errorf("%s: ID %s deliveries %d, want %s, 1 (a shutdown is not a failed delivery)", m.Body, m.ID, m.Deliveries, ids[string(m.Body)])
		}
		if err := b.Ack(t.Context(), m); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	kafkaReceiveNone(t, b)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.assertAllCommitted()
}

func TestKafkaCrashLosesNothing(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	// The crash: from now on the broker refuses the consumer's commits, and
	// the client goes away without Close's hand-back.
	var crashed atomic.Bool
	c.cluster.ControlKey(kmsg.OffsetCommit.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.cluster.KeepControl()
		if !crashed.Load() {
			return nil, nil, false
		}
		req := kreq.(*kmsg.OffsetCommitRequest)
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.GroupAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	cfg := c.config(newKafkaClock(), 3, "1h")
	cfg.hooks.kafka.commitInterval = time.Hour
	const n = 20
	c.produce(n)
	a := c.receiver(cfg)
	var all []string
	for i, m := range kafkaReceiveN(t, a, n) {
		all = append(all, string(m.Body))
		if i%2 == 0 {
			if err := a.Ack(t.Context(), m); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
	}
	slices.Sort(all)
	crashed.Store(true)
	ka := a.(*kafkaReceiver)
	ka.cancel()
	ka.cl.Close()
	crashed.Store(false)

	// Nothing was committed: everything comes again, acked or not.
	b := c.receiver(cfg)
	got := kafkaReceiveN(t, b, n)
	if bodies := kafkaBodies(got); !slices.Equal(bodies, all) {
		t.Fatalf("after the crash got\n%v\nwant every message again\n%v", bodies, all)
	}
	for _, m := range got {
		if err := b.Ack(t.Context(), m); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.assertAllCommitted()
}

func TestKafkaRebalanceRefusesMovedMessages(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	cfg := c.config(newKafkaClock(), 3, "1h")
	c.produce(9)
	a := c.receiver(cfg)
	fromA := kafkaReceiveN(t, a, 9)

	// A second consumer of the group takes over at least one partition:
	// the messages it gets were revoked from the first before.
	b := c.receiver(cfg)
	moved := kafkaReceiveN(t, b, 1)[0]
	i := slices.IndexFunc(fromA, func(m Message) bool { return m.ID == moved.ID })
	if i < 0 {
		t.Fatalf("the second consumer got %s, which the first never had", moved.ID)
	}
	for op, settle := range map[string]func() error{
		"Ack":  func() error { return a.Ack(t.Context(), fromA[i]) },
		"Nack": func() error { return a.Nack(t.Context(), fromA[i], 0) },
	} {
		if err := settle(); err == nil || !strings.Contains(err.Error(), "reassigned to another consumer") {
			t.Errorf("%s of a moved message: %v, want an error saying its partition was reassigned", op, err)
		}
	}
	if err := b.Ack(t.Context(), moved); err != nil {
		t.Errorf("Ack by the new owner: %v", err)
	}
}

func TestKafkaSendRefusals(t *testing.T) {
	t.Parallel()

	c := newKafkaTestCluster(t)
	s := c.sender(c.config(newKafkaClock(), 3, "30s"))
	if _, err := s.Send(t.Context(), Outgoing{Body: []byte("x"), ID: "dedup-1"}); err == nil || !strings.Contains(err.Error(), "local cloud only") {
		t.Errorf("Send with an ID: %v, want refuseID's error", err)
	}
	for _, name := range []string{KafkaHeaderDeliveries, "Tenantfleet-Not-Before", KafkaHeaderDeadLetterReason} {
		if _, err := s.Send(t.Context(), Outgoing{Body: []byte("x"), Attributes: map[string]string{name: "1"}}); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Send with attribute %s: %v, want an error saying it is reserved", name, err)
		}
	}
	// The example app's own attribute shares the prefix and is fine.
	if _, err := s.Send(t.Context(), Outgoing{Body: []byte("x"), Attributes: map[string]string{"Tenantfleet-Fail": "always"}}); err != nil {
		t.Errorf("Send with Tenantfleet-Fail: %v", err)
	}
	if _, err := s.Send(t.Context(), Outgoing{Body: []byte("x"), Attributes: map[string]string{"a\nb": "1"}}); err == nil {
		t.Error("Send with a control character in an attribute name succeeded")
	}
}

func TestKafkaBadCredentials(t *testing.T) {
	t.Parallel()

	_, otherCA := kafkaSelfSignedTLS(t)
	for _, tc := range []struct {
		reason string
		// refuseSASL answers every SASL exchange SASL_AUTHENTICATION_FAILED,
		// as Kafka answers a wrong password; kfake instead closes the
		// connection, which a client cannot tell from a network failure.
		refuseSASL bool
		ca         string
		want       []string // in the receiver's and sender's errors
		wantTopic  []string // in the topic's
	}{
		{"a wrong password", true, "", []string{EnvQueuePassword, "SASL SCRAM-SHA-256 authentication"}, []string{"TopicConfig.Password", "SASL"}},
		{"a CA that did not sign the broker's certificate", false, otherCA, []string{EnvQueueCACert, "not trusted"}, []string{"TopicConfig.CACert", "not trusted"}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			c := newKafkaTestCluster(t)
			if tc.refuseSASL {
				c.cluster.ControlKey(kmsg.SASLAuthenticate.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
					c.cluster.KeepControl()
					resp := kreq.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
					resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
					msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
					resp.ErrorMessage = &msg
					return resp, nil, true
				})
			}
			cfg := c.config(newKafkaClock(), 3, "30s")
			cfg.Password = "not-" + kafkaTestPassword
			topic := TopicConfig{Cloud: CloudDigitalOcean, Topic: fmt.Sprintf("kafka://%s@%s/%s", kafkaTestUser, c.addr, kafkaTestFanout), Password: cfg.Password, CACert: c.caPEM}
			if tc.ca != "" {
				cfg.CACert, topic.CACert = tc.ca, tc.ca
			}
			for _, side := range []struct {
				name string
				open func() (any, error)
				want []string
			}{
				{"receiver", func() (any, error) { return OpenReceiver(t.Context(), cfg) }, tc.want},
				{"sender", func() (any, error) { return OpenSender(t.Context(), cfg) }, tc.want},
				{"topic", func() (any, error) { return OpenTopic(t.Context(), topic) }, tc.wantTopic},
			} {
				_, err := side.open()
				if err == nil {
					t.Fatalf("%s opened", side.name)
				}
				for _, w := range side.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", side.name, err, w)
					}
				}
				assertNoKafkaPassword(t, side.name+" error", err.Error())
			}
			assertNoKafkaPassword(t, "logs", c.logs.String())
		})
	}
}

// TestKafkaPublisherTopic publishes as a fanout's publisher user, which may
// only produce to the fanout's topic (DigitalOcean's "produce" ACL).
func TestKafkaPublisherTopic(t *testing.T) {
	t.Parallel()

	const publisher, publisherPassword = "fanout-publisher", "publisher-Pa55word-never-shown"
	c := newKafkaTestCluster(t, kfake.EnableACLs(), kfake.User("SCRAM-SHA-256", publisher, publisherPassword,
		kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: kafkaTestFanout, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationWrite, Allow: true}))
	topic := TopicConfig{
		Cloud:    CloudDigitalOcean,
		Topic:    fmt.Sprintf("kafka://%s@%s/%s", publisher, c.addr, kafkaTestFanout),
		Password: publisherPassword,
		CACert:   c.caPEM,
	}
	s, err := OpenTopic(t.Context(), topic)
	if err != nil {
		t.Fatalf("OpenTopic: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	id, err := s.Send(t.Context(), Outgoing{Body: []byte(`{"event":"invoice.paid"}`), Attributes: map[string]string{"event_type": "invoice.paid"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := c.readAll(kafkaTestFanout)
	if len(got) != 1 || kafkaID(got[0]) != id || string(got[0].Value) != `{"event":"invoice.paid"}` {
		t.Fatalf("the fanout topic holds %v, want the one record sent as %s", got, id)
	}
	if v, _ := kafkaHeader(got[0], "event_type"); v != "invoice.paid" {
		t.Errorf("header event_type = %q", v)
	}

	// The publisher may not produce anywhere else.
	other := topic
	other.Topic = fmt.Sprintf("kafka://%s@%s/%s", publisher, c.addr, kafkaTestQueue)
	o, err := OpenTopic(t.Context(), other)
	if err != nil {
		t.Fatalf("OpenTopic: %v", err)
	}
	t.Cleanup(func() { _ = o.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := o.Send(ctx, Outgoing{Body: []byte("x")}); err == nil || !strings.Contains(err.Error(), "ACLs") {
		t.Errorf("Send to a topic the publisher may not write: %v, want an error about its ACLs", err)
	}

	for _, tc := range []struct {
		reason string
		change func(*TopicConfig)
		want   []string
	}{
		{"no password", func(c *TopicConfig) { c.Password = "" }, []string{"TopicConfig.Password", `publisher user "fanout-publisher"`}},
		{"a CA that is not PEM", func(c *TopicConfig) { c.CACert = "nope" }, []string{"TopicConfig.CACert"}},
		{"a password in the URL", func(c *TopicConfig) { c.Topic = strings.Replace(c.Topic, "@", ":"+publisherPassword+"@", 1) }, []string{"topic:", "belongs in TopicConfig.Password"}},
		{"a consumer's parameter", func(c *TopicConfig) { c.Topic += "?group=g" }, []string{"topic:", "consumer"}},
	} {
		bad := topic
		tc.change(&bad)
		_, err := OpenTopic(t.Context(), bad)
		if err == nil {
			t.Errorf("%s: OpenTopic succeeded", tc.reason)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.reason, err, w)
			}
		}
		if strings.Contains(err.Error(), publisherPassword) {
			t.Errorf("%s: error %q holds the password", tc.reason, err)
		}
	}
}

// TestKafkaLeastPrivilegeUser runs the queue as a user that is not a
// superuser and holds only what DigitalOcean's produceconsume ACL on the
// queue's two topics gives (READ and WRITE, which imply DESCRIBE) plus READ
// on its consumer group: receive, redeliver, dead-letter, commit. Without
// the group ACL, Receive says what is missing.
func TestKafkaLeastPrivilegeUser(t *testing.T) {
	t.Parallel()

	const worker, workerPassword = "worker", "worker-Pa55word-never-shown"
	acl := func(typ kmsg.ACLResourceType, name string, op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: typ, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	topics := []kfake.ACL{
		acl(kmsg.ACLResourceTypeTopic, kafkaTestQueue, kmsg.ACLOperationRead),
		acl(kmsg.ACLResourceTypeTopic, kafkaTestQueue, kmsg.ACLOperationWrite),
		acl(kmsg.ACLResourceTypeTopic, kafkaTestDLQ, kmsg.ACLOperationRead),
		acl(kmsg.ACLResourceTypeTopic, kafkaTestDLQ, kmsg.ACLOperationWrite),
	}
	c := newKafkaTestCluster(t, kfake.EnableACLs(),
		kfake.User("SCRAM-SHA-256", worker, workerPassword, append(topics, acl(kmsg.ACLResourceTypeGroup, kafkaTestQueue, kmsg.ACLOperationRead))...),
		kfake.User("SCRAM-SHA-256", "nogroup", workerPassword, topics...),
	)
	as := func(user string) Config {
		cfg := c.config(newKafkaClock(), 2, "30s")
		cfg.URL = strings.Replace(cfg.URL, kafkaTestUser+"@", user+"@", 1)
		cfg.DeadLetterURL = strings.Replace(cfg.DeadLetterURL, kafkaTestUser+"@", user+"@", 1)
		cfg.Password = workerPassword
		return cfg
	}

	cfg := as(worker)
	c.send(c.sender(cfg), 2)
	r := c.receiver(cfg)
	msgs := kafkaReceiveN(t, r, 2)
	if err := r.Ack(t.Context(), msgs[0]); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := r.Nack(t.Context(), msgs[1], 0); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	again := kafkaReceiveN(t, r, 1)[0]
	if err := r.Nack(t.Context(), again, 0); err != nil {
		t.Fatalf("Nack to the dead-letter topic: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close (commit): %v", err)
	}
	c.assertAllCommitted()
	if dead := c.readAll(kafkaTestDLQ); len(dead) != 1 {
		t.Errorf("the dead-letter topic holds %d records, want 1", len(dead))
	}

	noGroup := c.receiver(as("nogroup"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var err error
	for err == nil && ctx.Err() == nil {
		_, err = noGroup.Receive(ctx, 1, time.Second)
	}
	if err == nil || !strings.Contains(err.Error(), "ACLs") || !strings.Contains(err.Error(), "QUEUE_URL") {
		t.Errorf("Receive without the group ACL: %v, want an error about the user's ACLs", err)
	}
}
