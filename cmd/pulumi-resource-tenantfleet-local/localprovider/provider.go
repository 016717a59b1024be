package localprovider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Name and Version identify the plugin: the engine runs the binary
// pulumi-resource-<Name> for every tenantfleet-local resource.
const (
	Name    = "tenantfleet-local"
	Version = "0.1.0"
)

// Connector opens a client of the local cloud runtime, starting it when needed.
type Connector func(ctx context.Context) (localcloud.API, error)

// New returns the provider. connect is called on the first call that needs
// the runtime, and again after a failure.
func New(connect Connector) (p.Provider, error) {
	rt := &runtime{connect: connect}
	return infer.NewProviderBuilder().
		WithDisplayName("tenantfleet local cloud").
		WithDescription("Databases, queues, topics and processes of tenantfleet's embedded local cloud.").
		WithNamespace("tenantfleet").
		WithResources(
			infer.Resource(&Database{rt: rt}),
			infer.Resource(&Queue{rt: rt}),
			infer.Resource(&Topic{rt: rt}),
			infer.Resource(&Subscription{rt: rt}),
			infer.Resource(&Process{rt: rt}),
		).
		// Resources live in this Go package; their Pulumi module is index.
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"localprovider": "index"}).
		Build()
}

// runtime connects to the local cloud once, lazily. A failed connection is
// not kept: the next call tries again.
type runtime struct {
	connect Connector
	mu      sync.Mutex
	api     localcloud.API
}

// call runs f with the runtime's client. When the runtime has gone away
// since the connection was made, it reconnects (which starts the runtime
// again) and runs f once more: every API call is idempotent.
func (r *runtime) call(ctx context.Context, f func(localcloud.API) error) error {
	api, err := r.client(ctx)
	if err != nil {
		return err
	}
	if err = f(api); !errors.Is(err, localcloud.ErrNotRunning) {
		return err
	}
	slog.Warn("the local cloud runtime stopped answering; reconnecting")
	r.forget(api)
	if api, err = r.client(ctx); err != nil {
		return err
	}
	return f(api)
}

// forget drops api so the next call connects again.
func (r *runtime) forget(api localcloud.API) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.api == api {
		r.api = nil
	}
}

func (r *runtime) client(ctx context.Context) (localcloud.API, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.api != nil {
		return r.api, nil
	}
	api, err := r.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to the local cloud runtime: %w", err)
	}
	slog.Debug("connected to the local cloud runtime")
	r.api = api
	return api, nil
}

// notFound reports whether err is the runtime's "absent resource".
func notFound(err error) bool { return errors.Is(err, localcloud.ErrNotFound) }

// Tags is the optional tags input of every resource. The runtime stores no
// tags; they record ownership (tenant, component, stack, managed-by) in the state.
type Tags = map[string]string

// changes collects a Diff's changed properties.
type changes map[string]p.PropertyDiff

// update records key as changed in place when changed is true.
func (c changes) update(key string, changed bool) {
	if changed {
		c[key] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
}

// replace records key as changed with a replacement when changed is true.
func (c changes) replace(key string, changed bool) {
	if changed {
		c[key] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
}

// response is the Diff's answer. Physical names are fixed, so a replacement
// must delete the old resource first: created first, the new one would be
// the old one (PUT on the same name) and the delete would then remove it.
func (c changes) response() p.DiffResponse {
	replace := false
	for _, d := range c {
		replace = replace || d.Kind == p.UpdateReplace
	}
	return p.DiffResponse{HasChanges: len(c) > 0, DeleteBeforeReplace: replace, DetailedDiff: c}
}

// runtimeName is what the runtime accepts as a name.
var runtimeName = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)

// checker collects Check failures on known input values. Unknown values
// (preview, before the resource they come from exists) are not judged.
type checker struct {
	inputs   property.Map
	failures []p.CheckFailure
}

func (c *checker) known(key string) bool {
	v, ok := c.inputs.GetOk(key)
	return ok && !v.HasComputed()
}

func (c *checker) fail(key, format string, args ...any) {
	c.failures = append(c.failures, p.CheckFailure{Property: key, Reason: fmt.Sprintf(format, args...)})
}

// name checks a runtime name held in key.
func (c *checker) name(key, value string) {
	if c.known(key) && !runtimeName.MatchString(value) {
		c.fail(key, "%q is not a local cloud name: use 1 to 63 lowercase letters, digits, '-' or '_'", value)
	}
}

// atLeast checks that an integer input is at least lo.
func (c *checker) atLeast(key string, value, lo int) {
	if c.known(key) && value < lo {
		c.fail(key, "must be at least %d (got %d)", lo, value)
	}
}

// check runs DefaultCheck (decoding, defaults, secrets) and then rules.
func check[I any](ctx context.Context, req infer.CheckRequest, rules func(c *checker, in I)) (infer.CheckResponse[I], error) {
	in, failures, err := infer.DefaultCheck[I](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[I]{Inputs: in, Failures: failures}, err
	}
	c := &checker{inputs: req.NewInputs}
	rules(c, in)
	return infer.CheckResponse[I]{Inputs: in, Failures: c.failures}, nil
}
