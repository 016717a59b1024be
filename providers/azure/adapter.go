package azure

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/stackconfig"
)

// Name is the adapter's registry name.
const Name = "azure"

// Config is the stack config object tenantfleet:azure.
type Config struct {
	// Location is the Azure region of every resource (for example
	// "westeurope"). Defaults to the azure-native:location config.
	Location string `json:"location,omitempty"`
}

// Adapter provisions tenantfleet components on Azure.
type Adapter struct {
	cfg Config
	// subscriptionID is resolved once per program (an invoke, safe in preview).
	subscriptionID *pulumi.StringOutput
}

var (
	_ components.Adapter                      = (*Adapter)(nil)
	_ components.FoundationProvisioner        = (*Adapter)(nil)
	_ components.PlatformProvisioner          = (*Adapter)(nil)
	_ components.SeparateWorkloadsProvisioner = (*Adapter)(nil)
)

// New reads tenantfleet:azure (location defaulting to azure-native:location)
// from the stack config and returns the adapter.
func New(ctx *pulumi.Context) (components.Adapter, error) {
	var cfg Config
	if err := stackconfig.Decode(ctx, "tenantfleet:azure", &cfg); err != nil {
		return nil, err
	}
	if cfg.Location == "" {
		cfg.Location = config.Get(ctx, "azure-native:location")
	}
	return NewWithConfig(cfg)
}

// NewWithConfig returns the adapter for an explicit config.
func NewWithConfig(cfg Config) (*Adapter, error) {
	if cfg.Location == "" {
		return nil, &components.FieldError{Field: "tenantfleet:azure.location", Value: cfg.Location,
			Reason: "is required (or set azure-native:location)"}
	}
	return &Adapter{cfg: cfg}, nil
}

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// Capabilities implements components.Adapter: a Container App per workload;
// no shared database servers (a flexible server per tenant).
func (*Adapter) Capabilities() components.Capabilities {
	return components.Capabilities{Workloads: components.SeparateWorkloads}
}

// childOptions are the options of every resource the adapter registers: the
// component as parent and nothing from the caller. Physical names are fixed,
// so a replacement must delete first.
func childOptions(parent pulumi.Resource) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true)}
}

// tags shapes the scope's tags to Azure rules.
func tags(s components.Scope) pulumi.StringMap {
	return pulumi.ToStringMap(naming.AzureTags(s.Tags()))
}

// physical is a name unique to the stack and tenant of the scope.
func physical(r naming.Rule, s components.Scope, parts ...string) string {
	return r.Unique(append([]string{s.Stack, s.Tenant}, parts...)...)
}

// platformOf returns the adapter's platform state from a components.Platform.
func platformOf(p *components.Platform) (*platform, error) {
	return components.PlatformState[*platform](p, Name)
}
