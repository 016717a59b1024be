package components

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Adapter is everything a cloud provides to the components. Each capability
// is its own small interface so a reader finds, say, the queue of every cloud
// behind the same method, and a function takes only what it uses
// (NewMessagingFanout takes a FanoutCloud).
//
// Besides its methods, an adapter provides a tenant's two workloads in the
// shape its Capabilities state: a SeparateWorkloadsProvisioner (WebApp and
// Container) or a CombinedWorkloadsProvisioner (Workloads), never both. The
// optional FoundationProvisioner, PlatformProvisioner and PlatformFinisher
// are found by type assertion. An adapter proves every interface it provides
// at compile time: var _ components.PlatformProvisioner = (*Adapter)(nil).
//
// Contract for every method:
//   - Register resources only with pulumi.Parent(parent) plus options of the
//     adapter's own (DeleteBeforeReplace, DependsOn, ...). Never take the
//     caller's options: a caller's Parent must not pull children out of the component.
//   - Name children name+"-"+role so two instances never share a URN.
//   - Tag every taggable resource with Scope.Tags, shaped by the cloud's rules.
//   - Only declare: no cloud SDK calls, no blocking on an Output (that
//     deadlocks in preview). Invokes (data-source lookups) are allowed.
//   - Reject what the cloud cannot honour in ValidateTenant/ValidateFanout,
//     which run before anything is registered, so a bad spec never leaves
//     half-created resources behind.
//   - Pass what one method needs from another through the State of what it
//     returned (Database.State, Queue.State, Topic.State, Foundation.State,
//     Platform.State), never through Native, which is the users'.
type Adapter interface {
	// Name is the registry name: aws, azure, gcp, digitalocean, kubernetes or local.
	Name() string
	// Capabilities states what the cloud offers beyond the methods every
	// adapter has.
	Capabilities() Capabilities
	// ValidateTenant checks a defaulted, neutrally valid spec against the
	// cloud's own limits, returning *FieldErrors named like the spec's fields
	// (for example "worker.memoryMiB").
	ValidateTenant(spec TenantSpec) error
	DatabaseProvisioner
	QueueProvisioner
	// FanoutCloud adds ValidateFanout, Topic and Subscribe.
	FanoutCloud
}

// Capabilities is what an adapter offers beyond the methods every adapter
// has, stated as values: a misspelt method cannot drop a capability
// silently, and TenantUnit refuses an adapter that states a shape it lacks.
type Capabilities struct {
	// Workloads is the shape of a tenant's web app and worker on the cloud.
	// Required.
	Workloads WorkloadShape
	// SharedDatabases says the cloud accepts DatabaseSpec.Placement "shared",
	// placing the tenant's database and user on one server per stack.
	// ValidateTenant refuses shared on other clouds.
	SharedDatabases bool
}

// WorkloadShape is how a cloud deploys a tenant's two workloads.
type WorkloadShape string

// The workload shapes.
const (
	// SeparateWorkloads: the web app and the worker are deployables of their
	// own (a Fargate service, a Container App, a Cloud Run service, a local
	// process each). The adapter is a SeparateWorkloadsProvisioner.
	SeparateWorkloads WorkloadShape = "separate"
	// CombinedWorkloads: one deployable holds both (a DigitalOcean App
	// Platform app with a service and a worker component). The adapter is a
	// CombinedWorkloadsProvisioner.
	CombinedWorkloads WorkloadShape = "combined"
)

// SeparateWorkloadsProvisioner provides the SeparateWorkloads shape:
// TenantUnit calls WebApp and then Container.
type SeparateWorkloadsProvisioner interface {
	WebAppProvisioner
	ContainerProvisioner
}

// CombinedWorkloadsProvisioner provides the CombinedWorkloads shape:
// TenantUnit calls Workloads once for both workloads.
type CombinedWorkloadsProvisioner interface {
	Workloads(ctx *pulumi.Context, name string, web WebAppInput, worker ContainerInput, parent pulumi.Resource) (*WebApp, *Container, error)
}

// FanoutCloud is what a MessagingFanout needs of a cloud: its fanout
// validation, a queue for each subscriber naming no tenant, the topic and
// the subscriptions. Every Adapter is one; a test double implements only
// this (see FanoutCloudFns).
type FanoutCloud interface {
	// ValidateFanout checks a neutrally valid spec against the cloud's own
	// limits, returning *FieldErrors named like the spec's fields (for
	// example "subscribers[1].filter").
	ValidateFanout(spec FanoutSpec) error
	QueueProvisioner
	FanoutProvisioner
}

// Scope says whom a resource belongs to; every tag derives from it.
type Scope struct {
	Stack string
	// Component is ComponentTenantUnit, ComponentFanout or ComponentPlatform.
	Component string
	// Tenant is the tenant id, or SharedTenant for resources of no single tenant.
	Tenant string
}

// FoundationProvisioner is an optional capability, found by type assertion:
// per-tenant pieces the other capabilities of the same tenant build on
// (network rules, a cluster, a log group). TenantUnit calls it first and hands
// the result back in every input of that tenant.
type FoundationProvisioner interface {
	Foundation(ctx *pulumi.Context, name string, in FoundationInput, parent pulumi.Resource) (*Foundation, error)
}

// FoundationInput is what a cloud needs to lay a tenant's foundation: the
// whole (defaulted, validated) spec, for foundations sized by it (a
// Kubernetes namespace's ResourceQuota).
type FoundationInput struct {
	Scope    Scope
	Spec     TenantSpec
	Platform *Platform // nil unless the adapter is a PlatformProvisioner
}

// Foundation is a tenant's shared cloud pieces.
type Foundation struct {
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components.
	State any
}

// PlatformProvisioner is an optional capability, found by type assertion:
// stack-wide pieces every tenant and fanout of the stack builds on (Azure's
// platform resource group, Container Apps environment and Service Bus
// namespace; GCP's network; DigitalOcean's project and Kafka cluster). The
// program creates one Platform component before the tenants and hands it to
// every TenantUnit and MessagingFanout, which pass it on in every input.
// Scope.Component is ComponentPlatform and Scope.Tenant is SharedTenant.
type PlatformProvisioner interface {
	Platform(ctx *pulumi.Context, name string, scope Scope, parent pulumi.Resource) (*PlatformResources, error)
}

// PlatformFinisher is an optional capability of a PlatformProvisioner, for
// stack-wide pieces that must name every tenant (DigitalOcean: the firewall
// of a shared database server lists each shared tenant's app).
// Platform.Finish calls FinishPlatform once, after every TenantUnit is
// declared and before the platform registers its outputs. The adapter
// registers those pieces with pulumi.Parent(platform) and finds the tenants
// in the platform's State, where its other methods recorded them.
type PlatformFinisher interface {
	FinishPlatform(ctx *pulumi.Context, platform *Platform) error
}

// PlatformResources is what a PlatformProvisioner created.
type PlatformResources struct {
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components.
	State any
}

// DatabaseProvisioner creates a tenant's PostgreSQL database.
type DatabaseProvisioner interface {
	Database(ctx *pulumi.Context, name string, in DatabaseInput, parent pulumi.Resource) (*Database, error)
}

// DatabaseInput is what a cloud needs to create a tenant database.
type DatabaseInput struct {
	Scope      Scope
	Spec       DatabaseSpec
	Foundation *Foundation // nil unless the adapter is a FoundationProvisioner
	Platform   *Platform   // nil unless the adapter is a PlatformProvisioner
}

// Database is a created tenant database. Credentials is always a secret.
type Database struct {
	Host pulumi.StringOutput
	Port pulumi.IntOutput
	// Name is the PostgreSQL database name inside the server.
	Name pulumi.StringOutput
	User pulumi.StringOutput
	// SSLMode is the libpq sslmode apps must use (require on every cloud, disable on local loopback).
	SSLMode string
	// Credentials is either the password or a reference into the cloud's
	// secret store (on AWS, the Secrets Manager ARN of the RDS-managed secret).
	// Marked secret either way.
	Credentials pulumi.StringOutput
	// Native exposes the cloud resources by role, for what the abstraction
	// hides: the users' escape hatch, never read by adapters.
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components: what its other
	// methods need of the database (see DatabaseState).
	State any
}

// QueueProvisioner creates a work queue with its dead-letter queue.
type QueueProvisioner interface {
	Queue(ctx *pulumi.Context, name string, in QueueInput, parent pulumi.Resource) (*Queue, error)
}

// QueueInput is what a cloud needs to create a queue. Owner names the queue
// within its scope: "work" for a tenant's work queue, "<fanout>/<subscriber>"
// in a fanout. Shape it with naming's Unique so "/" never aliases.
type QueueInput struct {
	Scope      Scope
	Owner      string
	Spec       QueueSpec
	Foundation *Foundation // nil for fanout queues and adapters without foundations
	Platform   *Platform   // nil unless the adapter is a PlatformProvisioner
}

// Queue is a created queue and its dead-letter queue.
type Queue struct {
	URL           pulumi.StringOutput
	DeadLetterURL pulumi.StringOutput
	// ID and DeadLetterID are the cloud's identifiers used to grant access and
	// wire subscriptions (the ARN on AWS).
	ID           pulumi.StringOutput
	DeadLetterID pulumi.StringOutput
	// Credentials is the password a workload needs for this queue, a secret,
	// on clouds without workload identity (DigitalOcean's Kafka users); the
	// adapter injects it as QUEUE_PASSWORD through its secret mechanism. It is
	// the zero StringOutput where identity grants access.
	Credentials pulumi.StringOutput
	// CACertificate is the PEM certificate of the CA the queue's brokers'
	// certificates chain to, where that is not a public CA (DigitalOcean's
	// Kafka clusters sign with their own); the adapter passes it as
	// QUEUE_CA_CERT. The zero StringOutput elsewhere.
	CACertificate pulumi.StringOutput
	// Native exposes the cloud resources by role, for users.
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components: what its other
	// methods need of the queue (see QueueState).
	State any
}

// WebAppProvisioner creates a tenant's public web app: one half of a
// SeparateWorkloadsProvisioner.
type WebAppProvisioner interface {
	WebApp(ctx *pulumi.Context, name string, in WebAppInput, parent pulumi.Resource) (*WebApp, error)
}

// Workload is what the web app and the background container share: the
// environment contract and the resources it points at, to which the cloud
// grants the workload (and only it) access.
type Workload struct {
	Scope      Scope
	Foundation *Foundation // nil unless the adapter is a FoundationProvisioner
	Platform   *Platform   // nil unless the adapter is a PlatformProvisioner
	// Env holds the plain (non-secret) variables: the contract's and the spec's.
	// The adapter adds DATABASE_PASSWORD from Database.Credentials (and
	// QUEUE_PASSWORD from Queue.Credentials where the cloud has one) through
	// the cloud's secret mechanism, never as a plain value.
	Env      pulumi.StringMap
	Database *Database
	Queue    *Queue
}

// WebAppInput is what a cloud needs to create a web app.
type WebAppInput struct {
	Workload
	Spec WebAppSpec
}

// WebApp is a created web app. URL is its public address.
type WebApp struct {
	URL    pulumi.StringOutput
	Native map[string]pulumi.Resource
}

// ContainerProvisioner creates a tenant's background container: the other
// half of a SeparateWorkloadsProvisioner.
type ContainerProvisioner interface {
	Container(ctx *pulumi.Context, name string, in ContainerInput, parent pulumi.Resource) (*Container, error)
}

// ContainerInput is what a cloud needs to create a background container.
type ContainerInput struct {
	Workload
	Spec ContainerSpec
}

// Container is a created background container.
type Container struct {
	Native map[string]pulumi.Resource
}

// FanoutProvisioner creates a fanout's topic and its subscriptions.
type FanoutProvisioner interface {
	Topic(ctx *pulumi.Context, name string, in TopicInput, parent pulumi.Resource) (*Topic, error)
	// Subscribe delivers the topic into queue (the subscriber's own, or a
	// tenant's) and lets only that topic write to it. An unsupported filter is
	// a *FieldError on "filter".
	Subscribe(ctx *pulumi.Context, name string, in SubscriptionInput, parent pulumi.Resource) (*Subscription, error)
}

// TopicInput is what a cloud needs to create a fanout topic.
type TopicInput struct {
	Scope    Scope
	Name     string
	Platform *Platform // nil unless the adapter is a PlatformProvisioner
}

// Topic is a created fanout topic. ID is the identifier publishers use (the ARN on AWS).
type Topic struct {
	ID pulumi.StringOutput
	// Publisher is set where publishing needs more than ID and the
	// publisher's own cloud identity: a user of the topic's own (DigitalOcean's
	// Kafka). nil elsewhere.
	Publisher *TopicPublisher
	// Native exposes the cloud resources by role, for users.
	Native map[string]pulumi.Resource
	// State is the adapter's own, opaque to the components: what Subscribe
	// needs of the topic (see TopicState).
	State any
}

// TopicPublisher is how a publisher reaches a topic that has users of its
// own. The fanout exports it as its "publisher" output.
type TopicPublisher struct {
	// URL addresses the topic with the publisher's user, no password
	// (kafka://<user>@<host>:<port>/<topic>).
	URL pulumi.StringOutput
	// Password is the publisher user's password, a secret.
	Password pulumi.StringOutput
	// CACertificate is the PEM certificate of the CA that signs the
	// brokers' certificates, when that is a private CA.
	CACertificate pulumi.StringOutput
}

// SubscriptionInput is one subscriber of a fanout.
type SubscriptionInput struct {
	Scope      Scope
	Subscriber SubscriberSpec
	Topic      *Topic
	Queue      *Queue
	Platform   *Platform // nil unless the adapter is a PlatformProvisioner
}

// Subscription is a created subscription.
type Subscription struct {
	Native map[string]pulumi.Resource
}
