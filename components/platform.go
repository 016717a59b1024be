package components

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PlatformType is the Platform's type token. It is part of every child's
// URN: never change it without aliases.
const PlatformType = "tenantfleet:index:Platform"

// Platform holds a stack's shared cloud pieces, for adapters that are a
// PlatformProvisioner (Azure: the platform resource group, Container Apps
// environment, Log Analytics workspace and Service Bus namespace). The program
// creates it once, before the tenants, and passes it to every TenantUnit and
// MessagingFanout.
type Platform struct {
	pulumi.ResourceState

	// Native is the escape hatch: the cloud's shared resources by role.
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components.
	State any
}

// PlatformArgs configures a Platform.
type PlatformArgs struct {
	// Cloud provisions the resources; it must be a PlatformProvisioner.
	Cloud Adapter
}

// NewPlatform provisions the stack's shared pieces on args.Cloud.
func NewPlatform(ctx *pulumi.Context, name string, args *PlatformArgs, opts ...pulumi.ResourceOption) (*Platform, error) {
	if args == nil || args.Cloud == nil {
		return nil, fmt.Errorf("platform %q: a cloud adapter is required", name)
	}
	pp, ok := args.Cloud.(PlatformProvisioner)
	if !ok {
		return nil, fmt.Errorf("platform %q: cloud %s has no platform", name, args.Cloud.Name())
	}
	p := &Platform{Native: map[string]pulumi.Resource{}}
	if err := ctx.RegisterComponentResource(PlatformType, name, p, opts...); err != nil {
		return nil, fmt.Errorf("register platform %q: %w", name, err)
	}
	scope := Scope{Stack: ctx.Stack(), Component: ComponentPlatform, Tenant: SharedTenant}
	res, err := pp.Platform(ctx, name, scope, p)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", name, err)
	}
	p.Native, p.State = res.Native, res.State
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{}); err != nil {
		return nil, fmt.Errorf("platform %q: register outputs: %w", name, err)
	}
	return p, nil
}

// PlatformState returns the state the cloud's PlatformProvisioner left in p,
// for that adapter's own use: an error when the program made no platform or
// another adapter made it.
func PlatformState[T any](p *Platform, cloud string) (T, error) {
	var zero T
	if p == nil {
		return zero, fmt.Errorf("%s: no platform: create components.NewPlatform first and pass it in the args", cloud)
	}
	s, ok := p.State.(T)
	if !ok {
		return zero, fmt.Errorf("%s: the platform was not made by the %s adapter", cloud, cloud)
	}
	return s, nil
}
