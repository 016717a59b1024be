package signup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Event stream timing.
const (
	// eventBatch is how many events are read from the store at a time.
	eventBatch = 200
	// eventPoll is how often the store is read for events other replicas
	// wrote (this process's own wake the stream at once).
	eventPoll = time.Second
	// keepaliveEvery sends a comment on a quiet stream so that proxies and
	// clients do not time it out.
	keepaliveEvery = 15 * time.Second
	// streamWriteTimeout bounds each write: a client that stops reading is
	// dropped instead of holding the handler.
	streamWriteTimeout = 30 * time.Second
)

// events serves GET /v1/tenants/{id}/events as Server-Sent Events: the
// tenant's events after Last-Event-ID (or ?after=, else from the start),
// then new ones as they are recorded, until the tenant is settled and its
// events up to then are sent, or the request ends.
func (a *api) events(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	after, err := streamStart(x)
	if err != nil {
		return err
	}
	if _, err := a.svc.Get(x.r.Context(), id); err != nil {
		return err
	}
	a.streamEvents(x, "tenant "+id, after,
		func(ctx context.Context) (bool, error) {
			t, err := a.svc.Get(ctx, id)
			return t.State.Settled(), err
		},
		func(ctx context.Context, after int64) ([]sseEvent, error) {
			evs, err := a.svc.Events(ctx, id, after, eventBatch)
			out := make([]sseEvent, len(evs))
			for i, e := range evs {
				out[i] = sseEvent{seq: e.Seq, typ: e.Type, v: e}
			}
			return out, err
		})
	return nil
}

// streamStart is where a stream starts: after the Last-Event-ID header's
// event, else after the ?after= one, else at the start.
func streamStart(x *exchange) (int64, error) {
	q, err := queryParams(x.r, "after")
	if err != nil {
		return 0, err
	}
	var after int64
	if v := x.r.Header.Get("Last-Event-ID"); v != "" {
		if after, err = parseSeq(v); err != nil {
			return 0, newProblem(http.StatusBadRequest, "Last-Event-ID", "Last-Event-ID must be the id (a sequence number) of an event of this stream")
		}
	} else if v, ok := q["after"]; ok {
		if after, err = parseSeq(v); err != nil {
			return 0, newProblem(http.StatusBadRequest, "after", "after must be an event sequence number (0 or more)")
		}
	}
	return after, nil
}

func parseSeq(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n < 0 {
		err = errors.New("negative")
	}
	return n, err
}

// sseEvent is one event of a stream: its sequence number (the SSE id), its
// type (the SSE event name) and what its data is the JSON of.
type sseEvent struct {
	seq int64
	typ string
	v   any
}

// streamEvents writes an event stream: the events page reads after the
// last one sent, until done says the subject is finished (read before its
// events, so every event up to then is sent) or the request ends. Once the
// 200 is sent, failures end the stream (they are logged) instead of
// answering with a problem.
func (a *api) streamEvents(x *exchange, subject string, after int64,
	done func(context.Context) (bool, error), page func(context.Context, int64) ([]sseEvent, error)) {
	ctx := x.r.Context()
	rc := http.NewResponseController(x.w)
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	x.w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		a.log.Error("event stream: the response cannot be flushed", "request_id", requestID(ctx), "error", err.Error())
		return
	}
	fail := func(what string, err error) {
		if ctx.Err() == nil {
			a.log.Warn("event stream ended", "subject", subject, "request_id", requestID(ctx), "while", what, "error", err.Error())
		}
	}

	poll := time.NewTicker(eventPoll)
	defer poll.Stop()
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	for {
		// Take the wake-up channel first, then read the state, then the
		// events: an event recorded after the read wakes the next wait, and
		// every event up to a finished state is read after it.
		changed := a.svc.EventsChanged()
		if x.allowed != nil && !x.allowed() {
			return
		}
		finished, err := done(ctx)
		if err != nil {
			fail("read the state", err)
			return
		}
		for {
			evs, err := page(ctx, after)
			if err != nil {
				fail("read events", err)
				return
			}
			if len(evs) == 0 {
				break
			}
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			for _, e := range evs {
				if err := writeEvent(x.w, e); err != nil {
					fail("write an event", err)
					return
				}
				after = e.seq
			}
			if err := rc.Flush(); err != nil {
				fail("flush events", err)
				return
			}
			if len(evs) < eventBatch {
				break
			}
		}
		if finished {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-poll.C:
		case <-keepalive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := x.w.Write([]byte(": keepalive\n\n")); err != nil {
				fail("write a keepalive", err)
				return
			}
			if err := rc.Flush(); err != nil {
				fail("flush a keepalive", err)
				return
			}
		}
	}
}

// writeEvent writes e as one SSE event: its seq as the id, its type as the
// event name, its JSON as the data.
func writeEvent(w http.ResponseWriter, e sseEvent) error {
	data, err := json.Marshal(e.v)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("id: " + strconv.FormatInt(e.seq, 10) + "\n")
	b.WriteString("event: " + strings.NewReplacer("\r", "", "\n", "").Replace(e.typ) + "\n")
	// json.Marshal output has no newline; split anyway so that a data
	// line can never end the event early.
	for _, line := range bytes.Split(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteString("\n")
	}
	b.WriteString("\n")
	_, err = w.Write(b.Bytes())
	return err
}
