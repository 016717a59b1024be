package cost

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// refreshable lists the clouds whose catalog is rebuilt from a public price
// list with no credentials (pricing.Cloud.PriceList: AWS's bulk offer files,
// Azure's Retail Prices API). GCP's catalog API needs an API key and
// DigitalOcean publishes none: their catalogs are maintained by hand; a
// Kubernetes cluster has no price list, and its catalog holds the user's rates.
func refreshable() []string {
	var out []string
	for _, name := range pricing.Clouds() {
		if c, err := pricing.Lookup(name); err == nil && c.PriceList != nil {
			out = append(out, name)
		}
	}
	return out
}

func refreshCommand() *cobra.Command {
	var cloud, out, baseURL string
	cmd := &cobra.Command{
		Use:   "refresh-catalog",
		Short: "Rebuild a cloud's price catalog from its public price list (network; not run in CI)",
		Long: `refresh-catalog fetches the current prices of every SKU in a cloud's embedded
catalog, for every region in it, from the cloud's public price list — AWS's bulk
offer files, Azure's Retail Prices API; no credentials — and writes the catalog
to --out/<cloud>.yaml with each price's source and retrieval date. A SKU the price
list does not have is an error, never a stale price kept silently. Point
--catalog-dir at --out to use it, or copy it over internal/pricing/catalog/ and
commit it. GCP and DigitalOcean publish no credential-free price API: their
catalogs are updated by hand from the price pages. Kubernetes has no price list
at all: its catalog holds the rates you set.`,
		Example: `  tenantfleet cost refresh-catalog --cloud aws --out /tmp/catalog
  tenantfleet cost --stack aws --catalog-dir /tmp/catalog`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := pricing.Lookup(cloud)
			if err != nil || c.PriceList == nil {
				return usage(fmt.Errorf("--cloud: %q has no public price list to refresh from; choose %s", cloud, strings.Join(refreshable(), " or ")))
			}
			if out == "" {
				return usage(fmt.Errorf("--out is required: the directory to write %s.yaml to", cloud))
			}
			cat, err := pricing.LoadCatalog("")
			if err != nil {
				return err
			}
			current := cat.Cloud(cloud)
			if baseURL == "" {
				baseURL = c.PriceList.URL
			}
			fresh, err := c.PriceList.Refresh(cmd.Context(), &http.Client{Timeout: 30 * time.Minute}, baseURL, current, time.Now().UTC().Format("2006-01-02"))
			if err != nil {
				return fmt.Errorf("refresh the %s catalog: %w", cloud, err)
			}
			body, err := yaml.Marshal(fresh)
			if err != nil {
				return err
			}
			raw := append([]byte(fmt.Sprintf("# The %s price catalog, refreshed by `tenantfleet cost refresh-catalog --cloud %s`\n"+
				"# from the public price list (%s) on %s: each price names its source.\n", cloud, cloud, baseURL, fresh.Version)), body...)
			if err := os.MkdirAll(out, 0o755); err != nil {
				return usage(fmt.Errorf("--out: %w", err))
			}
			path := filepath.Join(out, cloud+".yaml")
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (version %s)\n", path, fresh.Version)
			return err
		},
	}
	cmd.Flags().StringVar(&cloud, "cloud", "", strings.Join(refreshable(), " or "))
	cmd.Flags().StringVar(&out, "out", "", "directory to write <cloud>.yaml to")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "price list base URL (default: the cloud's public one)")
	return cmd
}
