package queue

// RabbitMQ over AMQP 0-9-1, for tenant units on Kubernetes
// (providers/kubernetes), with rabbitmq/amqp091-go.
//
// The adapter declares, through RabbitMQ's messaging-topology operator, a
// vhost per stack and per queue <q> a quorum queue <q>, its dead-letter
// quorum queue <q>.dead-letter, a direct exchange <q> bound to the queue
// with the routing key <q>, a policy (delivery-limit maxReceiveCount-1,
// dead-lettering at least once to <q>.dead-letter through the default
// exchange, overflow reject-publish) and a user <q> whose permissions are
// configure ^$, write ^<q>$ and read ^<q>(\.dead-letter)?$. A fanout topic
// is a headers exchange bound to its subscribers' queues.
//
// QUEUE_URL is
// amqp[s]://<user>@<host>[:<port>]/<vhost>?queue=<queue>&exchange=<exchange>
// (the vhost percent-encoded, "/" as %2F) and QUEUE_PASSWORD the user's
// password: the URL never carries one. A fanout's topicId is
// amqp[s]://<user>@<host>[:<port>]/<vhost>?exchange=<exchange>, opened with
// TopicConfig's Password. amqps is TLS, with QUEUE_CA_CERT (TopicConfig's
// CACert) as an extra root when set.
//
//   - Receive takes what the queue holds now with basic.get, up to limit.
//     When that is nothing, it waits for the first message with a consumer
//     of prefetch 1 that lives only as long as the wait, and then takes
//     what else is there with basic.get. So no message is ever delivered to
//     this client before Receive returns it: a consumer held between calls
//     would keep prefetched messages from the other replicas, and RabbitMQ
//     3.10 counts a prefetched message handed back (on Close, on a
//     crash) as a failed delivery, which would dead-letter messages no app
//     ever saw. Message.Subject is the queue's name; ID the message-id
//     property (Send sets a random one); Deliveries 1 + the quorum queue's
//     x-delivery-count header (the deliveries that failed before: nacks,
//     and channels closed with the message unacked); Attributes the
//     headers, but x-delivery-count, non-string values formatted (numbers
//     in decimal, times in RFC 3339, tables and arrays as JSON).
//   - Ack is basic.ack.
//   - Nack is basic.reject with requeue. RabbitMQ has no delayed requeue:
//     a Nack with a delay holds the message unacked (invisible to other
//     consumers) and rejects it when the delay has passed; Close rejects
//     held messages at once. A delay is cut so that the hold ends
//     amqpMaxHold after the delivery: RabbitMQ closes a channel that holds
//     a delivery longer than its consumer_timeout (30 minutes by default,
//     counted from the delivery), and with it every delivery on it; 3.10
//     has no per-queue timeout (3.12's x-consumer-timeout). Once the
//     queue has counted its delivery limit of failed deliveries,
//     the next failure makes RabbitMQ dead-letter the message instead:
//     dead-lettering is the broker's, not this client's.
//   - Send publishes to the exchange with publisher confirms and persistent
//     delivery, Attributes as string headers, and waits for the broker's
//     ack; a nack is an error. A work queue's Sender publishes with the
//     routing key <queue> and mandatory set, so a message no queue takes
//     comes back (basic.return) and is an error, never a silent drop. A
//     topic's publishes are not mandatory: a topic without subscribers
//     drops them, as SNS does.
//
// amqp091-go does not reconnect by default (its opt-in Recovery reopens in
// the background and replays consumers, which this client does not keep).
// The client reopens its connection and channel on the next call after the
// broker or the network closed them, and logs a warning to Config.Logger. A
// delivery from a closed channel can be neither acked nor nacked: Ack and
// Nack say so, and RabbitMQ delivers the message again (counted as a failed
// delivery). An ack sent just before a connection dies may be lost the same
// way: delivery is at least once.
//
// Tested against a real RabbitMQ 3.10 (Debian's rabbitmq-server, through
// queue/rabbittest) with the topology above declared through the
// management API, as the operator declares it, and the tenant's own user.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// amqpDialTimeout bounds the TCP connect and the TLS and AMQP
	// handshakes.
	amqpDialTimeout = 15 * time.Second
	// amqpHeartbeat is the heartbeat interval asked for: a dead connection
	// is noticed within about two of them.
	amqpHeartbeat = 10 * time.Second
	// amqpMaxHold is the longest a message stays unsettled after its
	// delivery, the app's work and a Nack's delay together: RabbitMQ
	// times a delivery from when it was delivered and closes the channel
	// (and hands back every delivery on it) after its consumer_timeout,
	// 30 minutes by default. A Nack's delay ends by then.
	amqpMaxHold = 25 * time.Minute
	// amqpMaxName is AMQP's limit on a queue, exchange or user name (a
	// short string, §4.2.5.3).
	amqpMaxName = 255
	// amqpMaxAttributeName is AMQP's limit on a field-table key
	// (§4.2.5.5); RabbitMQ takes 255, the adapter's filters 128.
	amqpMaxAttributeName = 128
	// amqpMaxHeaders bounds the attributes' total size: the content
	// header frame that carries them must fit in one frame (RabbitMQ's
	// frame_max is 128 KiB by default).
	amqpMaxHeaders = 64 * 1024
	// amqpDeliveryCountHeader is where a quorum queue counts a message's
	// failed deliveries.
	amqpDeliveryCountHeader = "x-delivery-count"
)

// amqpHooks are what tests change in the AMQP driver.
type amqpHooks struct {
	// afterFunc replaces time.AfterFunc (a Nack's delay).
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	// now replaces time.Now (when a message was delivered).
	now func() time.Time
}

// amqpKind is what a URL is opened as.
type amqpKind int

const (
	amqpReceive amqpKind = iota // a work queue (or dead-letter queue), to consume
	amqpSend                    // a work queue, to send into
	amqpTopic                   // a fanout topic, to publish to
)

// amqpTarget is a parsed amqp:// or amqps:// URL (see the file comment).
type amqpTarget struct {
	TLS      bool
	User     string
	Host     string // host:port
	VHost    string
	Queue    string // "" for a topic
	Exchange string // "" for a queue opened only to consume
}

// String is the URL without its query: it holds no password.
func (t amqpTarget) String() string {
	scheme := "amqp"
	if t.TLS {
		scheme = "amqps"
	}
	return scheme + "://" + url.PathEscape(t.User) + "@" + t.Host + "/" + url.PathEscape(t.VHost)
}

// parseAMQPURL parses a queue or topic URL for kind. what names the
// variable it came from (QUEUE_URL, the fanout's topicId) and passwordFrom
// where the password goes instead, for errors; the errors never repeat the
// URL or any part of its user info.
func parseAMQPURL(what, passwordFrom, raw string, kind amqpKind) (amqpTarget, error) {
	want := "amqp[s]://<user>@<host>[:<port>]/<vhost>?queue=<queue>&exchange=<exchange>"
	switch kind {
	case amqpReceive:
		want = "amqp[s]://<user>@<host>[:<port>]/<vhost>?queue=<queue>[&exchange=<exchange>]"
	case amqpTopic:
		want = "amqp[s]://<user>@<host>[:<port>]/<vhost>?exchange=<exchange>"
	}
	bad := func(why string) (amqpTarget, error) {
		return amqpTarget{}, fmt.Errorf("%s: %s (want %s)", what, why, want)
	}
	passwordGiven := fmt.Sprintf("the URL carries a password: give only the user, and the password in %s", passwordFrom)
	if strings.TrimSpace(raw) == "" {
		return bad("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the URL or a part of it, which may be a
		// password: say only whether the user info holds one.
		rest := raw
		if _, after, ok := strings.Cut(raw, "://"); ok {
			rest = after
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 && strings.Contains(rest[:at], ":") {
			return bad(passwordGiven)
		}
		return bad("not a URL")
	}
	t := amqpTarget{}
	switch u.Scheme {
	case "amqp":
	case "amqps":
		t.TLS = true
	default:
		return bad(fmt.Sprintf("scheme %q is not amqp or amqps", u.Scheme))
	}
	if u.Opaque != "" {
		return bad("missing // after the scheme")
	}
	if u.User == nil || u.User.Username() == "" {
		return bad("no user")
	}
	if _, ok := u.User.Password(); ok {
		return bad(passwordGiven)
	}
	t.User = u.User.Username()
	if len(t.User) > amqpMaxName || strings.ContainsFunc(t.User, isControl) {
		return bad("the user is not a valid name")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return bad("a #fragment is not part of the URL")
	}
	host := u.Hostname()
	if host == "" {
		return bad("no host")
	}
	port := "5672"
	if t.TLS {
		port = "5671"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("port %q is not a number from 1 to 65535", p))
		}
		port = p
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("empty port")
	}
	t.Host = net.JoinHostPort(host, port)

	// The vhost is the path's one segment, percent-encoded ("/" is %2F).
	path := u.EscapedPath()
	escaped, ok := strings.CutPrefix(path, "/")
	if !ok || escaped == "" {
		return bad("no vhost")
	}
	if strings.Contains(escaped, "/") {
		return bad(fmt.Sprintf("path %q: the vhost is one segment; write a / in it as %%2F", path))
	}
	if t.VHost, err = url.PathUnescape(escaped); err != nil || len(t.VHost) > amqpMaxName || strings.ContainsFunc(t.VHost, isControl) {
		return bad(fmt.Sprintf("vhost %q is not a valid name", escaped))
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("malformed query")
	}
	for _, key := range slices.Sorted(maps.Keys(q)) { // the same error for the same URL
		values := q[key]
		switch key {
		case "queue", "exchange":
		default:
			return bad(fmt.Sprintf("unknown query parameter %q: want queue and exchange only", key))
		}
		if len(values) != 1 {
			return bad(fmt.Sprintf("query parameter %q given %d times", key, len(values)))
		}
		v := values[0]
		if v == "" || len(v) > amqpMaxName || strings.ContainsFunc(v, isControl) || !utf8.ValidString(v) {
			return bad(fmt.Sprintf("%s %q is not a valid name (1-%d bytes of text)", key, v, amqpMaxName))
		}
		if strings.HasPrefix(v, "amq.") {
			return bad(fmt.Sprintf("%s %q: names starting with amq. are RabbitMQ's own", key, v))
		}
		if key == "queue" {
			t.Queue = v
		} else {
			t.Exchange = v
		}
	}
	switch {
	case kind != amqpTopic && t.Queue == "" && t.Exchange != "":
		return bad("no queue: this is a topic's URL (exchange only); a queue's names its queue")
	case kind != amqpTopic && t.Queue == "":
		return bad("no queue")
	case kind == amqpSend && t.Exchange == "":
		return bad("no exchange: a work queue is sent to through its exchange")
	case kind == amqpTopic && t.Queue != "":
		return bad("a queue: a topic's URL names only its exchange")
	case kind == amqpTopic && t.Exchange == "":
		return bad("no exchange")
	}
	return t, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// amqpTLS is the TLS configuration for t (nil for amqp://): the system's
// roots plus caCert, when set. caVar names caCert's source for errors.
func amqpTLS(t amqpTarget, caVar, caCert string) (*tls.Config, error) {
	if !t.TLS {
		if caCert != "" {
			return nil, fmt.Errorf("%s is set but the URL is amqp://, without TLS: use amqps://", caVar)
		}
		return nil, nil
	}
	host, _, _ := net.SplitHostPort(t.Host)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if caCert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(caCert)) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", caVar)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// amqpConn is a connection and one channel on it, opened on first use and
// again on the first use after the broker or the network closed either.
type amqpConn struct {
	target   amqpTarget
	password string // secret
	tls      *tls.Config
	name     string
	log      *slog.Logger
	// setup prepares each new channel: prefetch for a receiver, confirm
	// mode for a sender.
	setup func(*amqpChannel) error

	mu         sync.Mutex
	conn       *amqp.Connection
	connClosed chan *amqp.Error
	ch         *amqpChannel
	closed     bool
}

// amqpChannel is a channel and what the client listens to on it.
type amqpChannel struct {
	*amqp.Channel
	closes  chan *amqp.Error // why the broker closed it
	returns chan amqp.Return // a sender's unroutable messages
}

// errAMQPClosed is returned after Close.
var errAMQPClosed = errors.New("queue client is closed")

// channel returns the open channel, reopening the connection and the
// channel as needed.
func (c *amqpConn) channel(ctx context.Context) (*amqpChannel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errAMQPClosed
	}
	if c.ch != nil && !c.ch.IsClosed() {
		return c.ch, nil
	}
	if c.conn == nil || c.conn.IsClosed() {
		if c.conn != nil {
			c.log.Warn("queue connection lost; reconnecting", "server", c.target.String(), "err", closeReason(c.connClosed))
		}
		c.ch = nil
		conn, err := c.dial(ctx)
		if err != nil {
			return nil, err
		}
		c.conn = conn
		c.connClosed = conn.NotifyClose(make(chan *amqp.Error, 1))
	} else if c.ch != nil {
		c.log.Warn("queue channel closed; reopening it", "server", c.target.String(), "err", closeReason(c.ch.closes))
	}
	raw, err := c.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open a channel on %s: %w", c.target, err)
	}
	ch := &amqpChannel{Channel: raw, closes: raw.NotifyClose(make(chan *amqp.Error, 1))}
	if err := c.setup(ch); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("set up a channel on %s: %w", c.target, err)
	}
	c.ch = ch
	return ch, nil
}

func (c *amqpConn) dial(ctx context.Context) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props["connection_name"] = c.name
	cfg := amqp.Config{
		// A new PlainAuth each time: amqp091-go zeroes its password once
		// the connection is open.
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: c.target.User, Password: c.password}},
		Vhost:      c.target.VHost,
		Heartbeat:  amqpHeartbeat,
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: amqpDialTimeout}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshakes' deadline; amqp091-go clears it once open.
			deadline := time.Now().Add(amqpDialTimeout)
			if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
				deadline = dl
			}
			if err := conn.SetDeadline(deadline); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return conn, nil
		},
	}
	scheme := "amqp"
	if c.tls != nil {
		scheme = "amqps"
		cfg.TLSClientConfig = c.tls.Clone()
	}
	conn, err := amqp.DialConfig(scheme+"://"+c.target.Host+"/", cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.target, err)
	}
	return conn, nil
}

// close closes the connection (and the channel with it) for good.
func (c *amqpConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.conn == nil || c.conn.IsClosed() {
		return nil
	}
	if err := c.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return err
	}
	return nil
}

// closeReason is the error waiting in a NotifyClose channel, if any.
func closeReason(closes chan *amqp.Error) error {
	select {
	case err, ok := <-closes:
		if ok && err != nil {
			return err
		}
	default:
	}
	return errors.New("closed")
}

// newAMQPConn is the connection of a client opened with c or tc for target.
func newAMQPConn(target amqpTarget, password, name string, tlsCfg *tls.Config, log *slog.Logger, setup func(*amqpChannel) error) *amqpConn {
	return &amqpConn{target: target, password: password, tls: tlsCfg, name: name, log: log, setup: setup}
}

// amqpConfig parses and checks what a queue client needs from c.
func amqpConfig(c Config, kind amqpKind) (amqpTarget, *tls.Config, error) {
	t, err := parseAMQPURL(EnvQueueURL, EnvQueuePassword, c.URL, kind)
	if err != nil {
		return amqpTarget{}, nil, err
	}
	if c.Password == "" {
		return amqpTarget{}, nil, fmt.Errorf("%s: not set: the password of RabbitMQ user %q", EnvQueuePassword, t.User)
	}
	tlsCfg, err := amqpTLS(t, EnvQueueCACert, c.CACert)
	if err != nil {
		return amqpTarget{}, nil, err
	}
	return t, tlsCfg, nil
}

// amqpReceiver consumes a queue.
type amqpReceiver struct {
	conn      *amqpConn
	queue     string
	log       *slog.Logger
	afterFunc func(time.Duration, func()) func() bool
	now       func() time.Time

	recv sync.Mutex // one Receive at a time

	mu sync.Mutex
	ch *amqpChannel // the channel of the deliveries in pending
	// pending holds each delivery returned and not yet acked or nacked,
	// with nil, and each held by a Nack's delay, with its hold.
	pending map[*amqpHandle]*amqpHold
	closed  bool
}

// amqpHold is a message held by a Nack's delay.
type amqpHold struct {
	stop func() bool // the timer's; nil until it is set
}

// amqpHandle is a Message's handle: its channel and delivery tag.
type amqpHandle struct {
	ch        *amqpChannel
	tag       uint64
	delivered time.Time
}

var _ Receiver = (*amqpReceiver)(nil)

func openAMQPReceiver(ctx context.Context, c Config) (Receiver, error) {
	t, tlsCfg, err := amqpConfig(c, amqpReceive)
	if err != nil {
		return nil, err
	}
	r := &amqpReceiver{queue: t.Queue, log: c.Logger, afterFunc: c.hooks.amqp.afterFunc, now: c.hooks.amqp.now, pending: map[*amqpHandle]*amqpHold{}}
	if r.now == nil {
		r.now = time.Now
	}
	if r.afterFunc == nil {
		r.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	r.conn = newAMQPConn(t, c.Password, c.Name, tlsCfg, c.Logger, func(ch *amqpChannel) error {
		// Per consumer: the consumer Receive waits with gets one message.
		return ch.Qos(1, 0, false)
	})
	// Check the queue now to report a wrong URL early; the broker, the
	// user or the queue may also not be there yet (the operator declares
	// them), so Receive tries again.
	if err := r.check(ctx); err != nil {
		c.Logger.Warn("queue not reachable yet; will retry", "queue", t.Queue, "server", t.String(), "err", err)
	}
	return r, nil
}

// check declares the queue passively: it fails when the queue is not there.
func (r *amqpReceiver) check(ctx context.Context) error {
	ch, err := r.conn.channel(ctx)
	if err != nil {
		return err
	}
	if _, err := ch.QueueDeclarePassive(r.queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("queue %q: %w", r.queue, err)
	}
	return nil
}

func (r *amqpReceiver) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	limit = max(limit, 1)
	r.recv.Lock()
	defer r.recv.Unlock()
	ch, err := r.conn.channel(ctx)
	if err != nil {
		return nil, err
	}
	r.forgetOtherChannels(ch)
	out, err := r.get(ctx, ch, limit)
	if len(out) > 0 || err != nil || wait <= 0 || ctx.Err() != nil {
		return out, err
	}
	out, err = r.await(ctx, ch, wait)
	if len(out) == 0 || err != nil {
		return out, err
	}
	// Whatever else is there now; an error here is the next call's.
	more, _ := r.get(ctx, ch, limit-len(out))
	return append(out, more...), nil
}

// get takes up to n messages with basic.get, stopping when the queue is
// empty or ctx ends.
func (r *amqpReceiver) get(ctx context.Context, ch *amqpChannel, n int) ([]Message, error) {
	var out []Message
	for len(out) < n && ctx.Err() == nil {
		d, ok, err := ch.Get(r.queue, false)
		if err != nil {
			return out, fmt.Errorf("receive from %s: %w", r.queue, err)
		}
		if !ok {
			break
		}
		out = append(out, r.message(ch, d))
	}
	return out, nil
}

// await waits up to wait for one message with a consumer of prefetch 1,
// which it then cancels. A delivery that crossed the cancel is returned too
// (prefetch 1: at most one).
func (r *amqpReceiver) await(ctx context.Context, ch *amqpChannel, wait time.Duration) ([]Message, error) {
	tag := "tenantfleet-" + amqpRandomID()
	deliveries, err := ch.Consume(r.queue, tag, false, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", r.queue, err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var out []Message
	select {
	case d, ok := <-deliveries:
		if !ok {
			return nil, fmt.Errorf("receive from %s: %w", r.queue, closeReason(ch.closes))
		}
		out = append(out, r.message(ch, d))
	case <-timer.C:
	case <-ctx.Done():
	}
	if err := ch.Cancel(tag, false); err != nil {
		return nil, fmt.Errorf("receive from %s: %w", r.queue, err)
	}
	for d := range deliveries { // closed once the cancel is confirmed
		out = append(out, r.message(ch, d))
	}
	return out, nil
}

// message turns a delivery into a Message and records it as pending.
func (r *amqpReceiver) message(ch *amqpChannel, d amqp.Delivery) Message {
	h := &amqpHandle{ch: ch, tag: d.DeliveryTag, delivered: r.now()}
	r.mu.Lock()
	r.pending[h] = nil
	r.mu.Unlock()
	m := Message{ID: d.MessageId, Subject: r.queue, Body: d.Body, Attributes: make(map[string]string, len(d.Headers)), Deliveries: 1, handle: h}
	for k, v := range d.Headers {
		if k == amqpDeliveryCountHeader {
			if n, ok := amqpInt(v); ok && n >= 0 {
				m.Deliveries = int(n) + 1
			}
			continue
		}
		m.Attributes[k] = amqpHeaderString(v)
	}
	return m
}

// forgetOtherChannels drops the pending deliveries of a channel other than
// ch: it has closed, and RabbitMQ hands them out again.
func (r *amqpReceiver) forgetOtherChannels(ch *amqpChannel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch == ch {
		return
	}
	for h, hold := range r.pending {
		if h.ch != ch {
			if hold != nil && hold.stop != nil {
				hold.stop()
			}
			delete(r.pending, h)
		}
	}
	r.ch = ch
}

// errAMQPDeliveryGone is Ack's and Nack's error for a delivery whose channel
// has closed.
var errAMQPDeliveryGone = errors.New("the channel it was delivered on has closed (the connection was lost or the broker closed it): it can be neither acked nor nacked, and RabbitMQ delivers it again")

// settle takes m out of pending for an Ack or a Nack.
func (r *amqpReceiver) settle(m Message) (*amqpHandle, error) {
	h, ok := m.handle.(*amqpHandle)
	if !ok || h == nil {
		return nil, errors.New("message was not received from this queue")
	}
	if h.ch.IsClosed() {
		return nil, fmt.Errorf("message %s: %w", m.ID, errAMQPDeliveryGone)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errAMQPClosed
	}
	hold, ok := r.pending[h]
	switch {
	case !ok && h.ch != r.ch:
		return nil, fmt.Errorf("message %s: %w", m.ID, errAMQPDeliveryGone)
	case !ok || hold != nil:
		return nil, fmt.Errorf("message %s was already acked or nacked", m.ID)
	}
	delete(r.pending, h)
	return h, nil
}

// settleErr is the error of an ack or a reject that could not be sent.
func settleErr(m Message, h *amqpHandle, err error) error {
	if h.ch.IsClosed() {
		return fmt.Errorf("message %s: %w", m.ID, errAMQPDeliveryGone)
	}
	return fmt.Errorf("message %s: %w", m.ID, err)
}

func (r *amqpReceiver) Ack(_ context.Context, m Message) error {
	h, err := r.settle(m)
	if err != nil {
		return err
	}
	if err := h.ch.Ack(h.tag, false); err != nil {
		return settleErr(m, h, err)
	}
	return nil
}

func (r *amqpReceiver) Nack(_ context.Context, m Message, delay time.Duration) error {
	h, err := r.settle(m)
	if err != nil {
		return err
	}
	// The hold ends amqpMaxHold after the delivery at the latest.
	if left := amqpMaxHold - r.now().Sub(h.delivered); delay > left {
		r.log.Warn("nack delay cut: RabbitMQ's consumer_timeout counts from the delivery", "id", m.ID, "delay", delay, "held", amqpMaxHold-left, "max", amqpMaxHold)
		delay = max(left, 0)
	}
	if delay <= 0 {
		if err := h.ch.Reject(h.tag, true); err != nil {
			return settleErr(m, h, err)
		}
		return nil
	}
	hold := &amqpHold{}
	r.mu.Lock()
	r.pending[h] = hold
	r.mu.Unlock()
	stop := r.afterFunc(delay, func() {
		r.mu.Lock()
		held := r.pending[h] == hold
		if held {
			delete(r.pending, h)
		}
		r.mu.Unlock()
		if !held || h.ch.IsClosed() {
			return // handed back already (Close, a closed channel)
		}
		if err := h.ch.Reject(h.tag, true); err != nil {
			r.log.Warn("handing back a nacked message failed; RabbitMQ delivers it again when its channel closes", "id", m.ID, "err", err)
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending[h] == hold {
		hold.stop = stop
	} else {
		stop() // fired already, or Close handed it back
	}
	return nil
}

// Close hands back the messages held by a Nack's delay at once and closes
// the connection, which hands back every other unsettled message: RabbitMQ
// delivers them again at once, each counted as a failed delivery.
func (r *amqpReceiver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var held []*amqpHandle
	for h, hold := range r.pending {
		if hold != nil {
			if hold.stop != nil {
				hold.stop()
			}
			held = append(held, h)
		}
		delete(r.pending, h)
	}
	r.mu.Unlock()
	for _, h := range held {
		if !h.ch.IsClosed() {
			_ = h.ch.Reject(h.tag, true)
		}
	}
	return r.conn.close()
}

// amqpSender publishes to an exchange.
type amqpSender struct {
	conn       *amqpConn
	exchange   string
	routingKey string
	mandatory  bool
	cloud      string

	send sync.Mutex // one publish in flight: its return and confirm are its own
}

var _ Sender = (*amqpSender)(nil)

func openAMQPSender(ctx context.Context, c Config) (Sender, error) {
	t, tlsCfg, err := amqpConfig(c, amqpSend)
	if err != nil {
		return nil, err
	}
	s := newAMQPSender(t, c.Password, c.Name, tlsCfg, c.Logger, t.Queue, true, c.Cloud)
	if err := s.check(ctx); err != nil {
		c.Logger.Warn("queue not reachable yet; will retry", "exchange", t.Exchange, "server", t.String(), "err", err)
	}
	return s, nil
}

func openAMQPTopic(ctx context.Context, tc TopicConfig) (Sender, error) {
	const passwordFrom = "the topic's password (TopicConfig.Password)"
	t, err := parseAMQPURL("topic", passwordFrom, tc.Topic, amqpTopic)
	if err != nil {
		return nil, err
	}
	if tc.Password == "" {
		return nil, fmt.Errorf("topic: no password for RabbitMQ user %q: set %s", t.User, passwordFrom)
	}
	tlsCfg, err := amqpTLS(t, "the topic's CA certificate (TopicConfig.CACert)", tc.CACert)
	if err != nil {
		return nil, err
	}
	s := newAMQPSender(t, tc.Password, tc.Name, tlsCfg, tc.Logger, "", false, tc.Cloud)
	// A publish tool wants to know now.
	if err := s.check(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func newAMQPSender(t amqpTarget, password, name string, tlsCfg *tls.Config, log *slog.Logger, routingKey string, mandatory bool, cloud string) *amqpSender {
	return &amqpSender{
		exchange: t.Exchange, routingKey: routingKey, mandatory: mandatory, cloud: cloud,
		conn: newAMQPConn(t, password, name, tlsCfg, log, func(ch *amqpChannel) error {
			if err := ch.Confirm(false); err != nil {
				return err
			}
			ch.returns = ch.NotifyReturn(make(chan amqp.Return, 16))
			return nil
		}),
	}
}

// check declares the exchange passively: it fails when the exchange is not
// there.
func (s *amqpSender) check(ctx context.Context) error {
	ch, err := s.conn.channel(ctx)
	if err != nil {
		return err
	}
	if err := ch.ExchangeDeclarePassive(s.exchange, "", true, false, false, false, nil); err != nil {
		return fmt.Errorf("exchange %q: %w", s.exchange, err)
	}
	return nil
}

// errAMQPUnroutable is Send's error for a message the exchange routed to no
// queue.
var errAMQPUnroutable = errors.New("no queue took the message")

// Send publishes m and waits for the broker's confirm. The id is the
// message-id it gave the message.
func (s *amqpSender) Send(ctx context.Context, m Outgoing) (string, error) {
	if m.ID != "" {
		return "", refuseID(s.cloud)
	}
	headers, err := amqpHeaders(m.Attributes)
	if err != nil {
		return "", err
	}
	s.send.Lock()
	defer s.send.Unlock()
	ch, err := s.conn.channel(ctx)
	if err != nil {
		return "", err
	}
	id := amqpRandomID()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, s.exchange, s.routingKey, s.mandatory, false, amqp.Publishing{
		Headers: headers, DeliveryMode: amqp.Persistent, MessageId: id, Body: m.Body,
	})
	if err != nil {
		return "", fmt.Errorf("publish to exchange %s: %w", s.exchange, err)
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return "", fmt.Errorf("publish to exchange %s: no confirm from the broker yet (the message may have been taken): %w", s.exchange, ctx.Err())
	}
	// The broker sends a basic.return before the confirm of the same
	// message, and amqp091-go hands it over before it handles the
	// confirm: it is in ch.returns by now.
	for {
		var ret amqp.Return
		select {
		case ret = <-ch.returns:
		default:
		}
		if ret.MessageId == "" {
			break
		}
		if ret.MessageId == id {
			return "", fmt.Errorf("publish to exchange %s with routing key %q: %w (%d %s)", s.exchange, s.routingKey, errAMQPUnroutable, ret.ReplyCode, ret.ReplyText)
		}
	}
	if !dc.Acked() {
		if ch.IsClosed() {
			return "", fmt.Errorf("publish to exchange %s: %w", s.exchange, closeReason(ch.closes))
		}
		return "", fmt.Errorf("publish to exchange %s: the broker refused the message (nack)", s.exchange)
	}
	return id, nil
}

func (s *amqpSender) Close() error { return s.conn.close() }

// amqpHeaders turns attributes into AMQP headers (string values), checking
// them in name order so that the same message always gets the same error.
func amqpHeaders(attrs map[string]string) (amqp.Table, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	headers := make(amqp.Table, len(attrs))
	size := 0
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		if err := checkAttribute(k, v); err != nil {
			return nil, err
		}
		switch {
		case v == "":
			return nil, fmt.Errorf("attribute %q: empty value", k)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return nil, fmt.Errorf("attribute %q: names and values must be valid UTF-8", k)
		case len(k) > amqpMaxAttributeName:
			return nil, fmt.Errorf("attribute %q: name is %d bytes; AMQP takes at most %d", k, len(k), amqpMaxAttributeName)
		case strings.HasPrefix(strings.ToLower(k), "x-"):
			return nil, fmt.Errorf("attribute %q: names starting with x- are RabbitMQ's own (and its headers exchange never matches on them)", k)
		}
		headers[k] = v
		size += len(k) + len(v)
	}
	if size > amqpMaxHeaders {
		return nil, fmt.Errorf("attributes of %d bytes: at most %d", size, amqpMaxHeaders)
	}
	return headers, nil
}

// amqpHeaderString formats a header value as an attribute.
func amqpHeaderString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case amqp.Decimal:
		return amqpDecimalString(v)
	case amqp.Table, []any:
		if b, err := json.Marshal(amqpJSON(v)); err == nil {
			return string(b)
		}
	}
	if n, ok := amqpInt(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprint(v)
}

// amqpJSON turns a header value into what encoding/json writes as JSON:
// strings, numbers, booleans, times and nested tables and arrays as such,
// anything else as its attribute text.
func amqpJSON(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = amqpJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = amqpJSON(e)
		}
		return out
	case nil, string, bool, float32, float64:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	if n, ok := amqpInt(v); ok {
		return n
	}
	return amqpHeaderString(v)
}

// amqpInt is v as an int64 when it is an integer of any size.
func amqpInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v <= 1<<63-1 {
			return int64(v), true
		}
	}
	return 0, false
}

// amqpDecimalString formats an AMQP decimal (value × 10^-scale).
func amqpDecimalString(d amqp.Decimal) string {
	s := strconv.FormatInt(int64(d.Value), 10)
	if d.Scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if n := int(d.Scale) + 1 - len(s); n > 0 {
		s = strings.Repeat("0", n) + s
	}
	s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	if neg {
		s = "-" + s
	}
	return s
}

// amqpRandomID is a random message id or consumer tag suffix.
func amqpRandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
