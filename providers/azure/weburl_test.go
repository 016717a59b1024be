package azure_test

import (
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/providers/azure"
	"github.com/tenantfleet/tenantfleet/providers/azure/azureoffline"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// TestWebURLIsTheIngressFQDN checks the tenant's web URL is the stable
// ingress FQDN over HTTPS, not a revision's.
func TestWebURLIsTheIngressFQDN(t *testing.T) {
	t.Parallel()

	a, err := azure.NewWithConfig(azure.Config{Location: "westeurope"})
	if err != nil {
		t.Fatal(err)
	}
	got := conformance.WebURL(t, a, azureoffline.Model)
	if !strings.HasPrefix(got, "https://dev-acme-web-") || !strings.HasSuffix(got, ".westeurope.azurecontainerapps.io") {
		t.Errorf("web URL = %q, want https://<app>.<environment domain>", got)
	}
}
