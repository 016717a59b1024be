package components_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// TestTenantUnitWorkloadShapes runs a tenant unit on adapters stating each
// workload shape, with and without its methods: TenantUnit calls the
// methods of the stated shape only, and refuses an adapter that lacks them
// before registering anything.
func TestTenantUnitWorkloadShapes(t *testing.T) {
	t.Parallel()

	separate := func(shape components.WorkloadShape, calls *[]string) components.Adapter {
		return separateCloud{fakeCloud: fakeCloud{caps: components.Capabilities{Workloads: shape}}, calls: calls}
	}
	combined := func(shape components.WorkloadShape, calls *[]string) components.Adapter {
		return combinedCloud{fakeCloud: fakeCloud{caps: components.Capabilities{Workloads: shape}}, calls: calls}
	}
	cases := []struct {
		name      string
		cloud     func(calls *[]string) components.Adapter
		wantCalls []string
		wantErr   string
		reason    string
	}{
		{"separate", func(c *[]string) components.Adapter { return separate(components.SeparateWorkloads, c) },
			[]string{"WebApp acme-web", "Container acme-worker"}, "", "a web app and a worker, named name-web and name-worker"},
		{"combined", func(c *[]string) components.Adapter { return combined(components.CombinedWorkloads, c) },
			[]string{"Workloads acme-app"}, "", "one call for both, named name-app"},
		{"states combined, has WebApp and Container", func(c *[]string) components.Adapter { return separate(components.CombinedWorkloads, c) },
			nil, "states combined workloads but has no Workloads", "the stated shape decides, not the methods found"},
		{"states separate, has Workloads", func(c *[]string) components.Adapter { return combined(components.SeparateWorkloads, c) },
			nil, "states separate workloads but has no WebApp and Container", "the stated shape decides, not the methods found"},
		{"states no shape", func(c *[]string) components.Adapter { return separate("", c) },
			nil, "states no workload shape", "the shape is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			var calls []string
			m := &monitor{}
			err := m.run(func(ctx *pulumi.Context) error {
				_, err := components.NewTenantUnit(ctx, "acme", &components.TenantUnitArgs{Spec: validTenant(), Cloud: tc.cloud(&calls)})
				return err
			})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want no error (%s)", err, tc.reason)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q (%s)", err, tc.wantErr, tc.reason)
			}
			if got, want := strings.Join(calls, ", "), strings.Join(tc.wantCalls, ", "); got != want {
				t.Errorf("calls:\n-want %s\n+got  %s\n(%s)", want, got, tc.reason)
			}
			if tc.wantErr != "" && len(m.names()) > 0 {
				t.Errorf("registered %q before refusing the adapter, want nothing", m.names())
			}
		})
	}
}

// TestSharedPlacementFollowsCapabilities: database.placement shared is
// accepted only on a cloud whose Capabilities say SharedDatabases.
func TestSharedPlacementFollowsCapabilities(t *testing.T) {
	t.Parallel()

	spec := validTenant()
	spec.Database.Placement = components.PlacementShared
	for _, shared := range []bool{false, true} {
		cloud := fakeCloud{caps: components.Capabilities{Workloads: components.SeparateWorkloads, SharedDatabases: shared}}
		err := components.ValidateTenant(cloud, spec)
		if refused := err != nil && strings.Contains(err.Error(), "database.placement"); refused == shared {
			t.Errorf("SharedDatabases %v: got %v, want the placement refused only without shared databases", shared, err)
		}
	}
}
