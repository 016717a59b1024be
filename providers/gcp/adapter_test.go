package gcp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	"github.com/tenantfleet/tenantfleet/providers/gcp"
	"github.com/tenantfleet/tenantfleet/providers/gcp/gcpoffline"
)

// newFromConfig runs gcp.New in a program whose stack config is cfg.
func newFromConfig(t *testing.T, cfg map[string]string) error {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(pulumi.EnvConfig, string(raw))
	return pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := gcp.New(ctx)
		return err
	}, pulumi.WithMocks("tenantfleet", "dev", gcpoffline.Model))
}

//nolint:paralleltest // newFromConfig passes the config through PULUMI_CONFIG with t.Setenv, as the engine does.
func TestConfig(t *testing.T) {
	cases := []struct {
		name   string
		cfg    map[string]string
		want   string
		reason string
	}{
		{"complete", map[string]string{"tenantfleet:gcp": `{"project":"tenantfleet-test","region":"europe-west1"}`}, "", "both keys set"},
		{"provider defaults", map[string]string{"gcp:project": "tenantfleet-test", "gcp:region": "europe-west1"}, "", "gcp:project and gcp:region fill in"},
		{"missing project", map[string]string{"tenantfleet:gcp": `{"region":"europe-west1"}`}, "tenantfleet:gcp.project: is required", "no silent default project"},
		{"missing region", map[string]string{"tenantfleet:gcp": `{"project":"tenantfleet-test"}`}, "tenantfleet:gcp.region: is required", "no silent default region"},
		{"bad project", map[string]string{"tenantfleet:gcp": `{"project":"Tenantfleet Test","region":"europe-west1"}`}, "tenantfleet:gcp.project: is not a project id", "project ids are lowercase"},
		{"zone for region", map[string]string{"tenantfleet:gcp": `{"project":"tenantfleet-test","region":"europe-west1-b"}`}, "tenantfleet:gcp.region: is not a region", "a zone is not a region"},
		{"unknown field", map[string]string{"tenantfleet:gcp": `{"project":"tenantfleet-test","region":"europe-west1","zone":"b"}`}, `tenantfleet:gcp: json: unknown field "zone"`, "a typo must not be ignored"},
		{"malformed", map[string]string{"tenantfleet:gcp": `{"project":`}, "tenantfleet:gcp:", "the key is named"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := newFromConfig(t, tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error (%s)", err, tc.reason)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q (%s)", err, tc.want, tc.reason)
			}
		})
	}
}

func TestValidateTenant(t *testing.T) {
	t.Parallel()

	a, err := gcp.NewWithConfig(gcp.Config{Project: "tenantfleet-test", Region: "europe-west1"})
	if err != nil {
		t.Fatal(err)
	}
	conformance.ExpectValidation(t, a, []conformance.ValidationCase{
		{Name: "defaults", Mutate: func(*components.TenantSpec) {}, Want: nil, Reason: "the neutral defaults run on Cloud Run (0.25 and 0.5 vCPU are rounded up to 1)"},
		{Name: "4 vCPU 16 GiB", Mutate: func(s *components.TenantSpec) { s.Web.CPU, s.Web.MemoryMiB = 4000, 16384 }, Want: nil, Reason: "the largest neutral size Cloud Run takes"},
		{Name: "delivery attempts", Mutate: func(s *components.TenantSpec) { s.Queue.MaxReceiveCount = 101 }, Want: []string{"queue.maxReceiveCount: is outside Pub/Sub's dead-letter delivery attempts (5 to 100) (got 101)"}, Reason: "Pub/Sub caps delivery attempts at 100"},
		{Name: "ack deadline", Mutate: func(s *components.TenantSpec) { s.Queue.VisibilityTimeoutSeconds = 601 }, Want: []string{"queue.visibilityTimeoutSeconds: is longer than Pub/Sub's longest ack deadline (600 seconds) (got 601)"}, Reason: "Pub/Sub ack deadlines end at 600 s"},
		{Name: "retention", Mutate: func(s *components.TenantSpec) { s.Queue.RetentionSeconds = 300 }, Want: []string{"queue.retentionSeconds: is outside a Pub/Sub subscription's message retention"}, Reason: "subscriptions keep messages at least 10 minutes"},
		{Name: "2 vCPU 16 GiB", Mutate: func(s *components.TenantSpec) { s.Worker.CPU, s.Worker.MemoryMiB = 2000, 16384 }, Want: []string{"worker.memoryMiB: is not a Cloud Run size for 2 vCPU (512 to 8192 MiB) (got 16384)"}, Reason: "Cloud Run gives 2 vCPU at most 8 GiB"},
		{Name: "reserved env", Mutate: func(s *components.TenantSpec) { s.Web.Env = map[string]string{"K_REVISION": "x"} }, Want: []string{"web.env.K_REVISION: is set by Cloud Run"}, Reason: "Cloud Run refuses its own variables in env"},
		{Name: "a role every instance has", Mutate: func(s *components.TenantSpec) { s.ID = "cloudsqlsuperuser" }, Want: []string{"id: names a database or role every Cloud SQL instance already has"},
			Reason: "naming.CloudSQLPostgresRoles: refused as it always was, not shaped"},
		{Name: "a database every instance has", Mutate: func(s *components.TenantSpec) { s.ID = "template1" }, Want: []string{"id: names a database or role every Cloud SQL instance already has"},
			Reason: "naming.CloudSQLPostgresDatabases"},
		{Name: "a role Cloud SQL creates with a feature the adapter never turns on", Mutate: func(s *components.TenantSpec) { s.ID = "cloudsqllogical" }, Want: nil,
			Reason: "accepted since the first release: the instance has no cloudsqllogical role without logical replication"},
		{Name: "a PostgreSQL keyword", Mutate: func(s *components.TenantSpec) { s.ID = "user" }, Want: nil, Reason: "Cloud SQL takes it; stacks have databases named user"},
		{Name: "every problem at once", Mutate: func(s *components.TenantSpec) {
			s.Queue.MaxReceiveCount, s.Queue.VisibilityTimeoutSeconds = 3, 700
			s.Web.CPU, s.Web.MemoryMiB = 1000, 8192
		}, Want: []string{"queue.maxReceiveCount:", "queue.visibilityTimeoutSeconds:", "web.memoryMiB:"}, Reason: "errors are joined, not the first only"},
	})
}

func TestValidateFanout(t *testing.T) {
	t.Parallel()

	a, err := gcp.NewWithConfig(gcp.Config{Project: "tenantfleet-test", Region: "europe-west1"})
	if err != nil {
		t.Fatal(err)
	}
	long := make([]string, 20)
	for i := range long {
		long[i] = "invoice.status." + strings.Repeat("x", i)
	}
	cases := []struct {
		name   string
		sub    components.SubscriberSpec
		want   string
		reason string
	}{
		{"own queue limits", components.SubscriberSpec{Name: "a", Queue: components.QueueSpec{MaxReceiveCount: 2}},
			"subscribers[0].queue.maxReceiveCount:", "a subscriber's own queue is a subscription with Pub/Sub's limits"},
		{"long filter", components.SubscriberSpec{Name: "a", Filter: &components.FilterSpec{Attribute: "type", Values: long}},
			"subscribers[0].filter: makes a Pub/Sub filter longer than 256 bytes", "Pub/Sub filters hold 256 bytes"},
		{"long filter into a tenant", components.SubscriberSpec{Name: "a", Tenant: "acme", Filter: &components.FilterSpec{Attribute: "type", Values: long}},
			"", "the relay workflow evaluates a tenant subscriber's filter, without Pub/Sub's limit"},
		{"expression in a relayed value", components.SubscriberSpec{Name: "a", Tenant: "acme", Filter: &components.FilterSpec{Attribute: "type", Values: []string{"${sys.now()}"}}},
			"subscribers[0].filter.values: may not contain", "Workflows would evaluate the value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			err := a.ValidateFanout(components.FanoutSpec{Name: "events", Subscribers: []components.SubscriberSpec{tc.sub}})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error (%s)", err, tc.reason)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q (%s)", err, tc.want, tc.reason)
			}
		})
	}
}

// TestWebURLIsTheRunAppURL checks the tenant's web URL is the service's
// run.app URL over HTTPS.
func TestWebURLIsTheRunAppURL(t *testing.T) {
	t.Parallel()

	a, err := gcp.NewWithConfig(gcp.Config{Project: "tenantfleet-test", Region: "europe-west1"})
	if err != nil {
		t.Fatal(err)
	}
	got := conformance.WebURL(t, a, gcpoffline.Model)
	if !strings.HasPrefix(got, "https://dev-acme-web-") || !strings.HasSuffix(got, ".a.run.app") {
		t.Errorf("web URL = %q, want https://<service>-<hash>.<region>.run.app", got)
	}
}
