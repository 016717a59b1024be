package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// engine is the RDS engine of every tenant database.
const engine = "postgres"

// Database implements components.DatabaseProvisioner: one RDS for PostgreSQL
// instance per tenant, encrypted, in private subnets, reachable only from the
// tenant's tasks. AWS generates the master password and keeps it in Secrets
// Manager (and rotates it), so no password ever passes through Pulumi state.
func (a *Adapter) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	f, err := foundationOf(in.Foundation)
	if err != nil {
		return nil, err
	}
	size, ok := databaseSizes[in.Spec.Tier]
	if !ok {
		return nil, &components.FieldError{Field: "database.tier", Value: string(in.Spec.Tier), Reason: "has no RDS size"}
	}
	identifier := physical(naming.AWS.RDSInstance, in.Scope)
	dbName := pulumi.String(naming.AWS.DatabaseName.Name(in.Scope.Tenant))
	username := pulumi.String(naming.AWS.DatabaseUser.Name(in.Scope.Tenant))
	snapshot, err := finalSnapshotSuffix(ctx, name, identifier, dbName, username, parent)
	if err != nil {
		return nil, err
	}
	db, err := rds.NewInstance(ctx, name, &rds.InstanceArgs{
		Identifier:               identifier,
		Engine:                   pulumi.String(engine),
		EngineVersion:            pulumi.String(in.Spec.Version),
		AllowMajorVersionUpgrade: pulumi.Bool(true),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		InstanceClass:            pulumi.String(size.InstanceClass),
		MultiAz:                  pulumi.Bool(size.MultiAZ),
		AllocatedStorage:         pulumi.Int(in.Spec.StorageGB),
		StorageType:              pulumi.String("gp3"),
		StorageEncrypted:         pulumi.Bool(true),
		PubliclyAccessible:       pulumi.Bool(false),
		DbSubnetGroupName:        f.subnetGroup.Name,
		VpcSecurityGroupIds:      pulumi.StringArray{f.databaseSG.ID()},
		DbName:                   dbName,
		Username:                 username,
		ManageMasterUserPassword: pulumi.Bool(true),
		BackupRetentionPeriod:    pulumi.Int(in.Spec.BackupRetentionDays),
		CopyTagsToSnapshot:       pulumi.Bool(true),
		DeletionProtection:       pulumi.Bool(in.Spec.DeletionProtected()),
		// Always keep a final snapshot: deleting a tenant must never lose its
		// data silently. Its name is unique per instance lifetime (see
		// finalSnapshotSuffix), so deleting a re-created tenant does not
		// collide with the snapshot its earlier lifetime left.
		SkipFinalSnapshot:       pulumi.Bool(false),
		FinalSnapshotIdentifier: pulumi.Sprintf("%s-final-%s", identifier, snapshot.Hex),
		Tags:                    tags(in.Scope),
	},
		// Deletion protection (on by default) refuses a replacement until turned off.
		childOptions(parent)...,
	)
	if err != nil {
		return nil, fmt.Errorf("RDS instance: %w", err)
	}
	secretARN := db.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	return &components.Database{
		Host:        db.Address,
		Port:        db.Port,
		Name:        db.DbName,
		User:        db.Username,
		SSLMode:     "require",
		Credentials: pulumi.ToSecret(secretARN).(pulumi.StringOutput),
		Native:      map[string]pulumi.Resource{"database": db, "final-snapshot-suffix": snapshot},
		State:       &database{secretARN: secretARN},
	}, nil
}

// database is the adapter's state of a tenant database.
type database struct {
	// secretARN is the plain ARN of the RDS-managed secret holding the
	// master password. The ARN is not sensitive; only what it points at
	// is, and that never enters state.
	secretARN pulumi.StringOutput
}

// finalSnapshotSuffix is 8 random hex digits drawn when the instance is
// created and kept in state while it lives: the final snapshot's name is
// then stable across updates (no diff on every up) yet new for every
// lifetime. A tenant that signs up again after a deletion gets a new suffix
// (the old one was deleted with the tenant), and so does an instance that is
// replaced: the keepers are the inputs whose change replaces it (db_name,
// username and engine are ForceNew in terraform-provider-aws
// internal/service/rds/instance.go; the identifier too, to be safe), so the
// replaced instance's final snapshot keeps the old name and the new one
// takes a new name.
func finalSnapshotSuffix(ctx *pulumi.Context, name string, identifier, dbName, username pulumi.String, parent pulumi.Resource) (*random.RandomId, error) {
	suffix, err := random.NewRandomId(ctx, name+"-final-snapshot", &random.RandomIdArgs{
		ByteLength: pulumi.Int(4),
		Keepers: pulumi.StringMap{
			"identifier": identifier, "dbName": dbName, "username": username, "engine": pulumi.String(engine),
		},
	}, childOptions(parent)...)
	if err != nil {
		return nil, fmt.Errorf("final snapshot suffix: %w", err)
	}
	return suffix, nil
}

// databaseSecretARN is the plain ARN of the RDS-managed secret of a
// database this adapter made.
func databaseSecretARN(db *components.Database) (pulumi.StringOutput, error) {
	s, err := components.DatabaseState[*database](db, Name)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return s.secretARN, nil
}
