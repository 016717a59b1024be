package kubernetes

import (
	"fmt"
	"strconv"

	k8s "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// database is the adapter's state of a tenant database: the Secret the
// workloads read DATABASE_PASSWORD from.
type database struct {
	secretName string
	cluster    pulumi.Resource
}

// Database implements components.DatabaseProvisioner: a CloudNativePG
// Cluster in the tenant's namespace (instances and pod size from the tier,
// a volume of storageGB per instance), bootstrapped with a database and an
// owner role whose password the operator generates into the Secret
// db-app (Credentials refers to it: the password never passes through
// Pulumi's state), and the network policy that lets only
// the tenant's workloads, the cluster's own instances and the operator
// reach its pods. CloudNativePG serves TLS with a CA of its own per
// cluster, so apps connect with sslmode require.
func (a *Adapter) Database(ctx *pulumi.Context, name string, in components.DatabaseInput, parent pulumi.Resource) (*components.Database, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	f, err := foundationOf(in.Foundation)
	if err != nil {
		return nil, err
	}
	scope, spec := in.Scope, in.Spec
	opts := childOptions(parent, p.provider)
	dbName := naming.Kubernetes.Database.Name("app", scope.Tenant)

	size := DatabaseSizes[spec.Tier]
	storage := pulumi.Map{"size": pulumi.String(strconv.Itoa(spec.StorageGB) + "Gi")}
	if a.cfg.StorageClass != "" {
		storage["storageClass"] = pulumi.String(a.cfg.StorageClass)
	}
	clusterOpts := append(opts, pulumi.Protect(spec.DeletionProtected()), operatorTimeouts)
	cluster, err := apiextensions.NewCustomResource(ctx, name+"-cluster", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(cnpgAPIVersion),
		Kind:       pulumi.String("Cluster"),
		Metadata:   waitForReady(a.metadata(scope, databaseClusterName, f.namespace)),
		OtherFields: k8s.UntypedArgs{"spec": pulumi.Map{
			"instances": pulumi.Int(size.Instances),
			"imageName": pulumi.String(a.cfg.Database.ImageRepository + ":" + spec.Version),
			"storage":   storage,
			"resources": pulumi.Map{
				"requests": resources(size.CPU, size.MemoryMiB),
				"limits":   resources(size.CPU, size.MemoryMiB),
			},
			// Standbys on other nodes than the primary where the cluster has them.
			"affinity":              pulumi.Map{"enablePodAntiAffinity": pulumi.Bool(true), "podAntiAffinityType": pulumi.String("preferred")},
			"enableSuperuserAccess": pulumi.Bool(false),
			// The operator generates the owner's password into the
			// Secret <cluster>-app: it never passes through Pulumi.
			"bootstrap": pulumi.Map{"initdb": pulumi.Map{
				"database": pulumi.String(dbName),
				"owner":    pulumi.String(dbName),
			}},
			// The tenant's labels on every object the operator makes
			// (pods, volumes, services), for cost and inventory reports;
			// not managed-by, which stays the operator's on its objects.
			"inheritedMetadata": pulumi.Map{"labels": pulumi.ToStringMap(inheritedLabels(scope))},
		}},
	}, clusterOpts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes database cluster: %w", err)
	}

	dbPods := &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{cnpgClusterLabel: pulumi.String(databaseClusterName)}}
	policy, err := networkingv1.NewNetworkPolicy(ctx, name+"-policy", &networkingv1.NetworkPolicyArgs{
		Metadata: a.metadata(scope, "database", f.namespace),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: dbPods,
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{
				// The tenant's own workloads, on PostgreSQL's port.
				networkingv1.NetworkPolicyIngressRuleArgs{
					From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: workloadPods()}},
					Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{
						Protocol: pulumi.String("TCP"), Port: pulumi.Int(postgresPort),
					}},
				},
				// The cluster's instances among themselves (replication,
				// the instance manager's status port).
				networkingv1.NetworkPolicyIngressRuleArgs{
					From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: dbPods}},
					Ports: networkingv1.NetworkPolicyPortArray{
						networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(postgresPort)},
						networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(cnpgStatusPort)},
					},
				},
				// The operator, on the instance manager's status port
				// (CloudNativePG's documented network policy).
				networkingv1.NetworkPolicyIngressRuleArgs{
					From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
						NamespaceSelector: namespaceSelector(a.cfg.Database.OperatorNamespace),
					}},
					Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{
						Protocol: pulumi.String("TCP"), Port: pulumi.Int(cnpgStatusPort),
					}},
				},
			},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{
				// The other instances of the cluster.
				networkingv1.NetworkPolicyEgressRuleArgs{
					To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: dbPods}},
					Ports: networkingv1.NetworkPolicyPortArray{
						networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(postgresPort)},
						networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(cnpgStatusPort)},
					},
				},
				// The Kubernetes API, which each instance manager watches
				// (its address differs per cluster: any on the HTTPS ports).
				networkingv1.NetworkPolicyEgressRuleArgs{
					Ports: networkingv1.NetworkPolicyPortArray{
						networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(443)},
						networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(6443)},
					},
				},
			},
		},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes database network policy: %w", err)
	}

	host := pulumi.Sprintf("%s-rw.%s.svc", databaseClusterName, f.namespace)
	return &components.Database{
		Host:    host,
		Port:    pulumi.Int(postgresPort).ToIntOutput(),
		Name:    pulumi.String(dbName).ToStringOutput(),
		User:    pulumi.String(dbName).ToStringOutput(),
		SSLMode: "require",
		// A reference to the Secret the operator keeps the password in, as
		// AWS's is the ARN of RDS's secret: the password is never in state.
		Credentials: pulumi.ToSecret(pulumi.Sprintf("secretKeyRef:%s/%s/password", f.namespace, databaseSecretName)).(pulumi.StringOutput),
		Native:      map[string]pulumi.Resource{"database-cluster": cluster, "database-policy": policy},
		State:       &database{secretName: databaseSecretName, cluster: cluster},
	}, nil
}

// inheritedLabels are the scope's labels but managed-by.
func inheritedLabels(scope components.Scope) map[string]string {
	l := Labels(scope)
	delete(l, tagKey(components.TagManagedBy))
	return l
}

// workloadPods selects the tenant's web and worker pods.
func workloadPods() *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{metav1.LabelSelectorRequirementArgs{
		Key: pulumi.String(workloadLabel), Operator: pulumi.String("In"),
		Values: pulumi.ToStringArray([]string{components.WorkloadWeb, components.WorkloadWorker}),
	}}}
}
