package local

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Database is the plugin's Database resource: a PostgreSQL database and a
// login role of the same name that alone may connect to it, on the
// runtime's loopback-only server. The plugin generates the password, which
// is a secret output (never an input).
type Database struct {
	pulumi.CustomResourceState

	Name     pulumi.StringOutput `pulumi:"name"`
	Host     pulumi.StringOutput `pulumi:"host"`
	Port     pulumi.IntOutput    `pulumi:"port"`
	User     pulumi.StringOutput `pulumi:"user"`
	Password pulumi.StringOutput `pulumi:"password"`
}

// Database implements components.DatabaseProvisioner. The server listens on
// 127.0.0.1 only, so sslmode is disable; tier, storage, backups and deletion
// protection have no local meaning.
func (a *Adapter) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	db := &Database{}
	err := ctx.RegisterResource(DatabaseType, name, pulumi.Map{
		// "db" first: the runtime refuses names starting pg_ (PostgreSQL's),
		// which a stack or tenant named pg-... would otherwise produce.
		"name": pulumi.String(naming.Local.Database.Unique("db", in.Scope.Stack, in.Scope.Tenant)),
		"tags": tags(in.Scope),
	}, db, append(childOptions(parent), pulumi.AdditionalSecretOutputs([]string{"password"}))...)
	if err != nil {
		return nil, fmt.Errorf("local database: %w", err)
	}
	return &components.Database{
		Host:        db.Host,
		Port:        db.Port,
		Name:        db.Name,
		User:        db.User,
		SSLMode:     "disable",
		Credentials: pulumi.ToSecret(db.Password).(pulumi.StringOutput),
		Native:      map[string]pulumi.Resource{"database": db},
	}, nil
}
