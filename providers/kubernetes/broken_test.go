package kubernetes_test

import (
	"testing"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/conformance"
	k8sp "github.com/tenantfleet/tenantfleet/providers/kubernetes"
)

// Each broken adapter is the Kubernetes adapter with one rule broken; the
// suite must report exactly that rule. This is what shows the suite can fail.

// letsOtherTenantsIn adds a network policy admitting the pods of every
// namespace (another tenant's included) to the tenant's database pods.
type letsOtherTenantsIn struct{ *k8sp.Adapter }

func (b letsOtherTenantsIn) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	db, err := b.Adapter.Database(ctx, name, in, parent)
	if err != nil {
		return nil, err
	}
	cluster := db.Native["database-cluster"].(pulumi.CustomResource)
	_, err = networkingv1.NewNetworkPolicy(ctx, name+"-from-anywhere", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String("database-from-other-namespaces"),
			Namespace:   db.Native["database-policy"].(*networkingv1.NetworkPolicy).Metadata.Namespace().Elem(),
			Annotations: pulumi.ToStringMap(k8sp.Annotations(in.Scope)),
		},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"cnpg.io/cluster": pulumi.String("db")}},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{}}},
			}},
		},
	}, pulumi.Parent(parent), pulumi.DependsOn([]pulumi.Resource{cluster}))
	return db, err
}

// passwordAsPlainEnv hands the worker DATABASE_PASSWORD as a plain value.
type passwordAsPlainEnv struct{ *k8sp.Adapter }

func (b passwordAsPlainEnv) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	env := pulumi.StringMap{components.EnvDatabasePassword: in.Database.Credentials}
	for k, v := range in.Env {
		env[k] = v
	}
	in.Env = env
	return b.Adapter.Container(ctx, name, in, parent)
}

// readsEveryQueue gives each queue's user read on every queue of the vhost
// (another tenant's included) through a second permission object.
type readsEveryQueue struct{ *k8sp.Adapter }

func (b readsEveryQueue) Queue(ctx *pulumi.Context, name string, in components.QueueInput, parent pulumi.Resource) (*components.Queue, error) {
	q, err := b.Adapter.Queue(ctx, name, in, parent)
	if err != nil {
		return nil, err
	}
	perm := q.Native["queue-permission"].(*apiextensions.CustomResource)
	_, err = apiextensions.NewCustomResource(ctx, name+"-read-all", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("rabbitmq.com/v1beta1"),
		Kind:       pulumi.String("Permission"),
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String("read-all"),
			Namespace:   perm.Metadata.Namespace().Elem(),
			Annotations: pulumi.ToStringMap(k8sp.Annotations(in.Scope)),
		},
		OtherFields: k8s.UntypedArgs{"spec": pulumi.Map{
			"vhost":         pulumi.String("stack"),
			"userReference": pulumi.Map{"name": q.ID},
			"permissions":   pulumi.Map{"configure": pulumi.String("^$"), "write": pulumi.String("^$"), "read": pulumi.String(".*")},
		}},
	}, pulumi.Parent(parent), pulumi.DependsOn([]pulumi.Resource{perm}))
	return q, err
}

// testConfig is the profile's config as a Config.
func testConfig() k8sp.Config {
	return k8sp.Config{
		Context: "test",
		Ingress: k8sp.IngressConfig{ClassName: "nginx", BaseDomain: "tenants.example.com", Namespace: ingressNamespace},
		Queue:   k8sp.QueueConfig{URL: "amqp://rabbitmq.rabbitmq-system.svc.cluster.local:5672", Namespace: rabbitNamespace, RabbitmqCluster: "rabbitmq"},
	}
}

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	t.Parallel()
	base := func() (*k8sp.Adapter, error) {
		return k8sp.NewWithConfig(testConfig())
	}
	conformance.CatchesBroken(t, profile, base, []conformance.Broken[*k8sp.Adapter]{
		{Name: "a network policy lets another tenant reach the database", Check: "database", Detail: "admits pods of other namespaces",
			Wrap: func(a *k8sp.Adapter) components.Adapter { return letsOtherTenantsIn{a} }},
		{Name: "a queue's user may read other tenants' queues", Check: "fanout", Detail: "may read",
			Wrap: func(a *k8sp.Adapter) components.Adapter { return readsEveryQueue{a} }},
		{Name: "the database password is a plain env value", Check: "contract", Detail: "DATABASE_PASSWORD is a plain value",
			Wrap: func(a *k8sp.Adapter) components.Adapter { return passwordAsPlainEnv{a} }},
	})
}
