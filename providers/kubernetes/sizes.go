package kubernetes

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/tenantfleet/tenantfleet/components"
)

// databaseSize is what a tier gives a tenant's CloudNativePG cluster: its
// instance count (a primary and standbys) and each instance's CPU and memory.
type databaseSize struct {
	Instances int
	CPU       int // millicores
	MemoryMiB int
}

// DatabaseSizes maps each tier to its database cluster: small is one
// instance, medium adds a standby, large runs two standbys on bigger pods.
var DatabaseSizes = map[components.Tier]databaseSize{
	components.TierSmall:  {Instances: 1, CPU: 500, MemoryMiB: 1024},
	components.TierMedium: {Instances: 2, CPU: 1000, MemoryMiB: 4096},
	components.TierLarge:  {Instances: 3, CPU: 2000, MemoryMiB: 8192},
}

// postgresVersions are the PostgreSQL major versions tenantfleet supports
// (components.ValidateTenant) that CloudNativePG publishes operand images
// for (ghcr.io/cloudnative-pg/postgresql, cloudnative-pg/postgres-containers).
var postgresVersions = []string{"14", "15", "16", "17"}

// The largest workload a tenant may ask for: a whole node of the common
// 16-vCPU, 64 GiB machine types. A pod asking for more never schedules.
const (
	maxWorkloadCPU       = 16000
	maxWorkloadMemoryMiB = 65536
	maxWebInstances      = 100
)

// budget is a tenant's ResourceQuota: what its pods may request at once,
// rolling updates included (one surging web pod and one more terminating,
// which counts until it is gone; the same for the worker).
type budget struct {
	CPU, MemoryMiB, StorageGiB, Pods, Volumes int
}

// budgetOf sizes a tenant's quota from its spec: the database cluster's
// instances, the web app at its maximum plus one surging pod, the worker
// plus one surging pod, and room for CloudNativePG's initdb and join jobs.
func budgetOf(spec components.TenantSpec) budget {
	db := DatabaseSizes[spec.Database.Tier]
	return budget{
		CPU:        db.Instances*db.CPU + (spec.Web.MaxInstances+2)*spec.Web.CPU + 3*spec.Worker.CPU + db.CPU,
		MemoryMiB:  db.Instances*db.MemoryMiB + (spec.Web.MaxInstances+2)*spec.Web.MemoryMiB + 3*spec.Worker.MemoryMiB + db.MemoryMiB,
		StorageGiB: db.Instances * spec.Database.StorageGB,
		Pods:       db.Instances + spec.Web.MaxInstances + 2 + 3 + 1,
		Volumes:    db.Instances,
	}
}

// ValidateTenant implements components.Adapter: what a cluster cannot run.
func (a *Adapter) ValidateTenant(spec components.TenantSpec) error {
	var errs []error
	fail := func(field string, value any, reason string) {
		errs = append(errs, &components.FieldError{Field: field, Value: value, Reason: reason})
	}
	if spec.Database.Placement == components.PlacementShared {
		fail("database.placement", spec.Database.Placement, "must be dedicated on Kubernetes: every tenant's database is a CloudNativePG cluster of its own in the tenant's namespace")
	}
	if !slices.Contains(postgresVersions, spec.Database.Version) {
		fail("database.version", spec.Database.Version, "must be a PostgreSQL major version CloudNativePG publishes images for: "+strings.Join(postgresVersions, ", "))
	}
	for _, w := range []struct {
		field          string
		image          string
		cpu, memoryMiB int
	}{
		{"web", spec.Web.Image, spec.Web.CPU, spec.Web.MemoryMiB},
		{"worker", spec.Worker.Image, spec.Worker.CPU, spec.Worker.MemoryMiB},
	} {
		if err := checkImage(w.image); err != nil {
			fail(w.field+".image", w.image, err.Error())
		}
		if w.cpu > maxWorkloadCPU {
			fail(w.field+".cpu", w.cpu, fmt.Sprintf("must be at most %d millicores: a pod asking for more than a 16-vCPU node never schedules", maxWorkloadCPU))
		}
		if w.memoryMiB > maxWorkloadMemoryMiB {
			fail(w.field+".memoryMiB", w.memoryMiB, fmt.Sprintf("must be at most %d MiB: a pod asking for more than a 64 GiB node never schedules", maxWorkloadMemoryMiB))
		}
	}
	if spec.Web.MaxInstances > maxWebInstances {
		fail("web.maxInstances", spec.Web.MaxInstances, fmt.Sprintf("must be at most %d", maxWebInstances))
	}
	return errors.Join(errs...)
}

// checkImage refuses what the kubelet cannot pull: a reference that is not
// a valid image name (the grammar of distribution/reference, which
// go-containerregistry implements). A reference without a tag means
// latest, which Kubernetes pulls on every start; it is refused so a
// rollout's image is always the one reviewed.
func checkImage(ref string) error {
	if ref == "" {
		return errors.New("is required")
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("is not an image reference: %w", err)
	}
	if _, digest := r.(name.Digest); digest {
		return nil
	}
	// The tag the reference states itself, not the latest ParseReference
	// fills in: after the last '/', a ':' (a registry's port comes before).
	last := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.Contains(last, ":") {
		return errors.New("needs a tag or a digest (an image without one is pulled as latest on every start)")
	}
	if t, ok := r.(name.Tag); ok && t.TagStr() == "latest" {
		return errors.New("must not be latest: name the release (a tag or a digest)")
	}
	return nil
}
