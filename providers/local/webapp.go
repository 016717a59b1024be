package local

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// WebApp implements components.WebAppProvisioner: one web Process. The
// runtime gives it a free loopback port and passes that as PORT, overriding
// the spec's port, so several tenants' web apps run side by side on one
// machine; URL is http://127.0.0.1:<port>.
func (a *Adapter) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	proc, err := a.process(ctx, name, in.Workload, process{
		role: components.WorkloadWeb, image: in.Spec.Image, web: true,
	}, parent)
	if err != nil {
		return nil, err
	}
	return &components.WebApp{URL: proc.URL, Native: map[string]pulumi.Resource{"web-process": proc}}, nil
}
