package components_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
)

func validTenant() components.TenantSpec {
	return components.TenantSpec{
		ID:     "acme",
		Web:    components.WebAppSpec{Image: "registry.example.com/app:1.0"},
		Worker: components.ContainerSpec{Image: "registry.example.com/app@sha256:" + strings.Repeat("a", 64)},
	}.WithDefaults()
}

func TestTenantValidation(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		mutate func(*components.TenantSpec)
		field  string // "" means valid
		reason string
	}{
		{"defaults", func(*components.TenantSpec) {}, "", "a spec with only images is complete after defaults"},
		{"hyphenated id", func(s *components.TenantSpec) { s.ID = "acme-corp-2" }, "", "DNS labels may contain hyphens and digits"},
		{"uppercase id", func(s *components.TenantSpec) { s.ID = "Acme" }, "id", "ids are lowercase"},
		{"double hyphen", func(s *components.TenantSpec) { s.ID = "ac--me" }, "id", "punycode-like ids are refused"},
		{"trailing hyphen", func(s *components.TenantSpec) { s.ID = "acme-" }, "id", "DNS labels do not end with a hyphen"},
		{"leading digit", func(s *components.TenantSpec) { s.ID = "1acme" }, "id", "ids start with a letter"},
		{"reserved id", func(s *components.TenantSpec) { s.ID = components.SharedTenant }, "id", "shared tags the resources of no tenant"},
		{"too long", func(s *components.TenantSpec) { s.ID = strings.Repeat("a", 33) }, "id", "ids are at most 32 characters"},
		{"pg version", func(s *components.TenantSpec) { s.Database.Version = "9.6" }, "database.version", "only supported majors"},
		{"storage", func(s *components.TenantSpec) { s.Database.StorageGB = 5 }, "database.storageGB", "20 GiB minimum"},
		{"retention", func(s *components.TenantSpec) { s.Database.BackupRetentionDays = 36 }, "database.backupRetentionDays", "35 days maximum"},
		{"port zero", func(s *components.TenantSpec) { s.Web.Port = -1 }, "web.port", "ports are positive"},
		{"image with spaces", func(s *components.TenantSpec) { s.Web.Image = "my app" }, "web.image", "not an image reference"},
		{"uppercase repository", func(s *components.TenantSpec) { s.Worker.Image = "Registry/App" }, "worker.image", "repositories are lowercase"},
		{"empty command", func(s *components.TenantSpec) { s.Worker.Command = []string{" "} }, "worker.command[0]", "a command names a program"},
		{"memory ratio", func(s *components.TenantSpec) { s.Web.CPU, s.Web.MemoryMiB = 1000, 1024 }, "web.memoryMiB", "at least 2 GiB per vCPU"},
		{"memory step", func(s *components.TenantSpec) { s.Web.CPU, s.Web.MemoryMiB = 1000, 2100 }, "web.memoryMiB", "multiples of 256"},
		{"bad env name", func(s *components.TenantSpec) { s.Worker.Env = map[string]string{"1X": "y"} }, "worker.env.1X", "not a variable name"},
		{"queue password override", func(s *components.TenantSpec) { s.Web.Env = map[string]string{"QUEUE_PASSWORD": "x"} }, "web.env.QUEUE_PASSWORD", "contract variables of some clouds only are still reserved"},
		{"queue CA override", func(s *components.TenantSpec) { s.Worker.Env = map[string]string{"QUEUE_CA_CERT": "x"} }, "worker.env.QUEUE_CA_CERT", "contract variables of some clouds only are still reserved"},
		{"placement", func(s *components.TenantSpec) { s.Database.Placement = "regional" }, "database.placement", "dedicated or shared"},
		{"visibility", func(s *components.TenantSpec) { s.Queue.VisibilityTimeoutSeconds = 50000 }, "queue.visibilityTimeoutSeconds", "12 hours maximum"},
		{"receive count", func(s *components.TenantSpec) { s.Queue.MaxReceiveCount = 1001 }, "queue.maxReceiveCount", "1000 maximum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			spec := validTenant()
			tc.mutate(&spec)
			err := spec.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid (%s), got %v", tc.reason, err)
				}
				return
			}
			var fe *components.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a FieldError on %s (%s), got %v", tc.field, tc.reason, err)
			}
			if !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("error does not name %s (%s): %v", tc.field, tc.reason, err)
			}
		})
	}
}

func TestDefaultsAreValidAndStable(t *testing.T) {
	t.Parallel()

	s := validTenant()
	if !s.Database.DeletionProtected() {
		t.Error("deletion protection must default to on")
	}
	if s.WithDefaults().Database.Tier != components.TierSmall || s.Web.MaxInstances < s.Web.MinInstances {
		t.Errorf("unexpected defaults: %+v", s)
	}
	off := false
	s.Database.DeletionProtection = &off
	if s.WithDefaults().Database.DeletionProtected() {
		t.Error("an explicit deletionProtection: false must survive defaulting")
	}
}

func TestFanoutValidation(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		spec  components.FanoutSpec
		field string
	}{
		{"valid", components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{{Name: "a"}, {Name: "b", Tenant: "acme"}}}, ""},
		{"no subscribers", components.FanoutSpec{Name: "events"}, "subscribers"},
		{"duplicate subscriber", components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{{Name: "a"}, {Name: "a"}}}, "subscribers[1].name"},
		{"unknown tenant", components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{{Name: "a", Tenant: "initech"}}}, "subscribers[0].tenant"},
		{"tenant with queue settings", components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{{Name: "a", Tenant: "acme", Queue: components.QueueSpec{MaxReceiveCount: 2}}}}, "subscribers[0].queue"},
		{"empty filter", components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{{Name: "a", Filter: &components.FilterSpec{Attribute: "type"}}}}, "subscribers[0].filter.values"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			err := tc.spec.Validate([]string{"acme"})
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.field != "" && (err == nil || !strings.Contains(err.Error(), tc.field+":")):
				t.Fatalf("want an error naming %s, got %v", tc.field, err)
			}
		})
	}
}

func TestPrefixPlacesErrorsInTheDocument(t *testing.T) {
	t.Parallel()

	spec := validTenant()
	spec.ID, spec.Web.Port = "Bad", 0
	err := components.Prefix("tenantfleet:tenants[3].", spec.Validate())
	for _, want := range []string{"tenantfleet:tenants[3].id:", "tenantfleet:tenants[3].web.port:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
