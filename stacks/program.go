package stacks

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers"
)

// Load reads and validates the stack config and returns it with the
// cloud's adapter; it registers nothing. Its errors are configuration errors,
// each naming its key. The signup service runs it on a tenant's config
// before anything is queued.
func Load(ctx *pulumi.Context) (Config, components.Adapter, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return Config{}, nil, err
	}
	if cfg.Cloud == "" {
		return Config{}, nil, fmt.Errorf("%s is required: one of %s", KeyCloud, strings.Join(providers.Names(), ", "))
	}
	cloud, err := providers.New(ctx, cfg.Cloud)
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", KeyCloud, err)
	}
	if err := cfg.Validate(cloud); err != nil {
		return Config{}, nil, errorList(configHeading, err)
	}
	return cfg, cloud, nil
}

// Program is the tenantfleet Pulumi program. It registers nothing until the
// whole configuration has been validated.
func Program(ctx *pulumi.Context) error {
	cfg, cloud, err := Load(ctx)
	if err != nil {
		return err
	}

	// Stack-wide pieces first, for clouds that have them.
	var platform *components.Platform
	if _, ok := cloud.(components.PlatformProvisioner); ok {
		if platform, err = components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: cloud}); err != nil {
			return err
		}
	}

	tenants := pulumi.Map{}
	queues := map[string]*components.Queue{}
	for _, spec := range cfg.Tenants {
		unit, err := components.NewTenantUnit(ctx, spec.ID, &components.TenantUnitArgs{Spec: spec, Cloud: cloud, Platform: platform})
		if err != nil {
			return err
		}
		queues[spec.ID] = unit.Queue
		tenants[spec.ID] = unit.Outputs()
	}
	ctx.Export("tenants", tenants)
	// Stack-wide pieces that name every tenant (a shared database's
	// firewall), then the platform's outputs.
	if platform != nil {
		if err := platform.Finish(ctx); err != nil {
			return err
		}
	}

	if cfg.Fanout != nil {
		fanout, err := components.NewMessagingFanout(ctx, cfg.Fanout.Name, &components.MessagingFanoutArgs{
			Spec: *cfg.Fanout, TenantQueues: queues, Cloud: cloud, Platform: platform,
		})
		if err != nil {
			return err
		}
		ctx.Export("fanout", fanout.Outputs())
	}
	return nil
}
