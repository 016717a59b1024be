package main

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

// Message is one delivery from the tenant's work queue.
type Message struct {
	ID         string              // the queue's id for the message (NATS: Nats-Msg-Id, else the stream sequence)
	Subject    string              // where it was published (NATS subject)
	Body       []byte              //
	Headers    map[string][]string // NATS headers (SQS etc.: message attributes)
	Deliveries int                 // 1 on the first delivery; 0 when the queue does not say
	handle     any                 // the client's own handle, for Ack/Nak
}

// Queue is the tiny queue client the app needs. One implementation per cloud;
// TENANTFLEET_CLOUD picks it.
type Queue interface {
	// Receive waits up to wait for at most limit messages; it returns early,
	// with what it has, when ctx ends.
	Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error)
	// Ack removes the message from the queue.
	Ack(ctx context.Context, m Message) error
	// Nak hands the message back for redelivery after delay. The cloud
	// moves it to the dead-letter queue once its maximum delivery count is
	// reached.
	Nak(ctx context.Context, m Message, delay time.Duration) error
	// Publish sends a message to the tenant's own queue (demos and tests)
	// and returns its id.
	Publish(ctx context.Context, body []byte, headers map[string]string) (string, error)
	Close() error
}

// openQueue returns the queue client for cloud. consume binds the work
// queue's consumer (the worker); the web app only publishes.
func openQueue(ctx context.Context, cloud, rawURL string, consume bool, log *slog.Logger) (Queue, error) {
	switch cloud {
	case "local":
		t, err := parseNATSQueueURL(rawURL)
		if err != nil {
			return nil, err
		}
		return dialNATSQueue(ctx, t, consume, log)
	default:
		return nil, fmt.Errorf("queue client for %s is not part of this example yet", cloud)
	}
}

// natsTarget is a parsed local-cloud queue URL:
//
//	nats://127.0.0.1:<port>?stream=<stream>&subject=<subject>&consumer=<durable>
type natsTarget struct {
	Server   string // nats://host:port (with user info when the URL had some)
	Stream   string
	Subject  string
	Consumer string
}

// Redacted is the server address without credentials, for logs.
func (t natsTarget) Redacted() string {
	u, err := url.Parse(t.Server)
	if err != nil {
		return "nats://?"
	}
	return u.Redacted()
}

func parseNATSQueueURL(raw string) (natsTarget, error) {
	bad := func(why string) (natsTarget, error) {
		return natsTarget{}, fmt.Errorf("%s: %s (want nats://127.0.0.1:<port>?stream=<stream>&subject=<subject>&consumer=<consumer>)", envQueueURL, why)
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
	var missing []string
	for _, p := range []struct{ name, v string }{{"stream", t.Stream}, {"subject", t.Subject}, {"consumer", t.Consumer}} {
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

// natsQueue is the local cloud's queue: a JetStream work-queue stream with a
// durable pull consumer the runtime already created (it is bound, never
// created here).
type natsQueue struct {
	t   natsTarget
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger

	mu   sync.Mutex
	cons jetstream.Consumer
}

func dialNATSQueue(ctx context.Context, t natsTarget, consume bool, log *slog.Logger) (*natsQueue, error) {
	nc, err := nats.Connect(t.Server,
		nats.Name("tenant-app"),
		nats.RetryOnFailedConnect(true), // the runtime may come up after us
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("queue disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("queue reconnected") }),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", t.Redacted(), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	q := &natsQueue{t: t, nc: nc, js: js, log: log}
	if consume {
		// Bind now to report a wrong stream/consumer early; Receive retries
		// when the server was not reachable yet.
		if _, err := q.consumer(ctx); err != nil {
			log.Warn("queue consumer not bound yet; will retry", "stream", t.Stream, "consumer", t.Consumer, "err", err)
		}
	}
	return q, nil
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
	// What is there now, up to limit, without waiting; else wait for the
	// first message only, so each one is handled as soon as it arrives (a
	// pull for a full batch stays open until the batch fills or expires).
	msgs, err := q.collect(ctx, func() (jetstream.MessageBatch, error) { return c.FetchNoWait(limit) })
	if len(msgs) > 0 || err != nil || ctx.Err() != nil {
		return msgs, err
	}
	return q.collect(ctx, func() (jetstream.MessageBatch, error) { return c.Fetch(1, jetstream.FetchMaxWait(wait)) })
}

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
			out = append(out, toMessage(m))
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

func toMessage(m jetstream.Msg) Message {
	h := map[string][]string(m.Headers())
	msg := Message{Subject: m.Subject(), Body: m.Data(), Headers: h, handle: m}
	if meta, err := m.Metadata(); err == nil {
		msg.ID = strconv.FormatUint(meta.Sequence.Stream, 10)
		msg.Deliveries = int(meta.NumDelivered)
	}
	if id := headerValue(h, nats.MsgIdHdr); id != "" {
		msg.ID = id
	}
	return msg
}

func (q *natsQueue) jsMsg(m Message) (jetstream.Msg, error) {
	jm, ok := m.handle.(jetstream.Msg)
	if !ok {
		return nil, errors.New("message was not received from this queue")
	}
	return jm, nil
}

func (q *natsQueue) Ack(ctx context.Context, m Message) error {
	jm, err := q.jsMsg(m)
	if err != nil {
		return err
	}
	// DoubleAck waits for the server to confirm: an ack lost on the way
	// would mean a duplicate delivery.
	return jm.DoubleAck(ctx)
}

func (q *natsQueue) Nak(_ context.Context, m Message, delay time.Duration) error {
	jm, err := q.jsMsg(m)
	if err != nil {
		return err
	}
	if delay > 0 {
		return jm.NakWithDelay(delay)
	}
	return jm.Nak()
}

func (q *natsQueue) Publish(ctx context.Context, body []byte, headers map[string]string) (string, error) {
	msg := nats.NewMsg(q.t.Subject)
	msg.Data = body
	for k, v := range headers {
		msg.Header.Set(k, v)
	}
	ack, err := q.js.PublishMsg(ctx, msg)
	if err != nil {
		return "", err
	}
	return strconv.FormatUint(ack.Sequence, 10), nil
}

func (q *natsQueue) Close() error {
	_ = q.nc.FlushTimeout(2 * time.Second)
	q.nc.Close()
	return nil
}

// headerValue is a case-insensitive header lookup (NATS headers are
// case-sensitive; senders are not always careful).
func headerValue(h map[string][]string, name string) string {
	if v, ok := h[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
