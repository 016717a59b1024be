package pricing

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Kubernetes: every type the Kubernetes adapter (providers/kubernetes)
// registers. A cluster has no public price list, so a tenant is priced by
// what it requests, at rates the user sets in catalog/kubernetes.yaml (the
// embedded ones are examples): requested CPU per vCPU-hour and memory per
// GiB-hour for every pod that runs all month (a Deployment's replicas, an
// autoscaled one's HorizontalPodAutoscaler minReplicas, a CloudNativePG
// cluster's instances), and requested persistent storage per GiB-month
// (each database instance's volume). Everything else the adapter creates
// (namespaces, policies, quotas, services, ingresses, RabbitMQ queues,
// exchanges, users and their policies) is
// an object in the cluster with no cost of its own.
//
// A cluster has no region: its catalog keeps the rates under AnyRegion.

// The Kubernetes types priced by what they request.
const (
	k8sDeployment = "kubernetes:apps/v1:Deployment"
	k8sAutoscaler = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
	k8sCluster    = "kubernetes:postgresql.cnpg.io/v1:Cluster"
)

// The SKUs of catalog/kubernetes.yaml.
const (
	k8sSKUCPU     = "k8s:requests:vcpu"
	k8sSKUMemory  = "k8s:requests:memory"
	k8sSKUStorage = "k8s:storage:persistent"
)

// k8sKeyExtraReplicaHours is the usage key of an autoscaled Deployment: its
// replica-hours above the autoscaler's minimum (as Azure Container Apps'
// additional_replica_hours).
const k8sKeyExtraReplicaHours = "additional_replica_hours"

// kubernetesBasis is said in every report of a Kubernetes stack.
const kubernetesBasis = "Kubernetes has no public price list: each resource is priced by the CPU, memory and persistent " +
	"storage it requests, at the per-vCPU-hour, per-GiB-hour and per-GiB-month rates of the kubernetes catalog; what the " +
	"cluster costs beyond its tenants' requests (unrequested node capacity, the control plane, the shared ingress " +
	"controller, RabbitMQ and the operators) is not priced."

// kubernetesPrices prices the types of Pulumi's kubernetes package.
var kubernetesPrices = priceTable{TypePrefix: "kubernetes:", Types: kubernetesTypes(), Basis: kubernetesBasis}

func kubernetesTypes() map[string]TypeInfo {
	const object = "an object in the cluster: no cost of its own"
	return map[string]TypeInfo{
		k8sDeployment: {
			Kind:  Sized,
			Price: priceK8sDeployment,
			UsageKeys: map[string]string{
				k8sKeyExtraReplicaHours: "replica-hours a month above its HorizontalPodAutoscaler's minReplicas (autoscaled Deployments)",
			},
			Note: "its replicas' requested CPU and memory all month at the catalog's rates: spec.replicas, or for a Deployment a " +
				"HorizontalPodAutoscaler scales its minReplicas (replicas above it are usage); init containers are not priced",
		},
		k8sCluster: {
			Kind:  Sized,
			Price: priceK8sCluster,
			Note: "a CloudNativePG cluster: each instance's requested CPU and memory all month and its volume (storage.size, " +
				"and walStorage.size when set) at the catalog's rates; backups to object storage are not priced",
		},
		k8sAutoscaler: {
			Kind: Free,
			Note: "scales its Deployment, which is priced at the autoscaler's minReplicas (replicas above it as usage)",
		},
		"kubernetes:core/v1:Namespace":      {Kind: Free, Note: object},
		"kubernetes:core/v1:ResourceQuota":  {Kind: Free, Note: object + " (it caps what the namespace may request)"},
		"kubernetes:core/v1:LimitRange":     {Kind: Free, Note: object},
		"kubernetes:core/v1:Secret":         {Kind: Free, Note: object},
		"kubernetes:core/v1:ServiceAccount": {Kind: Free, Note: object},
		"kubernetes:core/v1:Service": {
			Kind: Free, Note: object + " (a ClusterIP Service; tenantfleet creates no LoadBalancer Service)",
		},
		"kubernetes:networking.k8s.io/v1:NetworkPolicy": {Kind: Free, Note: object},
		"kubernetes:networking.k8s.io/v1:Ingress": {
			Kind: Free, Note: object + ": a route on the cluster's shared ingress controller, whose own cost is the cluster's",
		},
		"kubernetes:rabbitmq.com/v1beta1:Queue": {
			Kind: Free, Note: object + ": a queue on the cluster's shared RabbitMQ, whose own cost (and disk) is the cluster's",
		},
		"kubernetes:rabbitmq.com/v1beta1:Vhost":      {Kind: Free, Note: object + ": a vhost on the shared RabbitMQ"},
		"kubernetes:rabbitmq.com/v1beta1:Exchange":   {Kind: Free, Note: object + ": an exchange on the shared RabbitMQ"},
		"kubernetes:rabbitmq.com/v1beta1:Binding":    {Kind: Free, Note: object + ": a binding on the shared RabbitMQ"},
		"kubernetes:rabbitmq.com/v1beta1:Policy":     {Kind: Free, Note: object + ": a policy on the shared RabbitMQ"},
		"kubernetes:rabbitmq.com/v1beta1:User":       {Kind: Free, Note: object + ": a user of the shared RabbitMQ"},
		"kubernetes:rabbitmq.com/v1beta1:Permission": {Kind: Free, Note: object + ": a user's permission on the shared RabbitMQ"},
	}
}

// podRequests is what one pod requests: vCPU and GiB of memory.
type podRequests struct{ vcpu, memGiB float64 }

// k8sFormat writes a quantity as it is, with no trailing zeros.
func k8sFormat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// k8sCount is "1 replica", "2 replicas".
func k8sCount(n float64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return k8sFormat(n) + " " + what + "s"
}

// priceK8sDeployment: replicas × the pod's requested CPU and memory, all
// month. The replicas are the minReplicas of the HorizontalPodAutoscaler
// that scales the Deployment (with the replica-hours above it as usage, as
// Cloud Run's and Container Apps' minimum instances are priced), else
// spec.replicas, else Kubernetes' default of 1.
func priceK8sDeployment(ctx *Context, r Resource) ([]Component, error) {
	containers, _ := get(r.Inputs, "spec.template.spec.containers").([]any)
	if len(containers) == 0 {
		return nil, fmt.Errorf("spec.template.spec.containers is empty: cannot price the Deployment")
	}
	var pod podRequests
	for i, raw := range containers {
		c, _ := raw.(map[string]any)
		req, err := k8sRequests(c, fmt.Sprintf("spec.template.spec.containers[%d] (%s)", i, Str(c, "name")))
		if err != nil {
			return nil, err
		}
		pod.vcpu += req.vcpu
		pod.memGiB += req.memGiB
	}
	replicas, how := 1.0, ", Kubernetes' default"
	hpa := k8sAutoscalerOf(ctx, r)
	switch {
	case hpa != nil && get(hpa.Inputs, "spec.minReplicas") != nil:
		replicas, how = Num(hpa.Inputs, "spec.minReplicas"), ", the autoscaler's minimum"
	case hpa != nil:
		how = ", the autoscaler's default minimum"
	case get(r.Inputs, "spec.replicas") != nil:
		replicas, how = Num(r.Inputs, "spec.replicas"), ""
	}
	n := k8sCount(replicas, "replica")
	cpu, err := ctx.Hourly(fmt.Sprintf("Requested CPU (%s × %s vCPU%s)", n, k8sFormat(pod.vcpu), how), k8sSKUCPU, replicas*pod.vcpu)
	if err != nil {
		return nil, err
	}
	mem, err := ctx.Hourly(fmt.Sprintf("Requested memory (%s × %s GiB%s)", n, k8sFormat(pod.memGiB), how), k8sSKUMemory, replicas*pod.memGiB)
	if err != nil {
		return nil, err
	}
	comps := []Component{cpu, mem}
	if hpa == nil {
		return comps, nil
	}
	// Replica-hours above the minimum: the usage is replica-hours, so per
	// = 1/size turns them into vCPU- and GiB-hours.
	for _, u := range []struct {
		name, sku string
		size      float64
	}{
		{"Requested CPU (replicas above the minimum)", k8sSKUCPU, pod.vcpu},
		{"Requested memory (replicas above the minimum)", k8sSKUMemory, pod.memGiB},
	} {
		if u.size <= 0 {
			continue
		}
		c, err := ctx.Usage(u.name, u.sku, k8sKeyExtraReplicaHours, 1/u.size)
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// k8sAutoscalerOf returns the HorizontalPodAutoscaler of the stack that
// scales the Deployment (same namespace, scaleTargetRef naming it), or nil.
// In a preview, the target's name may not be known yet (an output of the
// Deployment): the one autoscaler of the namespace whose target is unknown
// is then taken to be the Deployment's.
func k8sAutoscalerOf(ctx *Context, deployment Resource) *Resource {
	name, namespace := Str(deployment.Inputs, "metadata.name"), Str(deployment.Inputs, "metadata.namespace")
	if name == "" {
		return nil
	}
	var unknown []Resource
	for _, hpa := range ctx.Stack.OfType(k8sAutoscaler) {
		if Str(hpa.Inputs, "metadata.namespace") != namespace || Str(hpa.Inputs, "spec.scaleTargetRef.kind") != "Deployment" {
			continue
		}
		switch Str(hpa.Inputs, "spec.scaleTargetRef.name") {
		case name:
			return &hpa
		case "":
			unknown = append(unknown, hpa)
		}
	}
	if len(unknown) == 1 {
		return &unknown[0]
	}
	return nil
}

// priceK8sCluster: a CloudNativePG cluster's instances × each instance's
// requested CPU and memory all month, and each instance's volumes.
func priceK8sCluster(ctx *Context, r Resource) ([]Component, error) {
	instances := 1.0 // CloudNativePG's default
	if get(r.Inputs, "spec.instances") != nil {
		instances = Num(r.Inputs, "spec.instances")
	}
	spec, _ := get(r.Inputs, "spec").(map[string]any)
	pod, err := k8sRequests(spec, "spec")
	if err != nil {
		return nil, err
	}
	n := k8sCount(instances, "instance")
	cpu, err := ctx.Hourly(fmt.Sprintf("Requested CPU (%s × %s vCPU)", n, k8sFormat(pod.vcpu)), k8sSKUCPU, instances*pod.vcpu)
	if err != nil {
		return nil, err
	}
	mem, err := ctx.Hourly(fmt.Sprintf("Requested memory (%s × %s GiB)", n, k8sFormat(pod.memGiB)), k8sSKUMemory, instances*pod.memGiB)
	if err != nil {
		return nil, err
	}
	comps := []Component{cpu, mem}
	for _, vol := range []struct {
		field, label string
		required     bool
	}{{"spec.storage.size", "Storage", true}, {"spec.walStorage.size", "WAL storage", false}} {
		raw := Str(r.Inputs, vol.field)
		if raw == "" {
			if vol.required {
				return nil, fmt.Errorf("%s is not set: cannot price the cluster's volumes", vol.field)
			}
			continue
		}
		bytes, err := k8sQuantity(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vol.field, err)
		}
		c, err := ctx.Unit(fmt.Sprintf("%s (%s × %s)", vol.label, n, raw), k8sSKUStorage, instances*bytes/(1<<30))
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// k8sRequests reads a container's (or a CloudNativePG cluster spec's)
// resources.requests: a request not set is its limit, as the API server
// defaults it; neither set cannot be priced (a namespace's LimitRange
// default is not read).
func k8sRequests(in map[string]any, where string) (podRequests, error) {
	var out podRequests
	for _, res := range []struct {
		name string
		into *float64
		unit float64
	}{{"cpu", &out.vcpu, 1}, {"memory", &out.memGiB, 1 << 30}} {
		raw := Str(in, "resources.requests."+res.name)
		if raw == "" {
			raw = Str(in, "resources.limits."+res.name)
		}
		if raw == "" {
			return out, fmt.Errorf("%s: no resources.requests.%s (nor a limit): cannot price what it requests", where, res.name)
		}
		v, err := k8sQuantity(raw)
		if err != nil {
			return out, fmt.Errorf("%s: resources.requests.%s: %w", where, res.name, err)
		}
		*res.into = v / res.unit
	}
	return out, nil
}

// k8sQuantitySuffixes are Kubernetes' quantity suffixes with their factors
// (the binary ones first: "Mi" must not be read as "i" after an "M").
var k8sQuantitySuffixes = []struct {
	suffix string
	factor float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
}

// k8sNumber is a quantity's number: a decimal with an optional exponent.
var k8sNumber = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`)

// k8sQuantity reads a Kubernetes resource quantity ("500m", "2", "1024Mi",
// "20Gi", "1e3") as a plain number (cores, bytes).
func k8sQuantity(s string) (float64, error) {
	num, factor := s, 1.0
	for _, u := range k8sQuantitySuffixes {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = n, u.factor
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !k8sNumber.MatchString(num) {
		return 0, fmt.Errorf("%q is not a Kubernetes quantity such as 500m, 2, 1024Mi or 20Gi", s)
	}
	return v * factor, nil
}
