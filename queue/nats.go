package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsTarget is a parsed local-cloud queue or topic URL:
//
//	nats://127.0.0.1:<port>?stream=<stream>&subject=<subject>[&consumer=<durable>]
//
// A queue URL names the durable consumer the runtime created; a topic URL
// (the fanout's topicId) names none.
type natsTarget struct {
	Server   string // nats://host:port (with user info when the URL had some)
	Stream   string
	Subject  string
	Consumer string // "" for a topic
}

// Redacted is the server address without credentials, for logs and errors.
func (t natsTarget) Redacted() string {
	u, err := url.Parse(t.Server)
	if err != nil {
		return "nats://?"
	}
	return u.Redacted()
}

// parseNATSURL parses a local-cloud URL; what names the variable it came
// from (QUEUE_URL, the fanout's topicId) for errors, and consumer says
// whether the URL must name a consumer.
func parseNATSURL(what, raw string, consumer bool) (natsTarget, error) {
	want := "nats://127.0.0.1:<port>?stream=<stream>&subject=<subject>"
	if consumer {
		want += "&consumer=<consumer>"
	}
	bad := func(why string) (natsTarget, error) {
		return natsTarget{}, fmt.Errorf("%s: %s (want %s)", what, why, want)
	}
	if strings.TrimSpace(raw) == "" {
		return bad("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL") // url's error repeats the URL, which may hold credentials
	}
	if u.Scheme != "nats" {
		return bad(fmt.Sprintf("scheme %q is not nats", u.Scheme))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("no host")
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return bad("no valid port")
	}
	if u.Path != "" && u.Path != "/" {
		return bad(fmt.Sprintf("unexpected path %q", u.Path))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("malformed query")
	}
	t := natsTarget{
		Server:   (&url.URL{Scheme: "nats", User: u.User, Host: u.Host}).String(),
		Stream:   q.Get("stream"),
		Subject:  q.Get("subject"),
		Consumer: q.Get("consumer"),
	}
	params := []struct{ name, v string }{{"stream", t.Stream}, {"subject", t.Subject}}
	if consumer {
		params = append(params, struct{ name, v string }{"consumer", t.Consumer})
	}
	var missing []string
	for _, p := range params {
		if p.v == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return bad("missing " + strings.Join(missing, ", "))
	}
	if strings.ContainsAny(t.Stream+t.Consumer, " \t\r\n.*>") {
		return bad("stream and consumer must be plain names")
	}
	if strings.ContainsAny(t.Subject, " \t\r\n*>") {
		return bad("subject must be a literal subject (no wildcards)")
	}
	return t, nil
}

// natsConn connects to the local cloud's NATS server. retry keeps trying in
// the background when the server is not up yet (the runtime may start after
// an app it supervises); without it a failed first connection is an error.
func natsConn(t natsTarget, name string, retry bool, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("queue disconnected", "server", t.Redacted(), "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("queue reconnected", "server", t.Redacted()) }),
	}
	if retry {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(t.Server, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", t.Redacted(), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// natsQueue is the local cloud's queue: a JetStream work-queue stream with a
// durable pull consumer the runtime already created (it is bound, never
// created here), which dead-letters after maxReceiveCount deliveries.
type natsQueue struct {
	t   natsTarget
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger

	mu   sync.Mutex
	cons jetstream.Consumer
}

func openNATSReceiver(ctx context.Context, c Config) (Receiver, error) {
	t, err := parseNATSURL(EnvQueueURL, c.URL, true)
	if err != nil {
		return nil, err
	}
	nc, js, err := natsConn(t, c.Name, true, c.Logger)
	if err != nil {
		return nil, err
	}
	q := &natsQueue{t: t, nc: nc, js: js, log: c.Logger}
	// Bind now to report a wrong stream or consumer early; Receive retries
	// when the server was not reachable yet.
	if _, err := q.consumer(ctx); err != nil {
		c.Logger.Warn("queue consumer not bound yet; will retry", "stream", t.Stream, "consumer", t.Consumer, "err", err)
	}
	return q, nil
}

func openNATSSender(_ context.Context, c Config) (Sender, error) {
	t, err := parseNATSURL(EnvQueueURL, c.URL, true)
	if err != nil {
		return nil, err
	}
	nc, js, err := natsConn(t, c.Name, true, c.Logger)
	if err != nil {
		return nil, err
	}
	return &natsQueue{t: t, nc: nc, js: js, log: c.Logger}, nil
}

func openNATSTopic(_ context.Context, tc TopicConfig) (Sender, error) {
	t, err := parseNATSURL("topic", tc.Topic, false)
	if err != nil {
		return nil, err
	}
	nc, js, err := natsConn(t, tc.Name, false, tc.Logger)
	if err != nil && tc.Cloud == CloudLocal {
		return nil, fmt.Errorf("%w (is the local cloud running? tenantfleet local status)", err)
	}
	if err != nil {
		return nil, err
	}
	return &natsQueue{t: t, nc: nc, js: js, log: tc.Logger}, nil
}

func (q *natsQueue) consumer(ctx context.Context) (jetstream.Consumer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cons != nil {
		return q.cons, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := q.js.Consumer(ctx, q.t.Stream, q.t.Consumer)
	if err != nil {
		return nil, fmt.Errorf("binding consumer %q on stream %q: %w", q.t.Consumer, q.t.Stream, err)
	}
	q.cons = c
	return c, nil
}

func (q *natsQueue) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	c, err := q.consumer(ctx)
	if err != nil {
		return nil, err
	}
	limit = max(limit, 1)
	// What is there now, up to limit, without waiting; else wait for the
	// first message only, so each one is handled as soon as it arrives (a
	// pull for a full batch stays open until the batch fills or expires).
	msgs, err := q.collect(ctx, func() (jetstream.MessageBatch, error) { return c.FetchNoWait(limit) })
	if len(msgs) > 0 || err != nil || ctx.Err() != nil || wait <= 0 {
		return msgs, err
	}
	return q.collect(ctx, func() (jetstream.MessageBatch, error) { return c.Fetch(1, jetstream.FetchMaxWait(wait)) })
}

// collect gathers a pull's messages.
func (q *natsQueue) collect(ctx context.Context, fetch func() (jetstream.MessageBatch, error)) ([]Message, error) {
	batch, err := fetch()
	if err != nil {
		q.forgetConsumerOn(err)
		return nil, err
	}
	var out []Message
	msgs := batch.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				err := batch.Error()
				q.forgetConsumerOn(err)
				return out, err
			}
			out = append(out, natsMessage(m))
		case <-ctx.Done():
			// Hand back whatever still arrives for this pull so it is
			// redelivered at once rather than after the ack wait.
			go func() {
				for m := range msgs {
					_ = m.Nak()
				}
			}()
			return out, nil
		}
	}
}

// forgetConsumerOn drops the bound consumer when the server says it is gone,
// so the next Receive binds again (the runtime may have recreated it).
func (q *natsQueue) forgetConsumerOn(err error) {
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
		q.mu.Lock()
		q.cons = nil
		q.mu.Unlock()
	}
}

func natsMessage(m jetstream.Msg) Message {
	msg := Message{Subject: m.Subject(), Body: m.Data(), Attributes: joinHeaders(m.Headers()), handle: m}
	if meta, err := m.Metadata(); err == nil {
		msg.ID = strconv.FormatUint(meta.Sequence.Stream, 10)
		msg.Deliveries = int(meta.NumDelivered)
	}
	if id := m.Headers().Get(nats.MsgIdHdr); id != "" {
		msg.ID = id
	}
	return msg
}

// joinHeaders turns repeatable headers into attributes, joining a repeated
// header's values with ", ".
func joinHeaders(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func natsMsg(m Message) (jetstream.Msg, error) {
	jm, ok := m.handle.(jetstream.Msg)
	if !ok {
		return nil, errors.New("message was not received from this queue")
	}
	return jm, nil
}

func (q *natsQueue) Ack(ctx context.Context, m Message) error {
	jm, err := natsMsg(m)
	if err != nil {
		return err
	}
	// DoubleAck waits for the server to confirm: an ack lost on the way
	// would mean a duplicate delivery.
	return jm.DoubleAck(ctx)
}

func (q *natsQueue) Nack(_ context.Context, m Message, delay time.Duration) error {
	jm, err := natsMsg(m)
	if err != nil {
		return err
	}
	if delay > 0 {
		return jm.NakWithDelay(delay)
	}
	return jm.Nak()
}

// Send publishes to the queue's or topic's subject and waits for the
// stream's acknowledgement; the id is the stream sequence.
func (q *natsQueue) Send(ctx context.Context, m Outgoing) (string, error) {
	msg := nats.NewMsg(q.t.Subject)
	msg.Data = m.Body
	for k, v := range m.Attributes {
		if err := checkAttribute(k, v); err != nil {
			return "", err
		}
		if strings.ContainsAny(k, ": ") {
			return "", fmt.Errorf("attribute %q: a NATS header name may not hold ':' or spaces", k)
		}
		msg.Header.Set(k, v)
	}
	if m.ID != "" {
		msg.Header.Set(nats.MsgIdHdr, m.ID)
	}
	ack, err := q.js.PublishMsg(ctx, msg)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", q.t.Subject, err)
	}
	if ack.Duplicate {
		return strconv.FormatUint(ack.Sequence, 10), fmt.Errorf("%w: id %q was published within the stream's duplicate window (sequence %d)", ErrDuplicate, m.ID, ack.Sequence)
	}
	return strconv.FormatUint(ack.Sequence, 10), nil
}

// ErrDuplicate is returned by Send when the cloud dropped the message as a
// duplicate of an earlier one with the same Outgoing.ID.
var ErrDuplicate = errors.New("dropped as a duplicate")

func (q *natsQueue) Close() error {
	_ = q.nc.FlushTimeout(2 * time.Second)
	q.nc.Close()
	return nil
}

// checkAttribute applies the rules every cloud shares: a non-empty name
// without control characters. Drivers add their own.
func checkAttribute(name, value string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("attribute with an empty name")
	}
	if strings.ContainsFunc(name+value, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
		return fmt.Errorf("attribute %q: control characters are not allowed", name)
	}
	return nil
}
