package digitalocean

import (
	"fmt"
	"slices"
	"sync"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Native roles of the platform, and of a tenant's database cluster and app.
const (
	roleProject         = "project"
	roleKafka           = "kafka-cluster"
	roleSharedDatabase  = "shared-database-cluster"
	roleSharedFirewall  = "shared-database-firewall"
	roleDatabaseCluster = "database-cluster"
	roleApp             = "app"
)

// nobody is the only trusted source of a shared cluster no tenant uses yet:
// DigitalOcean needs at least one rule, and a cluster without a firewall
// accepts connections from anywhere.
const nobody = "127.0.0.1"

// platform is the stack's shared pieces, the State of components.Platform.
type platform struct {
	// name is the Platform component's name, the prefix of its children's.
	name    string
	project *digitalocean.Project
	kafka   *digitalocean.DatabaseCluster
	// kafkaCA is the PEM certificate of the CA that signed the Kafka
	// brokers' certificates, which Kafka clients must trust (not a secret).
	kafkaCA pulumi.StringOutput
	// shared is nil unless the config has sharedDatabase.
	shared *digitalocean.DatabaseCluster
	// sharedVersion is the shared cluster's PostgreSQL version.
	sharedVersion string

	// topicsMu guards lastTopic, the Kafka topic registered last (the
	// cluster before the first): each new topic waits for it (see kafkaTopic).
	topicsMu  sync.Mutex
	lastTopic pulumi.Resource

	// sharedMu guards sharedApps, the apps of the tenants whose database is
	// on the shared cluster, in the order Workloads made them: the shared
	// cluster's firewall trusts them (see FinishPlatform).
	sharedMu   sync.Mutex
	sharedApps []*digitalocean.App
}

// trustShared adds apps to those the shared cluster's firewall trusts.
func (p *platform) trustShared(apps ...*digitalocean.App) {
	p.sharedMu.Lock()
	defer p.sharedMu.Unlock()
	p.sharedApps = append(p.sharedApps, apps...)
}

// Platform implements components.PlatformProvisioner:
//   - a project that every cluster and app of the stack is created in
//     (projectId), so the console groups them;
//   - the Kafka cluster holding every queue, dead-letter queue and fanout
//     topic of the stack (3 nodes: DigitalOcean's only Kafka topology);
//   - the shared PostgreSQL cluster, when the config has sharedDatabase.
//     Its firewall names every shared tenant's app and so is declared by
//     FinishPlatform, once all tenants are. The cluster is protected: it
//     holds every shared tenant's data (see the package doc to delete it).
func (a *Adapter) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	p := &platform{name: name}
	var err error
	if p.project, err = digitalocean.NewProject(ctx, name+"-project", &digitalocean.ProjectArgs{
		Name:        pulumi.String(naming.DigitalOcean.Project.Unique("tenantfleet", scope.Stack)),
		Description: pulumi.String("tenantfleet stack " + scope.Stack + ": tenant databases, apps and queues"),
		Purpose:     pulumi.String("Web Application"),
	}, childOptions(parent)...); err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	if p.kafka, err = digitalocean.NewDatabaseCluster(ctx, name+"-kafka", &digitalocean.DatabaseClusterArgs{
		Name:      pulumi.String(physical(naming.DigitalOcean.DatabaseCluster, scope, "kafka")),
		Engine:    pulumi.String("kafka"),
		Version:   pulumi.String(a.cfg.Kafka.Version),
		Size:      pulumi.String(a.cfg.Kafka.Size),
		NodeCount: pulumi.Int(a.cfg.Kafka.Nodes),
		Region:    pulumi.String(a.cfg.Region),
		ProjectId: p.project.ID(),
		Tags:      tags(scope),
	}, childOptions(parent)...); err != nil {
		return nil, fmt.Errorf("create Kafka cluster: %w", err)
	}
	p.lastTopic = p.kafka
	p.kafkaCA = digitalocean.GetDatabaseCaOutput(ctx, digitalocean.GetDatabaseCaOutputArgs{ClusterId: p.kafka.ID()},
		pulumi.Parent(parent)).Certificate()
	native := map[string]pulumi.Resource{roleProject: p.project, roleKafka: p.kafka}
	if s := a.cfg.SharedDatabase; s != nil {
		p.sharedVersion = s.Version
		if p.shared, err = digitalocean.NewDatabaseCluster(ctx, name+"-shared-database", &digitalocean.DatabaseClusterArgs{
			Name:      pulumi.String(physical(naming.DigitalOcean.DatabaseCluster, scope, "shared-db")),
			Engine:    pulumi.String("pg"),
			Version:   pulumi.String(s.Version),
			Size:      pulumi.String(s.Size),
			NodeCount: pulumi.Int(s.Nodes),
			Region:    pulumi.String(a.cfg.Region),
			ProjectId: p.project.ID(),
			Tags:      tags(scope),
		}, childOptions(parent, pulumi.Protect(true))...); err != nil {
			return nil, fmt.Errorf("shared PostgreSQL cluster: %w", err)
		}
		native[roleSharedDatabase] = p.shared
	}
	return &components.PlatformResources{Native: native, State: p}, nil
}

// FinishPlatform implements components.PlatformFinisher: the shared
// cluster's firewall, trusting the app of every tenant whose database is on
// it (Workloads recorded them in the platform's state) and nothing else.
// DigitalOcean's firewall resource owns a cluster's whole rule set, so it
// is declared once, here, after every tenant. Without a shared cluster
// there is nothing to finish.
func (a *Adapter) FinishPlatform(ctx *pulumi.Context, plat *components.Platform) error {
	p, err := platformOf(plat)
	if err != nil {
		return err
	}
	if p.shared == nil {
		return nil
	}
	p.sharedMu.Lock()
	apps := slices.Clone(p.sharedApps)
	p.sharedMu.Unlock()
	var rules digitalocean.DatabaseFirewallRuleArray
	for _, app := range apps {
		rules = append(rules, digitalocean.DatabaseFirewallRuleArgs{Type: pulumi.String("app"), Value: app.ID()})
	}
	if len(rules) == 0 {
		rules = append(rules, digitalocean.DatabaseFirewallRuleArgs{Type: pulumi.String("ip_addr"), Value: pulumi.String(nobody)})
	}
	fw, err := digitalocean.NewDatabaseFirewall(ctx, p.name+"-shared-database-firewall", &digitalocean.DatabaseFirewallArgs{
		ClusterId: p.shared.ID(),
		Rules:     rules,
	}, childOptions(plat)...)
	if err != nil {
		return fmt.Errorf("shared database firewall: %w", err)
	}
	plat.Native[roleSharedFirewall] = fw
	return nil
}
