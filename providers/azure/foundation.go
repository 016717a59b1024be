package azure

import (
	"fmt"

	resources "github.com/pulumi/pulumi-azure-native-sdk/resources/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// foundation is a tenant's own resource group: everything of the tenant that
// is not a Service Bus entity lives in it, so a tenant is billed (cost by
// resource group) and removed as one.
type foundation struct {
	group *resources.ResourceGroup
}

// Foundation implements components.FoundationProvisioner: the tenant's resource group.
func (a *Adapter) Foundation(ctx *pulumi.Context, name string, in components.FoundationInput, parent pulumi.Resource) (*components.Foundation, error) {
	scope := in.Scope
	rg, err := resources.NewResourceGroup(ctx, name+"-group", &resources.ResourceGroupArgs{
		ResourceGroupName: pulumi.String(physical(naming.Azure.ResourceGroup, scope)),
		Location:          pulumi.String(a.cfg.Location),
		Tags:              tags(scope),
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("tenant resource group: %w", err)
	}
	return &components.Foundation{Native: map[string]pulumi.Resource{"resource-group": rg}, State: &foundation{group: rg}}, nil
}

func foundationOf(f *components.Foundation) (*foundation, error) {
	if f == nil {
		return nil, fmt.Errorf("azure: no foundation: the Azure adapter's resources live in the tenant's resource group")
	}
	s, ok := f.State.(*foundation)
	if !ok {
		return nil, fmt.Errorf("azure: the foundation was not made by the Azure adapter")
	}
	return s, nil
}
