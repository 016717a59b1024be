package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaReceiver is a work queue's consumer; see kafka.go's comment.
type kafkaReceiver struct {
	cl          *kgo.Client
	side        kafkaSide // QUEUE_URL
	dlq         string    // the dead-letter topic
	maxReceive  int
	visibility  time.Duration
	now         func() time.Time
	log         *slog.Logger
	commitEvery time.Duration

	ctx      context.Context // ends with Close: stops a poll and the commit loop
	cancel   context.CancelFunc
	loopDone chan struct{}

	recvMu      sync.Mutex // one Receive at a time: a poll and its AllowRebalance pair up
	expireAfter time.Time  // recvMu held: no expire before (after a failed one)
	commitMu    sync.Mutex // one commit at a time, none across a revocation

	mu       sync.Mutex
	closed   bool
	parts    map[int32]*kafkaPartition // the partitions owned
	settling int                       // Nacks (and timeouts) producing
	settled  chan struct{}             // closed when settling drops to 0
}

// errKafkaClosed is Receive's error after Close.
var errKafkaClosed = errors.New("queue receiver is closed")

// kafkaPartition is what the receiver knows of a partition it owns.
type kafkaPartition struct {
	r  *kafkaReceiver
	id int32
	// gone is set when the partition is revoked or lost.
	gone bool
	// entries are the records polled, in offset order, from the first one
	// not done.
	entries []*kafkaEntry
	// next is the offset after the last record polled, -1 before the
	// first; epoch that record's leader epoch.
	next  int64
	epoch int32
	// committed is the offset last committed by this receiver, -1 before.
	committed int64
}

type kafkaState int

const (
	kafkaHeld       kafkaState = iota // polled, its not-before time still ahead
	kafkaDelivered                    // returned by Receive
	kafkaSettling                     // a Nack's (or timeout's) copy is being produced
	kafkaAcked                        // done
	kafkaHandedBack                   // done: its copy was produced
)

// kafkaEntry is one polled record: Message.handle.
type kafkaEntry struct {
	part   *kafkaPartition
	offset int64
	epoch  int32
	rec    *kgo.Record // nil once done
	id     string
	// deliveries counts this delivery: 1 + the failed ones before.
	deliveries  int
	notBefore   time.Time
	deliveredAt time.Time
	state       kafkaState
	// expired is set when the visibility timeout passed unsettled.
	expired bool
}

func (e *kafkaEntry) done() bool { return e.state == kafkaAcked || e.state == kafkaHandedBack }

// commitOffset is where the partition's commit can go: its first record not
// done, else past the last record polled; false when nothing was polled.
func (p *kafkaPartition) commitOffset() (kgo.EpochOffset, bool) {
	if len(p.entries) > 0 {
		return kgo.EpochOffset{Epoch: p.entries[0].epoch, Offset: p.entries[0].offset}, true
	}
	if p.next < 0 {
		return kgo.EpochOffset{}, false
	}
	return kgo.EpochOffset{Epoch: p.epoch, Offset: p.next}, true
}

// advance drops the done records at the front.
func (p *kafkaPartition) advance() {
	i := 0
	for i < len(p.entries) && p.entries[i].done() {
		i++
	}
	clear(p.entries[:i])
	p.entries = p.entries[i:]
}

// Receive hands out due held records first, then polls. It returns as soon
// as it has a message, or after wait, or when ctx ends.
func (r *kafkaReceiver) Receive(ctx context.Context, limit int, wait time.Duration) ([]Message, error) {
	limit = max(limit, 1)
	r.recvMu.Lock()
	defer r.recvMu.Unlock()
	deadline := time.Now().Add(wait)
	for {
		if r.isClosed() {
			return nil, errKafkaClosed
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if now := r.now(); !now.Before(r.expireAfter) {
			// A copy that cannot be produced must not stop the queue: the
			// other messages go on being received, and the timed-out ones
			// (holding their partition's commit) are tried again later.
			ectx, cancel := context.WithTimeout(ctx, kafkaCommitTimeout)
			err := r.expire(ectx)
			cancel()
			if err != nil && ctx.Err() == nil {
				r.log.Warn("queue: handing back timed-out messages failed; retrying", "retryIn", kafkaExpireRetry.String(), "err", err)
				r.expireAfter = now.Add(kafkaExpireRetry)
			}
		}
		if out := r.due(limit); len(out) > 0 {
			// With whatever else is already there, without waiting.
			if n := limit - len(out); n > 0 {
				out = append(out, r.pollBuffered(n)...)
			}
			return out, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return r.pollBuffered(limit), nil
		}
		msgs, err := r.poll(ctx, limit, min(left, r.nextEvent()))
		if len(msgs) > 0 || err != nil {
			return msgs, err
		}
	}
}

func (r *kafkaReceiver) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// poll takes in up to n records, waiting up to wait for the first. It
// returns the messages due now, or the first fetch error when there is none.
func (r *kafkaReceiver) poll(ctx context.Context, n int, wait time.Duration) ([]Message, error) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel) // Close ends the poll
	defer stop()
	return r.takeFetches(r.cl.PollRecords(pctx, n))
}

// pollBuffered takes in up to n records already fetched, without waiting.
func (r *kafkaReceiver) pollBuffered(n int) []Message {
	// kgo documents a nil context as "return what is buffered".
	msgs, _ := r.takeFetches(r.cl.PollRecords(nil, n)) //nolint:staticcheck // SA1012: kgo's documented non-blocking poll
	return msgs
}

// takeFetches takes in a poll's records and reports its errors.
func (r *kafkaReceiver) takeFetches(fetches kgo.Fetches) ([]Message, error) {
	// The poll blocks rebalances until AllowRebalance: take the records in
	// first, so a revocation always finds them. Once Close has begun nothing
	// is taken in: the commit stays before those records, and they go to
	// the next consumer rather than to a caller who could no longer ack.
	if r.isClosed() {
		r.cl.AllowRebalance()
		return nil, errKafkaClosed
	}
	msgs := r.takeIn(fetches.Records())
	r.cl.AllowRebalance()

	var ferr error
	fetches.EachError(func(_ string, _ int32, err error) {
		if ferr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		ferr = err
	})
	if ferr == nil {
		return msgs, nil
	}
	ferr = r.side.wrap(fmt.Sprintf("fetch from topic %q as group %q", r.side.ep.Topic, r.side.ep.Group), ferr)
	if len(msgs) > 0 {
		r.log.Warn("queue fetch failed for some partitions", "err", ferr)
		return msgs, nil
	}
	return nil, ferr
}

// takeIn registers polled records and returns those due as messages.
func (r *kafkaReceiver) takeIn(records []*kgo.Record) []Message {
	if len(records) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []Message
	for _, rec := range records {
		if rec.Topic != r.side.ep.Topic {
			continue
		}
		p := r.partition(rec.Partition)
		if rec.Offset < p.next {
			continue // polled before
		}
		p.next, p.epoch = rec.Offset+1, rec.LeaderEpoch
		e := r.entry(p, rec)
		p.entries = append(p.entries, e)
		if e.notBefore.After(now) {
			e.state = kafkaHeld
			continue
		}
		e.state, e.deliveredAt = kafkaDelivered, now
		out = append(out, r.message(e))
	}
	return out
}

// partition is p's state, created when the assignment callback has not run
// yet (the poll that brought its records blocks any revocation). r.mu held.
func (r *kafkaReceiver) partition(id int32) *kafkaPartition {
	p := r.parts[id]
	if p == nil {
		p = &kafkaPartition{r: r, id: id, next: -1, committed: -1}
		r.parts[id] = p
	}
	return p
}

// entry reads a record's bookkeeping headers.
func (r *kafkaReceiver) entry(p *kafkaPartition, rec *kgo.Record) *kafkaEntry {
	e := &kafkaEntry{part: p, offset: rec.Offset, epoch: rec.LeaderEpoch, rec: rec, id: kafkaID(rec), deliveries: 1}
	for _, h := range rec.Headers {
		v := string(h.Value)
		switch h.Key {
		case KafkaHeaderDeliveries:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				r.log.Warn("queue record with an invalid delivery count; counting it as the first delivery", "record", e.id, "header", KafkaHeaderDeliveries)
				continue
			}
			e.deliveries = n + 1
		case KafkaHeaderNotBefore:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				r.log.Warn("queue record with an invalid not-before time; delivering it now", "record", e.id, "header", KafkaHeaderNotBefore)
				continue
			}
			e.notBefore = t
		case KafkaHeaderMessageID:
			if v != "" {
				e.id = v
			}
		}
	}
	return e
}

func (r *kafkaReceiver) message(e *kafkaEntry) Message {
	attrs := map[string]string{}
	for _, h := range e.rec.Headers {
		switch h.Key {
		case KafkaHeaderDeliveries, KafkaHeaderNotBefore, KafkaHeaderMessageID:
			continue
		}
		if prev, ok := attrs[h.Key]; ok {
			attrs[h.Key] = prev + ", " + string(h.Value)
		} else {
			attrs[h.Key] = string(h.Value)
		}
	}
	return Message{ID: e.id, Subject: e.rec.Topic, Body: e.rec.Value, Attributes: attrs, Deliveries: e.deliveries, handle: e}
}

// due delivers up to limit held records whose not-before time has come.
func (r *kafkaReceiver) due(limit int) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []Message
	for _, id := range slices.Sorted(maps.Keys(r.parts)) {
		for _, e := range r.parts[id].entries {
			if len(out) == limit {
				return out
			}
			if e.state == kafkaHeld && !e.notBefore.After(now) {
				e.state, e.deliveredAt = kafkaDelivered, now
				out = append(out, r.message(e))
			}
		}
	}
	return out
}

// nextEvent is how long until a held record is due or a delivery's
// visibility timeout passes (at least kafkaMinPoll), so Receive polls no
// longer than that; an hour when there is none.
func (r *kafkaReceiver) nextEvent() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	next := time.Hour
	for _, p := range r.parts {
		for _, e := range p.entries {
			switch e.state {
			case kafkaHeld:
				next = min(next, e.notBefore.Sub(now))
			case kafkaDelivered:
				if e.expired { // a failed hand-back: retried after expireAfter
					next = min(next, r.expireAfter.Sub(now))
					continue
				}
				next = min(next, e.deliveredAt.Add(r.visibility).Sub(now))
			}
		}
	}
	return max(next, kafkaMinPoll)
}

// expire hands back the deliveries whose visibility timeout has passed, as
// a Nack without delay would.
func (r *kafkaReceiver) expire(ctx context.Context) error {
	r.mu.Lock()
	now := r.now()
	var late []*kafkaEntry
	var copies []*kgo.Record
	for _, p := range r.parts {
		for _, e := range p.entries {
			if e.state == kafkaDelivered && (e.expired || !now.Before(e.deliveredAt.Add(r.visibility))) {
				e.expired = true
				r.beginSettle(e)
				late = append(late, e)
				copies = append(copies, r.failedCopy(e, time.Time{}, fmt.Sprintf("visibility timeout %s passed on delivery %d of %d (maxReceiveCount)", r.visibility, e.deliveries, r.maxReceive)))
			}
		}
	}
	r.mu.Unlock()
	if err := r.settle(ctx, late, copies); err != nil {
		return fmt.Errorf("handing back the messages whose visibility timeout passed (retried on the next Receive): %w", err)
	}
	return nil
}

// Ack marks the message done; its partition's commit moves past it once
// every record before it is done too.
func (r *kafkaReceiver) Ack(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, err := r.settleable(m, "Ack")
	if err != nil {
		if e != nil && e.state == kafkaAcked && !e.expired {
			return nil // acked twice
		}
		return err
	}
	e.state, e.rec = kafkaAcked, nil
	e.part.advance()
	return nil
}

// Nack produces the message's copy, to the queue's topic with its delivery
// count (and a not-before time after delay) or, after maxReceiveCount
// deliveries, to the dead-letter topic; once the brokers acknowledged it,
// the original is done.
func (r *kafkaReceiver) Nack(ctx context.Context, m Message, delay time.Duration) error {
	r.mu.Lock()
	e, err := r.settleable(m, "Nack")
	if err == nil {
		r.beginSettle(e)
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	var notBefore time.Time
	if delay > 0 {
		notBefore = r.now().Add(delay)
	}
	rec := r.failedCopy(e, notBefore, fmt.Sprintf("nacked on delivery %d of %d (maxReceiveCount)", e.deliveries, r.maxReceive))
	return r.settle(ctx, []*kafkaEntry{e}, []*kgo.Record{rec})
}

// settleable finds m's entry and says why it cannot be acked or nacked
// (the entry is returned with the error when there is one). r.mu held.
func (r *kafkaReceiver) settleable(m Message, op string) (*kafkaEntry, error) {
	e, ok := m.handle.(*kafkaEntry)
	if !ok || e.part.r != r {
		return nil, errors.New("message was not received from this queue")
	}
	switch {
	case r.closed && e.state != kafkaAcked:
		return e, fmt.Errorf("message %s: the receiver is closed: the message is delivered again", e.id)
	case e.expired:
		return e, fmt.Errorf("message %s: its visibility timeout (%s) passed before this %s, so the delivery counted as failed: it is delivered again, or dead-lettered after maxReceiveCount deliveries", e.id, r.visibility, op)
	case e.state == kafkaAcked:
		return e, fmt.Errorf("message %s: already acked", e.id)
	case e.state == kafkaHandedBack:
		return e, fmt.Errorf("message %s: already handed back by a Nack", e.id)
	case e.state == kafkaSettling:
		return e, fmt.Errorf("message %s: a Nack of it is in progress", e.id)
	case e.part.gone:
		return e, fmt.Errorf("message %s: partition %d of topic %q was reassigned to another consumer of the group (a rebalance) before this %s: the message is delivered again there", e.id, e.part.id, r.side.ep.Topic, op)
	}
	return e, nil
}

// beginSettle marks e as being handed back. r.mu held.
func (r *kafkaReceiver) beginSettle(e *kafkaEntry) {
	e.state = kafkaSettling
	if r.settling == 0 {
		r.settled = make(chan struct{})
	}
	r.settling++
}

// settle produces copies[i], the copy of entries[i], and marks each entry
// done once the brokers acknowledged its copy. An entry whose copy failed is
// as before (held or delivered: a Nack can be retried and the visibility
// timeout still applies).
func (r *kafkaReceiver) settle(ctx context.Context, entries []*kafkaEntry, copies []*kgo.Record) error {
	if len(entries) == 0 {
		return nil
	}
	of := make(map[*kgo.Record]*kafkaEntry, len(entries))
	for i, e := range entries {
		of[copies[i]] = e
	}
	results := r.cl.ProduceSync(ctx, copies...)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.settling -= len(entries)
	if r.settling == 0 {
		close(r.settled)
	}
	var errs []error
	for _, res := range results {
		e := of[res.Record]
		if res.Err != nil {
			e.state = kafkaDelivered
			if e.deliveredAt.IsZero() {
				e.state = kafkaHeld
			}
			errs = append(errs, r.side.wrap(fmt.Sprintf("message %s: produce its copy to topic %q", e.id, res.Record.Topic), res.Err))
			continue
		}
		e.state, e.rec = kafkaHandedBack, nil
		if e.part.gone {
			// Its partition moved on while the copy was produced: the
			// original is delivered again too.
			r.log.Warn("queue message handed back after its partition was reassigned: it is delivered twice", "message", e.id)
			continue
		}
		e.part.advance()
	}
	return errors.Join(errs...)
}

// failedCopy is the copy of e after a failed delivery (a Nack or a visibility
// timeout): due at notBefore (zero: at once), or dead-lettered for why when
// that was the last delivery allowed.
func (r *kafkaReceiver) failedCopy(e *kafkaEntry, notBefore time.Time, why string) *kgo.Record {
	return r.copyOf(e, e.deliveries, notBefore, why)
}

// copyOf is a copy of e's record counting failed deliveries, due at
// notBefore (zero: at once); to the dead-letter topic, for why, once failed
// reaches maxReceiveCount. It keeps the key, the body, the message's ID and
// the other headers.
func (r *kafkaReceiver) copyOf(e *kafkaEntry, failed int, notBefore time.Time, why string) *kgo.Record {
	rec := e.rec
	dead := failed >= r.maxReceive
	headers := make([]kgo.RecordHeader, 0, len(rec.Headers)+3)
	for _, h := range rec.Headers {
		switch h.Key {
		case KafkaHeaderDeliveries, KafkaHeaderNotBefore, KafkaHeaderMessageID:
			continue
		case KafkaHeaderDeadLetterFrom, KafkaHeaderDeadLetterReason:
			if dead {
				continue // replaced below
			}
		}
		headers = append(headers, h)
	}
	headers = append(headers, kgo.RecordHeader{Key: KafkaHeaderMessageID, Value: []byte(e.id)})
	if dead {
		headers = append(headers,
			kgo.RecordHeader{Key: KafkaHeaderDeadLetterFrom, Value: []byte(kafkaID(rec))},
			kgo.RecordHeader{Key: KafkaHeaderDeadLetterReason, Value: []byte(why)})
		return &kgo.Record{Topic: r.dlq, Key: rec.Key, Value: rec.Value, Headers: headers}
	}
	if failed > 0 {
		headers = append(headers, kgo.RecordHeader{Key: KafkaHeaderDeliveries, Value: []byte(strconv.Itoa(failed))})
	}
	if !notBefore.IsZero() {
		headers = append(headers, kgo.RecordHeader{Key: KafkaHeaderNotBefore, Value: []byte(notBefore.UTC().Format(time.RFC3339Nano))})
	}
	return &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: headers}
}

// handBack produces, on Close, a copy of every message of the owned
// partitions that is neither acked nor nacked, so that the commit can move
// past all of them: a restart then gets exactly those, with no acked
// message again. The copy does not count the delivery (a shutdown is not
// the message's failure) and keeps a held record's not-before time; a
// delivery whose visibility timeout passed counts as failed, as in expire.
func (r *kafkaReceiver) handBack(ctx context.Context) error {
	r.mu.Lock()
	now := r.now()
	var entries []*kafkaEntry
	var copies []*kgo.Record
	for _, p := range r.parts {
		for _, e := range p.entries {
			var c *kgo.Record
			switch {
			case e.state == kafkaHeld:
				c = r.copyOf(e, e.deliveries-1, e.notBefore, "handed back on Close")
			case e.state == kafkaDelivered && (e.expired || !now.Before(e.deliveredAt.Add(r.visibility))):
				e.expired = true
				c = r.failedCopy(e, time.Time{}, fmt.Sprintf("visibility timeout %s passed on delivery %d of %d (maxReceiveCount)", r.visibility, e.deliveries, r.maxReceive))
			case e.state == kafkaDelivered:
				c = r.copyOf(e, e.deliveries-1, time.Time{}, "handed back on Close")
			default:
				continue
			}
			r.beginSettle(e)
			entries = append(entries, e)
			copies = append(copies, c)
		}
	}
	r.mu.Unlock()
	return r.settle(ctx, entries, copies)
}

// waitSettled waits up to d for the Nacks in flight.
func (r *kafkaReceiver) waitSettled(d time.Duration) {
	r.mu.Lock()
	if r.settling == 0 {
		r.mu.Unlock()
		return
	}
	ch := r.settled
	r.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		r.log.Warn("queue: Nacks still in flight; committing without them")
	}
}

// commit commits, for the owned partitions in which (all when nil), the
// offset of their first record not done. r.commitMu held.
func (r *kafkaReceiver) commit(ctx context.Context, which []int32) error {
	r.mu.Lock()
	offsets := map[int32]kgo.EpochOffset{}
	for id, p := range r.parts {
		if which != nil && !slices.Contains(which, id) {
			continue
		}
		if off, ok := p.commitOffset(); ok && off.Offset > p.committed {
			offsets[id] = off
		}
	}
	r.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}
	topic := r.side.ep.Topic
	var errs []error
	r.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				errs = append(errs, err)
				clear(offsets)
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						errs = append(errs, fmt.Errorf("partition %d: %w", p.Partition, err))
						delete(offsets, p.Partition)
					}
				}
			}
		})
	r.mu.Lock()
	for id, off := range offsets {
		if p := r.parts[id]; p != nil {
			p.committed = max(p.committed, off.Offset)
		}
	}
	r.mu.Unlock()
	if len(errs) > 0 {
		return r.side.wrap(fmt.Sprintf("commit the offsets of group %q", r.side.ep.Group), errors.Join(errs...))
	}
	return nil
}

// commitLoop commits what was acked every commitEvery until Close.
func (r *kafkaReceiver) commitLoop() {
	defer close(r.loopDone)
	t := time.NewTicker(r.commitEvery)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.commitMu.Lock()
		ctx, cancel := context.WithTimeout(r.ctx, kafkaCommitTimeout)
		err := r.commit(ctx, nil)
		cancel()
		r.commitMu.Unlock()
		if err != nil && r.ctx.Err() == nil {
			r.log.Warn("queue commit failed; retrying at the next interval", "err", err)
		}
	}
}

// assigned creates the state of newly assigned partitions.
func (r *kafkaReceiver) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range assigned[r.side.ep.Topic] {
		r.partition(id)
	}
}

// revoked commits what is done in the revoked partitions, after waiting a
// little for the Nacks in flight, and drops their state.
func (r *kafkaReceiver) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	ids := revoked[r.side.ep.Topic]
	if len(ids) == 0 {
		return
	}
	r.waitSettled(kafkaSettleWait)
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaCommitTimeout)
	defer cancel()
	if err := r.commit(ctx, ids); err != nil {
		r.log.Warn("queue commit before giving up partitions failed: their messages since the last commit are delivered again", "partitions", ids, "err", err)
	}
	r.drop(ids, "revoked")
}

// lost drops the state of partitions the group took away without a
// revocation (a session timeout): no commit can succeed for them any more.
func (r *kafkaReceiver) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	ids := lost[r.side.ep.Topic]
	if len(ids) == 0 {
		return
	}
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	r.drop(ids, "lost")
}

func (r *kafkaReceiver) drop(ids []int32, how string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	unsettled := 0
	for _, id := range ids {
		p := r.parts[id]
		if p == nil {
			continue
		}
		p.gone = true
		for _, e := range p.entries {
			if !e.done() {
				unsettled++
			}
		}
		delete(r.parts, id)
	}
	if unsettled > 0 && !r.closed {
		r.log.Info("queue partitions "+how+": their unsettled messages go to another consumer", "partitions", ids, "messages", unsettled)
	}
}

// Close hands back every message neither acked nor nacked (handBack),
// commits, leaves the group (its partitions move on at once) and closes the
// client: a consumer started afterwards gets exactly the messages not acked,
// none twice. When a copy or the commit fails, the messages since the last
// commit are delivered again (at least once).
func (r *kafkaReceiver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	<-r.loopDone
	r.recvMu.Lock() // Receive has returned
	defer r.recvMu.Unlock()
	r.waitSettled(kafkaSettleWait)

	hctx, hcancel := context.WithTimeout(context.Background(), kafkaCommitTimeout)
	err := r.handBack(hctx)
	hcancel()
	cctx, ccancel := context.WithTimeout(context.Background(), kafkaCommitTimeout)
	r.commitMu.Lock()
	err = errors.Join(err, r.commit(cctx, nil))
	r.commitMu.Unlock()
	ccancel()
	r.cl.AllowRebalance()
	lctx, lcancel := context.WithTimeout(context.Background(), kafkaCommitTimeout)
	defer lcancel()
	if lerr := r.cl.LeaveGroupContext(lctx); lerr != nil {
		r.log.Warn("queue: leaving the consumer group", "group", r.side.ep.Group, "err", lerr)
	}
	r.cl.Close()
	if err != nil {
		return fmt.Errorf("%w (the messages since the last commit are delivered again)", err)
	}
	return nil
}
