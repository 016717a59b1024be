package localcloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// queues manages work queues: a work-queue stream, its durable pull
// consumer "worker" and its dead-letter stream.
type queues struct {
	nats  *natsServer
	state *stateStore
}

func (q *queues) describe(name string, info *jetstream.StreamInfo) Queue {
	return Queue{
		Name: name,
		URL: fmt.Sprintf("%s?stream=%s&subject=%s&consumer=%s",
			q.nats.url(), queueStream(name), queueSubject(name), workerConsumer),
		DeadLetterURL: fmt.Sprintf("%s?stream=%s&subject=%s",
			q.nats.url(), deadLetterStream(name), deadLetterSubject(name)),
		Topics: sourcedTopics(info),
	}
}

// sourcedTopics are the topics whose streams a queue stream sources.
func sourcedTopics(info *jetstream.StreamInfo) []string {
	if info == nil {
		return nil
	}
	var topics []string
	for _, src := range info.Config.Sources {
		if src == nil || !strings.HasPrefix(src.Name, "T_") {
			continue
		}
		topics = append(topics, strings.TrimPrefix(src.Name, "T_"))
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}

// ownStream returns the stream's info when it exists and belongs to the
// resource (metadata key = name); nil when absent; a conflict when it
// belongs to another resource whose name folds to the same stream name.
func (n *natsServer) ownStream(ctx context.Context, stream, key, name string) (*jetstream.StreamInfo, error) {
	info, err := n.stream(ctx, stream)
	if err != nil || info == nil {
		return nil, err
	}
	if owner := info.Config.Metadata[key]; owner != name {
		return nil, conflict("stream %s belongs to %q, not %q: choose a name that differs in more than '-' and '_'", stream, owner, name)
	}
	return info, nil
}

func (q *queues) put(ctx context.Context, spec QueueSpec) (Queue, error) {
	if err := validateQueueSpec(spec); err != nil {
		return Queue{}, err
	}
	q.nats.mu.Lock()
	defer q.nats.mu.Unlock()
	info, err := q.converge(ctx, spec)
	if err != nil {
		return Queue{}, fmt.Errorf("put queue %q: %w", spec.Name, err)
	}
	if err := q.state.update(func(st *desiredState) error {
		st.Queues[spec.Name] = spec
		return nil
	}); err != nil {
		return Queue{}, fmt.Errorf("put queue %q: %w", spec.Name, err)
	}
	return q.describe(spec.Name, info), nil
}

// converge creates or updates the queue's streams and consumer, keeping the
// queue stream's sources (its subscriptions) as they are.
func (q *queues) converge(ctx context.Context, spec QueueSpec) (*jetstream.StreamInfo, error) {
	name := spec.Name
	work, err := q.nats.ownStream(ctx, queueStream(name), metaQueue, name)
	if err != nil {
		return nil, err
	}
	dead, err := q.nats.ownStream(ctx, deadLetterStream(name), metaQueue, name)
	if err != nil {
		return nil, err
	}

	maxAge := time.Duration(spec.RetentionSeconds) * time.Second
	var stream jetstream.Stream
	if work == nil {
		stream, err = q.nats.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:      queueStream(name),
			Subjects:  []string{queueSubject(name)},
			Retention: jetstream.WorkQueuePolicy,
			Storage:   jetstream.FileStorage,
			MaxAge:    maxAge,
			Metadata:  map[string]string{metaQueue: name},
		})
	} else {
		cfg := work.Config
		cfg.Subjects = []string{queueSubject(name)}
		cfg.MaxAge = maxAge
		stream, err = q.nats.js.UpdateStream(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("create or update stream %s: %w", queueStream(name), err)
	}

	deadCfg := jetstream.StreamConfig{
		Name:      deadLetterStream(name),
		Subjects:  []string{deadLetterSubject(name)},
		Retention: jetstream.LimitsPolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    deadLetterAge,
		Metadata:  map[string]string{metaQueue: name},
	}
	if dead == nil {
		_, err = q.nats.js.CreateStream(ctx, deadCfg)
	} else {
		cfg := dead.Config
		cfg.Subjects, cfg.MaxAge = deadCfg.Subjects, deadCfg.MaxAge
		_, err = q.nats.js.UpdateStream(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("create or update stream %s: %w", deadLetterStream(name), err)
	}

	_, err = stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       workerConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver:    spec.MaxDeliver,
		AckWait:       time.Duration(spec.AckWaitSeconds) * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("create or update consumer %s on %s: %w", workerConsumer, queueStream(name), err)
	}
	return stream.CachedInfo(), nil
}

// get reports the queue; it is absent (drift) when its stream, its
// dead-letter stream or its consumer is gone.
func (q *queues) get(ctx context.Context, name string) (Queue, error) {
	if err := validateName("name", name); err != nil {
		return Queue{}, err
	}
	info, err := q.nats.ownStream(ctx, queueStream(name), metaQueue, name)
	if err != nil {
		return Queue{}, fmt.Errorf("get queue %q: %w", name, asNotFound(err, "queue", name))
	}
	dead, err := q.nats.ownStream(ctx, deadLetterStream(name), metaQueue, name)
	if err != nil {
		return Queue{}, fmt.Errorf("get queue %q: %w", name, asNotFound(err, "queue", name))
	}
	if info == nil || dead == nil {
		return Queue{}, notFound("queue", name)
	}
	_, err = q.nats.js.Consumer(ctx, queueStream(name), workerConsumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return Queue{}, notFound("queue", name)
	}
	if err != nil {
		return Queue{}, fmt.Errorf("get queue %q: look up consumer: %w", name, err)
	}
	return q.describe(name, info), nil
}

// asNotFound turns "the stream belongs to another queue" into "this queue
// does not exist" for reads.
func asNotFound(err error, kind, name string) error {
	if statusOf(err) == 409 {
		return notFound(kind, name)
	}
	return err
}

// delete removes the queue's streams (and so its consumer and the sources
// of its subscriptions) and forgets its subscriptions.
func (q *queues) delete(ctx context.Context, name string) error {
	if err := validateName("name", name); err != nil {
		return err
	}
	q.nats.mu.Lock()
	defer q.nats.mu.Unlock()
	for _, stream := range []string{queueStream(name), deadLetterStream(name)} {
		info, err := q.nats.ownStream(ctx, stream, metaQueue, name)
		if statusOf(err) == 409 {
			continue // another queue's stream: this queue is absent
		}
		if err != nil {
			return fmt.Errorf("delete queue %q: %w", name, err)
		}
		if info == nil {
			continue
		}
		if err := q.nats.deleteStream(ctx, stream); err != nil {
			return fmt.Errorf("delete queue %q: %w", name, err)
		}
	}
	if err := q.state.update(func(st *desiredState) error {
		delete(st.Queues, name)
		for sub, spec := range st.Subscriptions {
			if spec.Queue == name {
				delete(st.Subscriptions, sub)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("delete queue %q: %w", name, err)
	}
	return nil
}
