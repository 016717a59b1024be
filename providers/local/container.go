package local

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Container implements components.ContainerProvisioner: one worker Process
// with no port, running the spec's Command when set.
func (a *Adapter) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	proc, err := a.process(ctx, name, in.Workload, process{
		role: components.WorkloadWorker, image: in.Spec.Image, command: in.Spec.Command,
	}, parent)
	if err != nil {
		return nil, err
	}
	return &components.Container{Native: map[string]pulumi.Resource{"worker-process": proc}}, nil
}
