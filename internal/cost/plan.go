package cost

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsmock"
	"github.com/tenantfleet/tenantfleet/providers/azure/azuremock"
	"github.com/tenantfleet/tenantfleet/providers/digitalocean/domock"
	"github.com/tenantfleet/tenantfleet/providers/gcp/gcpmock"
	"github.com/tenantfleet/tenantfleet/providers/mockcloud"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// cloudMocks answers each cloud's registrations and invokes offline.
var cloudMocks = map[string]mockcloud.Mocks{
	"aws":          awsmock.Mocks,
	"azure":        azuremock.Mocks,
	"gcp":          gcpmock.Mocks,
	"digitalocean": domock.Mocks,
}

// PlanClouds are the clouds an offline plan can run on.
func PlanClouds() []string {
	out := make([]string, 0, len(cloudMocks))
	for c := range cloudMocks {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// recorder keeps what the program registers: every resource with its
// inputs (and its URN, built the way the engine builds it).
type recorder struct {
	mockcloud.Mocks
	project, stack string

	mu        sync.Mutex
	resources []pricing.Resource
	parents   map[string]string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, outs, err := r.Mocks.NewResource(args)
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
// Pulumi.<stack>.yaml) against cloud's mocks, as an update would, and
// returns what it registers. No credentials and no network are used.
func Record(ctx context.Context, cloud, stack string, config map[string]any) ([]pricing.Resource, error) {
	res, _, err := record(ctx, cloud, stack, config)
	return res, err
}

// record is Record, with each resource's parent URN.
func record(ctx context.Context, cloud, stack string, config map[string]any) ([]pricing.Resource, map[string]string, error) {
	mocks, ok := cloudMocks[cloud]
	if !ok {
		return nil, nil, fmt.Errorf("--clouds: %q has no offline plan; choose from %s", cloud, strings.Join(PlanClouds(), ", "))
	}
	flat, err := stacks.FlatConfig(config)
	if err != nil {
		return nil, nil, err
	}
	rec := &recorder{Mocks: mocks, project: "tenantfleet", stack: stack, parents: map[string]string{}}
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
