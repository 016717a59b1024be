package kubernetes

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
	"github.com/tenantfleet/tenantfleet/providers/stackconfig"
)

// Name is the adapter's registry name.
const Name = "kubernetes"

// configKey is the stack config object the adapter reads.
const configKey = "tenantfleet:kubernetes"

// The operators the adapter declares custom resources for, and their API
// versions (the CRDs kubetest installs and the README names).
const (
	OperatorCloudNativePG = "cloudnative-pg"
	// OperatorRabbitMQTopology is RabbitMQ's messaging-topology operator
	// (github.com/rabbitmq/messaging-topology-operator).
	OperatorRabbitMQTopology = "rabbitmq-messaging-topology"
	cnpgAPIVersion           = "postgresql.cnpg.io/v1"
	rabbitAPIVersion         = "rabbitmq.com/v1beta1"
)

// Config is the stack config object tenantfleet:kubernetes.
type Config struct {
	// Context is the kubeconfig context to deploy with (from $KUBECONFIG or
	// ~/.kube/config). Exactly one of Context and InCluster is required, so
	// a stack never lands on whatever cluster is current by accident.
	Context string `json:"context,omitempty"`
	// InCluster deploys with the service account of the pod the engine runs
	// in (the provider's in-cluster configuration).
	InCluster bool `json:"inCluster,omitempty"`
	// Ingress is how web apps are reached. Required.
	Ingress IngressConfig `json:"ingress"`
	// StorageClass holds the databases' volumes; "" is the cluster's default class.
	StorageClass string `json:"storageClass,omitempty"`
	// Database says which in-cluster service provides PostgreSQL.
	Database DatabaseConfig `json:"database,omitzero"`
	// Queue says which in-cluster service provides the queues and topics. Required.
	Queue QueueConfig `json:"queue"`
}

// IngressConfig says how web apps are reached from outside the cluster.
type IngressConfig struct {
	// ClassName is the IngressClass of the cluster's ingress controller ("nginx").
	ClassName string `json:"className"`
	// BaseDomain is the DNS zone web apps get a host name in
	// (<stack>-<tenant>-<hash>.<baseDomain>); its wildcard record must point
	// at the ingress controller.
	BaseDomain string `json:"baseDomain"`
	// Namespace is the ingress controller's namespace: its pods are the only
	// ones that reach the web apps' pods.
	Namespace string `json:"namespace"`
	// ClusterIssuer, when set, is the cert-manager ClusterIssuer that signs
	// each web app's certificate; the web URL is then https.
	ClusterIssuer string `json:"clusterIssuer,omitempty"`
}

// DatabaseConfig says which in-cluster service provides PostgreSQL.
type DatabaseConfig struct {
	// Operator is "cloudnative-pg" (the default and only one).
	Operator string `json:"operator,omitempty"`
	// OperatorNamespace is where the CloudNativePG operator runs (default
	// cnpg-system): its pods may reach the database pods' status port.
	OperatorNamespace string `json:"operatorNamespace,omitempty"`
	// ImageRepository holds the PostgreSQL operand images, tagged by major
	// version (default ghcr.io/cloudnative-pg/postgresql).
	ImageRepository string `json:"imageRepository,omitempty"`
}

// QueueConfig says which in-cluster service provides queues and topics:
// a RabbitMQ that the messaging-topology operator declares on.
type QueueConfig struct {
	// Operator is "rabbitmq-messaging-topology" (the default and only one):
	// vhosts, users, permissions, policies, queues, exchanges and bindings
	// declared as the operator's rabbitmq.com/v1beta1 custom resources.
	Operator string `json:"operator,omitempty"`
	// URL is RabbitMQ's in-cluster AMQP address, amqp://host[:5672] or
	// amqps://host[:5671], which the apps connect to.
	URL string `json:"url"`
	// Namespace is where RabbitMQ's pods run, and where RabbitmqCluster
	// or ConnectionSecret is: the tenants' pods may reach its pods on
	// the URL's port, and every custom resource references it there.
	Namespace string `json:"namespace"`
	// RabbitmqCluster names the RabbitmqCluster object (RabbitMQ's cluster
	// operator) the topology operator declares on. Exactly one of
	// RabbitmqCluster and ConnectionSecret is required; either must carry
	// the annotation rabbitmq.com/topology-allowed-namespaces ("*", or the
	// stacks' and tenants' namespaces), since the custom resources live in
	// those namespaces.
	RabbitmqCluster string `json:"rabbitmqCluster,omitempty"`
	// ConnectionSecret names a Secret with keys uri (the management API's
	// URL), username and password, for a RabbitMQ the cluster operator does
	// not run.
	ConnectionSecret string `json:"connectionSecret,omitempty"`
}

// Defaults of the config.
const (
	DefaultCNPGNamespace   = "cnpg-system"
	DefaultPostgresImage   = "ghcr.io/cloudnative-pg/postgresql"
	postgresPort           = 5432
	cnpgStatusPort         = 8000
	defaultAMQPPort        = 5672
	defaultAMQPSPort       = 5671
	workloadLabel          = "tenantfleet.dev/workload"
	cnpgClusterLabel       = "cnpg.io/cluster"
	namespaceNameLabel     = "kubernetes.io/metadata.name"
	databaseClusterName    = "db"
	databaseSecretName     = databaseClusterName + "-app" // CloudNativePG's <cluster>-app
	webServicePort         = 80
	webCPUTargetPercentage = 70
)

var (
	// dns1123Label is k8s.io/apimachinery/pkg/util/validation's DNS-1123 label.
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// dns1123Subdomain is its DNS-1123 subdomain (at most 253 characters).
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// imageRepository is a registry host and path without a tag.
	imageRepository = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$`)
)

func isLabel(s string) bool     { return len(s) <= 63 && dns1123Label.MatchString(s) }
func isSubdomain(s string) bool { return len(s) <= 253 && dns1123Subdomain.MatchString(s) }

// withDefaults returns c with every unset field given its default.
func (c Config) withDefaults() Config {
	if c.Database.Operator == "" {
		c.Database.Operator = OperatorCloudNativePG
	}
	if c.Database.OperatorNamespace == "" {
		c.Database.OperatorNamespace = DefaultCNPGNamespace
	}
	if c.Database.ImageRepository == "" {
		c.Database.ImageRepository = DefaultPostgresImage
	}
	if c.Queue.Operator == "" {
		c.Queue.Operator = OperatorRabbitMQTopology
	}
	return c
}

// Validate checks a defaulted config. Every problem is a *FieldError naming
// the tenantfleet:kubernetes field, joined flat.
func (c Config) Validate() error {
	var errs []error
	fail := func(field string, value any, reason string) {
		errs = append(errs, &components.FieldError{Field: configKey + "." + field, Value: value, Reason: reason})
	}
	switch {
	case c.Context == "" && !c.InCluster:
		fail("context", c.Context, "is required (a kubeconfig context), unless inCluster is true")
	case c.Context != "" && c.InCluster:
		fail("inCluster", c.InCluster, "cannot be true with a context: choose one")
	}
	if !isSubdomain(c.Ingress.ClassName) {
		fail("ingress.className", c.Ingress.ClassName, "is required: the IngressClass of the cluster's ingress controller, a DNS-1123 subdomain such as nginx")
	}
	if !isSubdomain(c.Ingress.BaseDomain) || !strings.Contains(c.Ingress.BaseDomain, ".") || len(c.Ingress.BaseDomain) > 253-64 {
		fail("ingress.baseDomain", c.Ingress.BaseDomain, "is required: a lowercase DNS zone such as tenants.example.com (at most 189 characters, leaving room for a host label)")
	}
	if !isLabel(c.Ingress.Namespace) {
		fail("ingress.namespace", c.Ingress.Namespace, "is required: the ingress controller's namespace, a DNS-1123 label such as ingress-nginx")
	}
	if c.Ingress.ClusterIssuer != "" && !isSubdomain(c.Ingress.ClusterIssuer) {
		fail("ingress.clusterIssuer", c.Ingress.ClusterIssuer, "is not a cert-manager ClusterIssuer name (a DNS-1123 subdomain)")
	}
	if c.StorageClass != "" && !isSubdomain(c.StorageClass) {
		fail("storageClass", c.StorageClass, "is not a StorageClass name (a DNS-1123 subdomain)")
	}
	if c.Database.Operator != OperatorCloudNativePG {
		fail("database.operator", c.Database.Operator, "must be "+OperatorCloudNativePG+", the one PostgreSQL operator tenantfleet declares clusters for")
	}
	if !isLabel(c.Database.OperatorNamespace) {
		fail("database.operatorNamespace", c.Database.OperatorNamespace, "is not a namespace name (a DNS-1123 label)")
	}
	if !imageRepository.MatchString(c.Database.ImageRepository) {
		fail("database.imageRepository", c.Database.ImageRepository, "is not an image repository without a tag, such as "+DefaultPostgresImage)
	}
	switch c.Queue.Operator {
	case OperatorRabbitMQTopology:
	case "nack":
		fail("queue.operator", c.Queue.Operator, "is no longer supported: Kubernetes queues are RabbitMQ's, declared through "+OperatorRabbitMQTopology+" with a user per tenant (README: Running a stack on Kubernetes)")
	default:
		fail("queue.operator", c.Queue.Operator, "must be "+OperatorRabbitMQTopology+", the one queue operator tenantfleet declares queues for")
	}
	if _, err := c.amqpServer(); err != nil {
		fail("queue.url", redacted(c.Queue.URL), err.Error())
	}
	if !isLabel(c.Queue.Namespace) {
		fail("queue.namespace", c.Queue.Namespace, "is required: RabbitMQ's namespace, a DNS-1123 label such as rabbitmq-system")
	}
	switch {
	case c.Queue.RabbitmqCluster == "" && c.Queue.ConnectionSecret == "":
		fail("queue.rabbitmqCluster", c.Queue.RabbitmqCluster, "is required (the RabbitmqCluster in queue.namespace), unless queue.connectionSecret is set")
	case c.Queue.RabbitmqCluster != "" && c.Queue.ConnectionSecret != "":
		fail("queue.connectionSecret", c.Queue.ConnectionSecret, "cannot be set with queue.rabbitmqCluster: choose one")
	case c.Queue.RabbitmqCluster != "" && !isSubdomain(c.Queue.RabbitmqCluster):
		fail("queue.rabbitmqCluster", c.Queue.RabbitmqCluster, "is not an object name (a DNS-1123 subdomain)")
	case c.Queue.ConnectionSecret != "" && !isSubdomain(c.Queue.ConnectionSecret):
		fail("queue.connectionSecret", c.Queue.ConnectionSecret, "is not a Secret name (a DNS-1123 subdomain)")
	}
	return errors.Join(errs...)
}

// amqpServer returns the queue URL's server (amqp[s]://host:port) and its port.
func (c Config) amqpServer() (amqpServer, error) {
	if c.Queue.URL == "" {
		return amqpServer{}, errors.New("is required: RabbitMQ's in-cluster AMQP address, such as amqp://rabbitmq.rabbitmq-system.svc.cluster.local:5672")
	}
	u, err := url.Parse(c.Queue.URL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Hostname() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return amqpServer{}, errors.New("is not amqp://host[:port] or amqps://host[:port] (no credentials, vhost or query: each tenant gets its own user, the stack its own vhost)")
	}
	port := defaultAMQPPort
	if u.Scheme == "amqps" {
		port = defaultAMQPSPort
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return amqpServer{}, errors.New("has no valid port (1-65535)")
		}
	}
	return amqpServer{Scheme: u.Scheme, Host: net.JoinHostPort(u.Hostname(), strconv.Itoa(port)), Port: port}, nil
}

// redacted is a URL as errors may show it: without a password.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)" // url's error would repeat it, password and all
	}
	return u.Redacted()
}

// amqpServer is where the apps reach RabbitMQ.
type amqpServer struct {
	Scheme string // amqp or amqps
	Host   string // host:port
	Port   int
}

// url is an AMQP URL of this server as the queue package reads it:
// amqp[s]://user@host:port/vhost?query.
func (s amqpServer) url(user, vhost string, query url.Values) string {
	u := url.URL{Scheme: s.Scheme, User: url.User(user), Host: s.Host, Path: "/" + vhost, RawQuery: query.Encode()}
	return u.String()
}

// Adapter provisions tenantfleet components on a Kubernetes cluster.
type Adapter struct {
	cfg  Config
	amqp amqpServer
	// project is the Pulumi project: with the stack and the tenant it
	// names namespaces, streams and hosts, so two projects' stacks of the
	// same name on one cluster never adopt each other's objects.
	project string
}

var (
	_ components.Adapter                      = (*Adapter)(nil)
	_ components.PlatformProvisioner          = (*Adapter)(nil)
	_ components.FoundationProvisioner        = (*Adapter)(nil)
	_ components.SeparateWorkloadsProvisioner = (*Adapter)(nil)
)

// New reads tenantfleet:kubernetes from the stack config, refusing unknown
// fields, and returns the adapter.
func New(ctx *pulumi.Context) (components.Adapter, error) {
	var cfg Config
	if err := stackconfig.Decode(ctx, configKey, &cfg); err != nil {
		return nil, err
	}
	a, err := NewWithConfig(cfg)
	if err != nil {
		return nil, err
	}
	a.project = ctx.Project()
	return a, nil
}

// NewWithConfig returns the adapter for an explicit config, defaulted and validated.
func NewWithConfig(cfg Config) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	amqp, _ := cfg.amqpServer()
	return &Adapter{cfg: cfg, amqp: amqp}, nil
}

// Name implements components.Adapter.
func (*Adapter) Name() string { return Name }

// Capabilities implements components.Adapter: the web app and the worker
// are Deployments of their own; every tenant's database is a cluster of its
// own in its namespace.
func (*Adapter) Capabilities() components.Capabilities {
	return components.Capabilities{Workloads: components.SeparateWorkloads}
}

// platform is the adapter's state of the stack's Platform: the explicit
// provider every resource is declared with, the stack's namespace, which
// holds the fanout, and the stack's RabbitMQ vhost, which holds every
// queue and topic of the stack.
type platform struct {
	provider  *k8s.Provider
	namespace pulumi.StringOutput
	vhost     *apiextensions.CustomResource
	vhostName string
}

// foundation is the adapter's state of a tenant's Foundation.
type foundation struct {
	namespace pulumi.StringOutput
}

// Platform implements components.PlatformProvisioner: the provider (the
// config's context, or in-cluster), the stack's namespace, and the stack's
// RabbitMQ vhost (named as the namespace, quorum queues by default), in
// which each tenant's user may use its own queue only.
func (a *Adapter) Platform(ctx *pulumi.Context, name string, scope components.Scope, parent pulumi.Resource) (*components.PlatformResources, error) {
	args := &k8s.ProviderArgs{
		// Server-side apply (the v4 default, stated): objects the
		// operators also write (a Stream's sources, set by the fanout's
		// patches) keep each writer's fields.
		EnableServerSideApply: pulumi.BoolPtr(true),
	}
	if a.cfg.Context != "" {
		args.Context = pulumi.StringPtr(a.cfg.Context)
	}
	prov, err := k8s.NewProvider(ctx, name+"-provider", args, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider: %w", err)
	}
	ns, err := corev1.NewNamespace(ctx, name+"-namespace", &corev1.NamespaceArgs{
		Metadata: a.metadata(scope, a.physical(naming.Kubernetes.Namespace, scope), pulumi.String("")),
	}, childOptions(parent, prov)...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes stack namespace: %w", err)
	}
	namespace := ns.Metadata.Name().Elem()
	vhostName := a.physical(naming.Kubernetes.Namespace, scope)
	vhost, err := a.rabbit(ctx, name+"-vhost", scope, "Vhost", "stack", namespace, pulumi.Map{
		"name":             pulumi.String(vhostName),
		"defaultQueueType": pulumi.String("quorum"),
	}, childOptions(parent, prov))
	if err != nil {
		return nil, err
	}
	p := &platform{provider: prov, namespace: namespace, vhost: vhost, vhostName: vhostName}
	return &components.PlatformResources{
		Native: map[string]pulumi.Resource{"provider": prov, "namespace": ns, "vhost": vhost},
		State:  p,
	}, nil
}

// childOptions are the options of every resource the adapter registers:
// the component as parent, the stack's provider, and nothing from the caller.
func childOptions(parent pulumi.Resource, prov *k8s.Provider, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(prov)}, extra...)
}

// physical is a name unique to the project, stack and tenant of the scope.
func (a *Adapter) physical(r naming.Rule, s components.Scope, parts ...string) string {
	return r.Unique(append([]string{a.project, s.Stack, s.Tenant}, parts...)...)
}

// waitForReady makes pulumi-kubernetes wait, on create and update, until an
// operator's object reports the condition Ready (CloudNativePG's Cluster
// and the topology operator's objects do): the workloads that need the database's
// Secret and the queue's consumer are declared after them.
func waitForReady(m *metav1.ObjectMetaArgs) *metav1.ObjectMetaArgs {
	m.Annotations.(pulumi.StringMap)["pulumi.com/waitFor"] = pulumi.String("condition=Ready")
	return m
}

// operatorTimeouts bound the wait for an operator's object: a database
// cluster's instances are created one after another.
var operatorTimeouts = pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m", Update: "30m"})

// patchForceAnnotation is pulumi-kubernetes' annotation that makes its
// server-side apply take over fields another field manager changed.
const patchForceAnnotation = "pulumi.com/patchForce"

// Label and annotation keys of the tenantfleet tags: the tags' values as
// label values (shaped when a stack name is not one) and, exactly, as
// annotations.
const tagPrefix = "tenantfleet.dev/"

// tagKey is the label and annotation key of a tenantfleet tag.
func tagKey(tag string) string {
	if tag == components.TagManagedBy {
		return "app.kubernetes.io/managed-by"
	}
	return tagPrefix + tag
}

// Labels returns the scope's tags as Kubernetes labels.
func Labels(s components.Scope) map[string]string {
	out := map[string]string{}
	for k, v := range s.Tags() {
		out[tagKey(k)] = naming.KubernetesLabelValue(v)
	}
	return out
}

// Annotations returns the scope's tags, exact, as annotations.
func Annotations(s components.Scope) map[string]string {
	out := map[string]string{}
	for k, v := range s.Tags() {
		out[tagKey(k)] = v
	}
	return out
}

// TagsOf reads the tenantfleet tags back from an object's annotations.
func TagsOf(annotations map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{components.TagTenant, components.TagComponent, components.TagStack, components.TagManagedBy} {
		if v, ok := annotations[tagKey(k)]; ok {
			out[k] = v
		}
	}
	return out
}

// metadata is the metadata of an object named name in namespace ns ("" for
// a cluster-scoped one), carrying the scope's tags, with extra labels.
func (a *Adapter) metadata(s components.Scope, name string, ns pulumi.StringInput, extra ...map[string]string) *metav1.ObjectMetaArgs {
	labels := Labels(s)
	for _, e := range extra {
		for k, v := range e {
			labels[k] = v
		}
	}
	m := &metav1.ObjectMetaArgs{
		Labels:      pulumi.ToStringMap(labels),
		Annotations: pulumi.ToStringMap(Annotations(s)),
	}
	if name != "" { // "" for a pod template, whose pods the controller names
		m.Name = pulumi.String(name)
		ann := Annotations(s)
		// Pulumi is the authority over the fields it declares: a change
		// behind the engine (kubectl scale, edit) is drift that the next
		// up takes back, forcing server-side apply's field conflicts
		// instead of failing on them. Fields it does not declare (an
		// autoscaler's replica count, the operators' status) stay theirs.
		ann[patchForceAnnotation] = "true"
		m.Annotations = pulumi.ToStringMap(ann)
	}
	if ns != nil {
		if plain, ok := ns.(pulumi.String); !ok || plain != "" {
			m.Namespace = ns
		}
	}
	return m
}

// platformOf returns the adapter's platform state from a components.Platform.
func platformOf(p *components.Platform) (*platform, error) {
	return components.PlatformState[*platform](p, Name)
}

// foundationOf returns the adapter's state of a tenant's foundation.
func foundationOf(f *components.Foundation) (*foundation, error) {
	if f == nil {
		return nil, errors.New("no foundation: the tenant's namespace is laid first")
	}
	st, ok := f.State.(*foundation)
	if !ok {
		return nil, fmt.Errorf("foundation state is %T, not the %s adapter's", f.State, Name)
	}
	return st, nil
}
