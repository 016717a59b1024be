package cost

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers"
	"github.com/tenantfleet/tenantfleet/providers/offline"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// PlanClouds are the clouds an offline plan can run on, sorted: every
// registered cloud but those that say why not (providers.Cloud.NoPlan).
func PlanClouds() []string {
	var out []string
	for name, c := range providers.All() {
		if c.NoPlan == "" {
			out = append(out, name)
		}
	}
	return out
}

// planCloud returns the cloud an offline plan runs on; flag names the flag
// that chose it, for the error.
func planCloud(flag, cloud string) (providers.Cloud, error) {
	c, err := providers.Lookup(cloud)
	if err != nil || c.NoPlan != "" {
		return providers.Cloud{}, fmt.Errorf("%s: %q has no offline plan; choose from %s", flag, cloud, strings.Join(PlanClouds(), ", "))
	}
	return c, nil
}

// recorder keeps what the program registers: every resource with its
// inputs (and its URN, built the way the engine builds it).
type recorder struct {
	offline.Model
	project, stack string

	mu        sync.Mutex
	resources []pricing.Resource
	parents   map[string]string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, outs, err := r.Model.NewResource(args)
	if err != nil {
		return id, outs, err
	}
	parentType, parentURN := "", ""
	r.mu.Lock()
	defer r.mu.Unlock()
	if args.RegisterRPC != nil && args.RegisterRPC.GetParent() != "" {
		parentURN = args.RegisterRPC.GetParent()
		parent := resource.URN(parentURN)
		if parent.IsValid() && parent.QualifiedType() != "pulumi:pulumi:Stack" {
			parentType = string(parent.QualifiedType())
		}
	}
	urn := resource.NewURN(tokens.QName(r.stack), tokens.PackageName(r.project), tokens.Type(parentType), tokens.Type(args.TypeToken), args.Name)
	inputs := plain(args.Inputs)
	r.resources = append(r.resources, pricing.Resource{URN: string(urn), Type: args.TypeToken, Inputs: inputs})
	r.parents[string(urn)] = parentURN
	return id, outs, nil
}

// plain turns a property map into plain JSON values: secrets are unwrapped
// (they never leave the process), unknowns become nil.
func plain(m resource.PropertyMap) map[string]any {
	raw := m.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		switch {
		case v.IsSecret():
			return plainValue(v.SecretValue().Element), true
		case v.IsComputed() || v.IsOutput() && !v.OutputValue().Known:
			return nil, true
		case v.IsOutput():
			return plainValue(v.OutputValue().Element), true
		}
		return nil, false
	})
	b, err := json.Marshal(raw)
	if err != nil {
		return map[string]any{}
	}
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

func plainValue(v resource.PropertyValue) any {
	return plain(resource.PropertyMap{"v": v})["v"]
}

// Record runs the tenantfleet program on a stack config (key: value, as in
// Pulumi.<stack>.yaml) against cloud's offline model, as an update would, and
// returns what it registers. No credentials and no network are used.
func Record(ctx context.Context, cloud, stack string, config map[string]any) ([]pricing.Resource, error) {
	res, _, err := record(ctx, cloud, stack, config)
	return res, err
}

// record is Record, with each resource's parent URN.
func record(ctx context.Context, cloud, stack string, config map[string]any) ([]pricing.Resource, map[string]string, error) {
	c, err := planCloud("--clouds", cloud)
	if err != nil {
		return nil, nil, err
	}
	flat, err := stacks.FlatConfig(config)
	if err != nil {
		return nil, nil, err
	}
	rec := &recorder{Model: c.Offline, project: "tenantfleet", stack: stack, parents: map[string]string{}}
	info := pulumi.RunInfo{Project: "tenantfleet", Stack: stack, Config: flat}
	pulumi.WithMocks("tenantfleet", stack, rec)(&info)
	pctx, err := pulumi.NewContext(ctx, info)
	if err != nil {
		return nil, nil, err
	}
	if err := pulumi.RunWithContext(pctx, stacks.Program); err != nil {
		return nil, nil, err
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.resources, rec.parents, nil
}
