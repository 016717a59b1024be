package azure

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/tenantfleet/tenantfleet/components"
)

// databaseSize is what a neutral tier means for PostgreSQL flexible server.
type databaseSize struct {
	SKU, Tier string
	// ZoneRedundantHA adds a standby in another availability zone.
	ZoneRedundantHA bool
	// GeoRedundantBackup copies backups to the paired region.
	GeoRedundantBackup bool
}

// databaseSizes is the one table mapping tiers to flexible server SKUs.
var databaseSizes = map[components.Tier]databaseSize{
	components.TierSmall:  {SKU: "Standard_B1ms", Tier: "Burstable"},
	components.TierMedium: {SKU: "Standard_D2ds_v5", Tier: "GeneralPurpose"},
	components.TierLarge:  {SKU: "Standard_E4ds_v5", Tier: "MemoryOptimized", ZoneRedundantHA: true, GeoRedundantBackup: true},
}

// storageSizesGB are the disk sizes a flexible server offers (premium SSD);
// the spec's storageGB is rounded up to the next one.
var storageSizesGB = []int{32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}

func storageSize(gb int) int {
	for _, s := range storageSizesGB {
		if s >= gb {
			return s
		}
	}
	return storageSizesGB[len(storageSizesGB)-1]
}

// minBackupRetentionDays is flexible server's shortest backup retention.
const minBackupRetentionDays = 7

// maxLockSeconds is Service Bus's longest lock duration (PT5M): the
// neutral visibilityTimeoutSeconds maps onto it.
const maxLockSeconds = 300

// containerAppsSize checks a neutral CPU/memory pair against the Container
// Apps consumption profile, which runs 0.25 vCPU steps with exactly 2 GiB
// per vCPU (0.25/0.5Gi ... 4/8Gi), and returns the vCPU and memory strings.
func containerAppsSize(field string, cpu, memMiB int) (float64, string, error) {
	if cpu%250 != 0 || cpu < 250 || cpu > 4000 {
		return 0, "", &components.FieldError{Field: field + ".cpu", Value: cpu, Reason: "is not a Container Apps consumption size (0.25 to 4 vCPU in 0.25 steps)"}
	}
	if want := cpu * 2048 / 1000; memMiB != want {
		return 0, "", &components.FieldError{Field: field + ".memoryMiB", Value: memMiB,
			Reason: fmt.Sprintf("is not a Container Apps consumption size for %d millicores (2 GiB per vCPU); use %d", cpu, want)}
	}
	return float64(cpu) / 1000, strconv.FormatFloat(float64(memMiB)/1024, 'f', -1, 64) + "Gi", nil
}

func validateQueue(field string, q components.QueueSpec) error {
	if q.VisibilityTimeoutSeconds > maxLockSeconds {
		return &components.FieldError{Field: field + ".visibilityTimeoutSeconds", Value: q.VisibilityTimeoutSeconds,
			Reason: fmt.Sprintf("is longer than Service Bus's longest lock duration (%d seconds)", maxLockSeconds)}
	}
	return nil
}

// ValidateTenant implements components.Adapter: Container Apps runs only
// 2 GiB per vCPU, Service Bus locks last at most 5 minutes, and flexible
// server keeps backups at least 7 days.
func (*Adapter) ValidateTenant(spec components.TenantSpec) error {
	var errs []error
	if _, ok := databaseSizes[spec.Database.Tier]; !ok {
		errs = append(errs, &components.FieldError{Field: "database.tier", Value: string(spec.Database.Tier), Reason: "has no flexible server size"})
	}
	if spec.Database.BackupRetentionDays < minBackupRetentionDays {
		errs = append(errs, &components.FieldError{Field: "database.backupRetentionDays", Value: spec.Database.BackupRetentionDays,
			Reason: fmt.Sprintf("is shorter than flexible server's minimum of %d days", minBackupRetentionDays)})
	}
	if !slices.Contains([]string{"14", "15", "16", "17"}, spec.Database.Version) {
		errs = append(errs, &components.FieldError{Field: "database.version", Value: spec.Database.Version, Reason: "is not a flexible server version (14, 15, 16, 17)"})
	}
	if _, _, err := containerAppsSize("web", spec.Web.CPU, spec.Web.MemoryMiB); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := containerAppsSize("worker", spec.Worker.CPU, spec.Worker.MemoryMiB); err != nil {
		errs = append(errs, err)
	}
	if err := validateQueue("queue", spec.Queue); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ValidateFanout implements components.Adapter: filters are supported (a SQL
// filter rule); a subscriber's own queue has Service Bus's lock limit.
func (*Adapter) ValidateFanout(spec components.FanoutSpec) error {
	var errs []error
	for i, sub := range spec.Subscribers {
		if sub.Tenant == "" {
			if err := validateQueue(fmt.Sprintf("subscribers[%d].queue", i), sub.Queue.WithDefaults()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
