package forward

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
	"errors"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// testPassword is distinctive so a leak into logs or errors is found.
const (
	testUser     = "forwarder"
	testPassword = "s3cret-Pa55word-never-logged"
	partitions   = 3
)

// testCluster is an in-process Kafka cluster (kfake) that requires TLS and
// SASL SCRAM-SHA-256, with a client of its own to produce and inspect.
type testCluster struct {
	t      *testing.T
	addr   string
	caPEM  string
	client *kgo.Client
}

func newTestCluster(t *testing.T, topics ...string) *testCluster {
	t.Helper()
	serverTLS, caPEM := selfSignedTLS(t)
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", testUser, testPassword),
		kfake.TLS(serverTLS),
		kfake.SeedTopics(partitions, topics...),
	)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.SASL(scram.Auth{User: testUser, Pass: testPassword}.AsSha256Mechanism()),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		t.Fatalf("test client: %v", err)
	}
	t.Cleanup(cl.Close)
	return &testCluster{t: t, addr: addr, caPEM: caPEM, client: cl}
}

// env is the forwarder's environment from topic from (group) to topic to.
func (c *testCluster) env(from, group, to string) map[string]string {
	return map[string]string{
		EnvFrom:     "kafka://" + testUser + "@" + c.addr + "/" + from + "?group=" + group + "&start=earliest",
		EnvTo:       "kafka://" + testUser + "@" + c.addr + "/" + to,
		EnvPassword: testPassword,
		EnvCACert:   c.caPEM,
	}
}

func (c *testCluster) config(env map[string]string) Config {
	c.t.Helper()
	cfg, err := LoadConfig(getenv(env))
	if err != nil {
		c.t.Fatalf("LoadConfig: %v", err)
	}
	cfg.StatsInterval = 100 * time.Millisecond
	return cfg
}

func (c *testCluster) produce(records ...*kgo.Record) {
	c.t.Helper()
	if err := c.client.ProduceSync(context.Background(), records...).FirstErr(); err != nil {
		c.t.Fatalf("produce: %v", err)
	}
}

// endOffsets are the log end offsets of topic's partitions.
func (c *testCluster) endOffsets(topic string) []int64 {
	c.t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = int32(p)
		rp.Timestamp = -1 // latest
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), c.client)
	if err != nil {
		c.t.Fatalf("list offsets of %s: %v", topic, err)
	}
	ends := make([]int64, partitions)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			ends[p.Partition] = p.Offset
		}
	}
	return ends
}

// committed are group's committed offsets on topic (-1 where none).
func (c *testCluster) committed(group, topic string) []int64 {
	c.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, int32(p))
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), c.client)
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

// waitCommitted waits until group has committed every record of topic.
func (c *testCluster) waitCommitted(group, topic string) {
	c.t.Helper()
	eventually(c.t, "group "+group+" commits all of "+topic, func() bool {
		ends, got := c.endOffsets(topic), c.committed(group, topic)
		for p := range ends {
			if ends[p] > 0 && got[p] != ends[p] {
				return false
			}
		}
		return true
	})
}

// readAll reads every record topic holds now.
func (c *testCluster) readAll(topic string) []*kgo.Record {
	c.t.Helper()
	var total int64
	for _, e := range c.endOffsets(topic) {
		total += e
	}
	cl, err := kgo.NewClient(append(c.client.Opts(),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		c.t.Fatalf("reader: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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

// startForwarder runs Run(cfg) until the returned stop is called; stop
// returns Run's error.
func startForwarder(t *testing.T, cfg Config, logs *syncBuffer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("forwarder did not stop within 30s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually polls cond until it holds or 20s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertNoPassword fails when the password appears in out.
func assertNoPassword(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, testPassword) {
		t.Errorf("%s contains the password:\n%s", what, out)
	}
}

// selfSignedTLS is a server certificate for 127.0.0.1 and its PEM, which
// clients trust as their CA.
func selfSignedTLS(t *testing.T) (*tls.Config, string) {
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

var errCrash = errors.New("simulated crash between produce and commit")
