package localprovider

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/tenantfleet/tenantfleet/internal/localcloud"
)

// Process is a supervised local process: a web app (web, with a loopback
// port and URL) or a worker. Image, command, environment and web change in
// place: the runtime restarts the process with the new spec.
//
// Running is what the runtime last reported. A refresh that finds the
// process dead records running=false; Diff then reports a change on
// "running" even though no input changed, so the next update PUTs the
// process again and the runtime restarts it.
type Process struct{ rt *runtime }

// ProcessArgs are a Process's inputs.
type ProcessArgs struct {
	Name    string   `pulumi:"name" provider:"replaceOnChanges"`
	Image   string   `pulumi:"image"`
	Command []string `pulumi:"command,optional"`
	Web     bool     `pulumi:"web,optional"`
	// Env holds plain variables, SecretEnv secret ones (DATABASE_PASSWORD);
	// the process gets both. A variable may be in only one of them.
	Env       map[string]string `pulumi:"env,optional"`
	SecretEnv map[string]string `pulumi:"secretEnv,optional" provider:"secret"`
	Tags      Tags              `pulumi:"tags,optional"`
}

// ProcessState is a Process's state.
type ProcessState struct {
	ProcessArgs
	URL     string `pulumi:"url"`
	Port    int    `pulumi:"port"`
	Running bool   `pulumi:"running"`
	LogPath string `pulumi:"logPath"`
}

// withInputs answers the state with new inputs, outputs kept (see state).
func (s ProcessState) withInputs(in ProcessArgs) ProcessState { s.ProcessArgs = in; return s }

// What infer finds on Process by type assertion, proved at compile time: a
// method whose signature drifted would otherwise be skipped silently.
var (
	_ infer.CustomResource[ProcessArgs, ProcessState]       = (*Process)(nil)
	_ infer.CustomCheck[ProcessArgs]                        = (*Process)(nil)
	_ infer.CustomUpdate[ProcessArgs, ProcessState]         = (*Process)(nil)
	_ infer.CustomRead[ProcessArgs, ProcessState]           = (*Process)(nil)
	_ infer.CustomDelete[ProcessState]                      = (*Process)(nil)
	_ infer.CustomDiff[ProcessArgs, ProcessState]           = (*Process)(nil)
	_ infer.ExplicitDependencies[ProcessArgs, ProcessState] = (*Process)(nil)
	_ infer.Annotated                                       = (*Process)(nil)
	_ infer.Annotated                                       = (*ProcessArgs)(nil)
	_ infer.Annotated                                       = (*ProcessState)(nil)
)

// Annotate documents the resource in the schema.
func (r *Process) Annotate(a infer.Annotator) {
	a.Describe(r, "A supervised local process running a container image's program: a web app or a worker. "+
		"running=false after a refresh means the process died; the next update restarts it.")
}

// Annotate documents the inputs.
func (a *ProcessArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "The process name. Changing it replaces the process.")
	an.Describe(&a.Image, "A container image reference, mapped to <images dir>/<repository's last segment>/<tag>.")
	an.Describe(&a.Command, "Program and arguments, resolved inside the image directory; the image's entrypoint when empty.")
	an.Describe(&a.Web, "A web app: the runtime gives it a free loopback port, passed as PORT.")
	an.Describe(&a.Env, "Plain environment variables.")
	an.Describe(&a.SecretEnv, "Secret environment variables (DATABASE_PASSWORD).")
	an.Describe(&a.Tags, "Ownership tags, recorded in the state only.")
}

// Annotate documents the outputs.
func (s *ProcessState) Annotate(a infer.Annotator) {
	a.Describe(&s.URL, "http://127.0.0.1:<port> for a web process; empty for a worker.")
	a.Describe(&s.Port, "The web process's loopback port; 0 for a worker.")
	a.Describe(&s.Running, "Whether the process was running when last created, updated or refreshed.")
	a.Describe(&s.LogPath, "The file the process's output goes to.")
}

// Check validates the inputs. The image is the runtime's to judge (it knows
// the images directory): its 400 message is passed through by Create.
func (*Process) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[ProcessArgs], error) {
	return check(ctx, req, func(c *checker, in ProcessArgs) {
		c.name("name", in.Name)
		if !c.known("env") || !c.known("secretEnv") {
			return
		}
		for _, k := range sortedKeys(in.SecretEnv) {
			if _, dup := in.Env[k]; dup {
				c.fail("secretEnv", "%s is also set in env: set it in one of them", k)
			}
		}
	})
}

// Create starts the process.
func (r *Process) Create(ctx context.Context, req infer.CreateRequest[ProcessArgs]) (infer.CreateResponse[ProcessState], error) {
	return create(ctx, req, req.Inputs.Name, r.put)
}

// Update converges the process to the new spec, or restarts it when it died.
func (r *Process) Update(ctx context.Context, req infer.UpdateRequest[ProcessArgs, ProcessState]) (infer.UpdateResponse[ProcessState], error) {
	return update(ctx, req, r.put)
}

func (r *Process) put(ctx context.Context, in ProcessArgs) (ProcessState, error) {
	env := make(map[string]string, len(in.Env)+len(in.SecretEnv))
	maps.Copy(env, in.Env)
	maps.Copy(env, in.SecretEnv)
	spec := localcloud.ProcessSpec{Name: in.Name, Image: in.Image, Command: slices.Clone(in.Command), Env: env, Web: in.Web}
	got, err := fetch(ctx, r.rt, localcloud.API.PutProcess, spec)
	if err != nil {
		return ProcessState{}, fmt.Errorf("put process %q: %w", in.Name, err)
	}
	// Variable names only: the values may be secrets.
	slog.Info("process ready", "name", got.Name, "running", got.Running, "port", got.Port, "env", sortedKeys(env))
	if !got.Running {
		p.GetLogger(ctx).Warningf("process %s is not running after start; see its log %s", got.Name, got.LogPath)
	}
	return stateOf(in, got), nil
}

func stateOf(in ProcessArgs, got localcloud.Process) ProcessState {
	return ProcessState{ProcessArgs: in, URL: got.URL, Port: got.Port, Running: got.Running, LogPath: got.LogPath}
}

// Read reports whether the process runs; an absent one is drift (empty ID).
func (r *Process) Read(ctx context.Context, req infer.ReadRequest[ProcessArgs, ProcessState]) (infer.ReadResponse[ProcessArgs, ProcessState], error) {
	return read(ctx, r.rt, "process", req, localcloud.API.GetProcess, func(s ProcessState, got localcloud.Process) ProcessState {
		s = stateOf(s.ProcessArgs, got)
		s.Name = got.Name
		return s
	})
}

// Delete stops the process and forgets it.
func (r *Process) Delete(ctx context.Context, req infer.DeleteRequest[ProcessState]) (infer.DeleteResponse, error) {
	return remove(ctx, r.rt, "process", req.ID, localcloud.API.DeleteProcess)
}

// Diff replaces on a new name; everything else changes in place, and a
// process the last refresh found dead is a change on "running".
func (*Process) Diff(_ context.Context, req infer.DiffRequest[ProcessArgs, ProcessState]) (infer.DiffResponse, error) {
	old, in := req.State.ProcessArgs, req.Inputs
	c := changes{}
	c.replace("name", old.Name != in.Name)
	c.update("image", old.Image != in.Image)
	c.update("command", !slices.Equal(old.Command, in.Command))
	c.update("web", old.Web != in.Web)
	c.update("env", !maps.Equal(old.Env, in.Env))
	c.update("secretEnv", !maps.Equal(old.SecretEnv, in.SecretEnv))
	c.update("tags", !maps.Equal(old.Tags, in.Tags))
	if !req.State.Running {
		c["running"] = p.PropertyDiff{Kind: p.Update}
	}
	return c.response(), nil
}

// WireDependencies makes the URL and port follow the name and web flag and
// the log path the name; whether it runs depends on everything. So an
// environment change keeps the URL known in preview.
func (*Process) WireDependencies(f infer.FieldSelector, args *ProcessArgs, state *ProcessState) {
	name, web := f.InputField(&args.Name).Computed(), f.InputField(&args.Web).Computed()
	f.OutputField(&state.URL).DependsOn(name, web)
	f.OutputField(&state.Port).DependsOn(name, web)
	f.OutputField(&state.LogPath).DependsOn(name)
	f.OutputField(&state.Running).DependsOn(f.InputField(args).Computed())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
