package local_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/local"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
)

// TestValidateTenantChecksImages: a tenant whose image the runtime would
// refuse is refused before anything is registered, naming the field and
// the directory looked in.
//
//nolint:paralleltest // localtest.Images sets TENANTFLEET_LOCAL_* with t.Setenv.
func TestValidateTenantChecksImages(t *testing.T) {
	images := localtest.Images(t, append(localtest.ScenarioImages,
		"no-entrypoint/1.0/README", // an image directory without an entrypoint
	)...)
	adapter := &local.Adapter{}
	for _, spec := range conformance.Tenants() {
		if err := adapter.ValidateTenant(spec.WithDefaults()); err != nil {
			t.Errorf("tenant %s, whose images exist, was refused: %v", spec.ID, err)
		}
	}

	cases := []struct {
		reason string
		mutate func(*components.TenantSpec)
		field  string
		want   []string
	}{
		{"an absent tag", func(s *components.TenantSpec) { s.Web.Image = "registry.example.com/tenant-app:9.9.9" },
			"web.image", []string{filepath.Join(images, "tenant-app", "9.9.9"), "make build", "TENANTFLEET_LOCAL_IMAGES"}},
		{"an absent repository, latest by default", func(s *components.TenantSpec) { s.Worker.Image = "ghcr.io/acme/nope" },
			"worker.image", []string{filepath.Join(images, "nope", "latest")}},
		{"an image without an entrypoint", func(s *components.TenantSpec) { s.Web.Image = "no-entrypoint:1.0" },
			"web.image", []string{filepath.Join(images, "no-entrypoint", "1.0", "entrypoint")}},
		{"a command path not in the image", func(s *components.TenantSpec) { s.Worker.Command = []string{"/app/missing", "-v"} },
			"worker.command[0]", []string{filepath.Join(images, "tenant-app", "1.0.0", "app", "missing"), `"/app/missing"`}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()

			spec := conformance.Tenants()[0]
			tc.mutate(&spec)
			err := adapter.ValidateTenant(spec.WithDefaults())
			var fe *components.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("got %v, want a *FieldError on %s", err, tc.field)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not name %s:\n%v", w, err)
				}
			}
		})
	}

	// A bare command name may come from the runtime's PATH, which only the runtime knows.
	spec := conformance.Tenants()[0]
	spec.Worker.Command = []string{"sh", "-c", "true"}
	if err := adapter.ValidateTenant(spec.WithDefaults()); err != nil {
		t.Errorf("a bare command name was refused: %v", err)
	}

	// Both workloads' problems are reported at once.
	spec = conformance.Tenants()[0]
	spec.Web.Image, spec.Worker.Image = "a:1", "b:1"
	err := adapter.ValidateTenant(spec.WithDefaults())
	if err == nil || !strings.Contains(err.Error(), "web.image:") || !strings.Contains(err.Error(), "worker.image:") {
		t.Errorf("want errors on web.image and worker.image, got %v", err)
	}
}
