package providers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/azure"
	"github.com/tenantfleet/tenantfleet/providers/digitalocean"
	"github.com/tenantfleet/tenantfleet/providers/gcp"
	"github.com/tenantfleet/tenantfleet/providers/local"
)

// Factory builds a cloud's adapter for one program run, reading the cloud's
// own stack config (for example tenantfleet:aws).
type Factory func(ctx *pulumi.Context) (components.Adapter, error)

// registry is every cloud tenantfleet can provision, by tenantfleet:cloud value.
var registry = map[string]Factory{
	aws.Name:          aws.New,
	azure.Name:        azure.New,
	digitalocean.Name: digitalocean.New,
	gcp.Name:          gcp.New,
	local.Name:        local.New,
}

// Names lists the registered clouds, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New returns the adapter registered as name. An unknown name is an error
// that lists the valid ones.
func New(ctx *pulumi.Context, name string) (components.Adapter, error) {
	factory, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown cloud %q: valid clouds are %s", name, strings.Join(Names(), ", "))
	}
	adapter, err := factory(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloud %s: %w", name, err)
	}
	return adapter, nil
}
