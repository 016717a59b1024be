package aws_test

import (
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsoffline"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
)

// recorder keeps every registration and invoke on top of a cloud's mocks.
type recorder struct {
	pulumi.MockResourceMonitor
	mu        sync.Mutex
	resources []pulumi.MockResourceArgs
	calls     []pulumi.MockCallArgs
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	r.resources = append(r.resources, args)
	r.mu.Unlock()
	return r.MockResourceMonitor.NewResource(args)
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	r.mu.Lock()
	r.calls = append(r.calls, args)
	r.mu.Unlock()
	return r.MockResourceMonitor.Call(args)
}

// ofType returns the recorded registrations of one type token.
func (r *recorder) ofType(typ string) []pulumi.MockResourceArgs {
	var out []pulumi.MockResourceArgs
	for _, a := range r.resources {
		if a.TypeToken == typ {
			out = append(out, a)
		}
	}
	return out
}

// run is one update of the AWS adapter with config cfg: the scenario's
// tenants and fanout, on the conformance stack, under mocks (awsoffline.Model
// when nil). The provider rules are checked by the conformance suite
// (providers/conformance providerrules.go); this records registrations and
// invokes for the tests that read them.
type run struct {
	cfg   aws.Config
	mocks pulumi.MockResourceMonitor
}

func (p run) do(t *testing.T) *recorder {
	t.Helper()
	if p.mocks == nil {
		p.mocks = awsoffline.Model
	}
	tenants := conformance.Tenants()
	fanout := conformance.Fanout(true)
	rec := &recorder{MockResourceMonitor: p.mocks}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cloud, err := aws.NewWithConfig(p.cfg)
		if err != nil {
			return err
		}
		queues := map[string]*components.Queue{}
		for _, spec := range tenants {
			u, err := components.NewTenantUnit(ctx, spec.ID, &components.TenantUnitArgs{Spec: spec, Cloud: cloud})
			if err != nil {
				return err
			}
			queues[spec.ID] = u.Queue
		}
		_, err = components.NewMessagingFanout(ctx, "events", &components.MessagingFanoutArgs{Spec: fanout, TenantQueues: queues, Cloud: cloud})
		return err
	}, pulumi.WithMocks(conformance.Project, conformance.Stack, rec))
	if err != nil {
		t.Fatalf("config %+v: %v", p.cfg, err)
	}
	return rec
}
