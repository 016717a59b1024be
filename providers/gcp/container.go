package gcp

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// Container implements components.ContainerProvisioner: a Cloud Run service
// (not a Job: a queue consumer runs for ever, a Job runs to completion)
// with no traffic from outside the project (INGRESS_TRAFFIC_INTERNAL_ONLY)
// and no invoker binding, so no one can call it; exactly one instance, with
// its CPU always allocated (cpuIdle false), since it does its work between
// requests rather than in them. command[0] replaces the image's entrypoint
// and the rest are its arguments.
//
// Cloud Run still sets PORT (8080) and holds the revision until a TCP
// startup probe connects to it: the worker must listen on $PORT (any
// listener; a /healthz answering 200 is enough). See the package doc.
//
// Its service account may only consume from the tenant's queue.
func (a *Adapter) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	cpu, mem, err := cloudRunSize("worker", in.Spec.CPU, in.Spec.MemoryMiB)
	if err != nil {
		return nil, err
	}
	_, native, err := a.cloudRunService(ctx, name, in.Workload, service{
		role: components.WorkloadWorker, image: in.Spec.Image, command: in.Spec.Command, cpu: cpu, memory: mem,
		ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY", cpuIdle: false,
		min: 1, max: 1,
	}, childOptions(parent))
	if err != nil {
		return nil, err
	}
	return &components.Container{Native: native}, nil
}
