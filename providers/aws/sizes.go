package aws

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tenantfleet/tenantfleet/components"
)

// databaseSize is what a neutral tier means for RDS.
type databaseSize struct {
	InstanceClass string
	MultiAZ       bool
}

// databaseSizes is the one table mapping tiers to RDS SKUs (Graviton classes).
var databaseSizes = map[components.Tier]databaseSize{
	components.TierSmall:  {InstanceClass: "db.t4g.micro"},
	components.TierMedium: {InstanceClass: "db.m7g.large"},
	components.TierLarge:  {InstanceClass: "db.r7g.xlarge", MultiAZ: true},
}

// fargateMemory lists the memory (MiB) Fargate allows for each CPU size.
var fargateMemory = map[int][]int{
	256:  {512, 1024, 2048},
	512:  steps(1024, 4096),
	1024: steps(2048, 8192),
	2048: steps(4096, 16384),
	4096: steps(8192, 30720),
}

func steps(lo, hi int) []int {
	var out []int
	for m := lo; m <= hi; m += 1024 {
		out = append(out, m)
	}
	return out
}

// fargateSize maps neutral millicores onto Fargate CPU units and checks the
// memory is a combination Fargate runs; field is "web" or "worker".
func fargateSize(field string, cpu, memMiB int) (int, int, error) {
	units := cpu * 1024 / 1000
	if cpu == 250 {
		units = 256
	}
	allowed, ok := fargateMemory[units]
	if !ok {
		return 0, 0, &components.FieldError{Field: field + ".cpu", Value: cpu, Reason: "has no Fargate size"}
	}
	if !slices.Contains(allowed, memMiB) {
		return 0, 0, &components.FieldError{Field: field + ".memoryMiB", Value: memMiB,
			Reason: fmt.Sprintf("is not a Fargate size for %d millicores; use one of %v", cpu, allowed)}
	}
	return units, memMiB, nil
}

// ValidateTenant implements components.Adapter: Fargate runs only some
// CPU/memory pairs, and every tier must have an RDS size.
func (*Adapter) ValidateTenant(spec components.TenantSpec) error {
	var errs []error
	if _, ok := databaseSizes[spec.Database.Tier]; !ok {
		errs = append(errs, &components.FieldError{Field: "database.tier", Value: string(spec.Database.Tier), Reason: "has no RDS size"})
	}
	if _, _, err := fargateSize("web", spec.Web.CPU, spec.Web.MemoryMiB); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := fargateSize("worker", spec.Worker.CPU, spec.Worker.MemoryMiB); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ValidateFanout implements components.Adapter: SNS supports every neutral
// fanout, filters included (as a MessageAttributes filter policy).
func (*Adapter) ValidateFanout(components.FanoutSpec) error { return nil }
