package digitalocean

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Container implements components.ContainerProvisioner for callers that
// create the worker alone: an App Platform app with the one "worker" worker
// (no inbound traffic, one container) that Workloads would put beside the web
// service. command[0] and its arguments replace the image's entrypoint. See
// WebApp for the database firewall.
func (a *Adapter) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	c, err := workerComponent(in)
	if err != nil {
		return nil, err
	}
	app, err := a.newApp(ctx, name, physical(naming.DigitalOcean.App, in.Scope, components.WorkloadWorker), p, []component{c}, parent)
	if err != nil {
		return nil, err
	}
	return &components.Container{Native: map[string]pulumi.Resource{roleWorkerApp: app}}, nil
}
