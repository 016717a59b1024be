package azure

import (
	app "github.com/pulumi/pulumi-azure-native-sdk/app/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// WebApp implements components.WebAppProvisioner: a Container App with
// external HTTPS ingress (Container Apps terminates TLS on its own
// certificate; HTTP is redirected) to the spec's port, scaled on HTTP load
// between MinInstances and MaxInstances, with /healthz as the readiness and
// liveness probe (as the AWS target group's health check). Its identity may
// send to and receive from the tenant's queue.
func (a *Adapter) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	cpu, mem, err := containerAppsSize("web", in.Spec.CPU, in.Spec.MemoryMiB)
	if err != nil {
		return nil, err
	}
	ca, native, err := a.containerApp(ctx, name, in.Workload, containerApp{
		role: components.WorkloadWeb, image: in.Spec.Image, cpu: cpu, memory: mem,
		queueRoles: map[string]string{"sender": roleServiceBusDataSender, "receiver": roleServiceBusDataReceiver},
		ingress: &app.IngressArgs{
			External: pulumi.Bool(true), TargetPort: pulumi.Int(in.Spec.Port),
			Transport: pulumi.String("auto"), AllowInsecure: pulumi.Bool(false),
			Traffic: app.TrafficWeightArray{app.TrafficWeightArgs{LatestRevision: pulumi.Bool(true), Weight: pulumi.Int(100)}},
		},
		probes: app.ContainerAppProbeArray{
			healthz("Readiness", in.Spec.Port, 15, 3),
			healthz("Liveness", in.Spec.Port, 30, 3),
		},
		min: in.Spec.MinInstances, max: in.Spec.MaxInstances,
	}, childOptions(parent))
	if err != nil {
		return nil, err
	}
	return &components.WebApp{
		// The ingress FQDN is stable across revisions (latestRevisionFqdn is not).
		URL:    pulumi.Sprintf("https://%s", ca.Configuration.Ingress().Fqdn().Elem()),
		Native: native,
	}, nil
}

// healthz is an HTTP probe of /healthz on the app's port.
func healthz(kind string, port, periodSeconds, failures int) app.ContainerAppProbeArgs {
	return app.ContainerAppProbeArgs{
		Type:             pulumi.String(kind),
		HttpGet:          &app.ContainerAppProbeHttpGetArgs{Path: pulumi.String("/healthz"), Port: pulumi.Int(port)},
		PeriodSeconds:    pulumi.Int(periodSeconds),
		FailureThreshold: pulumi.Int(failures),
	}
}
