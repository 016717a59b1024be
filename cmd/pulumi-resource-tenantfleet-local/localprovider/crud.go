package localprovider

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// The lifecycle every resource shares (see the package doc), written once.
// A resource's methods call these helpers with what is its own: the ID (its
// name), its put (spec mapping, PUT, outputs), its runtime Get and Delete
// (method expressions such as localcloud.API.GetQueue) and how a Get
// refreshes its state. The contract:
//
//   - Preview never touches the runtime: in a DryRun, Create and Update
//     answer the state with the new inputs and the outputs as they were
//     (none on Create); infer marks unknown the outputs that depend on a
//     changed input (WireDependencies).
//   - Drift is an empty ID: a Read of a resource the runtime no longer has
//     answers an empty ID and no error, so the engine drops it from the state.
//   - Delete is idempotent: deleting an absent resource succeeds.
//
// Read and Delete errors name the operation, the kind and the ID:
// get queue "x": ...

// state is a resource's state type S, which holds its inputs I: withInputs
// answers a copy of the state with the inputs replaced and the outputs kept.
type state[I, S any] interface {
	withInputs(in I) S
}

// putFunc converges the runtime to the inputs and answers the new state.
type putFunc[I, S any] func(ctx context.Context, in I) (S, error)

// create is a Create with ID id. In preview it answers the inputs and no
// outputs without calling put.
func create[I any, S state[I, S]](ctx context.Context, req infer.CreateRequest[I], id string, put putFunc[I, S]) (infer.CreateResponse[S], error) {
	if req.DryRun {
		var none S
		return infer.CreateResponse[S]{ID: id, Output: none.withInputs(req.Inputs)}, nil
	}
	s, err := put(ctx, req.Inputs)
	if err != nil {
		return infer.CreateResponse[S]{}, err
	}
	return infer.CreateResponse[S]{ID: id, Output: s}, nil
}

// update is an Update. In preview it answers the old state with the new
// inputs without calling put.
func update[I any, S state[I, S]](ctx context.Context, req infer.UpdateRequest[I, S], put putFunc[I, S]) (infer.UpdateResponse[S], error) {
	if req.DryRun {
		return infer.UpdateResponse[S]{Output: req.State.withInputs(req.Inputs)}, nil
	}
	s, err := put(ctx, req.Inputs)
	return infer.UpdateResponse[S]{Output: s}, err
}

// read is a Read: get fetches the resource req.ID of this kind; refresh
// folds what the runtime answered into the state. An absent resource is
// drift: an empty ID and no error.
func read[I, S, R any](ctx context.Context, rt *runtime, kind string, req infer.ReadRequest[I, S],
	get func(localcloud.API, context.Context, string) (R, error), refresh func(S, R) S,
) (infer.ReadResponse[I, S], error) {
	got, err := fetch(ctx, rt, get, req.ID)
	if notFound(err) {
		return infer.ReadResponse[I, S]{}, nil
	}
	if err != nil {
		return infer.ReadResponse[I, S]{}, fmt.Errorf("get %s %q: %w", kind, req.ID, err)
	}
	return infer.ReadResponse[I, S]{ID: req.ID, Inputs: req.Inputs, State: refresh(req.State, got)}, nil
}

// remove is a Delete of the resource id of this kind. An absent resource
// is already deleted.
func remove(ctx context.Context, rt *runtime, kind, id string,
	del func(localcloud.API, context.Context, string) error,
) (infer.DeleteResponse, error) {
	err := rt.call(ctx, func(api localcloud.API) error { return del(api, ctx, id) })
	if err != nil && !notFound(err) {
		return infer.DeleteResponse{}, fmt.Errorf("delete %s %q: %w", kind, id, err)
	}
	return infer.DeleteResponse{}, nil
}

// fetch makes one runtime call that answers a value, through rt.call (so
// it reconnects once when the runtime has gone away):
// fetch(ctx, rt, localcloud.API.PutQueue, spec).
func fetch[A, R any](ctx context.Context, rt *runtime, f func(localcloud.API, context.Context, A) (R, error), arg A) (R, error) {
	var got R
	err := rt.call(ctx, func(api localcloud.API) (err error) {
		got, err = f(api, ctx, arg)
		return err
	})
	return got, err
}
