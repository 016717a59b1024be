package providers

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/aws"
	"github.com/tenantfleet/tenantfleet/providers/aws/awsoffline"
	"github.com/tenantfleet/tenantfleet/providers/azure"
	"github.com/tenantfleet/tenantfleet/providers/azure/azureoffline"
	"github.com/tenantfleet/tenantfleet/providers/digitalocean"
	"github.com/tenantfleet/tenantfleet/providers/digitalocean/digitaloceanoffline"
	"github.com/tenantfleet/tenantfleet/providers/gcp"
	"github.com/tenantfleet/tenantfleet/providers/gcp/gcpoffline"
	"github.com/tenantfleet/tenantfleet/providers/kubernetes"
	"github.com/tenantfleet/tenantfleet/providers/kubernetes/kubernetesoffline"
	"github.com/tenantfleet/tenantfleet/providers/local"
	"github.com/tenantfleet/tenantfleet/providers/local/localoffline"
	"github.com/tenantfleet/tenantfleet/providers/offline"
)

// Factory builds a cloud's adapter for one program run, reading the cloud's
// own stack config (for example tenantfleet:aws).
type Factory func(ctx *pulumi.Context) (components.Adapter, error)

// Cloud is what tenantfleet knows of one cloud outside its adapter's code:
// how to build the adapter, where its stack config names the region, how
// the cloud answers with no account, and how it is planned and priced
// offline. Every part is required; a cloud that has no regions or no
// offline plan says why instead (NoRegions, NoPlan). The registry's test
// checks each registered cloud has them all; internal/cost's checks that
// each is priced and planned. Callers must not modify a Cloud's slices and
// maps.
type Cloud struct {
	// New builds the adapter.
	New Factory

	// RegionKeys are where the adapter reads its region in the stack
	// config, in its order of precedence: a field of its own
	// tenantfleet:<cloud> object first ("tenantfleet:gcp.region"), then the
	// cloud provider's key ("gcp:region").
	RegionKeys []string
	// DefaultRegion is the region a stack that names none is priced in, and
	// the one an offline plan runs in unless told another. (The adapters
	// have no default: they require a region.)
	DefaultRegion string
	// NoRegions, for a cloud without regions, says why; RegionKeys and
	// DefaultRegion are then empty.
	NoRegions string

	// TypePrefix is the Pulumi package prefix of the resource types the
	// adapter registers ("aws:"): internal/pricing prices the cloud by the
	// price table of that package.
	TypePrefix string

	// Offline is the cloud's offline model (providers/<cloud>/<cloud>offline):
	// it answers the engine as the cloud would, with no account and no
	// network.
	Offline offline.Model
	// PlanConfig is the stack config an offline plan (`tenantfleet cost
	// plan`) gives the cloud besides the fleet and the region: the settings
	// its adapter requires, with values that stand for an account's.
	PlanConfig map[string]any
	// NoPlan, for a cloud an offline plan does not run on, says why.
	NoPlan string

	// Embedded: the cloud runs on this machine and needs no account. A
	// template that has such a cloud makes it the default of signups that
	// name none.
	Embedded bool
	// Plugin is the provider plugin the cloud needs that the engine cannot
	// install itself, built next to tenantfleet ("" for none): a
	// long-running process checks it is there before taking work.
	Plugin string
}

// registry is every cloud tenantfleet can provision, by tenantfleet:cloud
// value. Adding a cloud is its package(s) and one entry here.
var registry = map[string]Cloud{
	aws.Name: {
		New:           aws.New,
		RegionKeys:    []string{"aws:region"},
		DefaultRegion: "us-east-1",
		TypePrefix:    "aws:",
		Offline:       awsoffline.Model,
	},
	azure.Name: {
		New:           azure.New,
		RegionKeys:    []string{"tenantfleet:azure.location", "azure-native:location"},
		DefaultRegion: "westeurope",
		TypePrefix:    "azure-native:",
		Offline:       azureoffline.Model,
	},
	digitalocean.Name: {
		New:           digitalocean.New,
		RegionKeys:    []string{"tenantfleet:digitalocean.region"},
		DefaultRegion: "fra1",
		TypePrefix:    "digitalocean:",
		Offline:       digitaloceanoffline.Model,
		PlanConfig: map[string]any{"tenantfleet:digitalocean": map[string]any{
			"forwarderImage": "docker.io/tenantfleet/tenantfleet-forwarder:latest"}},
	},
	gcp.Name: {
		New:           gcp.New,
		RegionKeys:    []string{"tenantfleet:gcp.region", "gcp:region"},
		DefaultRegion: "europe-west1",
		TypePrefix:    "gcp:",
		Offline:       gcpoffline.Model,
		PlanConfig:    map[string]any{"tenantfleet:gcp": map[string]any{"project": "tenantfleet-cost-plan"}},
	},
	kubernetes.Name: {
		New:        kubernetes.New,
		NoRegions:  "a cluster is wherever its kubeconfig context points",
		TypePrefix: "kubernetes:",
		Offline:    kubernetesoffline.Model,
		PlanConfig: map[string]any{"tenantfleet:kubernetes": map[string]any{
			"context": "cost-plan",
			"ingress": map[string]any{"className": "nginx", "baseDomain": "tenants.example.com", "namespace": "ingress-nginx"},
			"queue":   map[string]any{"url": "amqp://rabbitmq.rabbitmq-system.svc:5672", "namespace": "rabbitmq-system", "rabbitmqCluster": "rabbitmq"},
		}},
	},
	local.Name: {
		New:        local.New,
		NoRegions:  "it runs on this machine",
		TypePrefix: "tenantfleet-local:",
		Offline:    localoffline.Model,
		NoPlan:     "it runs on this machine, at no cost, and its adapter refuses images the machine lacks",
		Embedded:   true,
		Plugin:     "pulumi-resource-" + local.Package,
	},
}

// Names lists the registered clouds, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// All yields every registered cloud with its name, sorted by name.
func All() iter.Seq2[string, Cloud] {
	return func(yield func(string, Cloud) bool) {
		for _, name := range Names() {
			if !yield(name, registry[name]) {
				return
			}
		}
	}
}

// Lookup returns the cloud registered as name. An unknown name is an error
// that lists the valid ones.
func Lookup(name string) (Cloud, error) {
	c, ok := registry[name]
	if !ok {
		return Cloud{}, fmt.Errorf("unknown cloud %q: valid clouds are %s", name, strings.Join(Names(), ", "))
	}
	return c, nil
}

// New returns the adapter registered as name. An unknown name is an error
// that lists the valid ones.
func New(ctx *pulumi.Context, name string) (components.Adapter, error) {
	c, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	adapter, err := c.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloud %s: %w", name, err)
	}
	return adapter, nil
}
