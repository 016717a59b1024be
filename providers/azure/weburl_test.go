package azure_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/azure"
	"github.com/tenantfleet/tenantfleet/providers/azure/azuremock"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// TestWebURLIsTheIngressFQDN checks the tenant's web URL is the stable
// ingress FQDN over HTTPS, not a revision's.
func TestWebURLIsTheIngressFQDN(t *testing.T) {
	var (
		wg  sync.WaitGroup
		got string
	)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		a, err := azure.NewWithConfig(azure.Config{Location: "westeurope"})
		if err != nil {
			return err
		}
		p, err := components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: a})
		if err != nil {
			return err
		}
		u, err := components.NewTenantUnit(ctx, "acme", &components.TenantUnitArgs{Spec: conformance.Tenants()[0], Cloud: a, Platform: p})
		if err != nil {
			return err
		}
		wg.Add(1)
		u.WebURL.ApplyT(func(s string) string { got = s; wg.Done(); return s })
		return nil
	}, pulumi.WithMocks("tenantfleet", "dev", azuremock.Mocks))
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !strings.HasPrefix(got, "https://dev-acme-web-") || !strings.HasSuffix(got, ".westeurope.azurecontainerapps.io") {
		t.Errorf("web URL = %q, want https://<app>.<environment domain>", got)
	}
}
