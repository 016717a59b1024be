package localprovider

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Subscription delivers every message published to a topic into a queue,
// once: the queue's stream sources the topic's stream. It is also the local
// cloud's only access rule: nothing else writes into a queue stream.
type Subscription struct{ rt *runtime }

// SubscriptionArgs are a Subscription's inputs. Its state is its inputs.
type SubscriptionArgs struct {
	Name  string `pulumi:"name" provider:"replaceOnChanges"`
	Topic string `pulumi:"topic" provider:"replaceOnChanges"`
	Queue string `pulumi:"queue" provider:"replaceOnChanges"`
	Tags  Tags   `pulumi:"tags,optional"`
}

// Annotate documents the resource in the schema.
func (s *Subscription) Annotate(a infer.Annotator) {
	a.Describe(s, "Delivers every message of a topic into a queue, once.")
}

// Annotate documents the inputs.
func (a *SubscriptionArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "The subscription name.")
	an.Describe(&a.Topic, "The topic's name. Changing it replaces the subscription.")
	an.Describe(&a.Queue, "The queue's name. Changing it replaces the subscription.")
	an.Describe(&a.Tags, "Ownership tags, recorded in the state only.")
}

// Check validates the inputs.
func (*Subscription) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[SubscriptionArgs], error) {
	return check(ctx, req, func(c *checker, in SubscriptionArgs) {
		c.name("name", in.Name)
		c.name("topic", in.Topic)
		c.name("queue", in.Queue)
	})
}

// Create creates the subscription.
func (s *Subscription) Create(ctx context.Context, req infer.CreateRequest[SubscriptionArgs]) (infer.CreateResponse[SubscriptionArgs], error) {
	if req.DryRun {
		return infer.CreateResponse[SubscriptionArgs]{ID: req.Inputs.Name, Output: req.Inputs}, nil
	}
	state, err := s.put(ctx, req.Inputs)
	if err != nil {
		return infer.CreateResponse[SubscriptionArgs]{}, err
	}
	return infer.CreateResponse[SubscriptionArgs]{ID: req.Inputs.Name, Output: state}, nil
}

// Update re-asserts the subscription (only its tags can have changed).
func (s *Subscription) Update(ctx context.Context, req infer.UpdateRequest[SubscriptionArgs, SubscriptionArgs]) (infer.UpdateResponse[SubscriptionArgs], error) {
	if req.DryRun {
		return infer.UpdateResponse[SubscriptionArgs]{Output: req.Inputs}, nil
	}
	state, err := s.put(ctx, req.Inputs)
	return infer.UpdateResponse[SubscriptionArgs]{Output: state}, err
}

func (s *Subscription) put(ctx context.Context, in SubscriptionArgs) (SubscriptionArgs, error) {
	var got localcloud.Subscription
	err := s.rt.call(ctx, func(api localcloud.API) (err error) {
		got, err = api.PutSubscription(ctx, localcloud.SubscriptionSpec{Name: in.Name, Topic: in.Topic, Queue: in.Queue})
		return err
	})
	if err != nil {
		return SubscriptionArgs{}, fmt.Errorf("put subscription %q (topic %q into queue %q): %w", in.Name, in.Topic, in.Queue, err)
	}
	slog.Info("subscription ready", "name", got.Name, "topic", got.Topic, "queue", got.Queue)
	return in, nil
}

// Read reads what the subscription links; an absent one is drift (empty
// ID), and one relinked behind the engine's back shows a different topic or
// queue, which the next update replaces.
func (s *Subscription) Read(ctx context.Context, req infer.ReadRequest[SubscriptionArgs, SubscriptionArgs]) (infer.ReadResponse[SubscriptionArgs, SubscriptionArgs], error) {
	var got localcloud.Subscription
	err := s.rt.call(ctx, func(api localcloud.API) (err error) {
		got, err = api.GetSubscription(ctx, req.ID)
		return err
	})
	if notFound(err) {
		return infer.ReadResponse[SubscriptionArgs, SubscriptionArgs]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[SubscriptionArgs, SubscriptionArgs]{}, fmt.Errorf("get subscription %q: %w", req.ID, err)
	}
	state := req.State
	state.Name, state.Topic, state.Queue = got.Name, got.Topic, got.Queue
	return infer.ReadResponse[SubscriptionArgs, SubscriptionArgs]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes the subscription; the topic and queue stay.
func (s *Subscription) Delete(ctx context.Context, req infer.DeleteRequest[SubscriptionArgs]) (infer.DeleteResponse, error) {
	err := s.rt.call(ctx, func(api localcloud.API) error { return api.DeleteSubscription(ctx, req.ID) })
	if err != nil && !notFound(err) {
		return infer.DeleteResponse{}, fmt.Errorf("delete subscription %q: %w", req.ID, err)
	}
	return infer.DeleteResponse{}, nil
}

// Diff replaces on a new name, topic or queue; tags change in place.
func (*Subscription) Diff(_ context.Context, req infer.DiffRequest[SubscriptionArgs, SubscriptionArgs]) (infer.DiffResponse, error) {
	old, in := req.State, req.Inputs
	c := changes{}
	c.replace("name", old.Name != in.Name)
	c.replace("topic", old.Topic != in.Topic)
	c.replace("queue", old.Queue != in.Queue)
	c.update("tags", !maps.Equal(old.Tags, in.Tags))
	return c.response(), nil
}
