package kubernetes

import (
	"fmt"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Foundation implements components.FoundationProvisioner: the tenant's
// namespace (the Pod Security "restricted" level enforced), its
// ResourceQuota and LimitRange sized from the spec, and the network
// policies every pod of the namespace starts from: nothing in or out but
// DNS. Database, WebApp and Container open exactly what each needs.
func (a *Adapter) Foundation(ctx *pulumi.Context, name string, in components.FoundationInput, parent pulumi.Resource) (*components.Foundation, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	scope := in.Scope
	opts := childOptions(parent, p.provider)
	nsMeta := a.metadata(scope, a.physical(naming.Kubernetes.Namespace, scope), pulumi.String(""), map[string]string{
		// The Pod Security Standards' restricted level
		// (k8s.io/pod-security-admission): no privileged, root or
		// host-namespace pods in a tenant's namespace.
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	})
	ns, err := corev1.NewNamespace(ctx, name+"-namespace", &corev1.NamespaceArgs{Metadata: nsMeta}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes namespace: %w", err)
	}
	namespace := ns.Metadata.Name().Elem()
	native := map[string]pulumi.Resource{"namespace": ns}

	b := budgetOf(in.Spec)
	quota, err := corev1.NewResourceQuota(ctx, name+"-quota", &corev1.ResourceQuotaArgs{
		Metadata: a.metadata(scope, "tenant", namespace),
		Spec: &corev1.ResourceQuotaSpecArgs{Hard: pulumi.StringMap{
			"requests.cpu":           pulumi.String(milli(b.CPU)),
			"limits.cpu":             pulumi.String(milli(b.CPU)),
			"requests.memory":        pulumi.String(mebi(b.MemoryMiB)),
			"limits.memory":          pulumi.String(mebi(b.MemoryMiB)),
			"requests.storage":       pulumi.String(strconv.Itoa(b.StorageGiB) + "Gi"),
			"persistentvolumeclaims": pulumi.String(strconv.Itoa(b.Volumes)),
			"pods":                   pulumi.String(strconv.Itoa(b.Pods)),
			// No LoadBalancer or NodePort Services: the web app is
			// reached through the ingress controller only.
			"services.loadbalancers": pulumi.String("0"),
			"services.nodeports":     pulumi.String("0"),
		}},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes resource quota: %w", err)
	}
	native["quota"] = quota

	// Containers that state no resources (an operator's helper pods) get
	// the worker's size; none may ask for more than the largest workload.
	largestCPU := max(in.Spec.Web.CPU, in.Spec.Worker.CPU, DatabaseSizes[in.Spec.Database.Tier].CPU)
	largestMiB := max(in.Spec.Web.MemoryMiB, in.Spec.Worker.MemoryMiB, DatabaseSizes[in.Spec.Database.Tier].MemoryMiB)
	limits, err := corev1.NewLimitRange(ctx, name+"-limits", &corev1.LimitRangeArgs{
		Metadata: a.metadata(scope, "tenant", namespace),
		Spec: &corev1.LimitRangeSpecArgs{Limits: corev1.LimitRangeItemArray{corev1.LimitRangeItemArgs{
			Type:           pulumi.String("Container"),
			Default:        resources(in.Spec.Worker.CPU, in.Spec.Worker.MemoryMiB),
			DefaultRequest: resources(in.Spec.Worker.CPU, in.Spec.Worker.MemoryMiB),
			Max:            resources(largestCPU, largestMiB),
		}}},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes limit range: %w", err)
	}
	native["limits"] = limits

	denyAll, err := networkingv1.NewNetworkPolicy(ctx, name+"-deny-all", &networkingv1.NetworkPolicyArgs{
		Metadata: a.metadata(scope, "default-deny", namespace),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
		},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes network policy: %w", err)
	}
	native["deny-all"] = denyAll
	dns, err := networkingv1.NewNetworkPolicy(ctx, name+"-dns", &networkingv1.NetworkPolicyArgs{
		Metadata: a.metadata(scope, "allow-dns", namespace),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
			Egress: networkingv1.NetworkPolicyEgressRuleArray{networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
					NamespaceSelector: namespaceSelector("kube-system"),
					PodSelector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"k8s-app": pulumi.String("kube-dns")}},
				}},
				Ports: networkingv1.NetworkPolicyPortArray{
					networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)},
					networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(53)},
				},
			}},
		},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes network policy: %w", err)
	}
	native["allow-dns"] = dns
	return &components.Foundation{Native: native, State: &foundation{namespace: namespace}}, nil
}

// namespaceSelector selects the namespace named ns by the label every
// namespace carries (kubernetes.io/metadata.name, set by the API server).
func namespaceSelector(ns string) *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(ns)}}
}

// resources is a CPU and memory quantity map.
func resources(cpu, memoryMiB int) pulumi.StringMap {
	return pulumi.StringMap{"cpu": pulumi.String(milli(cpu)), "memory": pulumi.String(mebi(memoryMiB))}
}

func milli(m int) string { return strconv.Itoa(m) + "m" }
func mebi(m int) string  { return strconv.Itoa(m) + "Mi" }
