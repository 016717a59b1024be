package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tenantfleet/tenantfleet/queue"
)

// Message is the queue package's, as the worker gets it.
type Message = queue.Message

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// envMap is a getenv over a map.
func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func fullEnv() map[string]string {
	return map[string]string{
		envTenantID:         "acme",
		envCloud:            "local",
		envStack:            "dev",
		envWorkload:         "web",
		envImage:            "registry.example.com/tenant-app:1.4.2",
		envDatabaseHost:     "127.0.0.1",
		envDatabasePort:     "5432",
		envDatabaseName:     "acme",
		envDatabaseUser:     "acme",
		envDatabasePassword: "s3cr3t-'pass\\word",
		envDatabaseSSLMode:  "disable",
		envQueueURL:         "nats://127.0.0.1:4222?stream=acme&subject=queue.acme&consumer=worker",
		envDeadLetterURL:    "nats://127.0.0.1:4222?stream=acme-dlq&subject=dlq.acme&consumer=worker",
		envPort:             "8080",
	}
}

// memStore is an in-memory Store.
type memStore struct {
	mu     sync.Mutex
	events []Event // oldest first
	err    error   // returned by every call when set
}

func (s *memStore) setErr(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func (s *memStore) Ping(context.Context) error { s.mu.Lock(); defer s.mu.Unlock(); return s.err }

func (s *memStore) Insert(_ context.Context, subject, body string, attrs map[string]string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	raw, _ := json.Marshal(attrs)
	id := int64(len(s.events) + 1)
	s.events = append(s.events, Event{ID: id, ReceivedAt: time.Now(), Subject: subject, Body: body, Attributes: raw})
	return id, nil
}

func (s *memStore) Count(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	return int64(len(s.events)), nil
}

func (s *memStore) Recent(_ context.Context, limit int) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var out []Event
	for i := len(s.events) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.events[i])
	}
	return out, nil
}

func (s *memStore) all() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// fakeQueue is a scripted queue.Receiver and queue.Sender: Receive hands
// out the batches in order, then waits.
type fakeQueue struct {
	mu        sync.Mutex
	batches   [][]Message
	acked     []string
	naked     []string
	nakDelays []time.Duration
	published []published
	ackErr    error
}

type published struct {
	body    string
	headers map[string]string
}

func (q *fakeQueue) Receive(ctx context.Context, _ int, wait time.Duration) ([]Message, error) {
	q.mu.Lock()
	if len(q.batches) > 0 {
		b := q.batches[0]
		q.batches = q.batches[1:]
		q.mu.Unlock()
		return b, nil
	}
	q.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
	return nil, nil
}

func (q *fakeQueue) Ack(_ context.Context, m Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ackErr != nil {
		return q.ackErr
	}
	q.acked = append(q.acked, m.ID)
	return nil
}

func (q *fakeQueue) Nack(_ context.Context, m Message, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.naked = append(q.naked, m.ID)
	q.nakDelays = append(q.nakDelays, d)
	return nil
}

func (q *fakeQueue) Send(_ context.Context, m queue.Outgoing) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if string(m.Body) == "publish-error" {
		return "", errors.New("boom")
	}
	q.published = append(q.published, published{string(m.Body), m.Attributes})
	return "42", nil
}

func (q *fakeQueue) Close() error { return nil }

func (q *fakeQueue) snapshot() (acked, naked []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.acked...), append([]string(nil), q.naked...)
}
