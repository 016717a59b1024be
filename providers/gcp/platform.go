package gcp

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/servicenetworking"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// The platform network. Cloud Run instances take one address each from the
// egress subnet (Direct VPC egress; Google asks for twice the instances
// running, to cover revision roll-outs): a /20 holds 4096. Cloud SQL takes
// its addresses from the private services access range, peered into the VPC.
const (
	egressSubnetRange  = "10.90.0.0/20"
	servicesRangeStart = "10.100.0.0"
	servicesRangeBits  = 16
)

// platform is the stack's shared pieces, the State of components.Platform.
type platform struct {
	network *compute.Network
	subnet  *compute.Subnetwork
	// peering is the private services access connection every Cloud SQL
	// instance needs before it can take a private address.
	peering *servicenetworking.Connection
	// servicesRange names the reserved range the instances draw from.
	servicesRange *compute.GlobalAddress
}

// Platform implements components.PlatformProvisioner:
//   - a custom-mode VPC network (no auto-created subnets, so no address
//     range is taken in every region) with one subnet in the region, from
//     which Cloud Run's Direct VPC egress gives every instance an address;
//   - private services access: a reserved /16 (purpose VPC_PEERING) and the
//     Service Networking connection peering it into the VPC, through which
//     Cloud SQL instances get private addresses and nothing else.
//
// Private Google Access is on in the subnet, so workloads reach Google APIs
// without public addresses should egress ever route everything through the VPC.
func (a *Adapter) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	opts := childOptions(parent)
	p := &platform{}
	var err error
	if p.network, err = compute.NewNetwork(ctx, name+"-network", &compute.NetworkArgs{
		Name:                  pulumi.String(naming.GCP.Network.Unique(scope.Stack, "platform")),
		Project:               a.project(),
		AutoCreateSubnetworks: pulumi.Bool(false),
		RoutingMode:           pulumi.String("REGIONAL"),
		Description:           pulumi.String("tenantfleet platform network of stack " + scope.Stack),
	}, opts...); err != nil {
		return nil, fmt.Errorf("VPC network: %w", err)
	}
	if p.subnet, err = compute.NewSubnetwork(ctx, name+"-egress-subnet", &compute.SubnetworkArgs{
		Name:                  pulumi.String(naming.GCP.Subnetwork.Unique(scope.Stack, "egress", a.cfg.Region)),
		Project:               a.project(),
		Region:                pulumi.String(a.cfg.Region),
		Network:               p.network.ID(),
		IpCidrRange:           pulumi.String(egressSubnetRange),
		PrivateIpGoogleAccess: pulumi.Bool(true),
		Description:           pulumi.String("Cloud Run Direct VPC egress"),
	}, opts...); err != nil {
		return nil, fmt.Errorf("egress subnet: %w", err)
	}
	if p.servicesRange, err = compute.NewGlobalAddress(ctx, name+"-services-range", &compute.GlobalAddressArgs{
		Name:         pulumi.String(naming.GCP.Address.Unique(scope.Stack, "services")),
		Project:      a.project(),
		Network:      p.network.ID(),
		Purpose:      pulumi.String("VPC_PEERING"),
		AddressType:  pulumi.String("INTERNAL"),
		Address:      pulumi.String(servicesRangeStart),
		PrefixLength: pulumi.Int(servicesRangeBits),
		Labels:       labels(scope),
		Description:  pulumi.String("private services access (Cloud SQL)"),
	}, opts...); err != nil {
		return nil, fmt.Errorf("private services range: %w", err)
	}
	if p.peering, err = servicenetworking.NewConnection(ctx, name+"-services-peering", &servicenetworking.ConnectionArgs{
		Network:               p.network.ID(),
		Service:               pulumi.String("servicenetworking.googleapis.com"),
		ReservedPeeringRanges: pulumi.StringArray{p.servicesRange.Name},
		// Service Networking refuses to delete the connection while a
		// producer still holds addresses behind it, and Cloud SQL holds them
		// for a while after an instance is deleted (so it can be restored).
		// Abandoning lets removing tenants and a destroy go on; the VPC
		// peering it leaves behind then blocks only the network's deletion
		// (see the package doc for the one manual step).
		DeletionPolicy: pulumi.String("ABANDON"),
	}, opts...); err != nil {
		return nil, fmt.Errorf("private services connection: %w", err)
	}
	return &components.PlatformResources{
		Native: map[string]pulumi.Resource{
			"network": p.network, "egress-subnet": p.subnet, "services-range": p.servicesRange, "services-peering": p.peering,
		},
		State: p,
	}, nil
}
