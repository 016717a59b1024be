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

// withInputs: a Subscription's state is its inputs.
func (SubscriptionArgs) withInputs(in SubscriptionArgs) SubscriptionArgs { return in }

// What infer finds on Subscription by type assertion, proved at compile time: a
// method whose signature drifted would otherwise be skipped silently.
var (
	_ infer.CustomResource[SubscriptionArgs, SubscriptionArgs] = (*Subscription)(nil)
	_ infer.CustomCheck[SubscriptionArgs]                      = (*Subscription)(nil)
	_ infer.CustomUpdate[SubscriptionArgs, SubscriptionArgs]   = (*Subscription)(nil)
	_ infer.CustomRead[SubscriptionArgs, SubscriptionArgs]     = (*Subscription)(nil)
	_ infer.CustomDelete[SubscriptionArgs]                     = (*Subscription)(nil)
	_ infer.CustomDiff[SubscriptionArgs, SubscriptionArgs]     = (*Subscription)(nil)
	_ infer.Annotated                                          = (*Subscription)(nil)
	_ infer.Annotated                                          = (*SubscriptionArgs)(nil)
)

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
	return create(ctx, req, req.Inputs.Name, s.put)
}

// Update re-asserts the subscription (only its tags can have changed).
func (s *Subscription) Update(ctx context.Context, req infer.UpdateRequest[SubscriptionArgs, SubscriptionArgs]) (infer.UpdateResponse[SubscriptionArgs], error) {
	return update(ctx, req, s.put)
}

func (s *Subscription) put(ctx context.Context, in SubscriptionArgs) (SubscriptionArgs, error) {
	spec := localcloud.SubscriptionSpec{Name: in.Name, Topic: in.Topic, Queue: in.Queue}
	got, err := fetch(ctx, s.rt, localcloud.API.PutSubscription, spec)
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
	refresh := func(st SubscriptionArgs, got localcloud.Subscription) SubscriptionArgs {
		st.Name, st.Topic, st.Queue = got.Name, got.Topic, got.Queue
		return st
	}
	return read(ctx, s.rt, "subscription", req, localcloud.API.GetSubscription, refresh)
}

// Delete removes the subscription; the topic and queue stay.
func (s *Subscription) Delete(ctx context.Context, req infer.DeleteRequest[SubscriptionArgs]) (infer.DeleteResponse, error) {
	return remove(ctx, s.rt, "subscription", req.ID, localcloud.API.DeleteSubscription)
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
