package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/tenantfleet/tenantfleet/queue"
)

// failHeader makes the worker refuse a message on every delivery, so the
// cloud dead-letters it after its maximum delivery count: a way to watch the
// dead-letter path work.
const failHeader = "Tenantfleet-Fail"

type outcome int

const (
	outcomeAcked       outcome = iota // stored and acked
	outcomeRefused                    // Tenantfleet-Fail: always: nacked, not stored
	outcomeStoreFailed                // the database failed: nacked with a delay
	outcomeAckFailed                  // stored, but the ack failed: it will come back (at least once)
)

// wantsFailure is the worker's ack/nack decision: true means nack.
func wantsFailure(m queue.Message) bool {
	return strings.EqualFold(strings.TrimSpace(m.Attribute(failHeader)), "always")
}

// storeRetryDelay spaces out redeliveries while the database is failing, so
// a short outage does not exhaust a message's deliveries.
func storeRetryDelay(deliveries int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < deliveries && d < 2*time.Minute; i++ {
		d *= 2
	}
	return min(d, 2*time.Minute)
}

// handleMessage processes one delivery and logs one line about it (id and
// subject, never the body).
func handleMessage(ctx context.Context, q queue.Receiver, store Store, m queue.Message, log *slog.Logger) outcome {
	l := log.With("id", m.ID, "subject", m.Subject, "delivery", m.Deliveries)
	if wantsFailure(m) {
		if err := q.Nack(ctx, m, 0); err != nil {
			l.Warn("message refused (Tenantfleet-Fail: always); nack failed", "err", err)
		} else {
			l.Info("message refused (Tenantfleet-Fail: always); nacked for redelivery")
		}
		return outcomeRefused
	}
	event, err := store.Insert(ctx, m.Subject, string(m.Body), cleanAttributes(m.Attributes))
	if err != nil {
		delay := storeRetryDelay(m.Deliveries)
		if nerr := q.Nack(ctx, m, delay); nerr != nil {
			l.Warn("storing message failed; nack failed", "err", err, "nackErr", nerr)
		} else {
			l.Warn("storing message failed; nacked", "err", err, "retryIn", delay.String())
		}
		return outcomeStoreFailed
	}
	if err := q.Ack(ctx, m); err != nil {
		l.Warn("message stored; ack failed (it may be delivered again)", "event", event, "err", err)
		return outcomeAckFailed
	}
	l.Info("message stored", "event", event)
	return outcomeAcked
}

// cleanAttributes makes message attributes storable as the
// events.attributes object (see pgText).
func cleanAttributes(attrs map[string]string) map[string]string {
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		out[pgText(k)] = pgText(v)
	}
	return out
}

type workerOptions struct {
	Batch   int           // messages per receive
	Wait    time.Duration // how long one receive waits
	Handle  time.Duration // time limit for one message
	Backoff time.Duration // first pause after an error (doubles up to 30s)
}

func defaultWorkerOptions() workerOptions {
	return workerOptions{Batch: 10, Wait: 5 * time.Second, Handle: 15 * time.Second, Backoff: time.Second}
}

// runWorker receives and handles messages until ctx ends. A message being
// handled when ctx ends is finished; the rest of its batch is handed back.
// While the database fails it stops receiving (each delivery counts toward
// the dead-letter limit) and pings until the database is back.
func runWorker(ctx context.Context, q queue.Receiver, store Store, log *slog.Logger, o workerOptions) error {
	backoff := o.Backoff
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	dbDown := false
	log.Info("worker started")
	for ctx.Err() == nil {
		if dbDown {
			pctx, cancel := context.WithTimeout(ctx, o.Handle)
			err := store.Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("database unavailable; not receiving", "err", err)
					pause()
				}
				continue
			}
			log.Info("database available again")
			dbDown = false
			backoff = o.Backoff
		}
		msgs, err := q.Receive(ctx, o.Batch, o.Wait)
		if err != nil && ctx.Err() == nil {
			log.Warn("receiving messages failed", "err", err)
			pause()
		} else if err == nil {
			backoff = o.Backoff
		}
		for i, m := range msgs {
			if ctx.Err() != nil || dbDown {
				// Not attempted: hand back (at once when shutting down, later
				// when the database is down).
				for _, rest := range msgs[i:] {
					delay := time.Duration(0)
					if dbDown && ctx.Err() == nil {
						delay = storeRetryDelay(rest.Deliveries)
					}
					_ = q.Nack(context.WithoutCancel(ctx), rest, delay)
				}
				break
			}
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Handle)
			if handleMessage(hctx, q, store, m, log) == outcomeStoreFailed {
				dbDown = true
			}
			cancel()
		}
	}
	log.Info("worker stopped")
	return nil
}
