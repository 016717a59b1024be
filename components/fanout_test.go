package components_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
)

// fanoutSpec has a filtered subscriber with a queue of its own, one with
// defaults, and one receiving in a tenant's work queue.
func fanoutSpec() components.FanoutSpec {
	return components.FanoutSpec{
		Name: "account-events",
		Subscribers: []components.SubscriberSpec{
			{Name: "billing", Queue: components.QueueSpec{MaxReceiveCount: 10},
				Filter: &components.FilterSpec{Attribute: "event_type", Values: []string{"invoice.paid"}}},
			{Name: "audit"},
			{Name: "acme-inbox", Tenant: "acme"},
		},
	}
}

// fanoutCalls records what NewMessagingFanout asked of a FanoutCloud.
type fanoutCalls struct {
	mu     sync.Mutex
	queues []string // "<name> owner=<owner> tenant=<tenant> maxReceiveCount=<n>"
	subs   []string // "<name> tenant=<tenant> topic=<topic state> queue=<queue state>"
}

// recordingCloud is a FanoutCloud and nothing more: it registers one
// resource per queue and answers with known values.
func recordingCloud(c *fanoutCalls) components.FanoutCloudFns {
	return components.FanoutCloudFns{
		TopicFn: func(_ *pulumi.Context, name string, in components.TopicInput, _ pulumi.Resource) (*components.Topic, error) {
			return &components.Topic{ID: str("topic:" + in.Name), State: "topic " + name}, nil
		},
		QueueFn: func(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
			var q pulumi.CustomResourceState
			if err := ctx.RegisterResource("test:index:Queue", name, pulumi.Map{}, &q, pulumi.Parent(parent)); err != nil {
				return nil, err
			}
			c.mu.Lock()
			c.queues = append(c.queues, fmt.Sprintf("%s owner=%s tenant=%s maxReceiveCount=%d", name, in.Owner, in.Scope.Tenant, in.Spec.MaxReceiveCount))
			c.mu.Unlock()
			return &components.Queue{URL: str("queue://" + in.Owner), DeadLetterURL: str("queue://" + in.Owner + "/dlq"),
				Native: map[string]pulumi.Resource{"queue": &q}, State: "queue " + name}, nil
		},
		SubscribeFn: func(_ *pulumi.Context, name string, in components.SubscriptionInput, _ pulumi.Resource) (*components.Subscription, error) {
			c.mu.Lock()
			c.subs = append(c.subs, fmt.Sprintf("%s tenant=%s topic=%v queue=%v", name, in.Scope.Tenant, in.Topic.State, in.Queue.State))
			c.mu.Unlock()
			return &components.Subscription{}, nil
		},
	}
}

// TestMessagingFanoutOnAFanoutCloud runs a fanout on a double that is only a
// FanoutCloud: a queue per subscriber naming no tenant (owned by
// "<fanout>/<subscriber>", its spec defaulted), the tenant's own queue for
// the one naming a tenant, each subscription handed the adapter states of
// its topic and queue, and the queue URLs as outputs.
func TestMessagingFanoutOnAFanoutCloud(t *testing.T) {
	t.Parallel()

	calls := &fanoutCalls{}
	tenantQueue := &components.Queue{URL: str("queue://acme/work"), DeadLetterURL: str("queue://acme/work/dlq"), State: "queue acme"}
	m := &monitor{}
	var (
		wg   sync.WaitGroup
		urls map[string]string
	)
	err := m.run(func(ctx *pulumi.Context) error {
		f, err := components.NewMessagingFanout(ctx, "events", &components.MessagingFanoutArgs{
			Spec: fanoutSpec(), TenantQueues: map[string]*components.Queue{"acme": tenantQueue}, Cloud: recordingCloud(calls),
		})
		if err != nil {
			return err
		}
		if _, ok := f.Native["billing/queue"]; !ok {
			t.Errorf("Native keys = %q, want the subscriber's queue as billing/queue", slices.Sorted(maps.Keys(f.Native)))
		}
		wg.Add(1)
		f.QueueURLs.ApplyT(func(v map[string]string) map[string]string { urls = v; wg.Done(); return v })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	wantQueues := []string{
		"events-billing owner=account-events/billing tenant=shared maxReceiveCount=10",
		fmt.Sprintf("events-audit owner=account-events/audit tenant=shared maxReceiveCount=%d", components.DefaultMaxReceiveCount),
	}
	wantSubs := []string{
		"events-billing tenant=shared topic=topic events-topic queue=queue events-billing",
		"events-audit tenant=shared topic=topic events-topic queue=queue events-audit",
		"events-acme-inbox tenant=acme topic=topic events-topic queue=queue acme",
	}
	wantURLs := map[string]string{"billing": "queue://account-events/billing", "audit": "queue://account-events/audit", "acme-inbox": "queue://acme/work"}
	if got, want := strings.Join(calls.queues, "\n"), strings.Join(wantQueues, "\n"); got != want {
		t.Errorf("queues:\n-want\n%s\n+got\n%s", want, got)
	}
	if got, want := strings.Join(calls.subs, "\n"), strings.Join(wantSubs, "\n"); got != want {
		t.Errorf("subscriptions:\n-want\n%s\n+got\n%s", want, got)
	}
	if !maps.Equal(urls, wantURLs) {
		t.Errorf("queue URLs:\n-want %v\n+got  %v", wantURLs, urls)
	}
	if p := m.parentOf("events-billing"); !strings.HasSuffix(p, components.MessagingFanoutType+"::events") {
		t.Errorf("the subscriber's queue has parent %q, want the fanout", p)
	}
}

// TestMessagingFanoutErrorsNameTheField: the cloud's refusals come back
// named under the fanout's fields, and a spec the cloud refuses registers
// nothing.
func TestMessagingFanoutErrorsNameTheField(t *testing.T) {
	t.Parallel()

	filterRefused := &components.FieldError{Field: "filter", Reason: "is not supported"}
	cases := []struct {
		name      string
		cloud     components.FanoutCloudFns
		wantField string
		wantNone  bool
		reason    string
	}{
		{"refused by ValidateFanout", components.FanoutCloudFns{
			ValidateFanoutFn: func(components.FanoutSpec) error {
				return &components.FieldError{Field: "subscribers[0].filter", Reason: "is not supported"}
			},
		}, "subscribers[0].filter", true, "validation runs before anything is registered"},
		{"refused by Subscribe", func() components.FanoutCloudFns {
			c := recordingCloud(&fanoutCalls{})
			c.SubscribeFn = func(*pulumi.Context, string, components.SubscriptionInput, pulumi.Resource) (*components.Subscription, error) {
				return nil, filterRefused
			}
			return c
		}(), "subscribers[0].filter", false, "Subscribe names the subscriber's own field; the fanout prefixes it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			m := &monitor{}
			err := m.run(func(ctx *pulumi.Context) error {
				_, err := components.NewMessagingFanout(ctx, "events", &components.MessagingFanoutArgs{
					Spec: fanoutSpec(), TenantQueues: map[string]*components.Queue{"acme": {}}, Cloud: tc.cloud,
				})
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.wantField+":") {
				t.Fatalf("got %v, want an error naming %s (%s)", err, tc.wantField, tc.reason)
			}
			if tc.wantNone && len(m.names()) > 0 {
				t.Errorf("registered %q, want nothing (%s)", m.names(), tc.reason)
			}
		})
	}
}
