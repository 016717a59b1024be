package providers_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers"
)

func TestRegistry(t *testing.T) {
	// Azure needs a location, GCP a project and region, DigitalOcean a region.
	t.Setenv(pulumi.EnvConfig, `{"azure-native:location":"westeurope","gcp:project":"tenantfleet-test","gcp:region":"europe-west1","tenantfleet:digitalocean":"{\"region\":\"fra1\"}"}`)
	cases := []struct {
		name    string
		wantErr string
	}{
		{"aws", ""},
		{"azure", ""},
		{"gcp", ""},
		{"digitalocean", ""},
		{"local", ""},
		{"AWS", `unknown cloud "AWS": valid clouds are aws, azure, digitalocean, gcp, kubernetes, local`},
		{"", `unknown cloud "": valid clouds are aws, azure, digitalocean, gcp, kubernetes, local`},
		{"oracle", `unknown cloud "oracle": valid clouds are aws, azure, digitalocean, gcp, kubernetes, local`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			// Each cloud's adapter runs against the cloud's own offline model.
			var model pulumi.MockResourceMonitor = providers.Cloud{}.Offline
			c, lookupErr := providers.Lookup(tc.name)
			if lookupErr == nil {
				model = c.Offline
			}
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				a, err := providers.New(ctx, tc.name)
				if err == nil && a.Name() != tc.name {
					t.Errorf("New(%q) returned the %q adapter", tc.name, a.Name())
				}
				return err
			}, pulumi.WithMocks("tenantfleet", "test", model))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New(%q): %v", tc.name, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New(%q) = %v, want an error containing %q", tc.name, err, tc.wantErr)
			}
			if (lookupErr == nil) != (tc.wantErr == "") || lookupErr != nil && lookupErr.Error() != tc.wantErr {
				t.Errorf("Lookup(%q) = %v, want error %q", tc.name, lookupErr, tc.wantErr)
			}
		})
	}
	if got := strings.Join(providers.Names(), ","); got != "aws,azure,digitalocean,gcp,kubernetes,local" {
		t.Errorf("Names() = %q", got)
	}
}

// missingParts says which parts of a cloud's descriptor are missing or
// inconsistent.
func missingParts(c providers.Cloud) []string {
	var out []string
	if c.New == nil {
		out = append(out, "no factory (New)")
	}
	switch {
	case c.NoRegions != "" && (len(c.RegionKeys) > 0 || c.DefaultRegion != ""):
		out = append(out, "NoRegions, yet region keys or a default region")
	case c.NoRegions == "":
		if len(c.RegionKeys) == 0 {
			out = append(out, "no region keys (RegionKeys), nor why it has none (NoRegions)")
		}
		if c.DefaultRegion == "" {
			out = append(out, "no default region (DefaultRegion), nor why it has none (NoRegions)")
		}
	}
	for _, key := range c.RegionKeys {
		ns, name, ok := strings.Cut(key, ":")
		if !ok || ns == "" || name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			out = append(out, "region key "+key+" is not namespace:key or namespace:key.field")
		}
	}
	if len(c.TypePrefix) < 2 || !strings.HasSuffix(c.TypePrefix, ":") {
		out = append(out, `no Pulumi type prefix (TypePrefix, like "aws:")`)
	}
	if c.Offline.Outputs == nil {
		out = append(out, "no offline model (Offline)")
	}
	if c.NoPlan != "" && c.PlanConfig != nil {
		out = append(out, "NoPlan, yet PlanConfig")
	}
	return out
}

// TestEveryCloudHasEveryPart: each registered cloud has a factory, its
// regions (or says why it has none), its types' package, an offline model,
// and an offline plan or the reason it has none. internal/cost checks that
// each is priced and that its offline plan runs.
//
//nolint:paralleltest // the subtests run in turn: they share prefixes, where the second cloud with a type prefix finds the first.
func TestEveryCloudHasEveryPart(t *testing.T) {
	t.Parallel()

	prefixes := map[string]string{}
	for name, c := range providers.All() {
		t.Run(name, func(t *testing.T) {
			if missing := missingParts(c); len(missing) > 0 {
				t.Errorf("cloud %s: %s", name, strings.Join(missing, "; "))
			}
			if other, dup := prefixes[c.TypePrefix]; dup {
				t.Errorf("clouds %s and %s share the type prefix %q: pricing could not tell their resources apart", other, name, c.TypePrefix)
			}
			prefixes[c.TypePrefix] = name
		})
	}

	// The check bites: a cloud that lacks any part is reported.
	aws, err := providers.Lookup("aws")
	if err != nil {
		t.Fatal(err)
	}
	broken := []struct {
		reason string
		mutate func(c *providers.Cloud)
		want   string
	}{
		{"no factory", func(c *providers.Cloud) { c.New = nil }, "no factory"},
		{"no region keys", func(c *providers.Cloud) { c.RegionKeys = nil }, "no region keys"},
		{"no default region", func(c *providers.Cloud) { c.DefaultRegion = "" }, "no default region"},
		{"a region key without namespace", func(c *providers.Cloud) { c.RegionKeys = []string{"region"} }, "region key region"},
		{"no regions, yet a default", func(c *providers.Cloud) { c.RegionKeys, c.NoRegions = nil, "because" }, "NoRegions, yet"},
		{"no type prefix", func(c *providers.Cloud) { c.TypePrefix = "" }, "no Pulumi type prefix"},
		{"a type prefix without its colon", func(c *providers.Cloud) { c.TypePrefix = "aws" }, "no Pulumi type prefix"},
		{"no offline model", func(c *providers.Cloud) { c.Offline.Outputs = nil }, "no offline model"},
		{"no plan, yet plan settings", func(c *providers.Cloud) { c.NoPlan, c.PlanConfig = "because", map[string]any{} }, "NoPlan, yet"},
	}
	for _, tc := range broken {
		c := aws
		tc.mutate(&c)
		if got := strings.Join(missingParts(c), "; "); !strings.Contains(got, tc.want) {
			t.Errorf("%s: missingParts = %q, want it to say %q", tc.reason, got, tc.want)
		}
	}
}
