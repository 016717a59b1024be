package providers_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/providers"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsmock"
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
		{"AWS", `unknown cloud "AWS": valid clouds are aws, azure, digitalocean, gcp, local`},
		{"", `unknown cloud "": valid clouds are aws, azure, digitalocean, gcp, local`},
		{"oracle", `unknown cloud "oracle": valid clouds are aws, azure, digitalocean, gcp, local`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				a, err := providers.New(ctx, tc.name)
				if err == nil && a.Name() != tc.name {
					t.Errorf("New(%q) returned the %q adapter", tc.name, a.Name())
				}
				return err
			}, pulumi.WithMocks("tenantfleet", "test", awsmock.Mocks))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New(%q): %v", tc.name, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New(%q) = %v, want an error containing %q", tc.name, err, tc.wantErr)
			}
		})
	}
	if got := strings.Join(providers.Names(), ","); got != "aws,azure,digitalocean,gcp,local" {
		t.Errorf("Names() = %q", got)
	}
}
