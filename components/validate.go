package components

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxTenantIDLength bounds tenant ids so that every cloud's names, which
// combine the stack, the tenant and a role, stay readable before shaping.
const MaxTenantIDLength = 32

// FieldError is a rejected spec field: the field's path (for example
// "database.tier"), the value given and why it was refused.
type FieldError struct {
	Field  string
	Value  any
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s (got %s)", e.Field, e.Reason, formatValue(e.Value))
}

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case nil:
		return "nothing"
	default:
		return fmt.Sprint(v)
	}
}

// Prefix returns err with every FieldError's path prefixed by prefix, so a
// caller can place a spec's errors in its own document (for example
// "tenantfleet:tenants[2]."). Other errors are returned unchanged.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, &FieldError{Field: prefix + fe.Field, Value: fe.Value, Reason: fe.Reason})
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

type validator struct{ errs []error }

func (v *validator) fail(field string, value any, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) intRange(field string, value, lo, hi int) {
	if value < lo || value > hi {
		v.fail(field, value, "must be between %d and %d", lo, hi)
	}
}

func (v *validator) err() error { return errors.Join(v.errs...) }

var dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)

func (v *validator) label(field, value string, maxLen int) {
	switch {
	case value == "":
		v.fail(field, value, "is required")
	case len(value) > maxLen:
		v.fail(field, value, "must be at most %d characters", maxLen)
	case !dnsLabel.MatchString(value) || strings.Contains(value, "--"):
		v.fail(field, value, "must be a lowercase DNS label: a-z, 0-9 and single hyphens, starting with a letter and not ending with a hyphen")
	}
}

// Validate checks a tenant spec after WithDefaults and returns every problem
// found, each a *FieldError naming the field and the value.
func (s TenantSpec) Validate() error {
	v := &validator{}
	v.label("id", s.ID, MaxTenantIDLength)
	if s.ID == SharedTenant {
		v.fail("id", s.ID, "is reserved for resources shared by all tenants")
	}

	d := s.Database
	if !slices.Contains([]string{"14", "15", "16", "17"}, d.Version) {
		v.fail("database.version", d.Version, "must be a supported PostgreSQL major version: 14, 15, 16 or 17")
	}
	if !slices.Contains(Tiers(), d.Tier) {
		v.fail("database.tier", string(d.Tier), "must be one of small, medium, large")
	}
	v.intRange("database.storageGB", d.StorageGB, 20, 16384)
	v.intRange("database.backupRetentionDays", d.BackupRetentionDays, 1, 35)
	if d.Placement != PlacementDedicated && d.Placement != PlacementShared {
		v.fail("database.placement", d.Placement, "must be dedicated or shared")
	}

	w := s.Web
	v.image("web.image", w.Image)
	v.intRange("web.port", w.Port, 1, 65535)
	v.intRange("web.minInstances", w.MinInstances, 1, 100)
	v.intRange("web.maxInstances", w.MaxInstances, 1, 100)
	if w.MaxInstances < w.MinInstances {
		v.fail("web.maxInstances", w.MaxInstances, "must be at least web.minInstances (%d)", w.MinInstances)
	}
	v.compute("web", w.CPU, w.MemoryMiB)
	v.env("web.env", w.Env)

	v.queue("queue", s.Queue)

	c := s.Worker
	v.image("worker.image", c.Image)
	for i, arg := range c.Command {
		if i == 0 && strings.TrimSpace(arg) == "" {
			v.fail("worker.command[0]", arg, "must name the program to run")
		}
	}
	v.compute("worker", c.CPU, c.MemoryMiB)
	v.env("worker.env", c.Env)
	return v.err()
}

func (v *validator) queue(field string, q QueueSpec) {
	v.intRange(field+".maxReceiveCount", q.MaxReceiveCount, 1, 1000)
	v.intRange(field+".visibilityTimeoutSeconds", q.VisibilityTimeoutSeconds, 10, 43200)
	v.intRange(field+".retentionSeconds", q.RetentionSeconds, 60, DeadLetterRetentionSeconds)
}

// imageRef is a container image reference: [registry/]repository[:tag][@digest].
var imageRef = regexp.MustCompile(`^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)

func (v *validator) image(field, ref string) {
	switch {
	case ref == "":
		v.fail(field, ref, "is required: a container image reference such as registry.example.com/app:1.4.2")
	case !imageRef.MatchString(ref):
		v.fail(field, ref, "is not a container image reference ([registry/]repository[:tag][@sha256:digest], lowercase repository)")
	}
}

// CPU values in millicores that every cloud can run, and the memory each
// allows per vCPU. These are the intersection of AWS Fargate, Azure Container
// Apps, Cloud Run and DigitalOcean App Platform; adapters may reject further
// combinations their platform lacks, with the same field names.
var validCPU = []int{250, 500, 1000, 2000, 4000}

const (
	minMiBPerVCPU = 2048
	maxMiBPerVCPU = 8192
)

func (v *validator) compute(field string, cpu, memMiB int) {
	if !slices.Contains(validCPU, cpu) {
		v.fail(field+".cpu", cpu, "must be one of 250, 500, 1000, 2000, 4000 (millicores)")
		return
	}
	lo, hi := cpu*minMiBPerVCPU/1000, cpu*maxMiBPerVCPU/1000
	if memMiB < lo || memMiB > hi || memMiB%256 != 0 {
		v.fail(field+".memoryMiB", memMiB, "must be a multiple of 256 between %d and %d for %d millicores (2 to 8 GiB per vCPU)", lo, hi, cpu)
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v *validator) env(field string, env map[string]string) {
	for _, k := range sortedKeys(env) {
		switch {
		case !envName.MatchString(k):
			v.fail(field+"."+k, k, "is not a valid environment variable name")
		case IsContractVariable(k):
			v.fail(field+"."+k, k, "is set by the environment contract and cannot be overridden")
		}
	}
}

// Validate checks a fanout spec and returns every problem found. tenants
// holds the ids of the stack's tenants, which a subscriber may name.
func (f FanoutSpec) Validate(tenants []string) error {
	v := &validator{}
	v.label("name", f.Name, 48)
	if len(f.Subscribers) == 0 {
		v.fail("subscribers", 0, "must list at least one subscriber")
	}
	seen := map[string]int{}
	for i, s := range f.Subscribers {
		field := fmt.Sprintf("subscribers[%d]", i)
		v.label(field+".name", s.Name, 32)
		if prev, dup := seen[s.Name]; dup && s.Name != "" {
			v.fail(field+".name", s.Name, "is already used by subscribers[%d]", prev)
		} else {
			seen[s.Name] = i
		}
		if s.Tenant != "" {
			if !slices.Contains(tenants, s.Tenant) {
				v.fail(field+".tenant", s.Tenant, "names no tenant of this stack (tenants: %s)", strings.Join(tenants, ", "))
			}
			if s.Queue != (QueueSpec{}) {
				v.fail(field+".queue", "set", "must be empty when tenant is set: the tenant's queue settings apply")
			}
		} else {
			v.queue(field+".queue", s.Queue.WithDefaults())
		}
		if s.Filter != nil {
			if !envName.MatchString(s.Filter.Attribute) {
				v.fail(field+".filter.attribute", s.Filter.Attribute, "must be a message attribute name (letters, digits, underscores)")
			}
			if len(s.Filter.Values) == 0 {
				v.fail(field+".filter.values", 0, "must list at least one value")
			}
		}
	}
	return v.err()
}
