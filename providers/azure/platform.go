package azure

import (
	"fmt"

	app "github.com/pulumi/pulumi-azure-native-sdk/app/v3"
	network "github.com/pulumi/pulumi-azure-native-sdk/network/v3"
	operationalinsights "github.com/pulumi/pulumi-azure-native-sdk/operationalinsights/v3"
	privatedns "github.com/pulumi/pulumi-azure-native-sdk/privatedns/v3"
	resources "github.com/pulumi/pulumi-azure-native-sdk/resources/v3"
	servicebus "github.com/pulumi/pulumi-azure-native-sdk/servicebus/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// The platform network. Container Apps (workload-profiles environment) take
// a delegated infrastructure subnet; every tenant's PostgreSQL server takes
// an address in the delegated database subnet.
const (
	vnetAddressSpace   = "10.80.0.0/16"
	appsSubnetPrefix   = "10.80.0.0/21"
	dbSubnetPrefix     = "10.80.8.0/24"
	consumptionProfile = "Consumption"
	// postgresDNSSuffix ends every private DNS zone a flexible server with
	// VNet integration may use.
	postgresDNSSuffix = ".private.postgres.database.azure.com"
)

// platform is the stack's shared pieces, the State of components.Platform.
type platform struct {
	group       *resources.ResourceGroup
	groupName   string
	environment *app.ManagedEnvironment
	namespace   *servicebus.Namespace
	// namespaceName is known at program time, so queue URLs need no lookup.
	namespaceName string
	dbSubnet      *network.Subnet
	dnsZone       *privatedns.PrivateZone
	dnsLink       *privatedns.VirtualNetworkLink
}

// Platform implements components.PlatformProvisioner: the platform resource
// group with
//   - a Log Analytics workspace for the Container Apps logs;
//   - a virtual network with a subnet delegated to Container Apps and one
//     delegated to PostgreSQL flexible servers, and a private DNS zone for
//     the servers linked to it;
//   - the Container Apps environment (consumption workload profile) in the
//     apps subnet, so apps reach the databases over the VNet;
//   - the Service Bus namespace (Standard: topics need it) with local (SAS)
//     authentication disabled: every sender and receiver uses Entra ID and RBAC.
func (a *Adapter) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	opts := childOptions(parent)
	loc := pulumi.String(a.cfg.Location)
	p := &platform{groupName: naming.Azure.ResourceGroup.Unique(scope.Stack, "platform")}
	var err error
	if p.group, err = resources.NewResourceGroup(ctx, name+"-group", &resources.ResourceGroupArgs{
		ResourceGroupName: pulumi.String(p.groupName), Location: loc, Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("platform resource group: %w", err)
	}
	// Every child of the group depends on it through its name output.
	group := p.group.Name

	logs, err := operationalinsights.NewWorkspace(ctx, name+"-logs", &operationalinsights.WorkspaceArgs{
		ResourceGroupName: group,
		WorkspaceName:     pulumi.String(naming.Azure.LogAnalyticsWorkspace.Unique(scope.Stack, "logs")),
		Location:          loc,
		Sku:               &operationalinsights.WorkspaceSkuArgs{Name: pulumi.String("PerGB2018")},
		RetentionInDays:   pulumi.Int(30),
		Tags:              tags(scope),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("log analytics workspace: %w", err)
	}
	keys := operationalinsights.GetSharedKeysOutput(ctx, operationalinsights.GetSharedKeysOutputArgs{
		ResourceGroupName: group, WorkspaceName: logs.Name,
	}, pulumi.Parent(parent))

	vnet, err := network.NewVirtualNetwork(ctx, name+"-vnet", &network.VirtualNetworkArgs{
		ResourceGroupName:  group,
		VirtualNetworkName: pulumi.String(naming.Azure.VirtualNetwork.Unique(scope.Stack, "platform")),
		Location:           loc,
		AddressSpace:       &network.AddressSpaceArgs{AddressPrefixes: pulumi.StringArray{pulumi.String(vnetAddressSpace)}},
		Tags:               tags(scope),
	}, append(opts,
		// The subnets are their own resources; without this an update of the
		// network would remove them.
		pulumi.IgnoreChanges([]string{"subnets"}))...)
	if err != nil {
		return nil, fmt.Errorf("virtual network: %w", err)
	}
	appsSubnet, err := network.NewSubnet(ctx, name+"-apps-subnet", &network.SubnetArgs{
		ResourceGroupName: group, VirtualNetworkName: vnet.Name,
		SubnetName:    pulumi.String("apps"),
		AddressPrefix: pulumi.String(appsSubnetPrefix),
		Delegations: network.DelegationArray{network.DelegationArgs{
			Name: pulumi.String("container-apps"), ServiceName: pulumi.String("Microsoft.App/environments"),
		}},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("apps subnet: %w", err)
	}
	if p.dbSubnet, err = network.NewSubnet(ctx, name+"-db-subnet", &network.SubnetArgs{
		ResourceGroupName: group, VirtualNetworkName: vnet.Name,
		SubnetName:    pulumi.String("databases"),
		AddressPrefix: pulumi.String(dbSubnetPrefix),
		Delegations: network.DelegationArray{network.DelegationArgs{
			Name: pulumi.String("postgres"), ServiceName: pulumi.String("Microsoft.DBforPostgreSQL/flexibleServers"),
		}},
	},
		// Azure updates one subnet of a network at a time.
		append(opts, pulumi.DependsOn([]pulumi.Resource{appsSubnet}))...); err != nil {
		return nil, fmt.Errorf("database subnet: %w", err)
	}
	if p.dnsZone, err = privatedns.NewPrivateZone(ctx, name+"-db-dns", &privatedns.PrivateZoneArgs{
		ResourceGroupName: group,
		PrivateZoneName:   pulumi.String(naming.Azure.PostgresServer.Unique(scope.Stack, "db") + postgresDNSSuffix),
		Location:          pulumi.String("global"),
		Tags:              tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("private DNS zone: %w", err)
	}
	if p.dnsLink, err = privatedns.NewVirtualNetworkLink(ctx, name+"-db-dns-link", &privatedns.VirtualNetworkLinkArgs{
		ResourceGroupName:      group,
		PrivateZoneName:        p.dnsZone.Name,
		VirtualNetworkLinkName: pulumi.String("platform"),
		Location:               pulumi.String("global"),
		VirtualNetwork:         &privatedns.SubResourceArgs{Id: vnet.ID()},
		RegistrationEnabled:    pulumi.Bool(false),
		Tags:                   tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("private DNS zone link: %w", err)
	}

	if p.environment, err = app.NewManagedEnvironment(ctx, name+"-apps", &app.ManagedEnvironmentArgs{
		ResourceGroupName: group,
		EnvironmentName:   pulumi.String(naming.Azure.ManagedEnvironment.Unique(scope.Stack, "apps")),
		Location:          loc,
		WorkloadProfiles: app.WorkloadProfileArray{app.WorkloadProfileArgs{
			Name: pulumi.String(consumptionProfile), WorkloadProfileType: pulumi.String(consumptionProfile),
		}},
		VnetConfiguration: &app.VnetConfigurationArgs{InfrastructureSubnetId: appsSubnet.ID(), Internal: pulumi.Bool(false)},
		AppLogsConfiguration: &app.AppLogsConfigurationArgs{
			Destination: pulumi.String("log-analytics"),
			LogAnalyticsConfiguration: &app.LogAnalyticsConfigurationArgs{
				CustomerId: logs.CustomerId,
				SharedKey:  pulumi.ToSecret(keys.PrimarySharedKey()).(pulumi.StringPtrOutput),
			},
		},
		Tags: tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("container apps environment: %w", err)
	}

	p.namespaceName = naming.Azure.ServiceBusNamespace.Unique(scope.Stack, "platform")
	if p.namespace, err = servicebus.NewNamespace(ctx, name+"-bus", &servicebus.NamespaceArgs{
		ResourceGroupName: group,
		NamespaceName:     pulumi.String(p.namespaceName),
		Location:          loc,
		Sku:               &servicebus.SBSkuArgs{Name: servicebus.SkuNameStandard, Tier: servicebus.SkuTierStandard},
		DisableLocalAuth:  pulumi.Bool(true),
		MinimumTlsVersion: pulumi.String("1.2"),
		Tags:              tags(scope),
	}, opts...); err != nil {
		return nil, fmt.Errorf("service bus namespace: %w", err)
	}

	return &components.PlatformResources{
		Native: map[string]pulumi.Resource{
			"platform-group": p.group, "logs": logs, "vnet": vnet, "apps-subnet": appsSubnet, "db-subnet": p.dbSubnet,
			"db-dns-zone": p.dnsZone, "db-dns-link": p.dnsLink, "apps-environment": p.environment, "service-bus": p.namespace,
		},
		State: p,
	}, nil
}

// namespaceURL is the namespace's endpoint, https://<ns>.servicebus.windows.net.
func (p *platform) namespaceURL() string {
	return "https://" + p.namespaceName + ".servicebus.windows.net"
}
