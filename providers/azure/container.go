package azure

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Container implements components.ContainerProvisioner: a Container App with
// no ingress and exactly one replica; command[0] replaces the image's
// entrypoint and the rest are its arguments. Its identity may only receive
// from the tenant's queue.
func (a *Adapter) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	cpu, mem, err := containerAppsSize("worker", in.Spec.CPU, in.Spec.MemoryMiB)
	if err != nil {
		return nil, err
	}
	_, native, err := a.containerApp(ctx, name, in.Workload, containerApp{
		role: components.WorkloadWorker, image: in.Spec.Image, command: in.Spec.Command, cpu: cpu, memory: mem,
		queueRoles: map[string]string{"receiver": roleServiceBusDataReceiver},
		min:        1, max: 1,
	}, childOptions(parent))
	if err != nil {
		return nil, err
	}
	return &components.Container{Native: native}, nil
}
