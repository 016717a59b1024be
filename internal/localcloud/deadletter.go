package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream has no dead-letter queue of its own. When a message has been
// delivered MaxDeliver times without an ack, the server publishes a
// max-deliveries advisory and stops delivering it, leaving it in the
// work-queue stream. The runtime keeps these advisories in a stream of its
// own (so none is lost while it is busy or restarting) and, for each one,
// copies the message into the queue's dead-letter stream and deletes it
// from the work queue. The copy carries a Nats-Msg-Id derived from the
// original's stream, sequence and time, so handling an advisory twice
// (after a crash between the copy and the ack) stores one copy.
const (
	advisoryStream   = "TENANTFLEET_MAX_DELIVERIES"
	advisorySubjects = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"
	advisoryConsumer = "dead-letterer"

	// Headers added to a dead-lettered message.
	headerOriginalSubject = "Tenantfleet-Original-Subject"
	headerDeliveries      = "Tenantfleet-Deliveries"
)

// maxDeliveriesAdvisory is the part of
// io.nats.jetstream.advisory.v1.max_deliver the runtime reads.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

type deadLetterer struct {
	log     *slog.Logger
	js      jetstream.JetStream
	consume jetstream.ConsumeContext
}

func startDeadLetterer(ctx context.Context, log *slog.Logger, js jetstream.JetStream) (*deadLetterer, error) {
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      advisoryStream,
		Subjects:  []string{advisorySubjects},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    deadLetterAge,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", advisoryStream, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:   advisoryConsumer,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", advisoryConsumer, advisoryStream, err)
	}
	d := &deadLetterer{log: log.With("component", "dead-letter"), js: js}
	d.consume, err = cons.Consume(d.handle, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		d.log.Debug("consume advisories", "err", err)
	}))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", advisoryStream, err)
	}
	return d, nil
}

func (d *deadLetterer) stop() {
	if d.consume != nil {
		d.consume.Drain()
		select {
		case <-d.consume.Closed():
		case <-time.After(5 * time.Second):
			d.consume.Stop()
		}
	}
}

func (d *deadLetterer) handle(msg jetstream.Msg) {
	var adv maxDeliveriesAdvisory
	if err := json.Unmarshal(msg.Data(), &adv); err != nil {
		d.log.Warn("unreadable max-deliveries advisory", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	if !strings.HasPrefix(adv.Stream, "Q_") || strings.HasSuffix(adv.Stream, "_DLQ") || adv.Consumer != workerConsumer {
		_ = msg.Ack()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := d.move(ctx, adv); err != nil {
		d.log.Warn("dead-letter a message; retrying", "stream", adv.Stream, "seq", adv.StreamSeq, "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if err := msg.DoubleAck(ctx); err != nil {
		d.log.Warn("ack max-deliveries advisory", "stream", adv.Stream, "seq", adv.StreamSeq, "err", err)
	}
}

// move copies the message into the dead-letter stream and deletes it from
// the work queue. A message or stream already gone is done.
func (d *deadLetterer) move(ctx context.Context, adv maxDeliveriesAdvisory) error {
	stream, err := d.js.Stream(ctx, adv.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up stream: %w", err)
	}
	queue := stream.CachedInfo().Config.Metadata[metaQueue]
	if queue == "" {
		return nil // not a queue of the runtime's
	}
	raw, err := stream.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get message: %w", err)
	}
	header := nats.Header{}
	for key, values := range raw.Header {
		// Nats-* headers steer the server (dedup ids, expected sequences,
		// source info): they belong to the original publication.
		if strings.HasPrefix(strings.ToLower(key), "nats-") {
			continue
		}
		header[key] = values
	}
	header.Set(headerOriginalSubject, raw.Subject)
	header.Set(headerDeliveries, strconv.FormatUint(adv.Deliveries, 10))
	header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s:%d:%d", adv.Stream, raw.Sequence, raw.Time.UnixNano()))
	_, err = d.js.PublishMsg(ctx, &nats.Msg{Subject: deadLetterSubject(queue), Header: header, Data: raw.Data},
		jetstream.WithExpectStream(deadLetterStream(queue)))
	if err != nil {
		return fmt.Errorf("publish to %s: %w", deadLetterSubject(queue), err)
	}
	if err := stream.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete message from %s: %w", adv.Stream, err)
	}
	d.log.Info("moved a message to the dead-letter queue", "queue", queue, "seq", adv.StreamSeq, "deliveries", adv.Deliveries)
	return nil
}
