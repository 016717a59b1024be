package digitalocean

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// database is the adapter's state of a tenant database.
type database struct {
	// cluster is the PostgreSQL cluster the database is on.
	cluster *digitalocean.DatabaseCluster
	// shared says the cluster is the platform's shared one, whose firewall
	// FinishPlatform declares.
	shared bool
}

// Native roles of a tenant's database.
const (
	roleDatabase         = "database"
	roleDatabaseUser     = "database-user"
	roleDatabaseFirewall = "database-firewall"
)

// Database implements components.DatabaseProvisioner.
//
// Placement dedicated (the default): a PostgreSQL cluster of the tenant's
// own, sized by the tier (sizes.go), in the stack's project, with a database
// and a user for the tenant. Its firewall (trusted sources) admits the
// tenant's app only and is declared by Workloads, once the app exists.
//
// Placement shared: a database and a user of the tenant's own on the
// platform's shared cluster, whose firewall FinishPlatform declares. Tier and
// storageGB do not apply: the cluster is sized by the stack's config.
//
// DigitalOcean generates the user's password (an output, secret). The apps
// connect to the public host over TLS (DigitalOcean's PostgreSQL refuses
// anything else, hence DATABASE_SSLMODE=require); the private host would
// need the apps in the cluster's VPC (App Platform VPC egress), which this
// adapter does not set up. DigitalOcean has no deletion protection, so a
// protected database is a Pulumi-protected resource (see the package doc).
func (a *Adapter) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	protect := pulumi.Protect(in.Spec.DeletionProtected())
	native := map[string]pulumi.Resource{}
	cluster := p.shared
	if in.Spec.Placement == components.PlacementShared {
		if cluster == nil {
			return nil, &components.FieldError{Field: "database.placement", Value: in.Spec.Placement,
				Reason: "needs the stack's shared cluster: set " + configKey + ".sharedDatabase"}
		}
	} else {
		tier, ok := databaseTiers[in.Spec.Tier]
		if !ok {
			return nil, &components.FieldError{Field: "database.tier", Value: string(in.Spec.Tier), Reason: "has no DigitalOcean PostgreSQL size"}
		}
		if cluster, err = digitalocean.NewDatabaseCluster(ctx, name+"-cluster", &digitalocean.DatabaseClusterArgs{
			Name:           pulumi.String(physical(naming.DigitalOcean.DatabaseCluster, in.Scope, "db")),
			Engine:         pulumi.String("pg"),
			Version:        pulumi.String(in.Spec.Version),
			Size:           pulumi.String(tier.Size),
			NodeCount:      pulumi.Int(tier.Nodes),
			StorageSizeMib: pulumi.String(strconv.Itoa(storageSizeMib(tier, in.Spec.StorageGB))),
			Region:         pulumi.String(a.cfg.Region),
			ProjectId:      p.project.ID(),
			Tags:           tags(in.Scope),
		}, childOptions(parent, protect)...); err != nil {
			return nil, fmt.Errorf("PostgreSQL cluster: %w", err)
		}
	}
	// The tenant's Native names the cluster its database is on, shared or not.
	native[roleDatabaseCluster] = cluster

	db, err := digitalocean.NewDatabaseDb(ctx, name+"-database", &digitalocean.DatabaseDbArgs{
		ClusterId: cluster.ID(),
		Name:      pulumi.String(naming.DigitalOcean.DatabaseName.Name(in.Scope.Tenant)),
	}, childOptions(parent, protect)...)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	user, err := digitalocean.NewDatabaseUser(ctx, name+"-user", &digitalocean.DatabaseUserArgs{
		ClusterId: cluster.ID(),
		Name:      pulumi.String(naming.DigitalOcean.DatabaseUser.Name(in.Scope.Tenant)),
	},
		// DigitalOcean changes one cluster at a time.
		childOptions(parent, pulumi.DependsOn([]pulumi.Resource{db}))...)
	if err != nil {
		return nil, fmt.Errorf("database user: %w", err)
	}
	native[roleDatabase], native[roleDatabaseUser] = db, user
	return &components.Database{
		Host:        cluster.Host,
		Port:        cluster.Port,
		Name:        db.Name,
		User:        user.Name,
		SSLMode:     "require",
		Credentials: pulumi.ToSecret(user.Password).(pulumi.StringOutput),
		Native:      native,
		State:       &database{cluster: cluster, shared: in.Spec.Placement == components.PlacementShared},
	}, nil
}

// trustApps lets the given apps, and nothing else, reach the tenant's
// database: it declares the firewall of a tenant's dedicated cluster. A
// shared cluster's firewall is the platform's: the apps are added to the
// platform's list of shared tenants' apps, which FinishPlatform's firewall
// trusts, and nothing is declared here.
func (a *Adapter) trustApps(ctx *pulumi.Context, name string, w components.Workload, apps []*digitalocean.App, parent pulumi.Resource) (*digitalocean.DatabaseFirewall, error) {
	p, err := platformOf(w.Platform)
	if err != nil {
		return nil, err
	}
	db, err := databaseOf(w.Database)
	if err != nil {
		return nil, err
	}
	if db.shared {
		p.trustShared(apps...)
		return nil, nil
	}
	cluster := db.cluster
	rules := make(digitalocean.DatabaseFirewallRuleArray, 0, len(apps))
	for _, app := range apps {
		rules = append(rules, digitalocean.DatabaseFirewallRuleArgs{Type: pulumi.String("app"), Value: app.ID()})
	}
	fw, err := digitalocean.NewDatabaseFirewall(ctx, name+"-database-firewall", &digitalocean.DatabaseFirewallArgs{
		ClusterId: cluster.ID(),
		Rules:     rules,
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("database firewall: %w", err)
	}
	return fw, nil
}
