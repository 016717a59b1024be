package digitalocean

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// SeparateAppsWithoutFirewall builds a tenant's two workloads as two App
// Platform apps, a "web" service and a "worker" worker, and declares no
// database firewall: what a broken adapter does (broken_test.go).
func (a *Adapter) SeparateAppsWithoutFirewall(ctx *pulumi.Context, name string, web components.WebAppInput, worker components.ContainerInput, parent pulumi.Resource) (*components.WebApp, *components.Container, error) {
	p, err := platformOf(web.Platform)
	if err != nil {
		return nil, nil, err
	}
	webC, err := webComponent(web)
	if err != nil {
		return nil, nil, err
	}
	workerC, err := workerComponent(worker)
	if err != nil {
		return nil, nil, err
	}
	webApp, err := a.newApp(ctx, name+"-web", physical(naming.DigitalOcean.App, web.Scope, components.WorkloadWeb), p, []component{webC}, parent)
	if err != nil {
		return nil, nil, err
	}
	workerApp, err := a.newApp(ctx, name+"-worker", physical(naming.DigitalOcean.App, worker.Scope, components.WorkloadWorker), p, []component{workerC}, parent)
	if err != nil {
		return nil, nil, err
	}
	return &components.WebApp{URL: webApp.LiveUrl, Native: map[string]pulumi.Resource{"web-app": webApp}},
		&components.Container{Native: map[string]pulumi.Resource{"worker-app": workerApp}}, nil
}
