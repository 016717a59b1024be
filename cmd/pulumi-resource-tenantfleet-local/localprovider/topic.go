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

// withInputs answers the state with new inputs, outputs kept (see state).
func (s TopicState) withInputs(in TopicArgs) TopicState { s.TopicArgs = in; return s }

// What infer finds on Topic by type assertion, proved at compile time: a
// method whose signature drifted would otherwise be skipped silently.
var (
	_ infer.CustomResource[TopicArgs, TopicState]       = (*Topic)(nil)
	_ infer.CustomCheck[TopicArgs]                      = (*Topic)(nil)
	_ infer.CustomUpdate[TopicArgs, TopicState]         = (*Topic)(nil)
	_ infer.CustomRead[TopicArgs, TopicState]           = (*Topic)(nil)
	_ infer.CustomDelete[TopicState]                    = (*Topic)(nil)
	_ infer.CustomDiff[TopicArgs, TopicState]           = (*Topic)(nil)
	_ infer.ExplicitDependencies[TopicArgs, TopicState] = (*Topic)(nil)
	_ infer.Annotated                                   = (*Topic)(nil)
	_ infer.Annotated                                   = (*TopicArgs)(nil)
	_ infer.Annotated                                   = (*TopicState)(nil)
)

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
	return create(ctx, req, req.Inputs.Name, t.put)
}

// Update re-asserts the topic (only its tags can have changed).
func (t *Topic) Update(ctx context.Context, req infer.UpdateRequest[TopicArgs, TopicState]) (infer.UpdateResponse[TopicState], error) {
	return update(ctx, req, t.put)
}

func (t *Topic) put(ctx context.Context, in TopicArgs) (TopicState, error) {
	got, err := fetch(ctx, t.rt, localcloud.API.PutTopic, localcloud.TopicSpec{Name: in.Name})
	if err != nil {
		return TopicState{}, fmt.Errorf("put topic %q: %w", in.Name, err)
	}
	slog.Info("topic ready", "name", got.Name)
	return TopicState{TopicArgs: in, URL: got.URL}, nil
}

// Read refreshes the URL; an absent topic is drift (empty ID).
func (t *Topic) Read(ctx context.Context, req infer.ReadRequest[TopicArgs, TopicState]) (infer.ReadResponse[TopicArgs, TopicState], error) {
	return read(ctx, t.rt, "topic", req, localcloud.API.GetTopic, func(s TopicState, got localcloud.Topic) TopicState {
		s.Name, s.URL = got.Name, got.URL
		return s
	})
}

// Delete removes the topic.
func (t *Topic) Delete(ctx context.Context, req infer.DeleteRequest[TopicState]) (infer.DeleteResponse, error) {
	return remove(ctx, t.rt, "topic", req.ID, localcloud.API.DeleteTopic)
}

// Diff replaces on a new name; tags change in place.
func (*Topic) Diff(_ context.Context, req infer.DiffRequest[TopicArgs, TopicState]) (infer.DiffResponse, error) {
	c := changes{}
	c.replace("name", req.State.Name != req.Inputs.Name)
	c.update("tags", !maps.Equal(req.State.Tags, req.Inputs.Tags))
	return c.response(), nil
}

// WireDependencies makes the URL follow the name only.
func (*Topic) WireDependencies(f infer.FieldSelector, args *TopicArgs, state *TopicState) {
	f.OutputField(&state.URL).DependsOn(f.InputField(&args.Name).Computed())
}
