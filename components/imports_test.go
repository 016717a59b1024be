package components_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCloudSDK proves components/ never imports a cloud SDK, directly or
// through any dependency: the components must stay cloud-neutral.
func TestNoCloudSDK(t *testing.T) {
	t.Parallel()

	out, err := exec.Command("go", "list", "-deps", "-test", "github.com/tenantfleet/tenantfleet/components/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	// Module path prefixes of the cloud SDKs and of the adapters.
	forbidden := strings.Fields(`
		github.com/pulumi/pulumi-aws/
		github.com/pulumi/pulumi-azure-native
		github.com/pulumi/pulumi-gcp/
		github.com/pulumi/pulumi-digitalocean/
		github.com/aws/
		github.com/Azure/
		cloud.google.com/
		github.com/tenantfleet/tenantfleet/providers
	`)
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned only %d packages; the check would prove nothing", len(deps))
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("components/ depends on %s", dep)
			}
		}
	}
}
