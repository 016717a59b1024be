package gcp

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/cloudrunv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// WebApp implements components.WebAppProvisioner: a Cloud Run service that
// takes traffic from the internet (INGRESS_TRAFFIC_ALL) on its run.app URL
// over HTTPS, routed to the spec's port (which Cloud Run also sets as PORT),
// scaled on requests between MinInstances and MaxInstances, with /healthz as
// the liveness probe (as the AWS health check and the Azure probes).
//
// Cloud Run checks IAM on every request: the service is public because
// allUsers is granted roles/run.invoker on it, explicitly, by its own IAM
// member (an organization policy restricting allUsers would refuse it).
//
// Its service account may publish to and consume from the tenant's queue.
func (a *Adapter) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	cpu, mem, err := cloudRunSize("web", in.Spec.CPU, in.Spec.MemoryMiB)
	if err != nil {
		return nil, err
	}
	opts := childOptions(parent)
	svc, native, err := a.cloudRunService(ctx, name, in.Workload, service{
		role: components.WorkloadWeb, image: in.Spec.Image, cpu: cpu, memory: mem,
		port: in.Spec.Port, publishes: true,
		ingress: "INGRESS_TRAFFIC_ALL", cpuIdle: true,
		min: in.Spec.MinInstances, max: in.Spec.MaxInstances,
		liveness: &cloudrunv2.ServiceTemplateContainerLivenessProbeArgs{
			HttpGet: &cloudrunv2.ServiceTemplateContainerLivenessProbeHttpGetArgs{
				Path: pulumi.String("/healthz"), Port: pulumi.Int(in.Spec.Port),
			},
			PeriodSeconds:    pulumi.Int(30),
			FailureThreshold: pulumi.Int(3),
		},
	}, opts)
	if err != nil {
		return nil, err
	}
	public, err := cloudrunv2.NewServiceIamMember(ctx, name+"-public-invoker", &cloudrunv2.ServiceIamMemberArgs{
		Name: svc.Name, Location: svc.Location, Project: a.project(),
		Role: pulumi.String("roles/run.invoker"), Member: pulumi.String("allUsers"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("web public invoker: %w", err)
	}
	native["web-public-invoker"] = public
	return &components.WebApp{
		// The URL answers once anyone may invoke the service (403 before).
		URL:    pulumi.All(svc.Uri, public.ID()).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput),
		Native: native,
	}, nil
}
