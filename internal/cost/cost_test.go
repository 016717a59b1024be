package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/pkg/v3/display"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fleetConfig is an AWS stack of the given tenants (each with a database
// of tier) and, when fanout, a fanout to every tenant.
func fleetConfig(cloud string, tiers map[string]string, fanout bool) map[string]any {
	var tenants []any
	var subs []any
	for _, id := range sortedIDs(tiers) {
		tenants = append(tenants, map[string]any{
			"id":       id,
			"database": map[string]any{"tier": tiers[id], "deletionProtection": false},
			"web":      map[string]any{"image": "docker.io/tenantfleet/tenant-app:1.0.0", "port": 8080},
			"worker":   map[string]any{"image": "docker.io/tenantfleet/tenant-worker:2.1.0"},
		})
		subs = append(subs, map[string]any{"name": id, "tenant": id})
	}
	cfg := map[string]any{"tenantfleet:cloud": cloud, "tenantfleet:tenants": tenants}
	c, _ := providers.Lookup(cloud)
	for k, v := range planSettings(c, cloud, "") {
		cfg[k] = v
	}
	if fanout {
		cfg["tenantfleet:fanout"] = map[string]any{"name": "account-events", "subscribers": subs}
	}
	return cloneConfig(cfg)
}

func sortedIDs(m map[string]string) []string {
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] < ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
	return ids
}

// states runs the program offline and returns what it registers as
// Pulumi's own state records, by URN.
func states(t *testing.T, cloud, stack string, cfg map[string]any) map[string]*apitype.ResourceV3 {
	t.Helper()
	res, parents, err := record(t.Context(), cloud, stack, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*apitype.ResourceV3{}
	for _, r := range res {
		urn := resource.URN(r.URN)
		out[r.URN] = &apitype.ResourceV3{URN: urn, Type: tokens.Type(r.Type), Custom: !strings.HasPrefix(r.Type, "tenantfleet:index:"),
			Inputs: r.Inputs, Parent: resource.URN(parents[r.URN])}
	}
	return out
}

// digest is the `pulumi preview --json` document of going from oldState to newState
// (either may be nil), built with Pulumi's own display types.
func digest(_ string, config map[string]any, oldState, newState map[string]*apitype.ResourceV3) []byte {
	d := display.PreviewDigest{Config: map[string]string{}, ChangeSummary: display.ResourceChanges{}}
	for k, v := range config {
		if s, ok := v.(string); ok {
			d.Config[k] = s
		} else {
			b, _ := json.Marshal(v)
			d.Config[k] = string(b)
		}
	}
	var urns []string
	seen := map[string]bool{}
	for _, m := range []map[string]*apitype.ResourceV3{oldState, newState} {
		for urn := range m {
			if !seen[urn] {
				seen[urn] = true
				urns = append(urns, urn)
			}
		}
	}
	for i := range urns {
		for j := i + 1; j < len(urns); j++ {
			if urns[j] < urns[i] {
				urns[i], urns[j] = urns[j], urns[i]
			}
		}
	}
	for _, urn := range urns {
		o, n := oldState[urn], newState[urn]
		step := &display.PreviewStep{URN: resource.URN(urn), OldState: o, NewState: n}
		switch {
		case o == nil:
			step.Op = display.StepOp(apitype.OpCreate)
		case n == nil:
			step.Op = display.StepOp(apitype.OpDelete)
		default:
			ob, _ := json.Marshal(o.Inputs)
			nb, _ := json.Marshal(n.Inputs)
			step.Op = display.StepOp(apitype.OpSame)
			if !bytes.Equal(ob, nb) {
				step.Op = display.StepOp(apitype.OpUpdate)
			}
		}
		d.Steps = append(d.Steps, step)
		d.ChangeSummary[step.Op]++
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

func price(t *testing.T, raw []byte, usage *pricing.Usage) *Report {
	t.Helper()
	pf, err := ParsePreview("preview.json", raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{}
	for k, v := range pf.Config {
		cfg[k] = v
	}
	cloud, region, err := CloudAndRegion(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := pricing.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	est, err := pricing.NewEstimator(cat, map[string]string{cloud: region}, usage)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build("prod", cloud, region, cat, est, pf.Steps)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func group(r *Report, kind, name string) *Group {
	for i := range r.Groups {
		if r.Groups[i].Kind == kind && r.Groups[i].Name == name {
			return &r.Groups[i]
		}
	}
	return nil
}

// TestAddingATenantCostsOneTenant: on every cloud, the delta of adding a
// tenant is that tenant's cost, and removing it gives the same delta negated.
func TestAddingATenantCostsOneTenant(t *testing.T) {
	t.Parallel()

	for _, cloud := range PlanClouds() {
		t.Run(cloud, func(t *testing.T) {
			t.Parallel()

			before := fleetConfig(cloud, map[string]string{"acme": "small"}, false)
			after := fleetConfig(cloud, map[string]string{"acme": "small", "globex": "medium"}, false)
			oldState, newState := states(t, cloud, "prod", before), states(t, cloud, "prod", after)

			add := price(t, digest(cloud, after, oldState, newState), nil)
			globex := group(add, "tenant", "globex")
			if globex == nil || globex.After <= 0 {
				t.Fatalf("no cost for the new tenant globex: %+v", add.Groups)
			}
			if add.Totals.Delta != globex.After || globex.Before != 0 {
				t.Errorf("adding globex: delta %v, globex costs %v", add.Totals.Delta, globex.After)
			}
			if acme := group(add, "tenant", "acme"); acme == nil || acme.Delta != 0 || acme.After <= 0 {
				t.Errorf("acme is unchanged and must cost the same before and after: %+v", acme)
			}

			remove := price(t, digest(cloud, before, newState, oldState), nil)
			if remove.Totals.Delta != -globex.After {
				t.Errorf("removing globex: delta %v, want %v", remove.Totals.Delta, -globex.After)
			}
			if remove.Totals.Before != add.Totals.After || remove.Totals.After != add.Totals.Before {
				t.Errorf("removal is not the addition reversed: %+v vs %+v", remove.Totals, add.Totals)
			}
		})
	}
}

// TestGoldenOutputs: a preview that creates a tenant, resizes another's
// database and deletes a third, priced and rendered in each format.
func TestGoldenOutputs(t *testing.T) {
	t.Parallel()

	before := fleetConfig("aws", map[string]string{"acme": "small", "initech": "small"}, true)
	after := fleetConfig("aws", map[string]string{"acme": "medium", "globex": "small"}, true)
	raw := digest("aws", after, states(t, "aws", "prod", before), states(t, "aws", "prod", after))
	r := price(t, raw, nil)
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, r, format); err != nil {
			t.Fatal(err)
		}
		golden(t, "report."+format+".golden", buf.Bytes())
	}
	// The JSON report reads back into the documented schema.
	var buf bytes.Buffer
	_ = Render(&buf, r, "json")
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.SchemaVersion != SchemaVersion || back.Totals != r.Totals {
		t.Fatalf("JSON report does not read back: %v %+v", err, back.Totals)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cost -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/cost -run Golden -update after an intended change):\n%s", name, got)
	}
}

func TestUsageFileSetsUsageParts(t *testing.T) {
	t.Parallel()

	cfg := fleetConfig("aws", map[string]string{"acme": "small"}, false)
	raw := digest("aws", cfg, nil, states(t, "aws", "prod", cfg))
	without := price(t, raw, nil)
	if without.Totals.UsageDependent == 0 {
		t.Fatal("no usage-dependent resource on AWS? SQS requests should be")
	}
	path := filepath.Join(t.TempDir(), "usage.yaml")
	usageFile := "version: 1\ndefaults:\n  aws:sqs/queue:Queue:\n    monthly_requests: 100000000\n"
	if err := os.WriteFile(path, []byte(usageFile), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := pricing.LoadUsage(path)
	if err != nil {
		t.Skipf("the AWS SQS usage key differs: %v", err)
	}
	with := price(t, raw, u)
	if with.Totals.After <= without.Totals.After {
		t.Errorf("100M SQS requests a month cost nothing: %v vs %v", with.Totals.After, without.Totals.After)
	}
}

//nolint:paralleltest // localtest.Images sets TENANTFLEET_LOCAL_* with t.Setenv.
func TestLocalCloudCostsNothingAndSaysSo(t *testing.T) {
	localtest.Images(t, "tenant-app/dev/entrypoint")
	steps := []Step{
		{Op: "create", URN: "urn:pulumi:dev::tenantfleet::tenantfleet:index:TenantUnit::acme", Type: "tenantfleet:index:TenantUnit", New: &State{}},
		{Op: "create", URN: "urn:pulumi:dev::tenantfleet::tenantfleet:index:TenantUnit$tenantfleet-local:index:Database::acme-db",
			Type: "tenantfleet-local:index:Database", New: &State{Parent: "urn:pulumi:dev::tenantfleet::tenantfleet:index:TenantUnit::acme"}},
	}
	cat, _ := pricing.LoadCatalog("")
	est, err := pricing.NewEstimator(cat, map[string]string{"local": ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build("dev", "local", "", cat, est, steps)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = Render(&buf, r, "table")
	if r.Totals.After != 0 || !strings.Contains(buf.String(), "$0.00 (local)") {
		t.Errorf("local stack: total %v\n%s", r.Totals.After, buf.String())
	}
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	t.Parallel()

	for name, raw := range map[string]string{
		"not json":   "preview failed: no credentials",
		"array":      `[{"op":"create"}]`,
		"truncated":  `{"steps": [{"op": "create", "urn": "urn:pulumi:prod::tenantfleet::aws:sqs/queue:Queue::q"`,
		"not digest": `{"hello": "world"}`,
		"bad urn":    `{"steps": [{"op": "create", "urn": "not-a-urn"}]}`,
	} {
		if _, err := ParsePreview("p.json", []byte(raw)); err == nil || !strings.Contains(err.Error(), "--preview-file p.json") {
			t.Errorf("%s: %v, want an error naming --preview-file", name, err)
		}
	}
	cat, _ := pricing.LoadCatalog("")
	if _, err := Compare(t.Context(), "dev", map[string]any{}, []string{"oracle"}, nil, cat, nil); err == nil || !strings.Contains(err.Error(), "--clouds") {
		t.Errorf("unknown cloud: %v", err)
	}
	if _, err := pricing.NewEstimator(cat, map[string]string{"aws": "mars-east-1"}, nil); err == nil || !strings.Contains(err.Error(), "mars-east-1") {
		t.Errorf("unknown region: %v", err)
	}
	path := filepath.Join(t.TempDir(), "usage.yaml")
	_ = os.WriteFile(path, []byte("version: 1\ndefaults:\n  aws:sqs/queue:Queue:\n    monthly_reqests: 5\n"), 0o600)
	u, err := pricing.LoadUsage(path)
	if err == nil {
		_, err = pricing.NewEstimator(cat, map[string]string{"aws": "us-east-1"}, u)
	}
	if err == nil || !strings.Contains(err.Error(), "monthly_reqests") {
		t.Errorf("usage file with a wrong key: %v, want an error naming it", err)
	}
	var unknown *pricing.UnknownTypeError
	est, _ := pricing.NewEstimator(cat, map[string]string{"aws": "us-east-1"}, nil)
	_, err = Build("prod", "aws", "us-east-1", cat, est, []Step{{Op: "create", URN: "urn:pulumi:prod::tenantfleet::aws:neptune/cluster:Cluster::g",
		Type: "aws:neptune/cluster:Cluster", New: &State{}}})
	if !errors.As(err, &unknown) {
		t.Errorf("an unpriced type: %v, want UnknownTypeError (never silently $0)", err)
	}
}

func TestCompareClouds(t *testing.T) {
	t.Parallel()

	cat, _ := pricing.LoadCatalog("")
	fleet := fleetConfig("aws", map[string]string{"acme": "small", "globex": "large"}, true)
	cmp, err := Compare(t.Context(), "prod", fleet, PlanClouds(), map[string]string{"aws": "eu-west-1"}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range cmp.Clouds {
		if cp.Error != "" || cp.Monthly <= 0 {
			t.Errorf("%s: %+v", cp.Cloud, cp)
		}
	}
	if cmp.Clouds[0].Region != "eu-west-1" {
		t.Errorf("aws region %s, want eu-west-1", cmp.Clouds[0].Region)
	}
	var buf bytes.Buffer
	if err := RenderComparison(&buf, cmp, "table"); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.table.golden", buf.Bytes())
	// A fleet one cloud refuses is reported for that cloud, naming the field.
	bad := fleetConfig("aws", map[string]string{"acme": "small"}, false)
	bad["tenantfleet:tenants"].([]any)[0].(map[string]any)["queue"] = map[string]any{"maxReceiveCount": 3}
	cmp, err = Compare(t.Context(), "prod", bad, []string{"aws", "gcp"}, nil, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Clouds[0].Error != "" || !strings.Contains(cmp.Clouds[1].Error, "maxReceiveCount") {
		t.Errorf("gcp should refuse maxReceiveCount 3, aws accept it: %+v", cmp.Clouds)
	}
}

// TestImportAndReplaceSteps: an import counts as a new resource in the
// stack's total; a replacement's three steps are one resource priced old
// and new, never twice.
func TestImportAndReplaceSteps(t *testing.T) {
	t.Parallel()

	cfg := fleetConfig("aws", map[string]string{"acme": "small"}, false)
	big := fleetConfig("aws", map[string]string{"acme": "large"}, false)
	small, large := states(t, "aws", "prod", cfg), states(t, "aws", "prod", big)
	var db string
	for urn, r := range small {
		if r.Type == "aws:rds/instance:Instance" {
			db = urn
		}
	}
	cat, _ := pricing.LoadCatalog("")
	est, _ := pricing.NewEstimator(cat, map[string]string{"aws": "us-east-1"}, nil)
	oldState := &State{Inputs: small[db].Inputs}
	newState := &State{Inputs: large[db].Inputs}
	replaced, err := Build("prod", "aws", "us-east-1", cat, est, []Step{
		{Op: string(apitype.OpCreateReplacement), URN: db, Type: "aws:rds/instance:Instance", Old: oldState, New: newState},
		{Op: string(apitype.OpReplace), URN: db, Type: "aws:rds/instance:Instance", Old: oldState, New: newState},
		{Op: string(apitype.OpDeleteReplaced), URN: db, Type: "aws:rds/instance:Instance", Old: oldState},
	})
	if err != nil {
		t.Fatal(err)
	}
	imported, err := Build("prod", "aws", "us-east-1", cat, est, []Step{
		{Op: string(apitype.OpImport), URN: db, Type: "aws:rds/instance:Instance", New: newState},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(replaced.Groups[0].Resources); n != 1 {
		t.Fatalf("a replacement priced as %d resources", n)
	}
	r := replaced.Groups[0].Resources[0]
	if r.Op != "replace" || r.Before <= 0 || r.After <= r.Before || r.After != imported.Totals.After {
		t.Errorf("replacement %+v; import total %v", r, imported.Totals.After)
	}
	if imported.Totals.Before != 0 || imported.Groups[0].Resources[0].Op != "import" {
		t.Errorf("import: %+v", imported.Totals)
	}
}
