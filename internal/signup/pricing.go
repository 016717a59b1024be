package signup

import (
	"sync"

	"github.com/tenantfleet/tenantfleet/internal/cost"
	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// pricer prices a tenant stack's steps with the embedded catalog, as
// `tenantfleet cost` does (usage-priced parts are left out of the sums).
type pricer struct {
	once sync.Once
	cat  *pricing.Catalog
	err  error
}

// monthly prices steps (a preview's, or an update's) of the stack whose
// config is cfg: the monthly cost before, after and the difference.
func (p *pricer) monthly(stack string, cfg map[string]any, steps []cost.Step) (cost.Totals, error) {
	p.once.Do(func() { p.cat, p.err = pricing.LoadCatalog("") })
	if p.err != nil {
		return cost.Totals{}, p.err
	}
	cloud, region, err := cost.CloudAndRegion(cfg)
	if err != nil {
		return cost.Totals{}, err
	}
	est, err := pricing.NewEstimator(p.cat, map[string]string{cloud: region}, nil)
	if err != nil {
		return cost.Totals{}, err
	}
	report, err := cost.Build(stack, cloud, region, p.cat, est, steps)
	if err != nil {
		return cost.Totals{}, err
	}
	return report.Totals, nil
}
