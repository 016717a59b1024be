package components

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PlatformType is the Platform's type token. It is part of every child's
// URN: never change it without aliases.
const PlatformType = "tenantfleet:index:Platform"

// Platform holds a stack's shared cloud pieces, for adapters that are a
// PlatformProvisioner (Azure, GCP and DigitalOcean; see PlatformProvisioner).
// The program creates it once with NewPlatform, before the tenants, passes
// it to every TenantUnit and MessagingFanout, and calls Finish once every
// TenantUnit is declared.
type Platform struct {
	pulumi.ResourceState

	// Native is the escape hatch: the cloud's shared resources by role.
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components.
	State any

	name     string
	cloud    Adapter
	finished bool
}

// PlatformArgs configures a Platform.
type PlatformArgs struct {
	// Cloud provisions the resources; it must be a PlatformProvisioner.
	Cloud Adapter
}

// NewPlatform provisions the stack's shared pieces on args.Cloud. The
// component's outputs wait for Finish, which may still add children.
func NewPlatform(ctx *pulumi.Context, name string, args *PlatformArgs, opts ...pulumi.ResourceOption) (*Platform, error) {
	if args == nil || args.Cloud == nil {
		return nil, fmt.Errorf("platform %q: a cloud adapter is required", name)
	}
	pp, ok := args.Cloud.(PlatformProvisioner)
	if !ok {
		return nil, fmt.Errorf("platform %q: cloud %s has no platform", name, args.Cloud.Name())
	}
	p := &Platform{Native: map[string]pulumi.Resource{}, name: name, cloud: args.Cloud}
	if err := ctx.RegisterComponentResource(PlatformType, name, p, opts...); err != nil {
		return nil, fmt.Errorf("register platform %q: %w", name, err)
	}
	scope := Scope{Stack: ctx.Stack(), Component: ComponentPlatform, Tenant: SharedTenant}
	res, err := pp.Platform(ctx, name, scope, p)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", name, err)
	}
	p.Native, p.State = res.Native, res.State
	return p, nil
}

// Finish completes the platform once every TenantUnit of the stack is
// declared: first the stack-wide pieces that name every tenant, when the
// cloud is a PlatformFinisher, then the component's outputs, after which
// nothing is registered under it. Call it once.
func (p *Platform) Finish(ctx *pulumi.Context) error {
	if p.finished {
		return fmt.Errorf("platform %q: already finished", p.name)
	}
	p.finished = true
	if pf, ok := p.cloud.(PlatformFinisher); ok {
		if err := pf.FinishPlatform(ctx, p); err != nil {
			return fmt.Errorf("platform %q: %w", p.name, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{}); err != nil {
		return fmt.Errorf("platform %q: register outputs: %w", p.name, err)
	}
	return nil
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
