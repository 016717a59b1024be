package aws

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Container implements components.ContainerProvisioner: one always-on Fargate
// task with no inbound traffic, whose task role may only consume the tenant's
// queue and read the tenant's database secret.
func (a *Adapter) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	cpu, mem, err := fargateSize("worker", in.Spec.CPU, in.Spec.MemoryMiB)
	if err != nil {
		return nil, err
	}
	opts := childOptions(parent)
	td, taskRole, err := a.taskDefinition(ctx, name, in.Workload, task{
		role: components.WorkloadWorker, image: in.Spec.Image, command: in.Spec.Command,
		cpuUnits: cpu, memoryMiB: mem, queueActions: consumeActions,
	}, opts)
	if err != nil {
		return nil, err
	}
	svc, err := a.service(ctx, name, in.Workload, components.WorkloadWorker, td, 1, nil, opts)
	if err != nil {
		return nil, err
	}
	return &components.Container{Native: map[string]pulumi.Resource{
		"worker-task-definition": td, "worker-task-role": taskRole, "worker-service": svc,
	}}, nil
}
