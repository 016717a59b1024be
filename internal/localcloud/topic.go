package localcloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// topics manages fanout topics (a stream each) and subscriptions (a source
// of the topic stream in the queue stream).
type topics struct {
	nats  *natsServer
	state *stateStore
}

func (t *topics) describe(name string) Topic {
	return Topic{
		Name: name,
		URL:  fmt.Sprintf("%s?stream=%s&subject=%s", t.nats.url(), topicStream(name), topicSubject(name)),
	}
}

func (t *topics) put(ctx context.Context, spec TopicSpec) (Topic, error) {
	if err := validateTopicSpec(spec); err != nil {
		return Topic{}, err
	}
	name := spec.Name
	t.nats.mu.Lock()
	defer t.nats.mu.Unlock()
	info, err := t.nats.ownStream(ctx, topicStream(name), metaTopic, name)
	if err != nil {
		return Topic{}, fmt.Errorf("put topic %q: %w", name, err)
	}
	cfg := jetstream.StreamConfig{
		Name:      topicStream(name),
		Subjects:  []string{topicSubject(name)},
		Retention: jetstream.LimitsPolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    topicMaxAge,
		Metadata:  map[string]string{metaTopic: name},
	}
	if info == nil {
		_, err = t.nats.js.CreateStream(ctx, cfg)
	} else {
		existing := info.Config
		existing.Subjects, existing.MaxAge = cfg.Subjects, cfg.MaxAge
		_, err = t.nats.js.UpdateStream(ctx, existing)
	}
	if err != nil {
		return Topic{}, fmt.Errorf("put topic %q: create or update stream %s: %w", name, topicStream(name), err)
	}
	if err := t.state.update(func(st *desiredState) error {
		st.Topics[name] = spec
		return nil
	}); err != nil {
		return Topic{}, fmt.Errorf("put topic %q: %w", name, err)
	}
	return t.describe(name), nil
}

func (t *topics) get(ctx context.Context, name string) (Topic, error) {
	if err := validateName("name", name); err != nil {
		return Topic{}, err
	}
	info, err := t.nats.ownStream(ctx, topicStream(name), metaTopic, name)
	if err != nil {
		return Topic{}, fmt.Errorf("get topic %q: %w", name, asNotFound(err, "topic", name))
	}
	if info == nil {
		return Topic{}, notFound("topic", name)
	}
	return t.describe(name), nil
}

// delete removes the topic's stream after removing it as a source from
// every queue stream, and forgets its subscriptions.
func (t *topics) delete(ctx context.Context, name string) error {
	if err := validateName("name", name); err != nil {
		return err
	}
	t.nats.mu.Lock()
	defer t.nats.mu.Unlock()
	lister := t.nats.js.ListStreams(ctx)
	var sourcing []string
	for info := range lister.Info() {
		if slices.Contains(sourcedTopics(info), name) {
			sourcing = append(sourcing, info.Config.Name)
		}
	}
	if err := lister.Err(); err != nil {
		return fmt.Errorf("delete topic %q: list streams: %w", name, err)
	}
	for _, stream := range sourcing {
		if err := t.nats.removeSource(ctx, stream, name); err != nil {
			return fmt.Errorf("delete topic %q: %w", name, err)
		}
	}
	info, err := t.nats.ownStream(ctx, topicStream(name), metaTopic, name)
	if err != nil && statusOf(err) != 409 {
		return fmt.Errorf("delete topic %q: %w", name, err)
	}
	if info != nil {
		if err := t.nats.deleteStream(ctx, topicStream(name)); err != nil {
			return fmt.Errorf("delete topic %q: %w", name, err)
		}
	}
	if err := t.state.update(func(st *desiredState) error {
		delete(st.Topics, name)
		for sub, spec := range st.Subscriptions {
			if spec.Topic == name {
				delete(st.Subscriptions, sub)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("delete topic %q: %w", name, err)
	}
	return nil
}

// putSubscription makes the queue stream source the topic stream, with
// the topic's subject rewritten to the queue's (a work-queue stream only
// takes its own subjects). A new source starts at the current time: like
// a new subscriber, the queue gets what is published from now on.
func (t *topics) putSubscription(ctx context.Context, spec SubscriptionSpec) (Subscription, error) {
	if err := validateSubscriptionSpec(spec); err != nil {
		return Subscription{}, err
	}
	t.nats.mu.Lock()
	defer t.nats.mu.Unlock()
	if err := t.convergeSubscription(ctx, spec); err != nil {
		return Subscription{}, fmt.Errorf("put subscription %q: %w", spec.Name, err)
	}
	if err := t.state.update(func(st *desiredState) error {
		st.Subscriptions[spec.Name] = spec
		return nil
	}); err != nil {
		return Subscription{}, fmt.Errorf("put subscription %q: %w", spec.Name, err)
	}
	return spec, nil
}

func (t *topics) convergeSubscription(ctx context.Context, spec SubscriptionSpec) error {
	topicInfo, err := t.nats.ownStream(ctx, topicStream(spec.Topic), metaTopic, spec.Topic)
	if err != nil && statusOf(err) != 409 {
		return err
	}
	if topicInfo == nil {
		return badRequest("topic", "no topic named %q", spec.Topic)
	}
	queueInfo, err := t.nats.ownStream(ctx, queueStream(spec.Queue), metaQueue, spec.Queue)
	if err != nil && statusOf(err) != 409 {
		return err
	}
	if queueInfo == nil {
		return badRequest("queue", "no queue named %q", spec.Queue)
	}

	var prior SubscriptionSpec
	var hadPrior bool
	var other string
	t.state.read(func(st *desiredState) {
		prior, hadPrior = st.Subscriptions[spec.Name]
		for name, s := range st.Subscriptions {
			if name != spec.Name && s.Topic == spec.Topic && s.Queue == spec.Queue {
				other = name
			}
		}
	})
	if other != "" {
		return conflict("subscription %q already delivers topic %q into queue %q", other, spec.Topic, spec.Queue)
	}
	if hadPrior && (prior.Topic != spec.Topic || prior.Queue != spec.Queue) {
		if err := t.nats.removeSource(ctx, queueStream(prior.Queue), prior.Topic); err != nil {
			return fmt.Errorf("move from topic %q / queue %q: %w", prior.Topic, prior.Queue, err)
		}
	}

	if slices.Contains(sourcedTopics(queueInfo), spec.Topic) {
		return nil
	}
	start := time.Now().UTC()
	cfg := queueInfo.Config
	cfg.Sources = append(slices.Clone(cfg.Sources), &jetstream.StreamSource{
		Name:         topicStream(spec.Topic),
		OptStartTime: &start,
		SubjectTransforms: []jetstream.SubjectTransformConfig{{
			Source:      topicSubject(spec.Topic),
			Destination: queueSubject(spec.Queue),
		}},
	})
	stream, err := t.nats.js.UpdateStream(ctx, cfg)
	if err != nil {
		return fmt.Errorf("add topic %q as a source of stream %s: %w", spec.Topic, cfg.Name, err)
	}
	return waitSourceActive(ctx, stream, topicStream(spec.Topic))
}

// sourceSetupTimeout bounds the wait for a new source to be set up.
const sourceSetupTimeout = 30 * time.Second

// waitSourceActive waits until the server has set up its consumer of a new
// source. The server does that asynchronously, and it starts a source no
// earlier than the time of the newest message in the sourcing stream: were
// another source of the queue to store a message first, messages published
// to this topic just before would be skipped. Once the consumer exists,
// its starting point is fixed.
func waitSourceActive(ctx context.Context, stream jetstream.Stream, source string) error {
	ctx, cancel := context.WithTimeout(ctx, sourceSetupTimeout)
	defer cancel()
	for {
		info, err := stream.Info(ctx)
		if err != nil {
			return fmt.Errorf("wait for source %s of stream %s: %w", source, stream.CachedInfo().Config.Name, err)
		}
		for _, src := range info.Sources {
			if src != nil && src.Name == source && src.Active >= 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("source %s of stream %s was not set up within %s", source, info.Config.Name, sourceSetupTimeout)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// getSubscription reports the subscription; it is absent (drift) when its
// topic or queue stream is gone or the queue no longer sources the topic.
func (t *topics) getSubscription(ctx context.Context, name string) (Subscription, error) {
	if err := validateName("name", name); err != nil {
		return Subscription{}, err
	}
	var spec SubscriptionSpec
	var ok bool
	t.state.read(func(st *desiredState) { spec, ok = st.Subscriptions[name] })
	if !ok {
		return Subscription{}, notFound("subscription", name)
	}
	topicInfo, err := t.nats.ownStream(ctx, topicStream(spec.Topic), metaTopic, spec.Topic)
	if err != nil && statusOf(err) != 409 {
		return Subscription{}, fmt.Errorf("get subscription %q: %w", name, err)
	}
	queueInfo, err := t.nats.ownStream(ctx, queueStream(spec.Queue), metaQueue, spec.Queue)
	if err != nil && statusOf(err) != 409 {
		return Subscription{}, fmt.Errorf("get subscription %q: %w", name, err)
	}
	if topicInfo == nil || queueInfo == nil || !slices.Contains(sourcedTopics(queueInfo), spec.Topic) {
		return Subscription{}, notFound("subscription", name)
	}
	return spec, nil
}

func (t *topics) deleteSubscription(ctx context.Context, name string) error {
	if err := validateName("name", name); err != nil {
		return err
	}
	t.nats.mu.Lock()
	defer t.nats.mu.Unlock()
	var spec SubscriptionSpec
	var ok bool
	t.state.read(func(st *desiredState) { spec, ok = st.Subscriptions[name] })
	if !ok {
		return nil
	}
	if err := t.nats.removeSource(ctx, queueStream(spec.Queue), spec.Topic); err != nil {
		return fmt.Errorf("delete subscription %q: %w", name, err)
	}
	if err := t.state.update(func(st *desiredState) error {
		delete(st.Subscriptions, name)
		return nil
	}); err != nil {
		return fmt.Errorf("delete subscription %q: %w", name, err)
	}
	return nil
}

// removeSource stops stream from sourcing the topic; an absent stream or
// source is fine.
func (n *natsServer) removeSource(ctx context.Context, stream, topic string) error {
	s, err := n.js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up stream %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	kept := slices.DeleteFunc(slices.Clone(cfg.Sources), func(src *jetstream.StreamSource) bool {
		return src != nil && src.Name == topicStream(topic)
	})
	if len(kept) == len(cfg.Sources) {
		return nil
	}
	cfg.Sources = kept
	if _, err := n.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("remove topic %q as a source of stream %s: %w", topic, stream, err)
	}
	return nil
}
