package gcp

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// databaseSize is what a neutral tier means for Cloud SQL for PostgreSQL.
type databaseSize struct {
	Edition, Tier string
	// Availability is ZONAL, or REGIONAL for a standby in another zone.
	Availability string
	// MaxLogDays is the edition's longest point-in-time-recovery log retention.
	MaxLogDays int
}

// databaseSizes is the one table mapping tiers to Cloud SQL machine tiers.
// small is a shared-core machine (0.6 vCPU burst, 1.7 GB): cheap, but not
// covered by the Cloud SQL SLA. medium is a dedicated 2 vCPU / 7.5 GB
// Enterprise machine; large is an Enterprise Plus performance-optimized
// 4 vCPU machine with a standby in another zone, as AWS's Multi-AZ and
// Azure's zone-redundant large.
var databaseSizes = map[components.Tier]databaseSize{
	components.TierSmall:  {Edition: "ENTERPRISE", Tier: "db-g1-small", Availability: "ZONAL", MaxLogDays: 7},
	components.TierMedium: {Edition: "ENTERPRISE", Tier: "db-custom-2-7680", Availability: "ZONAL", MaxLogDays: 7},
	components.TierLarge:  {Edition: "ENTERPRISE_PLUS", Tier: "db-perf-optimized-N-4", Availability: "REGIONAL", MaxLogDays: 35},
}

// backupRetention is what an instance of size keeps for a retention of days:
// daily automated backups, and days of transaction logs for point-in-time
// recovery (as many as asked, up to the edition's longest). Cloud SQL
// refuses as many backups as log days or fewer ("backup retention should be
// > transaction log retention": the earliest point in time needs the backup
// taken before it), so days of logs keep one backup more; never fewer
// backups than days.
func backupRetention(days int, size databaseSize) (retainedBackups, logDays int) {
	logDays = min(days, size.MaxLogDays)
	return max(days, logDays+1), logDays
}

// Cloud Run's vCPU sizes: 1, 2, 4, 6 or 8, or a fraction below 1. A
// fraction forces one request at a time per instance, request-based billing
// and the first-generation execution environment; an always-allocated CPU
// (the worker) cannot be a fraction at all. tenantfleet therefore runs
// every instance on at least 1 vCPU: 250 and 500 millicores are rounded up
// (and billed) as 1 vCPU, never down.
const minCloudRunMillicores = 1000

// cloudRunMaxMiB and cloudRunMinMiB are Cloud Run's memory bounds per vCPU count.
var (
	cloudRunMaxMiB = map[int]int{1000: 4096, 2000: 8192, 4000: 16384}
	cloudRunMinMiB = map[int]int{4000: 2048}
)

// cloudRunSize checks a neutral CPU/memory pair against Cloud Run and returns
// the container's cpu and memory limits ("1", "2Gi"). field is "web" or "worker".
func cloudRunSize(field string, cpu, memMiB int) (string, string, error) {
	vcpu := max(cpu, minCloudRunMillicores)
	hi, ok := cloudRunMaxMiB[vcpu]
	if !ok {
		return "", "", &components.FieldError{Field: field + ".cpu", Value: cpu, Reason: "is not a Cloud Run size (1, 2 or 4 vCPU; less is rounded up to 1)"}
	}
	if lo := cloudRunMinMiB[vcpu]; memMiB > hi || memMiB < lo {
		return "", "", &components.FieldError{Field: field + ".memoryMiB", Value: memMiB,
			Reason: fmt.Sprintf("is not a Cloud Run size for %d vCPU (%d to %d MiB)", vcpu/1000, max(lo, 512), hi)}
	}
	return strconv.Itoa(vcpu / 1000), strconv.Itoa(memMiB) + "Mi", nil
}

// Pub/Sub's limits on a subscription, which is what a queue is here.
const (
	minDeliveryAttempts = 5
	maxDeliveryAttempts = 100
	maxAckDeadline      = 600           // seconds
	minRetention        = 10 * 60       // seconds
	maxRetention        = 7 * 24 * 3600 // seconds
	// maxFilterBytes is Pub/Sub's longest subscription filter.
	maxFilterBytes = 256
)

// cloudRunReservedEnv are the variables Cloud Run sets itself and refuses in
// a container's env (PORT is also a contract variable, set through the port).
var cloudRunReservedEnv = []string{"K_SERVICE", "K_REVISION", "K_CONFIGURATION"}

// validateQueue returns one *FieldError per problem, not a joined error:
// components.Prefix unwraps one level only.
func validateQueue(field string, q components.QueueSpec) []error {
	var errs []error
	if q.MaxReceiveCount < minDeliveryAttempts || q.MaxReceiveCount > maxDeliveryAttempts {
		errs = append(errs, &components.FieldError{Field: field + ".maxReceiveCount", Value: q.MaxReceiveCount,
			Reason: fmt.Sprintf("is outside Pub/Sub's dead-letter delivery attempts (%d to %d)", minDeliveryAttempts, maxDeliveryAttempts)})
	}
	if q.VisibilityTimeoutSeconds > maxAckDeadline {
		errs = append(errs, &components.FieldError{Field: field + ".visibilityTimeoutSeconds", Value: q.VisibilityTimeoutSeconds,
			Reason: fmt.Sprintf("is longer than Pub/Sub's longest ack deadline (%d seconds)", maxAckDeadline)})
	}
	if q.RetentionSeconds < minRetention || q.RetentionSeconds > maxRetention {
		errs = append(errs, &components.FieldError{Field: field + ".retentionSeconds", Value: q.RetentionSeconds,
			Reason: fmt.Sprintf("is outside a Pub/Sub subscription's message retention (%d to %d seconds: 10 minutes to 7 days)", minRetention, maxRetention)})
	}
	return errs
}

func validateEnv(field string, env map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if slices.Contains(cloudRunReservedEnv, k) {
			errs = append(errs, &components.FieldError{Field: field + "." + k, Value: k, Reason: "is set by Cloud Run and cannot be overridden"})
		}
	}
	return errs
}

// ValidateTenant implements components.Adapter: Cloud Run's CPU and memory
// pairs and reserved variables, Pub/Sub's subscription limits, and the
// PostgreSQL names Cloud SQL already uses.
func (*Adapter) ValidateTenant(spec components.TenantSpec) error {
	var errs []error
	if _, ok := databaseSizes[spec.Database.Tier]; !ok {
		errs = append(errs, &components.FieldError{Field: "database.tier", Value: string(spec.Database.Tier), Reason: "has no Cloud SQL size"})
	}
	// A tenant id is its database and user name unless it has a '-'
	// (naming shapes those, and the names it reserves): an id that would
	// name a database or role every instance has is refused, as it always
	// was, rather than shaped.
	if slices.Contains(naming.CloudSQLPostgresDatabases, spec.ID) || slices.Contains(naming.CloudSQLPostgresRoles, spec.ID) {
		errs = append(errs, &components.FieldError{Field: "id", Value: spec.ID, Reason: "names a database or role every Cloud SQL instance already has"})
	}
	if _, _, err := cloudRunSize("web", spec.Web.CPU, spec.Web.MemoryMiB); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := cloudRunSize("worker", spec.Worker.CPU, spec.Worker.MemoryMiB); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, validateEnv("web.env", spec.Web.Env)...)
	errs = append(errs, validateEnv("worker.env", spec.Worker.Env)...)
	errs = append(errs, validateQueue("queue", spec.Queue)...)
	return errors.Join(errs...)
}

// ValidateFanout implements components.Adapter: a subscriber's own queue is
// a Pub/Sub subscription with its limits, and a filter becomes a Pub/Sub
// filter expression of at most 256 bytes. A tenant subscriber's filter runs
// in its relay workflow and has no such limit, but its values may not hold
// a Workflows expression.
func (*Adapter) ValidateFanout(spec components.FanoutSpec) error {
	var errs []error
	for i, sub := range spec.Subscribers {
		field := fmt.Sprintf("subscribers[%d]", i)
		if sub.Tenant != "" {
			// The relay workflow holds the values as data, but Workflows
			// evaluates ${...} in any string.
			if f := sub.Filter; f != nil && slices.ContainsFunc(f.Values, func(v string) bool { return strings.Contains(v, "${") }) {
				errs = append(errs, &components.FieldError{Field: field + ".filter.values", Value: f.Values,
					Reason: "may not contain \"${\": Workflows would evaluate it as an expression"})
			}
			continue
		}
		errs = append(errs, validateQueue(field+".queue", sub.Queue.WithDefaults())...)
		if f := sub.Filter; f != nil {
			if expr := filterExpression(f); len(expr) > maxFilterBytes {
				errs = append(errs, &components.FieldError{Field: field + ".filter", Value: len(expr),
					Reason: fmt.Sprintf("makes a Pub/Sub filter longer than %d bytes; use fewer or shorter values", maxFilterBytes)})
			}
		}
	}
	return errors.Join(errs...)
}
