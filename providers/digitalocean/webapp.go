package digitalocean

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// WebApp implements components.WebAppProvisioner for callers that create the
// web app alone: an App Platform app with the one "web" service that
// Workloads would put beside the worker. TenantUnit calls Workloads instead.
//
// No database firewall is declared: a dedicated cluster's firewall owns its
// whole rule set and must list this app and the worker's together, so a
// caller of WebApp and Container declares it (Native "web-app" and
// "worker-app"; the shared cluster's FinishPlatform reads both roles).
func (a *Adapter) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	c, err := webComponent(in)
	if err != nil {
		return nil, err
	}
	app, err := a.newApp(ctx, name, physical(naming.DigitalOcean.App, in.Scope, components.WorkloadWeb), p, []component{c}, parent)
	if err != nil {
		return nil, err
	}
	return &components.WebApp{URL: app.LiveUrl, Native: map[string]pulumi.Resource{roleWebApp: app}}, nil
}
