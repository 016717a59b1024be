package kubernetes

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
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
	OperatorNACK          = "nack"
	cnpgAPIVersion        = "postgresql.cnpg.io/v1"
	nackAPIVersion        = "jetstream.nats.io/v1beta2"
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

// QueueConfig says which in-cluster service provides queues and topics.
type QueueConfig struct {
	// Operator is "nack" (the default and only one): NATS JetStream
	// streams and consumers declared as NACK custom resources.
	Operator string `json:"operator,omitempty"`
	// URL is the NATS server's in-cluster address, nats://host:port, which
	// the NACK controller and the apps connect to.
	URL string `json:"url"`
	// Namespace is where the NATS server's pods run: the tenants' pods may
	// reach them on the URL's port.
	Namespace string `json:"namespace"`
	// Replicas is each stream's replica count on a clustered JetStream, 1
	// to 5 (default 1: a single server; 3 survives the loss of one).
	Replicas int `json:"replicas,omitempty"`
}

// Defaults of the config.
const (
	DefaultCNPGNamespace   = "cnpg-system"
	DefaultPostgresImage   = "ghcr.io/cloudnative-pg/postgresql"
	postgresPort           = 5432
	cnpgStatusPort         = 8000
	defaultNATSPort        = 4222
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
		c.Queue.Operator = OperatorNACK
	}
	if c.Queue.Replicas == 0 {
		c.Queue.Replicas = 1
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
	if c.Queue.Operator != OperatorNACK {
		fail("queue.operator", c.Queue.Operator, "must be "+OperatorNACK+", the one queue operator tenantfleet declares streams for")
	}
	if _, err := c.natsServer(); err != nil {
		fail("queue.url", redacted(c.Queue.URL), err.Error())
	}
	if c.Queue.Replicas < 1 || c.Queue.Replicas > 5 {
		fail("queue.replicas", c.Queue.Replicas, "must be 1 to 5 (JetStream's limit)")
	}
	if !isLabel(c.Queue.Namespace) {
		fail("queue.namespace", c.Queue.Namespace, "is required: the NATS server's namespace, a DNS-1123 label such as nats")
	}
	return errors.Join(errs...)
}

// natsServer returns the queue URL's server (nats://host:port) and its port.
func (c Config) natsServer() (natsServer, error) {
	if c.Queue.URL == "" {
		return natsServer{}, errors.New("is required: the NATS server's in-cluster address, such as nats://nats.nats.svc.cluster.local:4222")
	}
	u, err := url.Parse(c.Queue.URL)
	if err != nil || u.Scheme != "nats" || u.Hostname() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return natsServer{}, errors.New("is not nats://host[:port] (no credentials, path or query)")
	}
	port := defaultNATSPort
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return natsServer{}, errors.New("has no valid port (1-65535)")
		}
	}
	return natsServer{URL: fmt.Sprintf("nats://%s:%d", u.Hostname(), port), Port: port}, nil
}

// redacted is a URL as errors may show it: without a password.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)" // url's error would repeat it, password and all
	}
	return u.Redacted()
}

type natsServer struct {
	URL  string
	Port int
}

// Adapter provisions tenantfleet components on a Kubernetes cluster.
type Adapter struct {
	cfg  Config
	nats natsServer
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
	nats, _ := cfg.natsServer()
	return &Adapter{cfg: cfg, nats: nats}, nil
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
// provider every resource is declared with, and the stack's namespace,
// which holds the fanout's streams.
type platform struct {
	provider  *k8s.Provider
	namespace pulumi.StringOutput
}

// foundation is the adapter's state of a tenant's Foundation.
type foundation struct {
	namespace pulumi.StringOutput
}

// Platform implements components.PlatformProvisioner: the provider (the
// config's context, or in-cluster) and the stack's namespace.
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
	p := &platform{provider: prov, namespace: ns.Metadata.Name().Elem()}
	return &components.PlatformResources{
		Native: map[string]pulumi.Resource{"provider": prov, "namespace": ns},
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
// operator's object reports the condition Ready (CloudNativePG's Cluster,
// NACK's Stream and Consumer do): the workloads that need the database's
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
