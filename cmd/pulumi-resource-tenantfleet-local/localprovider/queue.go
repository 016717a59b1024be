package localprovider

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Queue is a durable work queue with its dead-letter stream.
// Its settings change in place: the runtime reconfigures the stream and its consumer.
type Queue struct{ rt *runtime }

// QueueArgs are a Queue's inputs.
type QueueArgs struct {
	Name             string `pulumi:"name" provider:"replaceOnChanges"`
	MaxDeliver       int    `pulumi:"maxDeliver"`
	AckWaitSeconds   int    `pulumi:"ackWaitSeconds"`
	RetentionSeconds int    `pulumi:"retentionSeconds"`
	Tags             Tags   `pulumi:"tags,optional"`
}

// QueueState is a Queue's state.
type QueueState struct {
	QueueArgs
	URL           string `pulumi:"url"`
	DeadLetterURL string `pulumi:"deadLetterUrl"`
}

// withInputs answers the state with new inputs, outputs kept (see state).
func (s QueueState) withInputs(in QueueArgs) QueueState { s.QueueArgs = in; return s }

// What infer finds on Queue by type assertion, proved at compile time: a
// method whose signature drifted would otherwise be skipped silently.
var (
	_ infer.CustomResource[QueueArgs, QueueState]       = (*Queue)(nil)
	_ infer.CustomCheck[QueueArgs]                      = (*Queue)(nil)
	_ infer.CustomUpdate[QueueArgs, QueueState]         = (*Queue)(nil)
	_ infer.CustomRead[QueueArgs, QueueState]           = (*Queue)(nil)
	_ infer.CustomDelete[QueueState]                    = (*Queue)(nil)
	_ infer.CustomDiff[QueueArgs, QueueState]           = (*Queue)(nil)
	_ infer.ExplicitDependencies[QueueArgs, QueueState] = (*Queue)(nil)
	_ infer.Annotated                                   = (*Queue)(nil)
	_ infer.Annotated                                   = (*QueueArgs)(nil)
	_ infer.Annotated                                   = (*QueueState)(nil)
)

// Annotate documents the resource in the schema.
func (q *Queue) Annotate(a infer.Annotator) {
	a.Describe(q, "A durable work queue (a JetStream stream with one durable consumer) and its dead-letter stream.")
}

// Annotate documents the inputs.
func (a *QueueArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "The queue name. Changing it replaces the queue (its messages are lost).")
	an.Describe(&a.MaxDeliver, "Deliveries without an ack before a message moves to the dead-letter stream.")
	an.Describe(&a.AckWaitSeconds, "How long a delivered message stays hidden from other consumers.")
	an.Describe(&a.RetentionSeconds, "How long an unconsumed message is kept.")
	an.Describe(&a.Tags, "Ownership tags, recorded in the state only.")
}

// Annotate documents the outputs.
func (s *QueueState) Annotate(a infer.Annotator) {
	a.Describe(&s.URL, "QUEUE_URL: nats://127.0.0.1:<port>?stream=...&subject=...&consumer=...")
	a.Describe(&s.DeadLetterURL, "DEAD_LETTER_QUEUE_URL, in the same form.")
}

// Check validates the inputs.
func (*Queue) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[QueueArgs], error) {
	return check(ctx, req, func(c *checker, in QueueArgs) {
		c.name("name", in.Name)
		c.atLeast("maxDeliver", in.MaxDeliver, 1)
		c.atLeast("ackWaitSeconds", in.AckWaitSeconds, 1)
		c.atLeast("retentionSeconds", in.RetentionSeconds, 1)
	})
}

// Create creates the queue.
func (q *Queue) Create(ctx context.Context, req infer.CreateRequest[QueueArgs]) (infer.CreateResponse[QueueState], error) {
	return create(ctx, req, req.Inputs.Name, q.put)
}

// Update applies new settings in place.
func (q *Queue) Update(ctx context.Context, req infer.UpdateRequest[QueueArgs, QueueState]) (infer.UpdateResponse[QueueState], error) {
	return update(ctx, req, q.put)
}

func (q *Queue) put(ctx context.Context, in QueueArgs) (QueueState, error) {
	spec := localcloud.QueueSpec{
		Name: in.Name, MaxDeliver: in.MaxDeliver, AckWaitSeconds: in.AckWaitSeconds, RetentionSeconds: in.RetentionSeconds,
	}
	got, err := fetch(ctx, q.rt, localcloud.API.PutQueue, spec)
	if err != nil {
		return QueueState{}, fmt.Errorf("put queue %q: %w", in.Name, err)
	}
	slog.Info("queue ready", "name", got.Name)
	return QueueState{QueueArgs: in, URL: got.URL, DeadLetterURL: got.DeadLetterURL}, nil
}

// Read refreshes the URLs; an absent queue is drift (empty ID).
func (q *Queue) Read(ctx context.Context, req infer.ReadRequest[QueueArgs, QueueState]) (infer.ReadResponse[QueueArgs, QueueState], error) {
	return read(ctx, q.rt, "queue", req, localcloud.API.GetQueue, func(s QueueState, got localcloud.Queue) QueueState {
		s.Name, s.URL, s.DeadLetterURL = got.Name, got.URL, got.DeadLetterURL
		return s
	})
}

// Delete removes the queue and its dead-letter stream.
func (q *Queue) Delete(ctx context.Context, req infer.DeleteRequest[QueueState]) (infer.DeleteResponse, error) {
	return remove(ctx, q.rt, "queue", req.ID, localcloud.API.DeleteQueue)
}

// Diff replaces on a new name; settings and tags change in place.
func (*Queue) Diff(_ context.Context, req infer.DiffRequest[QueueArgs, QueueState]) (infer.DiffResponse, error) {
	old, in := req.State.QueueArgs, req.Inputs
	c := changes{}
	c.replace("name", old.Name != in.Name)
	c.update("maxDeliver", old.MaxDeliver != in.MaxDeliver)
	c.update("ackWaitSeconds", old.AckWaitSeconds != in.AckWaitSeconds)
	c.update("retentionSeconds", old.RetentionSeconds != in.RetentionSeconds)
	c.update("tags", !maps.Equal(old.Tags, in.Tags))
	return c.response(), nil
}

// WireDependencies makes the URLs follow the name only, so a settings change
// keeps them known in preview (and the processes using them unchanged).
func (*Queue) WireDependencies(f infer.FieldSelector, args *QueueArgs, state *QueueState) {
	name := f.InputField(&args.Name).Computed()
	f.OutputField(&state.URL).DependsOn(name)
	f.OutputField(&state.DeadLetterURL).DependsOn(name)
}
