package stacks_test

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/providers"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsoffline"
	"github.com/tenantfleet/tenantfleet/providers/local/localtest"
	"github.com/tenantfleet/tenantfleet/stacks"
)

// counting records registrations on top of a cloud's mocks.
type counting struct {
	pulumi.MockResourceMonitor
	mu    sync.Mutex
	types []string
}

func (c *counting) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	c.mu.Lock()
	c.types = append(c.types, args.TypeToken)
	c.mu.Unlock()
	return c.MockResourceMonitor.NewResource(args)
}

// mocksFor answers the mocks the way the stack's cloud would (its offline
// model); AWS's when the config names no registered cloud.
func mocksFor(cfg map[string]string) pulumi.MockResourceMonitor {
	if c, err := providers.Lookup(cfg["tenantfleet:cloud"]); err == nil {
		return c.Offline
	}
	return awsoffline.Model
}

// run runs the program with cfg as the stack config, as the engine passes it.
func run(t *testing.T, cfg map[string]string, dryRun bool) (*counting, error) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(pulumi.EnvConfig, string(raw))
	// The local adapter refuses images the machine does not have: give it
	// the one Pulumi.dev.yaml names, as `make build` does.
	localtest.Images(t, "tenant-app/dev/entrypoint")
	m := &counting{MockResourceMonitor: mocksFor(cfg)}
	err = pulumi.RunErr(stacks.Program, pulumi.WithMocks("tenantfleet", "dev", m), func(info *pulumi.RunInfo) { info.DryRun = dryRun })
	return m, err
}

// stackConfig reads a Pulumi.<stack>.yaml the way the CLI does: structured
// values become JSON strings.
func stackConfig(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Config map[string]any }
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for k, v := range doc.Config {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(j)
	}
	return out
}

// TestStackFilesPreviewAndUpdate keeps the checked-in stack files working:
// each is loaded as the CLI would and run in preview and update.
//
//nolint:paralleltest // run passes the config through PULUMI_CONFIG with t.Setenv, as the engine does.
func TestStackFilesPreviewAndUpdate(t *testing.T) {
	cases := []struct {
		file                     string
		database, subscription   string
		databases, subscriptions int
	}{
		{"../Pulumi.dev.yaml", "tenantfleet-local:index:Database", "tenantfleet-local:index:Subscription", 2, 2},
		{"../Pulumi.aws.yaml", "aws:rds/instance:Instance", "aws:sns/topicSubscription:TopicSubscription", 2, 3},
		{"../Pulumi.azure.yaml", "azure-native:dbforpostgresql:Server", "azure-native:servicebus:Subscription", 2, 3},
		// On GCP a queue is a subscription: 2 tenants × (work + dead-letter) + 2 own-queue subscribers × 2.
		{"../Pulumi.gcp.yaml", "gcp:sql/databaseInstance:DatabaseInstance", "gcp:pubsub/subscription:Subscription", 2, 8},
		// DatabaseCluster: the Kafka, shared and acme clusters; App: 2 tenant apps + 3 forwarders.
		{"../Pulumi.digitalocean.yaml", "digitalocean:index/databaseCluster:DatabaseCluster", "digitalocean:index/app:App", 3, 5},
		// Bindings: each of the 4 queues (2 tenants', billing's and audit's
		// own) from its exchange, and the topic's: billing's filter has 2
		// values, audit and acme-inbox 1 each.
		{"../Pulumi.kubernetes.yaml", "kubernetes:postgresql.cnpg.io/v1:Cluster", "kubernetes:rabbitmq.com/v1beta1:Binding", 2, 8},
	}
	for _, tc := range cases {
		cfg := stackConfig(t, tc.file)
		for _, dryRun := range []bool{true, false} {
			m, err := run(t, cfg, dryRun)
			if err != nil {
				t.Fatalf("%s dryRun=%v: %v", tc.file, dryRun, err)
			}
			count := map[string]int{}
			for _, typ := range m.types {
				count[typ]++
			}
			if count["tenantfleet:index:TenantUnit"] != 2 || count["tenantfleet:index:MessagingFanout"] != 1 {
				t.Errorf("%s dryRun=%v: got %d tenant units and %d fanouts, want 2 and 1", tc.file, dryRun,
					count["tenantfleet:index:TenantUnit"], count["tenantfleet:index:MessagingFanout"])
			}
			if count[tc.database] != tc.databases || count[tc.subscription] != tc.subscriptions {
				t.Errorf("%s dryRun=%v: got %d databases and %d subscriptions, want %d and %d", tc.file, dryRun,
					count[tc.database], count[tc.subscription], tc.databases, tc.subscriptions)
			}
		}
	}
}

//nolint:paralleltest // run passes the config through PULUMI_CONFIG with t.Setenv, as the engine does.
func TestBadConfigNamesTheKeyAndRegistersNothing(t *testing.T) {
	base := stackConfig(t, "../Pulumi.aws.yaml")
	local := stackConfig(t, "../Pulumi.dev.yaml")
	cases := []struct {
		name   string
		edit   func(cfg map[string]string)
		want   []string
		reason string
	}{
		{"unknown cloud", func(c map[string]string) { c["tenantfleet:cloud"] = "oracle" },
			[]string{"tenantfleet:cloud", `"oracle"`, "valid clouds are aws, azure, digitalocean, gcp, kubernetes, local"}, "the error lists the valid clouds"},
		{"missing cloud", func(c map[string]string) { delete(c, "tenantfleet:cloud") },
			[]string{"tenantfleet:cloud is required"}, "no silent default cloud"},
		{"bad tenant id", func(c map[string]string) { replace(c, "tenantfleet:tenants", `"id":"globex"`, `"id":"Globex!"`) },
			[]string{`tenantfleet:tenants[1].id`, `"Globex!"`}, "the index and field are named"},
		{"duplicate tenant", func(c map[string]string) { replace(c, "tenantfleet:tenants", `"id":"globex"`, `"id":"acme"`) },
			[]string{`tenantfleet:tenants[1].id: is already used by tenantfleet:tenants[0]`}, "duplicates are refused"},
		{"typo in a field", func(c map[string]string) { replace(c, "tenantfleet:tenants", `"port":80`, `"prot":80`) },
			[]string{"tenantfleet:tenants", `unknown field "prot"`}, "a typo must not fall back to a default"},
		{"wrong type", func(c map[string]string) { replace(c, "tenantfleet:tenants", `"port":80`, `"port":"eighty"`) },
			[]string{"tenantfleet:tenants", "web.port", "must be a int"}, "the field of the wrong type is named"},
		{"typo in a cloud's settings", func(c map[string]string) { c["tenantfleet:aws"] = `{"vpc":"vpc-1"}` },
			[]string{"tenantfleet:aws", `unknown field "vpc"`}, "a cloud's own settings are as strict as the tenants"},
		{"malformed JSON", func(c map[string]string) { c["tenantfleet:fanout"] = `{"name": "x",` },
			[]string{"tenantfleet:fanout"}, "the key is named"},
		{"subscriber of no tenant", func(c map[string]string) { replace(c, "tenantfleet:fanout", `"tenant":"acme"`, `"tenant":"initech"`) },
			[]string{`tenantfleet:fanout.subscribers[2].tenant`, `"initech"`}, "subscribers may only name the stack's tenants"},
		{"Fargate size", func(c map[string]string) {
			replace(c, "tenantfleet:tenants", `"port":80`, `"port":80,"cpu":250,"memoryMiB":768`)
		}, []string{"tenantfleet:tenants[0].web.memoryMiB", "is not a Fargate size"}, "the cloud's limits are checked before anything registers"},
		{"filter on the local cloud", func(c map[string]string) {
			for k, v := range local {
				c[k] = v
			}
			replace(c, "tenantfleet:fanout", `"name":"acme"`, `"name":"acme","filter":{"attribute":"type","values":["x"]}`)
		}, []string{"tenantfleet:fanout.subscribers[0].filter", "local"}, "an unsupported filter is refused at preview"},
		{"missing image on the local cloud", func(c map[string]string) {
			for k, v := range local {
				c[k] = v
			}
			replace(c, "tenantfleet:tenants", `"image":"tenant-app:dev"`, `"image":"tenant-app:nope"`)
		}, []string{`tenantfleet:tenants[0].web.image: no local image "tenant-app:nope"`, "tenant-app/nope"},
			"an image the local cloud lacks is refused before the tenant's database and queue are created"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range base {
				cfg[k] = v
			}
			tc.edit(cfg)
			m, err := run(t, cfg, true)
			if err == nil {
				t.Fatalf("the config was accepted (%s)", tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q (%s):\n%v", w, tc.reason, err)
				}
			}
			for _, typ := range m.types {
				if typ != "pulumi:pulumi:Stack" {
					t.Errorf("%s was registered before the config was refused", typ)
				}
			}
		})
	}
}

// replace edits the JSON of one config key, failing if from is absent.
func replace(cfg map[string]string, key, from, to string) {
	if !strings.Contains(cfg[key], from) {
		panic(key + " does not contain " + from + ": " + cfg[key])
	}
	cfg[key] = strings.Replace(cfg[key], from, to, 1)
}
