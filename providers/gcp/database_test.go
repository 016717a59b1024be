package gcp

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// instanceSettings is the part of a Cloud SQL instance's inputs the backup
// rules judge, as Database registers it.
func instanceSettings(size databaseSize, retainedBackups, logDays int) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]any{
		"name": "dev-acme-db-12345678", "project": "tenantfleet-test",
		"settings": map[string]any{
			"edition": size.Edition, "tier": size.Tier, "availabilityType": size.Availability,
			"backupConfiguration": map[string]any{
				"enabled": true, "pointInTimeRecoveryEnabled": true,
				"transactionLogRetentionDays": logDays,
				"backupRetentionSettings":     map[string]any{"retainedBackups": retainedBackups, "retentionUnit": "COUNT"},
			},
		},
	})
}

// TestBackupRetentionCloudSQLAccepts checks every tier with every retention
// tenantfleet accepts (1 to 35 days) against Cloud SQL's backup rules.
func TestBackupRetentionCloudSQLAccepts(t *testing.T) {
	t.Parallel()

	for _, tier := range components.Tiers() {
		size := databaseSizes[tier]
		for days := 1; days <= 35; days++ {
			kept, logs := backupRetention(days, size)
			if v := rules.Evaluate(Rules, typeSQLInstance, instanceSettings(size, kept, logs)); len(v) > 0 {
				t.Errorf("%s, %d days: %d backups, %d log days: %v", tier, days, kept, logs, v)
			}
			if kept < days {
				t.Errorf("%s, %d days: keeps %d daily backups, fewer days than asked", tier, days, kept)
			}
			if want := min(days, size.MaxLogDays); logs != want {
				t.Errorf("%s, %d days: %d days of point-in-time recovery, want %d (as asked, up to the edition's %d)", tier, days, logs, want, size.MaxLogDays)
			}
		}
	}
}

// TestBackupRulesBite shows the rules refuse what Database sent before the
// fix: as many backups as days of logs (7 and 7 for the default retention,
// 14 and 14 on the large tier for globex's 14 days).
func TestBackupRulesBite(t *testing.T) {
	t.Parallel()

	cases := []struct {
		tier       components.Tier
		kept, logs int
		want       string
		reason     string
	}{
		{components.TierSmall, 7, 7, "backup retention should be > transaction log retention", "the old default: retainedBackups = transactionLogRetentionDays = 7"},
		{components.TierLarge, 14, 14, "backup retention should be > transaction log retention", "the old large tier at 14 days"},
		{components.TierMedium, 14, 8, "outside 1 to 7", "Enterprise keeps logs 7 days at most"},
		{components.TierLarge, 40, 36, "outside 1 to 35", "Enterprise Plus keeps logs 35 days at most"},
		{components.TierSmall, 366, 7, "outside 1 to 365", "Cloud SQL retains at most 365 backups"},
	}
	for _, tc := range cases {
		v := rules.Evaluate(Rules, typeSQLInstance, instanceSettings(databaseSizes[tc.tier], tc.kept, tc.logs))
		if !slices.ContainsFunc(v, func(v rules.Violation) bool { return strings.Contains(v.Problem, tc.want) }) {
			t.Errorf("%s with %d backups and %d log days: violations %v, want one saying %q (%s)", tc.tier, tc.kept, tc.logs, v, tc.want, tc.reason)
		}
	}
}

// TestTiersExistInTheirEdition checks the size table against Cloud SQL's
// machine tiers per edition, and that the check refuses a mismatch.
func TestTiersExistInTheirEdition(t *testing.T) {
	t.Parallel()

	for tier, size := range databaseSizes {
		if v := rules.Evaluate(Rules, typeSQLInstance, instanceSettings(size, 8, 7)); len(v) > 0 {
			t.Errorf("%s: %v", tier, v)
		}
	}
	bad := []databaseSize{
		{Edition: "ENTERPRISE_PLUS", Tier: "db-g1-small", MaxLogDays: 35},
		{Edition: "ENTERPRISE", Tier: "db-perf-optimized-N-4", MaxLogDays: 7},
		{Edition: "ENTERPRISE", Tier: "db-custom-3-7680", MaxLogDays: 7},
		{Edition: "ENTERPRISE", Tier: "db-custom-2-1024", MaxLogDays: 7},
	}
	for _, size := range bad {
		if v := rules.Evaluate(Rules, typeSQLInstance, instanceSettings(size, 8, 7)); len(v) == 0 {
			t.Errorf("%s on %s: no violation, want the tier refused", size.Tier, size.Edition)
		}
	}
}
