package cost

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// SchemaVersion is the version of the JSON report; it changes only when a
// field changes meaning or goes away (fields may be added).
const SchemaVersion = 1

// Step is one resource step of a preview, from the engine's events or a
// saved `pulumi preview --json`.
type Step struct {
	Op   string
	URN  string
	Type string
	Old  *State
	New  *State
}

// State is what a step says of a resource before or after it.
type State struct {
	Inputs   map[string]any
	Parent   string
	Custom   bool
	External bool
}

// Report is a priced preview: per group (a tenant, the fanout, the
// platform, the stack), per resource, with totals before and after.
type Report struct {
	SchemaVersion int               `json:"schemaVersion"`
	Stack         string            `json:"stack"`
	Cloud         string            `json:"cloud"`
	Region        string            `json:"region,omitempty"`
	Currency      string            `json:"currency"`
	HoursPerMonth int               `json:"hoursPerMonth"`
	Catalog       map[string]string `json:"catalogVersions"`
	// Basis says how the cloud is priced when that is not a public price
	// list (Kubernetes: what each resource requests, at the catalog's
	// rates), and what the catalog says of its prices.
	Basis  string  `json:"pricingBasis,omitempty"`
	Groups []Group `json:"groups"`
	Totals Totals  `json:"totals"`
}

// Totals are the stack's monthly cost before and after the change.
type Totals struct {
	Before float64 `json:"monthlyBefore"`
	After  float64 `json:"monthlyAfter"`
	Delta  float64 `json:"monthlyDelta"`
	// UsageDependent counts resources with parts that depend on usage not
	// given in a usage file: they are not in the totals.
	UsageDependent int `json:"usageDependentResources"`
}

// Group is the resources of one tenant, the fanout, the platform, or the
// stack itself (resources outside any component).
type Group struct {
	// Kind is tenant, fanout, platform or stack.
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Before    float64        `json:"monthlyBefore"`
	After     float64        `json:"monthlyAfter"`
	Delta     float64        `json:"monthlyDelta"`
	Resources []ResourceCost `json:"resources"`
}

// ResourceCost is one resource's cost.
type ResourceCost struct {
	URN  string `json:"urn"`
	Name string `json:"name"`
	Type string `json:"type"`
	// Op is the step: create, import, update, same, delete or replace.
	Op     string       `json:"op"`
	Kind   pricing.Kind `json:"kind"`
	Before float64      `json:"monthlyBefore"`
	After  float64      `json:"monthlyAfter"`
	Delta  float64      `json:"monthlyDelta"`
	// UsageDependent: some part depends on usage not given (not in the sums).
	UsageDependent bool `json:"usageDependent"`
	// Components are the priced parts of the resource as it will be (as it
	// was, for a delete).
	Components []pricing.Component `json:"components,omitempty"`
	Note       string              `json:"note,omitempty"`
}

var groupKinds = map[string]string{
	"tenantfleet:index:TenantUnit":      "tenant",
	"tenantfleet:index:MessagingFanout": "fanout",
	"tenantfleet:index:Platform":        "platform",
}

// Build prices steps into a report. Steps for the same URN (a replacement's
// parts) are merged; reads of external resources are not priced.
func Build(stack, cloud, region string, cat *pricing.Catalog, est *pricing.Estimator, steps []Step) (*Report, error) {
	type merged struct {
		op       string
		typ      string
		old, new *State
	}
	byURN := map[string]*merged{}
	var order []string
	for _, s := range steps {
		if (s.Old != nil && s.Old.External) || (s.New != nil && s.New.External) || s.Op == string(apitype.OpRead) ||
			s.Op == string(apitype.OpReadReplacement) || s.Op == string(apitype.OpReadDiscard) || s.Op == string(apitype.OpDiscardReplaced) ||
			s.Op == string(apitype.OpRefresh) || s.Op == string(apitype.OpRemovePendingReplace) {
			continue
		}
		m := byURN[s.URN]
		if m == nil {
			m = &merged{typ: s.Type}
			byURN[s.URN] = m
			order = append(order, s.URN)
		}
		switch apitype.OpType(s.Op) {
		case apitype.OpCreate, apitype.OpImport:
			// An import starts managing (and paying for, in the stack's
			// total) a resource that existed already.
			m.op, m.new = s.Op, s.New
		case apitype.OpDelete:
			m.op, m.old = "delete", s.Old
		case apitype.OpSame, apitype.OpUpdate:
			m.op, m.old, m.new = s.Op, s.Old, s.New
			if s.Old == nil {
				m.old = s.New
			}
		case apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpImportReplacement:
			m.op = "replace"
			if s.Old != nil && m.old == nil {
				m.old = s.Old
			}
			if s.New != nil && s.Op != string(apitype.OpDeleteReplaced) {
				m.new = s.New
			}
		default:
			return nil, fmt.Errorf("step %s on %s: unknown operation", s.Op, s.URN)
		}
	}

	// Parents, to put each resource under its tenant, fanout or platform.
	parents := map[string]string{}
	types := map[string]string{}
	for urn, m := range byURN {
		types[urn] = m.typ
		if st := firstState(m.new, m.old); st != nil {
			parents[urn] = st.Parent
		}
	}
	groupOf := func(urn string) (string, string) {
		for cur, hops := urn, 0; cur != "" && hops < 64; cur, hops = parents[cur], hops+1 {
			if kind, ok := groupKinds[types[cur]]; ok {
				return kind, resource.URN(cur).Name()
			}
			if cur != urn {
				// A parent not among the steps: its type is in its URN.
				if kind, ok := groupKinds[string(resource.URN(cur).Type())]; ok {
					return kind, resource.URN(cur).Name()
				}
			}
		}
		return "stack", stack
	}

	// The stack before and after the change, for resources priced by
	// another (a Kubernetes Deployment by its autoscaler).
	var beforeRes, afterRes []pricing.Resource
	for _, urn := range order {
		m := byURN[urn]
		if m.old != nil {
			beforeRes = append(beforeRes, pricing.Resource{URN: urn, Type: m.typ, Inputs: m.old.Inputs})
		}
		if m.new != nil {
			afterRes = append(afterRes, pricing.Resource{URN: urn, Type: m.typ, Inputs: m.new.Inputs})
		}
	}
	before, after := pricing.NewStack(beforeRes), pricing.NewStack(afterRes)

	groups := map[string]*Group{}
	report := &Report{SchemaVersion: SchemaVersion, Stack: stack, Cloud: cloud, Region: region, Currency: "USD",
		HoursPerMonth: pricing.HoursPerMonth, Catalog: cat.Versions(), Basis: Basis(cat, cloud)}
	for _, urn := range order {
		m := byURN[urn]
		rc := ResourceCost{URN: urn, Name: resource.URN(urn).Name(), Type: m.typ, Op: m.op}
		var priceErr error
		price := func(st *State, stack *pricing.Stack) (float64, []pricing.Component, bool) {
			if st == nil || priceErr != nil {
				return 0, nil, false
			}
			p, err := est.PriceIn(pricing.Resource{URN: urn, Type: m.typ, Inputs: st.Inputs}, stack)
			if err != nil {
				priceErr = err
				return 0, nil, false
			}
			rc.Kind, rc.Note = p.Kind, p.Note
			total, unknown := p.Monthly()
			return total, p.Components, unknown
		}
		switch m.op {
		case "create", "import":
			rc.After, rc.Components, rc.UsageDependent = price(m.new, after)
		case "delete":
			rc.Before, rc.Components, rc.UsageDependent = price(m.old, before)
		default:
			var oldUnknown bool
			rc.Before, _, oldUnknown = price(m.old, before)
			rc.After, rc.Components, rc.UsageDependent = price(m.new, after)
			rc.UsageDependent = rc.UsageDependent || oldUnknown
		}
		if priceErr != nil {
			return nil, priceErr
		}
		rc.Before, rc.After = round(rc.Before), round(rc.After)
		rc.Delta = round(rc.After - rc.Before)
		kind, name := groupOf(urn)
		key := kind + "/" + name
		g := groups[key]
		if g == nil {
			g = &Group{Kind: kind, Name: name}
			groups[key] = g
		}
		g.Resources = append(g.Resources, rc)
		g.Before += rc.Before
		g.After += rc.After
		report.Totals.Before += rc.Before
		report.Totals.After += rc.After
		if rc.UsageDependent {
			report.Totals.UsageDependent++
		}
	}
	for _, g := range groups {
		g.Before, g.After = round(g.Before), round(g.After)
		g.Delta = round(g.After - g.Before)
		sort.Slice(g.Resources, func(i, j int) bool { return g.Resources[i].URN < g.Resources[j].URN })
		report.Groups = append(report.Groups, *g)
	}
	kindOrder := map[string]int{"tenant": 0, "fanout": 1, "platform": 2, "stack": 3}
	sort.Slice(report.Groups, func(i, j int) bool {
		a, b := report.Groups[i], report.Groups[j]
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return a.Name < b.Name
	})
	report.Totals.Before, report.Totals.After = round(report.Totals.Before), round(report.Totals.After)
	report.Totals.Delta = round(report.Totals.After - report.Totals.Before)
	return report, nil
}

// Basis is what a report of cloud says of how it is priced: the cloud's
// basis (pricing.Cloud.Basis) and its catalog's note, or "" for a cloud
// priced from a public price list whose catalog says nothing.
func Basis(cat *pricing.Catalog, cloud string) string {
	var parts []string
	if c, err := pricing.Lookup(cloud); err == nil && c.Basis != "" {
		parts = append(parts, c.Basis)
	}
	if cc := cat.Cloud(cloud); cc != nil && cc.Note != "" {
		parts = append(parts, cc.Note)
	}
	return strings.Join(parts, " ")
}

func firstState(states ...*State) *State {
	for _, s := range states {
		if s != nil {
			return s
		}
	}
	return nil
}

// round keeps cents, as the outputs show.
func round(v float64) float64 { return math.Round(v*100) / 100 }
