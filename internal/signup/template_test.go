package signup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

const exampleTemplate = "../../examples/signup/template.yaml"

// TestExampleTemplatePassesEveryCloud: the README's template is accepted by
// every cloud's adapter, as serve checks at start.
//
//nolint:paralleltest // localtest.Images sets TENANTFLEET_LOCAL_* with t.Setenv.
func TestExampleTemplatePassesEveryCloud(t *testing.T) {
	localtest.Images(t, "tenant-app/dev/entrypoint")
	tmpl, err := LoadTemplate(exampleTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.CloudNames(), ","); got != "aws,azure,digitalocean,gcp,kubernetes,local" {
		t.Fatalf("clouds %s", got)
	}
	if err := checkTemplate(t.Context(), tmpl); err != nil {
		t.Fatal(err)
	}
	builtin, err := LoadTemplate("")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTemplate(t.Context(), builtin); err != nil {
		t.Fatal(err)
	}
}

func TestRegionGoesWhereEachCloudReadsIt(t *testing.T) {
	t.Parallel()
	tmpl, err := LoadTemplate(exampleTemplate)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ cloud, region, key, field string }{
		{"aws", "eu-west-1", "aws:region", ""},
		{"azure", "northeurope", "azure-native:location", ""},
		{"azure", "northeurope", "tenantfleet:azure", "location"},
		{"gcp", "us-central1", "gcp:region", ""},
		{"gcp", "us-central1", "tenantfleet:gcp", "region"},
		{"digitalocean", "nyc3", "tenantfleet:digitalocean", "region"},
	}
	for _, tc := range cases {
		cfg, err := tmpl.StackConfig(Request{ID: "acme", Tier: "medium", Cloud: tc.cloud, Region: tc.region})
		if err != nil {
			t.Fatalf("%s: %v", tc.cloud, err)
		}
		got := cfg[tc.key]
		if tc.field != "" {
			got = got.(map[string]any)[tc.field]
		}
		if got != tc.region {
			t.Errorf("%s: %s%s = %v, want %s", tc.cloud, tc.key, tc.field, got, tc.region)
		}
		if err := Check(t.Context(), "tenant-acme", cfg); err != nil {
			t.Errorf("%s in %s: %v", tc.cloud, tc.region, err)
		}
		tenant := cfg["tenantfleet:tenants"].([]any)[0].(map[string]any)
		if tenant["id"] != "acme" || tenant["database"].(map[string]any)["tier"] != "medium" {
			t.Errorf("%s: tenant %v", tc.cloud, tenant)
		}
	}
	// The template's own config is never changed by a signup.
	if tmpl.Clouds["aws"].Config["aws:region"] != "us-east-1" {
		t.Error("a signup's region leaked into the template")
	}
	// Per-cloud tenant settings are merged over the shared ones.
	cfg, _ := tmpl.StackConfig(Request{ID: "acme", Tier: "small", Cloud: "local"})
	tenant := cfg["tenantfleet:tenants"].([]any)[0].(map[string]any)
	if web := tenant["web"].(map[string]any); web["image"] != "tenant-app:dev" || web["port"] != float64(8080) {
		t.Errorf("local web spec %v: want the local image over the shared port", web)
	}
}

func TestBadSignupsNameTheirField(t *testing.T) {
	t.Parallel()
	tmpl, err := LoadTemplate(exampleTemplate)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		req   Request
		field string
	}{
		{Request{ID: "acme", Tier: "small", Cloud: "oracle"}, "cloud"},
		{Request{ID: "acme", Tier: "small", Cloud: "local", Region: "mars-1"}, "region"},
		{Request{ID: "acme", Tier: "small", Cloud: "gcp", Region: "not a region"}, "region"},
		{Request{ID: "acme", Tier: "small", Cloud: "azure", Region: ""}, ""},
	}
	for _, tc := range cases {
		cfg, err := tmpl.StackConfig(tc.req)
		if err == nil {
			err = Check(t.Context(), "tenant-acme", cfg)
		}
		var reqErr *RequestError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.req, err)
		case tc.field != "" && (!errors.As(err, &reqErr) || reqErr.Field != tc.field):
			t.Errorf("%+v: %v, want an error naming %s", tc.req, err, tc.field)
		}
	}
}

func TestTemplateMistakesAreRefusedAtLoad(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"unknown field":   "clouds: {local: {config: {}}}\ntenants: {}\n",
		"no cloud":        "tenant: {}\n",
		"unknown cloud":   "clouds: {oracle: {config: {}}}\n",
		"reserved key":    "clouds: {local: {config: {tenantfleet:tenants: []}}}\n",
		"plain key":       "clouds: {aws: {config: {region: us-east-1}}}\n",
		"tenant id":       "clouds: {local: {config: {}}}\ntenant: {id: acme}\n",
		"cloud tenant id": "clouds: {local: {config: {}, tenant: {id: acme}}}\n",
	}
	for name, text := range cases {
		path := filepath.Join(t.TempDir(), "t.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadTemplate(path)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "Template" || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want a ConfigError of Template naming %s", name, err, path)
			continue
		}
		if got := flagError(err).Error(); !strings.HasPrefix(got, "--template: "+path+": ") {
			t.Errorf("%s: serve says %q, want it to name --template and the file", name, got)
		}
	}
}

// TestRetainDatabaseKeepsTheDatabaseAndWhatItNeeds builds a deployment with
// Pulumi's own types: the database, its subnet group (a dependency), its
// parent component and provider are kept; the web app is not.
func TestRetainDatabaseKeepsTheDatabaseAndWhatItNeeds(t *testing.T) {
	t.Parallel()
	urn := func(typ, name, parent string) resource.URN {
		return resource.NewURN("tenant-acme", "tenantfleet", tokens.Type(parent), tokens.Type(typ), name)
	}
	stack := urn("pulumi:pulumi:Stack", "tenantfleet-tenant-acme", "")
	unit := urn("tenantfleet:index:TenantUnit", "acme", "")
	prov := urn("pulumi:providers:aws", "default", "")
	subnets := urn("aws:rds/subnetGroup:SubnetGroup", "acme-base-db-subnets", "tenantfleet:index:TenantUnit")
	db := urn("aws:rds/instance:Instance", "acme-db", "tenantfleet:index:TenantUnit")
	web := urn("aws:ecs/service:Service", "acme-web", "tenantfleet:index:TenantUnit")
	dep := apitype.DeploymentV3{Resources: []apitype.ResourceV3{
		{URN: stack, Type: "pulumi:pulumi:Stack"},
		{URN: prov, Type: "pulumi:providers:aws", Custom: true, ID: "p1"},
		{URN: unit, Type: "tenantfleet:index:TenantUnit", Parent: stack},
		{URN: subnets, Type: "aws:rds/subnetGroup:SubnetGroup", Custom: true, ID: "sg-1", Parent: unit, Provider: string(prov) + "::p1"},
		{URN: db, Type: "aws:rds/instance:Instance", Custom: true, ID: "db-1", Parent: unit, Provider: string(prov) + "::p1",
			Dependencies: []resource.URN{subnets}},
		{URN: web, Type: "aws:ecs/service:Service", Custom: true, ID: "svc-1", Parent: unit, Provider: string(prov) + "::p1",
			Dependencies: []resource.URN{db}},
	}}
	raw, err := json.Marshal(dep)
	if err != nil {
		t.Fatal(err)
	}
	keep, retained := databaseSubtree(raw, "acme")
	want := map[resource.URN]bool{stack: true, unit: true, prov: true, subnets: true, db: true}
	if len(keep) != len(want) {
		t.Fatalf("kept %v", keep)
	}
	for _, u := range keep {
		if !want[resource.URN(u)] {
			t.Errorf("kept %s", u)
		}
	}
	if len(retained) != 2 || retained[0].ID != "sg-1" || retained[1].ID != "db-1" {
		t.Errorf("retained %+v, want the subnet group and the instance", retained)
	}
}

func TestLockHoldersAreReadFromTheEngineMessage(t *testing.T) {
	t.Parallel()
	msg := "stack tenant-tau is locked by another operation; wait for it to finish and retry (if it crashed, delete its lock file)\n" +
		"  /state/.pulumi/locks/organization/tenantfleet/tenant-tau/fc03.json: created by root@vm-1 (pid 13629) at 2026-11-25T07:22:46Z"
	got := lockHolder.FindAllStringSubmatch(msg, -1)
	if len(got) != 1 || got[0][1] != "vm-1" || got[0][2] != "13629" {
		t.Fatalf("holders %q", got)
	}
	// Locked is the engine's typed case, never the message's text.
	if !isLocked(&engine.Error{Kind: engine.KindFailed, Err: fmt.Errorf("%s: %w", msg, engine.ErrLocked)}) {
		t.Error("engine.ErrLocked not recognised as locked")
	}
	if isLocked(errors.New(msg)) {
		t.Error("the message's text was taken for the case")
	}
}

func TestRetriesBackOffAndCap(t *testing.T) {
	t.Parallel()
	var p retryPolicy
	prev := 0.0
	for attempt := 1; attempt <= 12; attempt++ {
		d := time.Until(p.NextRetry(&rivertype.JobRow{Attempt: attempt})).Seconds()
		if d < 8 || d > 11*60 {
			t.Fatalf("attempt %d: retry in %.0fs", attempt, d)
		}
		if attempt <= 6 && d < prev*1.5 {
			t.Fatalf("attempt %d: %.0fs does not back off from %.0fs", attempt, d, prev)
		}
		prev = d
	}
}
