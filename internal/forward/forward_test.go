package forward

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func record(topic string, i int, eventType string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: int32(i % partitions), Key: []byte("k" + strconv.Itoa(i)), Value: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	if eventType != "" {
		r.Headers = []kgo.RecordHeader{{Key: "event_type", Value: []byte(eventType)}, {Key: "trace", Value: []byte("t" + strconv.Itoa(i))}}
	}
	return r
}

// keys counts the records of rs by key.
func keys(rs []*kgo.Record) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		m[string(r.Key)]++
	}
	return m
}

func TestForwardsEveryRecordIntact(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue")
	const n = 60
	var sent []*kgo.Record
	for i := range n {
		r := record("fanout", i, "invoice.paid")
		if i%5 == 0 {
			r.Key = nil // keyless records too
		}
		sent = append(sent, r)
	}
	c.produce(sent...)
	logs := &syncBuffer{}
	stop := startForwarder(t, c.config(c.env("fanout", "sub", "queue")), logs)
	c.waitCommitted("sub", "fanout")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := c.readAll("queue")
	if len(got) != n {
		t.Fatalf("queue holds %d records, want %d", len(got), n)
	}
	bySource := map[string]*kgo.Record{}
	for _, r := range sent {
		bySource[fmt.Sprintf("fanout/%d/%d", r.Partition, r.Offset)] = r
	}
	traceRE := regexp.MustCompile(`^fanout/\d+/\d+$`)
	for _, r := range got {
		from, ok := header(r, HeaderForwardedFrom)
		if !ok || !traceRE.MatchString(from) {
			t.Fatalf("record %q: header %s = %q, want fanout/<partition>/<offset>", r.Key, HeaderForwardedFrom, from)
		}
		src := bySource[from]
		if src == nil {
			t.Fatalf("record %q: %s = %q names no source record", r.Key, HeaderForwardedFrom, from)
		}
		if string(r.Key) != string(src.Key) || (r.Key == nil) != (src.Key == nil) || string(r.Value) != string(src.Value) {
			t.Errorf("%s: got key %q value %q, want key %q value %q", from, r.Key, r.Value, src.Key, src.Value)
		}
		if len(r.Headers) != len(src.Headers)+1 {
			t.Fatalf("%s: got %d headers, want the %d of the source plus %s", from, len(r.Headers), len(src.Headers), HeaderForwardedFrom)
		}
		for i, h := range src.Headers {
			if r.Headers[i].Key != h.Key || string(r.Headers[i].Value) != string(h.Value) {
				t.Errorf("%s: header %d = %s:%s, want %s:%s", from, i, r.Headers[i].Key, r.Headers[i].Value, h.Key, h.Value)
			}
		}
		if !r.Timestamp.Equal(src.Timestamp) {
			t.Errorf("%s: timestamp %v, want the source's %v", from, r.Timestamp, src.Timestamp)
		}
	}
	out := logs.String()
	assertNoPassword(t, "logs", out)
	for _, want := range []string{`"msg":"forwarder started"`, `"msg":"forwarder stopped"`, `"forwarded":60`} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(out) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

func TestFilterKeepsMatchingAndCommitsSkipped(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue")
	types := []string{"invoice.paid", "invoice.created", "invoice.failed", "", "customer.created"}
	const n = 100
	want := map[string]int{}
	for i := range n {
		typ := types[i%len(types)]
		// Keep one partition so the last records (skipped ones) prove that
		// skipped records are committed too.
		r := record("fanout", i, typ)
		r.Partition = 0
		c.produce(r)
		if typ == "invoice.paid" || typ == "invoice.failed" {
			want[string(r.Key)] = 1
		}
	}
	env := c.env("fanout", "sub", "queue")
	env[EnvFilter] = `{"attribute":"event_type","values":["invoice.paid","invoice.failed"]}`
	logs := &syncBuffer{}
	stop := startForwarder(t, c.config(env), logs)
	c.waitCommitted("sub", "fanout")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := c.committed("sub", "fanout")[0]; got != n {
		t.Errorf("committed offset %d, want %d (the skipped records at the end too)", got, n)
	}
	got := c.readAll("queue")
	if diff := diffCounts(want, keys(got)); diff != "" {
		t.Errorf("queue keys (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if typ, _ := header(r, "event_type"); typ != "invoice.paid" && typ != "invoice.failed" {
			t.Errorf("record %q with event_type %q was forwarded", r.Key, typ)
		}
	}
	assertNoPassword(t, "logs", logs.String())
}

func TestCleanStopMidStreamLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue")
	const n = 400
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := range n {
			if err := c.client.ProduceSync(t.Context(), record("fanout", i, "x")).FirstErr(); err != nil {
				t.Errorf("produce %d: %v", i, err)
				return
			}
		}
	}()
	cfg := c.config(c.env("fanout", "sub", "queue"))
	logs := &syncBuffer{}
	stopA := startForwarder(t, cfg, logs)
	eventually(t, "the first forwarder forwards something", func() bool {
		var sum int64
		for _, e := range c.endOffsets("queue") {
			sum += e
		}
		return sum > 0
	})
	if err := stopA(); err != nil {
		t.Fatalf("first forwarder: %v", err)
	}
	stopB := startForwarder(t, cfg, logs)
	<-produced
	c.waitCommitted("sub", "fanout")
	if err := stopB(); err != nil {
		t.Fatalf("second forwarder: %v", err)
	}
	got := keys(c.readAll("queue"))
	want := map[string]int{}
	for i := range n {
		want["k"+strconv.Itoa(i)] = 1
	}
	if diff := diffCounts(want, got); diff != "" {
		t.Errorf("queue keys after a clean stop and restart (-want +got):\n%s", diff)
	}
	assertNoPassword(t, "logs", logs.String())
}

func TestCrashBeforeCommitRedeliversEverything(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue")
	const n = 200
	for i := range n {
		c.produce(record("fanout", i, "x"))
	}
	cfg := c.config(c.env("fanout", "sub", "queue"))
	cfg.beforeCommit = func() error { return errCrash }
	logs := &syncBuffer{}
	if err := Run(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, nil))); !errors.Is(err, errCrash) {
		t.Fatalf("crashing forwarder returned %v, want the simulated crash", err)
	}
	var firstRun int64
	for _, e := range c.endOffsets("queue") {
		firstRun += e
	}
	if firstRun == 0 {
		t.Fatal("the crashing forwarder produced nothing before its crash")
	}

	cfg.beforeCommit = nil
	stop := startForwarder(t, cfg, logs)
	c.waitCommitted("sub", "fanout")
	if err := stop(); err != nil {
		t.Fatalf("restarted forwarder: %v", err)
	}
	got := keys(c.readAll("queue"))
	dups := 0
	for i := range n {
		k := "k" + strconv.Itoa(i)
		if got[k] == 0 {
			t.Errorf("record %s is missing after the crash", k)
		}
		dups += got[k] - 1
	}
	if dups == 0 {
		t.Errorf("no record was delivered twice: the crash did not happen between produce and commit")
	}
	assertNoPassword(t, "logs", logs.String())
}

func TestTwoSubscriptionsEachGetEveryRecord(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue-a", "queue-b")
	const n = 80
	for i := range n {
		c.produce(record("fanout", i, "x"))
	}
	logs := &syncBuffer{}
	stopA := startForwarder(t, c.config(c.env("fanout", "sub-a", "queue-a")), logs)
	stopB := startForwarder(t, c.config(c.env("fanout", "sub-b", "queue-b")), logs)
	c.waitCommitted("sub-a", "fanout")
	c.waitCommitted("sub-b", "fanout")
	for _, stop := range []func() error{stopA, stopB} {
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	want := map[string]int{}
	for i := range n {
		want["k"+strconv.Itoa(i)] = 1
	}
	for _, q := range []string{"queue-a", "queue-b"} {
		if diff := diffCounts(want, keys(c.readAll(q))); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", q, diff)
		}
	}
	assertNoPassword(t, "logs", logs.String())
}

func TestNewSubscriptionStartsAtLatest(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue")
	for i := range 20 {
		c.produce(record("fanout", i, "old"))
	}
	env := c.env("fanout", "sub", "queue")
	env[EnvFrom] = "kafka://" + testUser + "@" + c.addr + "/fanout?group=sub" // start defaults to latest
	logs := &syncBuffer{}
	stop := startForwarder(t, c.config(env), logs)
	// The forwarder's start position is fixed when it joins: keep
	// publishing until a new record comes through.
	var next atomic.Int64
	next.Store(1000)
	eventually(t, "a record published after the subscription arrives", func() bool {
		c.produce(record("fanout", int(next.Add(1)), "new"))
		var sum int64
		for _, e := range c.endOffsets("queue") {
			sum += e
		}
		return sum > 0
	})
	c.waitCommitted("sub", "fanout")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range c.readAll("queue") {
		if typ, _ := header(r, "event_type"); typ == "old" {
			t.Errorf("record %q, published before the subscription existed, was forwarded", r.Key)
		}
	}

	// Records published while the forwarder is down, even to a partition
	// that had no record since the subscription, are forwarded on restart.
	for p := range partitions {
		r := record("fanout", 2000+p, "while-down")
		r.Partition = int32(p)
		c.produce(r)
	}
	stop = startForwarder(t, c.config(env), logs)
	c.waitCommitted("sub", "fanout")
	if err := stop(); err != nil {
		t.Fatalf("Run after restart: %v", err)
	}
	down := 0
	for _, r := range c.readAll("queue") {
		if typ, _ := header(r, "event_type"); typ == "while-down" {
			down++
		}
	}
	if down != partitions {
		t.Errorf("%d of the %d records published while the forwarder was down were forwarded", down, partitions)
	}
	assertNoPassword(t, "logs", logs.String())
}

func TestWrongPasswordIsRetriedWithoutLeaking(t *testing.T) {
	t.Parallel()

	// kfake closes the connection on bad credentials where Kafka answers
	// SASL_AUTHENTICATION_FAILED (which TestPermanentErrors covers), so
	// here the forwarder can only retry; it must not leak the password.
	c := newTestCluster(t, "fanout", "queue")
	env := c.env("fanout", "sub", "queue")
	const wrong = "wrong-Pa55word-also-secret"
	env[EnvPassword] = wrong
	logs := &syncBuffer{}
	stop := startForwarder(t, c.config(env), logs)
	eventually(t, "the failed connection is logged", func() bool {
		return regexp.MustCompile(`broker not reachable yet`).MatchString(logs.String())
	})
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if out := logs.String(); regexp.MustCompile(regexp.QuoteMeta(wrong)).MatchString(out) {
		t.Errorf("logs contain the password:\n%s", out)
	}
}

func TestPermanentErrors(t *testing.T) {
	t.Parallel()

	ep := Endpoint{User: "u", Broker: "b:1", Topic: "t", Mechanism: MechanismScramSHA256, TLS: true}
	for _, tc := range []struct {
		err  error
		want string // "" = transient
	}{
		{fmt.Errorf("sasl: %w", kerr.SaslAuthenticationFailed), EnvPassword},
		{kerr.TopicAuthorizationFailed, "ACLs"},
		{kerr.GroupAuthorizationFailed, "ACLs"},
		{kerr.MessageTooLarge, "refused for good"},
		{x509.UnknownAuthorityError{}, EnvCACert},
		{kerr.NotLeaderForPartition, ""},
		{kerr.RequestTimedOut, ""},
		{io.EOF, ""},
	} {
		err := permanent(EnvTo, ep, tc.err)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: got permanent %v, want transient", tc.err, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), EnvTo+": ")):
			t.Errorf("%v: got %v, want a %s error mentioning %q", tc.err, err, EnvTo, tc.want)
		}
	}
}

func TestUntrustedCertificateStopsWithConfigError(t *testing.T) {
	t.Parallel()

	c := newTestCluster(t, "fanout", "queue")
	env := c.env("fanout", "sub", "queue")
	delete(env, EnvCACert) // the system roots do not trust kfake's certificate
	var stdout, stderr syncBuffer
	if code := Command(t.Context(), nil, getenv(env), &stdout, &stderr); code != ExitConfig {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, ExitConfig, stderr.String())
	}
	if out := stderr.String(); !regexp.MustCompile(EnvCACert).MatchString(out) {
		t.Errorf("stderr does not point at %s:\n%s", EnvCACert, out)
	}
	assertNoPassword(t, "stderr", stderr.String())
}

// diffCounts renders the keys whose counts differ, "-want +got".
func diffCounts(want, got map[string]int) string {
	var out string
	for k, w := range want {
		if got[k] != w {
			out += fmt.Sprintf("-%s x%d\n+%s x%d\n", k, w, k, got[k])
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out += fmt.Sprintf("+%s x%d (unexpected)\n", k, g)
		}
	}
	return out
}
