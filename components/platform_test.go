package components_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// platformCloud has a platform whose finisher registers one child under it,
// as DigitalOcean's shared database firewall.
type platformCloud struct {
	fakeCloud
	finished *int
}

func (platformCloud) Platform(*pulumi.Context, string, components.Scope, pulumi.Resource) (*components.PlatformResources, error) {
	return &components.PlatformResources{Native: map[string]pulumi.Resource{}, State: "state"}, nil
}

func (c platformCloud) FinishPlatform(ctx *pulumi.Context, p *components.Platform) error {
	*c.finished++
	var child pulumi.CustomResourceState
	return ctx.RegisterResource("test:index:Firewall", "platform-firewall", pulumi.Map{}, &child, pulumi.Parent(p))
}

// TestPlatformOutputsFollowItsLastChild: NewPlatform leaves the outputs to
// Finish, which runs the cloud's finisher, whose children go under the
// platform, and only then registers the outputs, once.
func TestPlatformOutputsFollowItsLastChild(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name         string
		finishes     int
		wantFinished int
		wantOutputs  int
		wantErr      string
		reason       string
	}{
		{"not finished", 0, 0, 0, "", "a child may still follow: the outputs wait"},
		{"finished", 1, 1, 1, "", "the finisher's child, then the outputs"},
		{"finished twice", 2, 1, 1, "already finished", "nothing may follow the outputs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			finished := 0
			cloud := platformCloud{fakeCloud: fakeCloud{caps: components.Capabilities{Workloads: components.SeparateWorkloads}}, finished: &finished}
			m := &monitor{}
			var state any
			err := m.run(func(ctx *pulumi.Context) error {
				p, err := components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: cloud})
				if err != nil {
					return err
				}
				state = p.State
				for range tc.finishes {
					if err := p.Finish(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want no error (%s)", err, tc.reason)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q (%s)", err, tc.wantErr, tc.reason)
			}
			if state != "state" {
				t.Errorf("platform State = %v, want the adapter's", state)
			}
			// Every program ends with the root stack's outputs.
			outputs := m.outputs - 1
			if finished != tc.wantFinished || outputs != tc.wantOutputs {
				t.Errorf("finisher ran %d times and the platform's outputs were registered %d times, want %d and %d (%s)",
					finished, outputs, tc.wantFinished, tc.wantOutputs, tc.reason)
			}
			if tc.wantFinished > 0 && !strings.HasSuffix(m.parentOf("platform-firewall"), components.PlatformType+"::platform") {
				t.Errorf("the finisher's child has parent %q, want the platform", m.parentOf("platform-firewall"))
			}
		})
	}
}
