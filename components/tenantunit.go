package components

import (
	"fmt"
	"maps"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TenantUnitType is the TenantUnit's type token. It is part of every child's
// URN: never change it without aliases.
const TenantUnitType = "tenantfleet:index:TenantUnit"

// ValidateTenant checks a defaulted spec neutrally and then against cloud's
// limits, returning every problem as *FieldErrors.
func ValidateTenant(cloud Adapter, spec TenantSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if !cloud.Capabilities().SharedDatabases && spec.Database.Placement == PlacementShared {
		return &FieldError{Field: "database.placement", Value: spec.Database.Placement,
			Reason: fmt.Sprintf("%s has no shared database servers: use dedicated", cloud.Name())}
	}
	return cloud.ValidateTenant(spec)
}

// TenantUnit is one customer account: a PostgreSQL database, a public web app,
// a work queue with its dead-letter queue and a background container, on the
// cloud its Adapter provisions.
type TenantUnit struct {
	pulumi.ResourceState

	// WebURL is the web app's public address.
	WebURL pulumi.StringOutput `pulumi:"webUrl"`
	// DatabaseEndpoint is host:port of the tenant's PostgreSQL server.
	DatabaseEndpoint pulumi.StringOutput `pulumi:"databaseEndpoint"`
	DatabaseName     pulumi.StringOutput `pulumi:"databaseName"`
	DatabaseUser     pulumi.StringOutput `pulumi:"databaseUser"`
	// DatabaseCredentials is a secret: the password, or a reference into the
	// cloud's secret store where the cloud manages the password (AWS).
	DatabaseCredentials pulumi.StringOutput `pulumi:"databaseCredentials"`
	QueueURL            pulumi.StringOutput `pulumi:"queueUrl"`
	DeadLetterQueueURL  pulumi.StringOutput `pulumi:"deadLetterQueueUrl"`

	// Queue is the tenant's work queue, for wiring it into a MessagingFanout.
	Queue *Queue
	// Native is the escape hatch: the cloud's resources by role
	// ("database", "queue", "web-service", ...), to read or depend on what the
	// abstraction hides. The roles and types are the adapter's.
	Native map[string]pulumi.Resource
}

// TenantUnitArgs configures a TenantUnit.
type TenantUnitArgs struct {
	// Spec describes the tenant; unset fields take their defaults.
	Spec TenantSpec
	// Cloud provisions the resources.
	Cloud Adapter
	// Platform is the stack's shared pieces; required when Cloud is a
	// PlatformProvisioner, nil otherwise.
	Platform *Platform
}

// NewTenantUnit validates args.Spec and then provisions the tenant unit on
// args.Cloud. Nothing is registered when the spec is invalid (the error names
// each bad field) or the cloud lacks the workload shape it states.
func NewTenantUnit(ctx *pulumi.Context, name string, args *TenantUnitArgs, opts ...pulumi.ResourceOption) (*TenantUnit, error) {
	if args == nil || args.Cloud == nil {
		return nil, fmt.Errorf("tenant unit %q: a cloud adapter is required", name)
	}
	spec := args.Spec.WithDefaults()
	if err := ValidateTenant(args.Cloud, spec); err != nil {
		return nil, fmt.Errorf("tenant unit %q: %w", name, err)
	}
	workloads, err := workloadsOf(args.Cloud)
	if err != nil {
		return nil, fmt.Errorf("tenant unit %q: %w", name, err)
	}

	unit := &TenantUnit{Native: map[string]pulumi.Resource{}}
	if err := ctx.RegisterComponentResource(TenantUnitType, name, unit, opts...); err != nil {
		return nil, fmt.Errorf("register tenant unit %q: %w", name, err)
	}
	cloud, platform := args.Cloud, args.Platform
	scope := Scope{Stack: ctx.Stack(), Component: ComponentTenantUnit, Tenant: spec.ID}

	var base *Foundation
	if fp, ok := cloud.(FoundationProvisioner); ok {
		if base, err = fp.Foundation(ctx, name+"-base", FoundationInput{Scope: scope, Spec: spec, Platform: platform}, unit); err != nil {
			return nil, fmt.Errorf("tenant unit %q: foundation: %w", name, err)
		}
		maps.Copy(unit.Native, base.Native)
	}
	db, err := cloud.Database(ctx, name+"-db", DatabaseInput{Scope: scope, Spec: spec.Database, Foundation: base, Platform: platform}, unit)
	if err != nil {
		return nil, fmt.Errorf("tenant unit %q: database: %w", name, err)
	}
	queue, err := cloud.Queue(ctx, name+"-queue", QueueInput{Scope: scope, Owner: "work", Spec: spec.Queue, Foundation: base, Platform: platform}, unit)
	if err != nil {
		return nil, fmt.Errorf("tenant unit %q: queue: %w", name, err)
	}
	workload := func(kind, image string, port int, extra map[string]string) Workload {
		return Workload{
			Scope:      scope,
			Foundation: base,
			Platform:   platform,
			Env:        contractEnv(cloud.Name(), scope, kind, image, port, db, queue, extra),
			Database:   db,
			Queue:      queue,
		}
	}
	webIn := WebAppInput{Workload: workload(WorkloadWeb, spec.Web.Image, spec.Web.Port, spec.Web.Env), Spec: spec.Web}
	workerIn := ContainerInput{Workload: workload(WorkloadWorker, spec.Worker.Image, 0, spec.Worker.Env), Spec: spec.Worker}
	web, worker, err := workloads(ctx, name, webIn, workerIn, unit)
	if err != nil {
		return nil, fmt.Errorf("tenant unit %q: %w", name, err)
	}

	for _, native := range []map[string]pulumi.Resource{db.Native, queue.Native, web.Native, worker.Native} {
		maps.Copy(unit.Native, native)
	}
	unit.Queue = queue
	unit.WebURL = web.URL
	unit.DatabaseEndpoint = pulumi.Sprintf("%s:%s", db.Host, db.Port.ApplyT(func(p int) string { return strconv.Itoa(p) }))
	unit.DatabaseName = db.Name
	unit.DatabaseUser = db.User
	unit.DatabaseCredentials = pulumi.ToSecret(db.Credentials).(pulumi.StringOutput)
	unit.QueueURL = queue.URL
	unit.DeadLetterQueueURL = queue.DeadLetterURL

	if err := ctx.RegisterResourceOutputs(unit, unit.Outputs()); err != nil {
		return nil, fmt.Errorf("tenant unit %q: register outputs: %w", name, err)
	}
	return unit, nil
}

// Outputs is the unit's outputs by name, as registered on the component and
// as a stack exports them. databaseCredentials is a secret.
func (u *TenantUnit) Outputs() pulumi.Map {
	return pulumi.Map{
		"webUrl":              u.WebURL,
		"databaseEndpoint":    u.DatabaseEndpoint,
		"databaseName":        u.DatabaseName,
		"databaseUser":        u.DatabaseUser,
		"databaseCredentials": u.DatabaseCredentials,
		"queueUrl":            u.QueueURL,
		"deadLetterQueueUrl":  u.DeadLetterQueueURL,
	}
}

// workloadsFunc provisions a tenant's web app and worker.
type workloadsFunc func(ctx *pulumi.Context, name string, web WebAppInput, worker ContainerInput, parent pulumi.Resource) (*WebApp, *Container, error)

// workloadsOf returns how cloud provisions a tenant's two workloads, in the
// shape its Capabilities state: an error when it states none or lacks the
// methods of the one it states.
func workloadsOf(cloud Adapter) (workloadsFunc, error) {
	switch shape := cloud.Capabilities().Workloads; shape {
	case SeparateWorkloads:
		sp, ok := cloud.(SeparateWorkloadsProvisioner)
		if !ok {
			return nil, fmt.Errorf("cloud %s states %s workloads but has no WebApp and Container (components.SeparateWorkloadsProvisioner)", cloud.Name(), shape)
		}
		return func(ctx *pulumi.Context, name string, webIn WebAppInput, workerIn ContainerInput, parent pulumi.Resource) (*WebApp, *Container, error) {
			web, err := sp.WebApp(ctx, name+"-web", webIn, parent)
			if err != nil {
				return nil, nil, fmt.Errorf("web app: %w", err)
			}
			worker, err := sp.Container(ctx, name+"-worker", workerIn, parent)
			if err != nil {
				return nil, nil, fmt.Errorf("worker: %w", err)
			}
			return web, worker, nil
		}, nil
	case CombinedWorkloads:
		cp, ok := cloud.(CombinedWorkloadsProvisioner)
		if !ok {
			return nil, fmt.Errorf("cloud %s states %s workloads but has no Workloads (components.CombinedWorkloadsProvisioner)", cloud.Name(), shape)
		}
		return func(ctx *pulumi.Context, name string, webIn WebAppInput, workerIn ContainerInput, parent pulumi.Resource) (*WebApp, *Container, error) {
			web, worker, err := cp.Workloads(ctx, name+"-app", webIn, workerIn, parent)
			if err != nil {
				return nil, nil, fmt.Errorf("workloads: %w", err)
			}
			return web, worker, nil
		}, nil
	default:
		return nil, fmt.Errorf("cloud %s states no workload shape (Capabilities().Workloads is %q): want %q or %q",
			cloud.Name(), shape, SeparateWorkloads, CombinedWorkloads)
	}
}
