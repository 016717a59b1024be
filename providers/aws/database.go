package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

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
	db, err := rds.NewInstance(ctx, name, &rds.InstanceArgs{
		Identifier:               identifier,
		Engine:                   pulumi.String("postgres"),
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
		DbName:                   pulumi.String(naming.AWS.DatabaseName.Name(in.Scope.Tenant)),
		Username:                 pulumi.String(naming.AWS.DatabaseUser.Name(in.Scope.Tenant)),
		ManageMasterUserPassword: pulumi.Bool(true),
		BackupRetentionPeriod:    pulumi.Int(in.Spec.BackupRetentionDays),
		CopyTagsToSnapshot:       pulumi.Bool(true),
		DeletionProtection:       pulumi.Bool(in.Spec.DeletionProtected()),
		// Always keep a final snapshot: deleting a tenant must never lose its data silently.
		SkipFinalSnapshot:       pulumi.Bool(false),
		FinalSnapshotIdentifier: pulumi.Sprintf("%s-final", identifier),
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
		Native:      map[string]pulumi.Resource{"database": db},
	}, nil
}

// databaseSecretARN is the plain ARN of the RDS-managed secret. The ARN is not
// sensitive; only what it points at is, and that never enters state.
func databaseSecretARN(db *components.Database) (pulumi.StringOutput, error) {
	inst, ok := db.Native["database"].(*rds.Instance)
	if !ok {
		return pulumi.StringOutput{}, fmt.Errorf("aws: the database was not made by the AWS adapter")
	}
	return inst.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem(), nil
}
