package gcp

import (
	"regexp"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/organizations"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/stackconfig"
)

// Name is the adapter's registry name.
const Name = "gcp"

// Config is the stack config object tenantfleet:gcp.
type Config struct {
	// Project is the project id every resource is created in. Defaults to
	// the gcp:project config.
	Project string `json:"project,omitempty"`
	// Region is the region of every regional resource (for example
	// "europe-west1"). Defaults to the gcp:region config.
	Region string `json:"region,omitempty"`
}

var (
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	regionID  = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)
)

// Validate checks the config; errors name the tenantfleet:gcp field.
func (c Config) Validate() error {
	switch {
	case c.Project == "":
		return &components.FieldError{Field: "tenantfleet:gcp.project", Value: c.Project, Reason: "is required (or set gcp:project)"}
	case !projectID.MatchString(c.Project):
		return &components.FieldError{Field: "tenantfleet:gcp.project", Value: c.Project, Reason: "is not a project id (6-30 lowercase letters, digits and hyphens)"}
	case c.Region == "":
		return &components.FieldError{Field: "tenantfleet:gcp.region", Value: c.Region, Reason: "is required (or set gcp:region)"}
	case !regionID.MatchString(c.Region):
		return &components.FieldError{Field: "tenantfleet:gcp.region", Value: c.Region, Reason: "is not a region such as europe-west1"}
	}
	return nil
}

// Adapter provisions tenantfleet components on Google Cloud.
type Adapter struct {
	cfg Config
	// projectNumber is resolved once per program (an invoke, safe in preview).
	projectNumber *pulumi.StringOutput
}

var (
	_ components.Adapter                      = (*Adapter)(nil)
	_ components.PlatformProvisioner          = (*Adapter)(nil)
	_ components.SeparateWorkloadsProvisioner = (*Adapter)(nil)
)

// New reads tenantfleet:gcp (project and region defaulting to gcp:project
// and gcp:region) from the stack config and returns the adapter.
func New(ctx *pulumi.Context) (components.Adapter, error) {
	var cfg Config
	if err := stackconfig.Decode(ctx, "tenantfleet:gcp", &cfg); err != nil {
		return nil, err
	}
	if cfg.Project == "" {
		cfg.Project = config.Get(ctx, "gcp:project")
	}
	if cfg.Region == "" {
		cfg.Region = config.Get(ctx, "gcp:region")
	}
	return NewWithConfig(cfg)
}

// NewWithConfig returns the adapter for an explicit config.
func NewWithConfig(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg}, nil
}

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// Capabilities implements components.Adapter: a Cloud Run service per
// workload; no shared database servers (a Cloud SQL instance per tenant).
func (*Adapter) Capabilities() components.Capabilities {
	return components.Capabilities{Workloads: components.SeparateWorkloads}
}

// childOptions are the options of every resource the adapter registers: the
// component as parent and nothing from the caller. Physical names are fixed,
// so a replacement must delete first.
func childOptions(parent pulumi.Resource) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true)}
}

// labels shapes the scope's tags to Google Cloud's label rules.
func labels(s components.Scope) pulumi.StringMap {
	return pulumi.ToStringMap(naming.GCPLabels(s.Tags()))
}

// physical is a name unique to the stack and tenant of the scope.
func physical(r naming.Rule, s components.Scope, parts ...string) string {
	return r.Unique(append([]string{s.Stack, s.Tenant}, parts...)...)
}

// pubsubID is a Pub/Sub topic or subscription id unique to the scope.
func pubsubID(s components.Scope, parts ...string) string {
	return naming.GCP.PubSub.Unique(append([]string{s.Stack, s.Tenant}, parts...)...)
}

// project is the config's project id as an input.
func (a *Adapter) project() pulumi.StringInput { return pulumi.String(a.cfg.Project) }

// pubsubServiceAgent is the Pub/Sub service agent of the project, which moves
// messages to dead-letter topics and pushes to Eventarc. Its address holds
// the project number, looked up once (an invoke, safe in preview).
func (a *Adapter) pubsubServiceAgent(ctx *pulumi.Context) pulumi.StringOutput {
	if a.projectNumber == nil {
		n := organizations.LookupProjectOutput(ctx, organizations.LookupProjectOutputArgs{
			ProjectId: pulumi.String(a.cfg.Project),
		}).Number()
		a.projectNumber = &n
	}
	return pulumi.Sprintf("serviceAccount:service-%s@gcp-sa-pubsub.iam.gserviceaccount.com", *a.projectNumber)
}

// platformOf returns the adapter's platform state from a components.Platform.
func platformOf(p *components.Platform) (*platform, error) {
	return components.PlatformState[*platform](p, Name)
}
