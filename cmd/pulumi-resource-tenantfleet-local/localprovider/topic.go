package localprovider

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Topic is a fanout topic: a JetStream stream publishers write to.
type Topic struct{ rt *runtime }

// TopicArgs are a Topic's inputs.
type TopicArgs struct {
	Name string `pulumi:"name" provider:"replaceOnChanges"`
	Tags Tags   `pulumi:"tags,optional"`
}

// TopicState is a Topic's state.
type TopicState struct {
	TopicArgs
	URL string `pulumi:"url"`
}

// Annotate documents the resource in the schema.
func (t *Topic) Annotate(a infer.Annotator) {
	a.Describe(t, "A fanout topic: a JetStream stream that subscriptions source into queues.")
}

// Annotate documents the inputs.
func (a *TopicArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "The topic name. Changing it replaces the topic.")
	an.Describe(&a.Tags, "Ownership tags, recorded in the state only.")
}

// Annotate documents the outputs.
func (s *TopicState) Annotate(a infer.Annotator) {
	a.Describe(&s.URL, "Where publishers publish: nats://127.0.0.1:<port>?stream=...&subject=...")
}

// Check validates the inputs.
func (*Topic) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[TopicArgs], error) {
	return check(ctx, req, func(c *checker, in TopicArgs) { c.name("name", in.Name) })
}

// Create creates the topic.
func (t *Topic) Create(ctx context.Context, req infer.CreateRequest[TopicArgs]) (infer.CreateResponse[TopicState], error) {
	if req.DryRun {
		return infer.CreateResponse[TopicState]{ID: req.Inputs.Name, Output: TopicState{TopicArgs: req.Inputs}}, nil
	}
	state, err := t.put(ctx, req.Inputs)
	if err != nil {
		return infer.CreateResponse[TopicState]{}, err
	}
	return infer.CreateResponse[TopicState]{ID: req.Inputs.Name, Output: state}, nil
}

// Update re-asserts the topic (only its tags can have changed).
func (t *Topic) Update(ctx context.Context, req infer.UpdateRequest[TopicArgs, TopicState]) (infer.UpdateResponse[TopicState], error) {
	if req.DryRun {
		state := req.State
		state.TopicArgs = req.Inputs
		return infer.UpdateResponse[TopicState]{Output: state}, nil
	}
	state, err := t.put(ctx, req.Inputs)
	return infer.UpdateResponse[TopicState]{Output: state}, err
}

func (t *Topic) put(ctx context.Context, in TopicArgs) (TopicState, error) {
	var got localcloud.Topic
	err := t.rt.call(ctx, func(api localcloud.API) (err error) {
		got, err = api.PutTopic(ctx, localcloud.TopicSpec{Name: in.Name})
		return err
	})
	if err != nil {
		return TopicState{}, fmt.Errorf("put topic %q: %w", in.Name, err)
	}
	slog.Info("topic ready", "name", got.Name)
	return TopicState{TopicArgs: in, URL: got.URL}, nil
}

// Read refreshes the URL; an absent topic is drift (empty ID).
func (t *Topic) Read(ctx context.Context, req infer.ReadRequest[TopicArgs, TopicState]) (infer.ReadResponse[TopicArgs, TopicState], error) {
	var got localcloud.Topic
	err := t.rt.call(ctx, func(api localcloud.API) (err error) {
		got, err = api.GetTopic(ctx, req.ID)
		return err
	})
	if notFound(err) {
		return infer.ReadResponse[TopicArgs, TopicState]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[TopicArgs, TopicState]{}, fmt.Errorf("get topic %q: %w", req.ID, err)
	}
	state := req.State
	state.Name, state.URL = got.Name, got.URL
	return infer.ReadResponse[TopicArgs, TopicState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes the topic.
func (t *Topic) Delete(ctx context.Context, req infer.DeleteRequest[TopicState]) (infer.DeleteResponse, error) {
	err := t.rt.call(ctx, func(api localcloud.API) error { return api.DeleteTopic(ctx, req.ID) })
	if err != nil && !notFound(err) {
		return infer.DeleteResponse{}, fmt.Errorf("delete topic %q: %w", req.ID, err)
	}
	return infer.DeleteResponse{}, nil
}

// Diff replaces on a new name; tags change in place.
func (*Topic) Diff(_ context.Context, req infer.DiffRequest[TopicArgs, TopicState]) (infer.DiffResponse, error) {
	c := changes{}
	c.replace("name", req.State.Name != req.Inputs.Name)
	c.update("tags", !maps.Equal(req.State.Tags, req.Inputs.Tags))
	return c.response(), nil
}

// WireDependencies: the URL follows the name only.
func (*Topic) WireDependencies(f infer.FieldSelector, args *TopicArgs, state *TopicState) {
	f.OutputField(&state.URL).DependsOn(f.InputField(&args.Name).Computed())
}
