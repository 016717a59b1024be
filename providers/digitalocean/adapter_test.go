package digitalocean_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	dop "github.com/tenantfleet/tenantfleet/providers/digitalocean"
	"github.com/tenantfleet/tenantfleet/providers/digitalocean/digitaloceanoffline"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		name, cfg, want, reason string
	}{
		{"complete", `{"region":"fra1","kafka":{"size":"db-s-2vcpu-4gb","nodes":3,"version":"3.8"},"sharedDatabase":{"size":"db-s-2vcpu-4gb","nodes":2},"forwarderImage":"ghcr.io/acme/forwarder:1.0.0"}`, "", "every field set"},
		{"minimal", `{"region":"nyc3"}`, "", "Kafka defaults, no shared cluster, no fanout"},
		{"missing", ``, "tenantfleet:digitalocean.region: is required", "no silent default region"},
		{"missing region", `{}`, "tenantfleet:digitalocean.region: is required", "the region is named"},
		{"app region", `{"region":"fra"}`, "tenantfleet:digitalocean.region: is not a DigitalOcean datacenter slug", "App Platform's region is not a datacenter"},
		{"kafka nodes", `{"region":"fra1","kafka":{"nodes":5}}`, "tenantfleet:digitalocean.kafka.nodes: must be 3", "DigitalOcean runs Kafka on 3 nodes"},
		{"kafka size", `{"region":"fra1","kafka":{"size":"2 vCPU"}}`, "tenantfleet:digitalocean.kafka.size: is not a database node size slug", "not a size slug at all"},
		{"shared size", `{"region":"fra1","sharedDatabase":{"nodes":1}}`, "tenantfleet:digitalocean.sharedDatabase.size:", "a shared cluster needs a size"},
		{"shared nodes", `{"region":"fra1","sharedDatabase":{"size":"db-s-1vcpu-1gb","nodes":4}}`, "tenantfleet:digitalocean.sharedDatabase.nodes:", "a primary and at most two standbys"},
		{"kafka size the example lacks", `{"region":"fra1","kafka":{"size":"db-s-4vcpu-8gb"}}`, "",
			"accepted before and not refused now: GET /v2/databases/options is an account's live list, the API reference shows an example of it (the provider rule knows the documented sizes)"},
		{"kafka general purpose", `{"region":"fra1","kafka":{"size":"gd-2vcpu-8gb"}}`, "", "a documented Kafka size the old db-* slug pattern refused"},
		{"standby on the smallest plan", `{"region":"fra1","sharedDatabase":{"size":"db-s-1vcpu-1gb","nodes":2}}`,
			"tenantfleet:digitalocean.sharedDatabase.nodes: must be 1 on db-s-1vcpu-1gb", "DigitalOcean adds no standby nodes to its smallest plan"},
		{"smallest plan alone", `{"region":"fra1","sharedDatabase":{"size":"db-s-1vcpu-1gb"}}`, "", "one node of the smallest plan is offered"},
		{"memory-optimized shared size", `{"region":"fra1","sharedDatabase":{"size":"m-2vcpu-16gb","nodes":2}}`, "", "a size the options example lacks is not refused at preview"},
		{"shared size not a slug", `{"region":"fra1","sharedDatabase":{"size":"large"}}`, "tenantfleet:digitalocean.sharedDatabase.size: is not a database node size slug", "not a size slug at all"},
		{"no App Platform region", `{"region":"ric1"}`, "tenantfleet:digitalocean.region: has no App Platform region (ric)", "Richmond has managed databases but App Platform runs in atl, nyc, sfo, tor, ams, fra, lon, blr, sgp and syd only"},
		{"region the options example lacks", `{"region":"sfo1"}`, "", "only the options example lists database regions: not refused at preview (the provider rule checks the documented ones)"},
		{"forwarder registry", `{"region":"fra1","forwarderImage":"quay.io/acme/forwarder:1"}`, "tenantfleet:digitalocean.forwarderImage: is on quay.io", "App Platform cannot pull it"},
		{"unknown field", `{"region":"fra1","vpc":"x"}`, `tenantfleet:digitalocean: json: unknown field "vpc"`, "a typo must not be ignored"},
		{"every problem", `{"region":"x","kafka":{"nodes":1}}`, "tenantfleet:digitalocean.kafka.nodes:", "errors are joined, not the first only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]string{}
			if tc.cfg != "" {
				cfg["tenantfleet:digitalocean"] = tc.cfg
			}
			raw, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv(pulumi.EnvConfig, string(raw))
			err = pulumi.RunErr(func(ctx *pulumi.Context) error {
				_, err := dop.New(ctx)
				return err
			}, pulumi.WithMocks("tenantfleet", "dev", digitaloceanoffline.Model))
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

	shared := testConfig
	shared.SharedDatabase = &dop.SharedDatabaseConfig{Size: "db-s-2vcpu-4gb"}
	a, err := dop.NewWithConfig(shared)
	if err != nil {
		t.Fatal(err)
	}
	conformance.ExpectValidation(t, a, []conformance.ValidationCase{
		{Name: "defaults", Mutate: func(*components.TenantSpec) {}, Want: nil, Reason: "the neutral defaults run on DigitalOcean"},
		{Name: "largest", Mutate: func(s *components.TenantSpec) { s.Web.CPU, s.Web.MemoryMiB = 4000, 32768 }, Want: nil, Reason: "4 vCPU 32 GiB rounds up to apps-d-8vcpu-32gb"},
		{Name: "digest", Mutate: func(s *components.TenantSpec) { s.Web.Image = "ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64) }, Want: nil, Reason: "GHCR by digest"},
		{Name: "docr", Mutate: func(s *components.TenantSpec) { s.Web.Image = "registry.digitalocean.com/acme/app:1" }, Want: nil, Reason: "the team's registry"},
		{Name: "shared", Mutate: func(s *components.TenantSpec) { s.Database.Placement = components.PlacementShared }, Want: nil, Reason: "the config has a shared cluster"},
		{Name: "shared version", Mutate: func(s *components.TenantSpec) {
			s.Database.Placement, s.Database.Version = components.PlacementShared, "15"
		}, Want: []string{"database.version: must be the shared cluster's PostgreSQL version (16)"}, Reason: "one cluster, one version"},
		{Name: "a PostgreSQL keyword as the id", Mutate: func(s *components.TenantSpec) { s.ID = "user" }, Want: nil, Reason: "its database and user are named user, as they always were"},
		{Name: "every problem at once", Mutate: func(s *components.TenantSpec) {
			s.Database.BackupRetentionDays = 30
			s.Web.Image, s.Worker.Image = "quay.io/a/b:1", "nginx"
		}, Want: []string{"database.backupRetentionDays: must be 7", "web.image: is on quay.io", "worker.image: must name a tag or a digest"}, Reason: "errors are joined flat, not the first only"},
	})
	// Without a shared cluster in the config, shared placement has nowhere
	// to go (sizes.go ValidateTenant).
	dedicated, err := dop.NewWithConfig(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	conformance.ExpectValidation(t, dedicated, []conformance.ValidationCase{
		{Name: "shared placement needs the stack's shared cluster", Mutate: func(s *components.TenantSpec) { s.Database.Placement = components.PlacementShared },
			Want: []string{"database.placement: needs the stack's shared cluster: set tenantfleet:digitalocean.sharedDatabase"}, Reason: "the config has no sharedDatabase"},
		{Name: "dedicated without a shared cluster", Mutate: func(*components.TenantSpec) {}, Want: nil, Reason: "a dedicated tenant needs no shared cluster"},
	})
}

func TestValidateFanoutNeedsTheForwarder(t *testing.T) {
	t.Parallel()

	a, err := dop.NewWithConfig(dop.Config{Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	err = a.ValidateFanout(conformance.Fanout(true))
	if err == nil || !strings.Contains(err.Error(), "tenantfleet:digitalocean.forwarderImage: is required") {
		t.Fatalf("got %v, want an error naming tenantfleet:digitalocean.forwarderImage", err)
	}
}

// recorder is a mock monitor keeping every registration's inputs.
type recorder struct {
	mu  sync.Mutex
	res []pulumi.MockResourceArgs
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	r.res = append(r.res, args)
	r.mu.Unlock()
	return digitaloceanoffline.Model.NewResource(args)
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return digitaloceanoffline.Model.Call(args)
}

// stackFirewalls runs a program of the given tenants with a shared cluster
// configured and returns the registered clusters' names and each cluster's
// firewall rules ("type value") by cluster id.
func stackFirewalls(t *testing.T, specs ...components.TenantSpec) (clusters []string, firewalls map[string][]string) {
	t.Helper()
	cfg := testConfig
	cfg.SharedDatabase = &dop.SharedDatabaseConfig{Size: "db-s-2vcpu-4gb"}
	rec := &recorder{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		a, err := dop.NewWithConfig(cfg)
		if err != nil {
			return err
		}
		p, err := components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: a})
		if err != nil {
			return err
		}
		for _, spec := range specs {
			if _, err := components.NewTenantUnit(ctx, spec.ID, &components.TenantUnitArgs{Spec: spec, Cloud: a, Platform: p}); err != nil {
				return err
			}
		}
		return p.Finish(ctx)
	}, pulumi.WithMocks("tenantfleet", "dev", rec))
	if err != nil {
		t.Fatal(err)
	}
	firewalls = map[string][]string{}
	for _, r := range rec.res {
		switch r.TypeToken {
		case clusterType:
			clusters = append(clusters, r.Name)
		case firewallType:
			id := conformance.String(r.Inputs["clusterId"])
			firewalls[id] = []string{}
			for _, rule := range conformance.Array(r.Inputs["rules"]) {
				o := conformance.Object(rule)
				firewalls[id] = append(firewalls[id], conformance.String(o["type"])+" "+conformance.String(o["value"]))
			}
		}
	}
	return sorted(clusters), firewalls
}

// TestSharedPlacement runs one dedicated and one shared tenant: the shared
// cluster's one firewall trusts the shared tenant's app only, and the
// dedicated tenant's cluster has a firewall of its own trusting its app.
// With no shared tenant, the shared cluster's firewall admits nobody (a
// cluster without trusted sources would admit everyone), with a rule type
// DigitalOcean accepts.
func TestSharedPlacement(t *testing.T) {
	t.Parallel()

	dedicated, shared := conformance.Tenants()[0], conformance.Tenants()[0]
	shared.ID, shared.Database.Placement = "initech", components.PlacementShared
	cases := []struct {
		name    string
		tenants []components.TenantSpec
		want    map[string][]string
	}{
		{"a dedicated and a shared tenant", []components.TenantSpec{dedicated, shared}, map[string][]string{
			"platform-shared-database-id": {"app initech-app-id"},
			"acme-db-cluster-id":          {"app acme-app-id"},
		}},
		{"no shared tenant", []components.TenantSpec{dedicated}, map[string][]string{
			"platform-shared-database-id": {"ip_addr 127.0.0.1"},
			"acme-db-cluster-id":          {"app acme-app-id"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			clusters, firewalls := stackFirewalls(t, tc.tenants...)
			if len(firewalls) != len(tc.want) {
				t.Errorf("firewalls = %q, want %q", firewalls, tc.want)
			}
			for id, rules := range tc.want {
				if strings.Join(firewalls[id], ",") != strings.Join(rules, ",") {
					t.Errorf("firewall of %s trusts %q, want %q", id, firewalls[id], rules)
				}
			}
			if got := strings.Join(clusters, ","); got != "acme-db-cluster,platform-kafka,platform-shared-database" {
				t.Errorf("clusters = %s, want the platform's two and acme's own only", got)
			}
		})
	}
}

// TestKafkaTopicsAreCreatedOneAtATime runs the scenario and checks that the
// stack's Kafka topics form one chain of dependencies starting at the Kafka
// cluster: each topic depends on the one registered before it, so the engine
// creates them one at a time. terraform-provider-digitalocean v2.69.0 panics
// when the API answers a topic creation "still provisioning" (202 without
// the topic; digitalocean/database/resource_database_kafka_topic.go:318,
// fixed in v2.99.1 by #1563), which nine parallel creations on a new cluster
// make likelier, and a panic orphans every topic in flight.
func TestKafkaTopicsAreCreatedOneAtATime(t *testing.T) {
	t.Parallel()

	rec := &recorder{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		a, err := dop.NewWithConfig(testConfig)
		if err != nil {
			return err
		}
		p, err := components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: a})
		if err != nil {
			return err
		}
		queues := map[string]*components.Queue{}
		for _, spec := range conformance.Tenants() {
			spec.Database.BackupRetentionDays = 7
			u, err := components.NewTenantUnit(ctx, spec.ID, &components.TenantUnitArgs{Spec: spec, Cloud: a, Platform: p})
			if err != nil {
				return err
			}
			queues[spec.ID] = u.Queue
		}
		_, err = components.NewMessagingFanout(ctx, "events", &components.MessagingFanoutArgs{
			Spec: conformance.Fanout(true), TenantQueues: queues, Cloud: a, Platform: p,
		})
		return err
	}, pulumi.WithMocks("tenantfleet", "dev", rec))
	if err != nil {
		t.Fatal(err)
	}
	var kafka string
	var topics []string
	deps := map[string][]string{}
	for _, r := range rec.res {
		switch {
		case r.TypeToken == clusterType && conformance.String(r.Inputs["engine"]) == "kafka":
			kafka = r.Name
		case r.TypeToken == topicType:
			topics = append(topics, r.Name)
		}
		for _, d := range r.RegisterRPC.GetDependencies() {
			deps[r.Name] = append(deps[r.Name], d[strings.LastIndex(d, "::")+2:])
		}
	}
	if kafka == "" || len(topics) != 9 {
		t.Fatalf("kafka cluster %q and %d topics, want one cluster and 9 topics (2 tenants x 2, the fanout's, 2 subscriber queues x 2)", kafka, len(topics))
	}
	// after[x] is everything x waits for, directly or not.
	after := func(x string) map[string]bool {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			for _, d := range deps[n] {
				if !seen[d] {
					seen[d] = true
					walk(d)
				}
			}
		}
		walk(x)
		return seen
	}
	// Registration is asynchronous, so the chain's order is read from the
	// dependencies: every two topics must be ordered, one waiting for the
	// other, and every topic waits for the cluster.
	for i, a := range topics {
		if !after(a)[kafka] {
			t.Errorf("topic %s does not wait for the Kafka cluster %s", a, kafka)
		}
		for _, b := range topics[i+1:] {
			if !after(a)[b] && !after(b)[a] {
				t.Errorf("topics %s and %s do not wait for each other: the engine may create them at once", a, b)
			}
		}
	}
}

// TestFanoutExportsItsPublisher checks the fanout's "publisher" output,
// what `tenantfleet publish` produces with: the publisher user's kafka://
// URL on the cluster (no password in it), its password as a secret, and the
// cluster's CA.
func TestFanoutExportsItsPublisher(t *testing.T) {
	t.Parallel()

	var (
		url, password, ca string
		secret            bool
	)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		a, err := dop.NewWithConfig(testConfig)
		if err != nil {
			return err
		}
		p, err := components.NewPlatform(ctx, "platform", &components.PlatformArgs{Cloud: a})
		if err != nil {
			return err
		}
		f, err := components.NewMessagingFanout(ctx, "events", &components.MessagingFanoutArgs{
			Spec:  components.FanoutSpec{Name: "account-events", Subscribers: []components.SubscriberSpec{{Name: "audit"}}},
			Cloud: a, Platform: p,
		})
		if err != nil {
			return err
		}
		if f.Publisher == nil {
			return errors.New("the fanout has no publisher")
		}
		pub, ok := f.Outputs()["publisher"].(pulumi.Map)
		if !ok {
			return errors.New(`Outputs() has no "publisher" map`)
		}
		pw, ok := pub["password"].(pulumi.Output)
		if !ok {
			return errors.New("the publisher password is not an output")
		}
		secret = pulumi.IsSecret(pw)
		pulumi.All(pub["url"], pub["password"], pub["caCertificate"]).ApplyT(func(v []any) error {
			url, password, ca = v[0].(string), v[1].(string), v[2].(string)
			return nil
		})
		return nil
	}, pulumi.WithMocks("tenantfleet", "dev", &recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^kafka://[^:@/]+@[^/]+:\d+/[a-z0-9.-]+$`).MatchString(url) || !strings.Contains(url, "publisher") {
		t.Errorf("publisher url %q: want kafka://<publisher user>@<host>:<port>/<topic>", url)
	}
	if !secret || password == "" {
		t.Errorf("publisher password %q secret=%v: want a secret", password, secret)
	}
	if ca == "" {
		t.Error("no CA certificate")
	}
}
