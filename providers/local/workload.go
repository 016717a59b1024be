package local

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Process is the plugin's Process resource: a supervised local process
// running a container image's entrypoint (or Command) from the runtime's
// images directory. Running is what the runtime last reported: a refresh
// that finds the process dead records false, and the next update restarts it.
type Process struct {
	pulumi.CustomResourceState

	Name    pulumi.StringOutput `pulumi:"name"`
	URL     pulumi.StringOutput `pulumi:"url"`
	Port    pulumi.IntOutput    `pulumi:"port"`
	Running pulumi.BoolOutput   `pulumi:"running"`
	LogPath pulumi.StringOutput `pulumi:"logPath"`
}

// process is one workload to run.
type process struct {
	role    string // components.WorkloadWeb or WorkloadWorker
	image   string
	command []string
	web     bool
}

// process registers a workload's Process: the plain environment contract as
// env, and DATABASE_PASSWORD as the only entry of secretEnv, a secret input
// (the plugin merges the two into the process environment).
func (a *Adapter) process(ctx *pulumi.Context, name string, w components.Workload, p process, parent pulumi.Resource) (*Process, error) {
	if w.Database == nil || w.Queue == nil {
		return nil, fmt.Errorf("local %s process: the workload has no database or queue", p.role)
	}
	props := pulumi.Map{
		"name":  physical(naming.Local.Process, w.Scope, p.role),
		"image": pulumi.String(p.image),
		"web":   pulumi.Bool(p.web),
		"env":   w.Env,
		"secretEnv": pulumi.ToSecret(pulumi.StringMap{
			components.EnvDatabasePassword: w.Database.Credentials,
		}),
		"tags": tags(w.Scope),
	}
	if len(p.command) > 0 {
		props["command"] = pulumi.ToStringArray(p.command)
	}
	proc := &Process{}
	if err := ctx.RegisterResource(ProcessType, name, props, proc, childOptions(parent)...); err != nil {
		return nil, fmt.Errorf("local %s process: %w", p.role, err)
	}
	return proc, nil
}
