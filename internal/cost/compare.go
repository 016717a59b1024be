package cost

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// planSettings is the stack config an offline plan gives cloud besides the
// fleet: the settings its adapter requires (providers.Cloud.PlanConfig) in
// region, or in the cloud's default region when region is "". --region
// changes the region.
func planSettings(c providers.Cloud, cloud, region string) map[string]any {
	cfg := map[string]any{}
	if c.PlanConfig != nil {
		cfg = cloneConfig(c.PlanConfig)
	}
	providers.SetRegion(cfg, cloud, cmp.Or(region, c.DefaultRegion))
	return cfg
}

// Comparison is the same fleet priced on several clouds.
type Comparison struct {
	SchemaVersion int            `json:"schemaVersion"`
	Stack         string         `json:"stack"`
	Currency      string         `json:"currency"`
	HoursPerMonth int            `json:"hoursPerMonth"`
	Clouds        []CloudPricing `json:"clouds"`
}

// CloudPricing is the fleet on one cloud: a report of creates, or why the
// fleet cannot run there.
type CloudPricing struct {
	Cloud          string  `json:"cloud"`
	Region         string  `json:"region"`
	CatalogVersion string  `json:"catalogVersion"`
	Monthly        float64 `json:"monthly"`
	UsageDependent int     `json:"usageDependentResources"`
	Resources      int     `json:"resources"`
	Groups         []Group `json:"groups,omitempty"`
	// Basis says how the cloud is priced when that is not a public price
	// list (Report.Basis).
	Basis string `json:"pricingBasis,omitempty"`
	// Error says why the fleet does not run on this cloud (an adapter's
	// validation, naming the field).
	Error string `json:"error,omitempty"`
}

// Compare runs the fleet (a stack config's tenants and fanout) on each
// cloud with Pulumi's mocks and prices what it would create.
func Compare(ctx context.Context, stack string, fleet map[string]any, clouds []string, regions map[string]string,
	cat *pricing.Catalog, usage *pricing.Usage) (*Comparison, error) {
	out := &Comparison{SchemaVersion: SchemaVersion, Stack: stack, Currency: "USD", HoursPerMonth: pricing.HoursPerMonth}
	planned := make([]providers.Cloud, len(clouds))
	for i, cloud := range clouds {
		c, err := planCloud("--clouds", cloud)
		if err != nil {
			return nil, err
		}
		planned[i] = c
	}
	for cloud := range regions {
		if _, err := planCloud("--region "+cloud+"=...", cloud); err != nil {
			return nil, err
		}
	}
	for i, cloud := range clouds {
		region := cmp.Or(regions[cloud], planned[i].DefaultRegion)
		cfg := planSettings(planned[i], cloud, region)
		for _, k := range []string{stacks.KeyTenants, stacks.KeyFanout} {
			if v, ok := fleet[k]; ok {
				cfg[k] = v
			}
		}
		cfg[stacks.KeyCloud] = cloud
		cfg = cloneConfig(cfg)
		est, err := pricing.NewEstimator(cat, map[string]string{cloud: region}, usage)
		if err != nil {
			return nil, fmt.Errorf("--region: %w", err)
		}
		cp := CloudPricing{Cloud: cloud, Region: region, CatalogVersion: cat.Versions()[cloud], Basis: Basis(cat, cloud)}
		resources, parents, err := record(ctx, cloud, stack, cfg)
		if err != nil {
			cp.Error = stacks.ConfigProblems(err)
			out.Clouds = append(out.Clouds, cp)
			continue
		}
		report, err := Build(stack, cloud, region, cat, est, StepsFromPlan(resources, parents))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cloud, err)
		}
		cp.Monthly, cp.UsageDependent, cp.Resources, cp.Groups = report.Totals.After, report.Totals.UsageDependent, len(resources), report.Groups
		out.Clouds = append(out.Clouds, cp)
	}
	return out, nil
}

func cloneConfig(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// RenderComparison writes the comparison in format: a table of groups by
// cloud, JSON, or Markdown.
func RenderComparison(w io.Writer, c *Comparison, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	case "table", "", "markdown":
	default:
		return fmt.Errorf("--format: %q is not one of %s", format, strings.Join(Formats, ", "))
	}
	md := format == "markdown"
	// Rows: every group any cloud has, in a stable order.
	type rowKey struct{ kind, name string }
	seen := map[rowKey]bool{}
	var rows []rowKey
	for _, cp := range c.Clouds {
		for _, g := range cp.Groups {
			k := rowKey{g.Kind, g.Name}
			if !seen[k] {
				seen[k] = true
				rows = append(rows, k)
			}
		}
	}
	kindOrder := map[string]int{"tenant": 0, "fanout": 1, "platform": 2, "stack": 3}
	sort.Slice(rows, func(i, j int) bool {
		if kindOrder[rows[i].kind] != kindOrder[rows[j].kind] {
			return kindOrder[rows[i].kind] < kindOrder[rows[j].kind]
		}
		return rows[i].name < rows[j].name
	})
	cell := func(cp CloudPricing, k rowKey) string {
		if cp.Error != "" {
			return "—"
		}
		for _, g := range cp.Groups {
			if g.Kind == k.kind && g.Name == k.name {
				return money(g.After)
			}
		}
		return money(0)
	}
	heads := []string{"monthly"}
	for _, cp := range c.Clouds {
		if cp.Region == "" { // a cloud without regions
			heads = append(heads, cp.Cloud)
			continue
		}
		heads = append(heads, fmt.Sprintf("%s (%s)", cp.Cloud, cp.Region))
	}
	lines := [][]string{}
	for _, k := range rows {
		line := []string{k.kind + " " + k.name}
		for _, cp := range c.Clouds {
			line = append(line, cell(cp, k))
		}
		lines = append(lines, line)
	}
	total := []string{"total"}
	usage := []string{"+ depends on usage"}
	for _, cp := range c.Clouds {
		if cp.Error != "" {
			total, usage = append(total, "not valid"), append(usage, "")
			continue
		}
		total = append(total, money(cp.Monthly))
		usage = append(usage, fmt.Sprintf("%d resource%s", cp.UsageDependent, plural(cp.UsageDependent)))
	}
	lines = append(lines, total, usage)

	out := &errWriter{w: w}
	if md {
		out.printf("### Stack %s on each cloud (USD a month, %d hours)\n\n", c.Stack, c.HoursPerMonth)
		out.println("| " + strings.Join(heads, " | ") + " |")
		out.println("| --- |" + strings.Repeat(" ---: |", len(heads)-1))
		for _, l := range lines {
			out.println("| " + strings.Join(l, " | ") + " |")
		}
	} else {
		out.printf("Stack %s on each cloud: USD a month, %d hours a month; prices from the embedded catalog.\n\n", c.Stack, c.HoursPerMonth)
		tab := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		tw := &errWriter{w: tab}
		tw.println(strings.Join(heads, "\t") + "\t")
		for _, l := range lines {
			tw.println(strings.Join(l, "\t") + "\t")
		}
		if err := tab.Flush(); err != nil {
			return err
		}
	}
	for _, cp := range c.Clouds {
		if cp.Error != "" {
			out.printf("\n%s: the fleet is not valid there: %s\n", cp.Cloud, cp.Error)
		}
	}
	for _, cp := range c.Clouds {
		if cp.Basis != "" && cp.Error == "" {
			out.printf("\n%s: %s\n", cp.Cloud, cp.Basis)
		}
	}
	return out.err
}
