package digitalocean

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantfleet/tenantfleet/components"
)

// postgresVersions are the PostgreSQL majors both tenantfleet and
// DigitalOcean's managed PostgreSQL support.
var postgresVersions = []string{"14", "15", "16", "17"}

// databaseTier is what a neutral tier means for DigitalOcean's managed PostgreSQL.
type databaseTier struct {
	// Size is the node size slug.
	Size string
	// Nodes counts the primary and its standbys: 2 is a primary with one
	// standby that DigitalOcean fails over to.
	Nodes int
}

// databaseTiers is the one table mapping tiers to PostgreSQL cluster sizes.
// small is the 1 vCPU / 1 GB node (as AWS's db.t4g.micro), medium a
// 2 vCPU / 4 GB node, large a 4 vCPU / 8 GB node with a standby, as AWS's
// Multi-AZ and GCP's regional large.
var databaseTiers = map[components.Tier]databaseTier{
	components.TierSmall:  {Size: "db-s-1vcpu-1gb", Nodes: 1},
	components.TierMedium: {Size: "db-s-2vcpu-4gb", Nodes: 1},
	components.TierLarge:  {Size: "db-s-4vcpu-8gb", Nodes: 2},
}

// storageStepGiB is the step in which DigitalOcean adds disk to a cluster.
const storageStepGiB = 10

// storageSizeMib is the disk of a cluster asked for storageGB: at least the
// size's own disk (pgBaseDiskGiB), rounded up to a whole step, in MiB; disk
// above the size's own is added (and billed) in 10 GiB steps.
func storageSizeMib(t databaseTier, storageGB int) int {
	gib := max(storageGB, pgBaseDiskGiB[t.Size])
	gib = (gib + storageStepGiB - 1) / storageStepGiB * storageStepGiB
	return gib * 1024
}

// backupRetentionDays is how long DigitalOcean keeps a PostgreSQL cluster's
// daily backups and its point-in-time-recovery log: fixed, not configurable.
const backupRetentionDays = 7

// instanceSize is one App Platform container size.
type instanceSize struct {
	Slug string
	// MilliCPU is the vCPU count in millicores; a shared vCPU counts as a
	// whole one (it is a whole one, shared with other apps' containers).
	MilliCPU, MemoryMiB int
	// Dedicated sizes have a vCPU of their own; only they autoscale.
	Dedicated bool
	// Fixed sizes run exactly one container.
	Fixed bool
}

// instanceSizes are App Platform's container sizes, cheapest first (USD per
// container and month when written: 5, 10, 12, 25, 29, 34, 39, 49, 50, 78,
// 98, 156, 196, 392).
var instanceSizes = []instanceSize{
	{Slug: "apps-s-1vcpu-0.5gb", MilliCPU: 1000, MemoryMiB: 512, Fixed: true},
	{Slug: "apps-s-1vcpu-1gb-fixed", MilliCPU: 1000, MemoryMiB: 1024, Fixed: true},
	{Slug: "apps-s-1vcpu-1gb", MilliCPU: 1000, MemoryMiB: 1024},
	{Slug: "apps-s-1vcpu-2gb", MilliCPU: 1000, MemoryMiB: 2048},
	{Slug: "apps-d-1vcpu-0.5gb", MilliCPU: 1000, MemoryMiB: 512, Dedicated: true},
	{Slug: "apps-d-1vcpu-1gb", MilliCPU: 1000, MemoryMiB: 1024, Dedicated: true},
	{Slug: "apps-d-1vcpu-2gb", MilliCPU: 1000, MemoryMiB: 2048, Dedicated: true},
	{Slug: "apps-d-1vcpu-4gb", MilliCPU: 1000, MemoryMiB: 4096, Dedicated: true},
	{Slug: "apps-s-2vcpu-4gb", MilliCPU: 2000, MemoryMiB: 4096},
	{Slug: "apps-d-2vcpu-4gb", MilliCPU: 2000, MemoryMiB: 4096, Dedicated: true},
	{Slug: "apps-d-2vcpu-8gb", MilliCPU: 2000, MemoryMiB: 8192, Dedicated: true},
	{Slug: "apps-d-4vcpu-8gb", MilliCPU: 4000, MemoryMiB: 8192, Dedicated: true},
	{Slug: "apps-d-4vcpu-16gb", MilliCPU: 4000, MemoryMiB: 16384, Dedicated: true},
	{Slug: "apps-d-8vcpu-32gb", MilliCPU: 8000, MemoryMiB: 32768, Dedicated: true},
}

// scaling is how many containers a component runs.
type scaling struct {
	min, max int
}

// autoscales reports whether the component scales between min and max.
func (s scaling) autoscales() bool { return s.min != s.max }

// appSize returns the cheapest App Platform size with at least cpu
// millicores and memMiB: neutral sizes are rounded up, never down, so 250
// and 500 millicores run (and are billed) as a whole vCPU. A component that
// autoscales (min != max) needs a dedicated size, and one of more than one
// container a size that is not fixed. field is "web" or "worker".
func appSize(field string, cpu, memMiB int, s scaling) (string, error) {
	for _, size := range instanceSizes {
		switch {
		case size.MilliCPU < cpu || size.MemoryMiB < memMiB:
		case s.autoscales() && !size.Dedicated:
		case s.max > 1 && size.Fixed:
		default:
			return size.Slug, nil
		}
	}
	kind := "App Platform size"
	if s.autoscales() {
		kind = "dedicated App Platform size (autoscaling needs one)"
	}
	if cpu > instanceSizes[len(instanceSizes)-1].MilliCPU {
		return "", &components.FieldError{Field: field + ".cpu", Value: cpu, Reason: "is more than any " + kind + " has (8 vCPU)"}
	}
	return "", &components.FieldError{Field: field + ".memoryMiB", Value: memMiB,
		Reason: fmt.Sprintf("is more than any %s with %d millicores has", kind, cpu)}
}

// webScaling and workerScaling are the containers of each workload: the
// web app's from the spec, one always-on worker.
func webScaling(w components.WebAppSpec) scaling {
	return scaling{min: w.MinInstances, max: w.MaxInstances}
}

var workerScaling = scaling{min: 1, max: 1}

// ValidateTenant implements components.Adapter: DigitalOcean's fixed backup
// retention, the shared cluster's presence and version, App Platform's
// registries and sizes. (Tenant ids that would name a database or role every
// cluster already has, or a role starting with pg_, get shaped names: see
// naming.DigitalOcean.DatabaseName and DatabaseUser.)
// Every problem is its own *FieldError (components.Prefix unwraps one level).
func (a *Adapter) ValidateTenant(spec components.TenantSpec) error {
	var errs []error
	fail := func(field string, value any, format string, args ...any) {
		errs = append(errs, &components.FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
	}
	d := spec.Database
	if _, ok := databaseTiers[d.Tier]; !ok {
		fail("database.tier", string(d.Tier), "has no DigitalOcean PostgreSQL size")
	}
	if d.BackupRetentionDays != backupRetentionDays {
		fail("database.backupRetentionDays", d.BackupRetentionDays,
			"must be %d: DigitalOcean keeps daily backups and point-in-time recovery for exactly %d days", backupRetentionDays, backupRetentionDays)
	}
	if d.Placement == components.PlacementShared {
		switch s := a.cfg.SharedDatabase; {
		case s == nil:
			fail("database.placement", d.Placement, "needs the stack's shared cluster: set %s.sharedDatabase", configKey)
		case d.Version != s.Version:
			fail("database.version", d.Version, "must be the shared cluster's PostgreSQL version (%s) with placement shared", s.Version)
		}
	}
	for field, ref := range map[string]string{"web.image": spec.Web.Image, "worker.image": spec.Worker.Image} {
		if _, err := parseImage(ref); err != nil {
			fail(field, ref, "%s", err.Error())
		}
	}
	if _, err := appSize("web", spec.Web.CPU, spec.Web.MemoryMiB, webScaling(spec.Web)); err != nil {
		errs = append(errs, err)
	}
	if _, err := appSize("worker", spec.Worker.CPU, spec.Worker.MemoryMiB, workerScaling); err != nil {
		errs = append(errs, err)
	}
	slices.SortFunc(errs, func(x, y error) int { return strings.Compare(x.Error(), y.Error()) })
	return errors.Join(errs...)
}

// ValidateFanout implements components.Adapter: every subscriber runs the
// forwarder, so the config must name its image. Filters, queue settings and
// names have no DigitalOcean limit beyond the neutral ones: the forwarder
// filters, and consumers honour the queue settings.
func (a *Adapter) ValidateFanout(spec components.FanoutSpec) error {
	if len(spec.Subscribers) > 0 && a.cfg.ForwarderImage == "" {
		return &components.FieldError{Field: configKey + ".forwarderImage", Value: a.cfg.ForwarderImage,
			Reason: "is required with a fanout: each subscriber runs the tenantfleet-forwarder image"}
	}
	return nil
}
