package main

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestAckNakDecision(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		headers map[string]string
		nak     bool
	}{
		{nil, false},
		{map[string]string{"Other": "x"}, false},
		{map[string]string{failHeader: "always"}, true},
		{map[string]string{"tenantfleet-fail": " Always "}, true},
		{map[string]string{failHeader: "sometimes"}, false},
		{map[string]string{failHeader: ""}, false},
	} {
		if got := wantsFailure(Message{Attributes: tc.headers}); got != tc.nak {
			t.Errorf("%v: nak = %v, want %v", tc.headers, got, tc.nak)
		}
	}
}

func TestHandleMessage(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	s, q := &memStore{}, &fakeQueue{}

	ok := Message{ID: "1", Subject: "queue.acme", Body: []byte("hello\x00\xff"), Attributes: map[string]string{"Trace": "a, b\x00"}, Deliveries: 1}
	if got := handleMessage(ctx, q, s, ok, quietLog()); got != outcomeAcked {
		t.Errorf("normal message: outcome %v", got)
	}
	evs := s.all()
	if len(evs) != 1 || evs[0].Subject != "queue.acme" || evs[0].Body != "hello\x00\xff" || string(evs[0].Attributes) != "{\"Trace\":\"a, b\uFFFD\"}" {
		t.Errorf("stored %+v", evs)
	}

	fail := Message{ID: "2", Subject: "queue.acme", Body: []byte("x"), Attributes: map[string]string{failHeader: "always"}, Deliveries: 3}
	if got := handleMessage(ctx, q, s, fail, quietLog()); got != outcomeRefused {
		t.Errorf("always-fail message: outcome %v", got)
	}
	if len(s.all()) != 1 {
		t.Error("an always-fail message was stored")
	}

	s.setErr(errors.New("db down"))
	if got := handleMessage(ctx, q, s, Message{ID: "3", Deliveries: 2}, quietLog()); got != outcomeStoreFailed {
		t.Errorf("store error: outcome %v", got)
	}
	s.setErr(nil)
	q.ackErr = errors.New("ack lost")
	if got := handleMessage(ctx, q, s, Message{ID: "4", Deliveries: 1}, quietLog()); got != outcomeAckFailed {
		t.Errorf("ack error: outcome %v", got)
	}

	acked, naked := q.snapshot()
	if !slices.Equal(acked, []string{"1"}) || !slices.Equal(naked, []string{"2", "3"}) {
		t.Errorf("acked %v, naked %v", acked, naked)
	}
	if !slices.Equal(q.nakDelays, []time.Duration{0, 10 * time.Second}) {
		t.Errorf("nak delays %v: want none for a refusal, a backoff for a store error", q.nakDelays)
	}
}

func TestPGText(t *testing.T) {
	t.Parallel()

	if got := pgText("a\x00b\xffc"); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("pgText = %q", got)
	}
}

func TestStoreRetryDelay(t *testing.T) {
	t.Parallel()

	for n, want := range map[int]time.Duration{0: 5 * time.Second, 1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 10: 2 * time.Minute, 1000: 2 * time.Minute} {
		if got := storeRetryDelay(n); got != want {
			t.Errorf("storeRetryDelay(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestRunWorkerStopsReceivingWhileDatabaseIsDown(t *testing.T) {
	t.Parallel()

	s := &memStore{}
	s.setErr(errors.New("db down"))
	q := &fakeQueue{batches: [][]Message{{{ID: "a"}, {ID: "b"}, {ID: "c"}}, {{ID: "d"}}}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	o := workerOptions{Batch: 10, Wait: 10 * time.Millisecond, Handle: time.Second, Backoff: 10 * time.Millisecond}
	go func() { done <- runWorker(ctx, q, s, quietLog(), o) }()

	// "a" fails to store; "b" and "c" are handed back untried, and no more
	// is received while the database is down.
	waitFor(t, func() bool { _, n := q.snapshot(); return len(n) == 3 })
	time.Sleep(50 * time.Millisecond)
	if _, naked := q.snapshot(); !slices.Equal(naked, []string{"a", "b", "c"}) {
		t.Errorf("naked %v", naked)
	}
	// Back up: "d" is received and stored.
	s.setErr(nil)
	waitFor(t, func() bool { a, _ := q.snapshot(); return len(a) == 1 })
	if acked, _ := q.snapshot(); acked[0] != "d" {
		t.Errorf("acked %v", acked)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
