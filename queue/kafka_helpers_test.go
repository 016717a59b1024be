package queue

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The Kafka tests run franz-go's kfake in process, with TLS (a self-signed
// CA passed as QUEUE_CA_CERT) and SASL/SCRAM-SHA-256, as DigitalOcean's
// managed Kafka takes them.

// kafkaTestPassword is distinctive so a leak into logs or errors is found.
const (
	kafkaTestUser       = "tenant-acme"
	kafkaTestPassword   = "kafka-Pa55word-never-shown"
	kafkaTestQueue      = "acme-queue"
	kafkaTestDLQ        = "acme-queue-dlq"
	kafkaTestFanout     = "fanout-events"
	kafkaTestPartitions = 3
)

// kafkaTestCluster is a kfake cluster and an admin client to inspect it.
type kafkaTestCluster struct {
	t       *testing.T
	cluster *kfake.Cluster
	addr    string
	caPEM   string
	admin   *kgo.Client
	logs    *kafkaLogBuffer
}

func newKafkaTestCluster(t *testing.T, opts ...kfake.Opt) *kafkaTestCluster {
	t.Helper()
	serverTLS, caPEM := kafkaSelfSignedTLS(t)
	cluster, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", kafkaTestUser, kafkaTestPassword),
		kfake.TLS(serverTLS),
		kfake.SeedTopics(kafkaTestPartitions, kafkaTestQueue, kafkaTestDLQ, kafkaTestFanout),
	}, opts...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	addr := cluster.ListenAddrs()[0]
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	admin, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.SASL(scram.Auth{User: kafkaTestUser, Pass: kafkaTestPassword}.AsSha256Mechanism()),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	t.Cleanup(admin.Close)
	return &kafkaTestCluster{t: t, cluster: cluster, addr: addr, caPEM: caPEM, admin: admin, logs: &kafkaLogBuffer{}}
}

// config is the environment contract of the test queue for user, with a
// controllable clock.
func (c *kafkaTestCluster) config(clock *kafkaClock, maxReceiveCount int, visibility string) Config {
	return Config{
		Cloud: CloudDigitalOcean,
		URL: fmt.Sprintf("kafka://%s@%s/%s?group=%s&maxReceiveCount=%d&visibilityTimeout=%s",
			kafkaTestUser, c.addr, kafkaTestQueue, kafkaTestQueue, maxReceiveCount, visibility),
		DeadLetterURL: fmt.Sprintf("kafka://%s@%s/%s", kafkaTestUser, c.addr, kafkaTestDLQ),
		Password:      kafkaTestPassword,
		CACert:        c.caPEM,
		Logger:        slog.New(slog.NewTextHandler(c.logs, nil)),
		hooks: hooks{kafka: kafkaHooks{
			now: clock.now,
			// Rebalances in a second, not in heartbeats of 3s.
			opts: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)},
		}},
	}
}

func (c *kafkaTestCluster) receiver(cfg Config) Receiver {
	c.t.Helper()
	r, err := OpenReceiver(c.t.Context(), cfg)
	if err != nil {
		c.t.Fatalf("OpenReceiver: %v", err)
	}
	c.t.Cleanup(func() { _ = r.Close() })
	return r
}

func (c *kafkaTestCluster) sender(cfg Config) Sender {
	c.t.Helper()
	s, err := OpenSender(c.t.Context(), cfg)
	if err != nil {
		c.t.Fatalf("OpenSender: %v", err)
	}
	c.t.Cleanup(func() { _ = s.Close() })
	return s
}

// send sends n messages numbered from 0 with attributes n and kind; it
// returns their ids by body.
func (c *kafkaTestCluster) send(s Sender, n int) map[string]string {
	c.t.Helper()
	ids := map[string]string{}
	for i := range n {
		body := fmt.Sprintf("message-%02d", i)
		id, err := s.Send(c.t.Context(), Outgoing{Body: []byte(body), Attributes: map[string]string{"n": fmt.Sprint(i), "kind": "test"}})
		if err != nil {
			c.t.Fatalf("Send %d: %v", i, err)
		}
		ids[body] = id
	}
	return ids
}

// produce produces n records numbered from 0 to the queue's topic, spread
// over its partitions, with the headers n and kind, as a Sender would; it
// returns their ids by body.
func (c *kafkaTestCluster) produce(n int) map[string]string {
	c.t.Helper()
	ids := map[string]string{}
	for i := range n {
		body := fmt.Sprintf("message-%02d", i)
		r := &kgo.Record{Topic: kafkaTestQueue, Partition: int32(i % kafkaTestPartitions), Value: []byte(body),
			Headers: []kgo.RecordHeader{{Key: "kind", Value: []byte("test")}, {Key: "n", Value: []byte(fmt.Sprint(i))}}}
		if err := c.admin.ProduceSync(c.t.Context(), r).FirstErr(); err != nil {
			c.t.Fatalf("produce %d: %v", i, err)
		}
		ids[body] = kafkaID(r)
	}
	return ids
}

// endOffsets are the log end offsets of topic's partitions.
func (c *kafkaTestCluster) endOffsets(topic string) []int64 {
	c.t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range kafkaTestPartitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = int32(p), -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(c.t.Context(), c.admin)
	if err != nil {
		c.t.Fatalf("list offsets of %s: %v", topic, err)
	}
	ends := make([]int64, kafkaTestPartitions)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			ends[p.Partition] = p.Offset
		}
	}
	return ends
}

// committed are the group's committed offsets on topic (-1 where none).
func (c *kafkaTestCluster) committed(group, topic string) []int64 {
	c.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range kafkaTestPartitions {
		rt.Partitions = append(rt.Partitions, int32(p))
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(c.t.Context(), c.admin)
	if err != nil {
		c.t.Fatalf("fetch offsets of group %s: %v", group, err)
	}
	got := []int64{-1, -1, -1}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			got[p.Partition] = p.Offset
		}
	}
	return got
}

// readAll reads every record topic holds now.
func (c *kafkaTestCluster) readAll(topic string) []*kgo.Record {
	c.t.Helper()
	var total int64
	for _, e := range c.endOffsets(topic) {
		total += e
	}
	cl, err := kgo.NewClient(append(c.admin.Opts(),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		c.t.Fatalf("reader: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(c.t.Context(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for int64(len(out)) < total {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("read %s: got %d of %d records before the deadline", topic, len(out), total)
		}
		out = append(out, fetches.Records()...)
	}
	return out
}

// kafkaReceiveN receives until it has n messages; it fails after 30s.
func kafkaReceiveN(t *testing.T, r Receiver, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got []Message
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages within 30s: %v", len(got), n, kafkaBodies(got))
		}
		msgs, err := r.Receive(t.Context(), n-len(got), time.Second)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		got = append(got, msgs...)
	}
	if len(got) > n {
		t.Fatalf("received %d messages, want %d: %v", len(got), n, kafkaBodies(got))
	}
	return got
}

// kafkaReceiveNone checks that nothing is delivered for a while. It cannot fail
// on a slow machine: a message it should not see arrives or does not.
func kafkaReceiveNone(t *testing.T, r Receiver) {
	t.Helper()
	msgs, err := r.Receive(t.Context(), 10, 500*time.Millisecond)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(msgs) > 0 {
		t.Fatalf("received %v, want nothing", kafkaBodies(msgs))
	}
}

func kafkaBodies(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	slices.Sort(out)
	return out
}

func kafkaHeader(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// kafkaClock is a controllable clock for not-before times and visibility
// timeouts.
type kafkaClock struct {
	mu sync.Mutex
	t  time.Time
}

func newKafkaClock() *kafkaClock {
	return &kafkaClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *kafkaClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *kafkaClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// kafkaLogBuffer collects the driver's logs from several goroutines.
type kafkaLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *kafkaLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *kafkaLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertNoKafkaPassword fails when the test password appears in out.
func assertNoKafkaPassword(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, kafkaTestPassword) {
		t.Errorf("%s contains the password:\n%s", what, out)
	}
}

// kafkaSelfSignedTLS is a server certificate for 127.0.0.1 and its PEM,
// which clients trust as their CA.
func kafkaSelfSignedTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// kafkaWaitHeld receives (expecting nothing) until the receiver holds a
// record for a later delivery, so what follows does not depend on whether
// one short poll happened to fetch it; it fails after 30s.
func kafkaWaitHeld(t *testing.T, r Receiver) {
	t.Helper()
	kr := r.(*kafkaReceiver)
	held := func() bool {
		kr.mu.Lock()
		defer kr.mu.Unlock()
		for _, p := range kr.parts {
			for _, e := range p.entries {
				if e.state == kafkaHeld {
					return true
				}
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for !held() {
		if time.Now().After(deadline) {
			t.Fatal("no record held within 30s")
		}
		kafkaReceiveNone(t, r)
	}
}
