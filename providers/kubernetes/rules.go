package kubernetes

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// The resource types the adapter registers (pulumi-kubernetes v4.25.0; a
// custom resource's type is kubernetes:<apiVersion>:<kind>).
const (
	TypeProvider       = "pulumi:providers:kubernetes"
	TypeNamespace      = "kubernetes:core/v1:Namespace"
	TypeResourceQuota  = "kubernetes:core/v1:ResourceQuota"
	TypeLimitRange     = "kubernetes:core/v1:LimitRange"
	TypeServiceAccount = "kubernetes:core/v1:ServiceAccount"
	TypeService        = "kubernetes:core/v1:Service"
	TypeNetworkPolicy  = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	TypeIngress        = "kubernetes:networking.k8s.io/v1:Ingress"
	TypeDeployment     = "kubernetes:apps/v1:Deployment"
	TypeAutoscaler     = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
	TypeCluster        = "kubernetes:" + cnpgAPIVersion + ":Cluster"
	TypeStream         = "kubernetes:" + nackAPIVersion + ":Stream"
	TypeConsumer       = "kubernetes:" + nackAPIVersion + ":Consumer"
	TypeStreamPatch    = "kubernetes:" + nackAPIVersion + ":StreamPatch"
)

// Where the rules come from: the API server's own validation
// (k8s.io/kubernetes v1.34.4 and k8s.io/apimachinery v0.34.4) and the
// operators' CRD schemas (providers/kubernetes/kubetest/crds). The real API
// server checks all of these too, in the test that applies a stack to it
// (apiserver_test.go); the rules keep the check in every adapter test.
const (
	coreValidation = "k8s.io/kubernetes v1.34.4 pkg/apis/core/validation/validation.go "
	netValidation  = "k8s.io/kubernetes v1.34.4 pkg/apis/networking/validation/validation.go "
	appsValidation = "k8s.io/kubernetes v1.34.4 pkg/apis/apps/validation/validation.go "
	hpaValidation  = "k8s.io/kubernetes v1.34.4 pkg/apis/autoscaling/validation/validation.go "
	apimachinery   = "k8s.io/apimachinery v0.34.4 pkg/util/validation/validation.go "
	quantity       = "k8s.io/apimachinery v0.34.4 pkg/api/resource/quantity.go ParseQuantity"
	cnpgCRD        = "cloudnative-pg postgresql.cnpg.io_clusters.yaml (kubetest/crds) "
	nackCRD        = "nats-io/nack jetstream.nats.io Stream/Consumer CRDs (kubetest/crds) "
)

// Patterns of the API server's validation.
const (
	dns1123LabelPattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	dns1035LabelPattern = `^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// labelValuePattern is IsValidLabelValue's (at most 63 characters).
	labelValuePattern = `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
	// qualifiedNamePattern is a label or annotation key: an optional
	// DNS-1123 subdomain prefix and "/", then a name of at most 63
	// characters (IsQualifiedName).
	qualifiedNamePattern = `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`
	// envVarNamePattern is IsEnvVarName's.
	envVarNamePattern = `^[-._a-zA-Z][-._a-zA-Z0-9]*$`
	// quantityPattern is the canonical form of a resource quantity.
	quantityPattern = `^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`
	// goDurationPattern is what NACK's time.ParseDuration accepts of the
	// durations the adapter writes.
	goDurationPattern = `^([0-9]+(ns|us|ms|s|m|h))+$`
)

// Rules are what the API server and the operators' CRDs refuse about the
// inputs the adapter registers, each with its source.
var Rules = slices.Concat(metadataRules, workloadRules, networkRules, quotaRules, operatorRules)

// namedTypes are the types whose metadata the API server validates with
// ValidateObjectMeta: names DNS-1123 subdomains (labels for namespaces,
// DNS-1035 labels for services), labels and annotations qualified.
var namedTypes = []string{
	TypeNamespace, TypeResourceQuota, TypeLimitRange, TypeServiceAccount, TypeService,
	TypeNetworkPolicy, TypeIngress, TypeDeployment, TypeAutoscaler, TypeCluster, TypeStream, TypeConsumer,
}

var metadataRules = func() []rules.Rule {
	var out []rules.Rule
	for _, t := range namedTypes {
		name := rules.Rule{Type: t, Path: "metadata.name", Check: rules.Matches(dns1123LabelPattern),
			Source: apimachinery + "IsDNS1123Label (every name the adapter gives is a label, the strictest of the name rules)"}
		switch t {
		case TypeService:
			name = rules.Rule{Type: t, Path: "metadata.name", Check: rules.Matches(dns1035LabelPattern),
				Source: coreValidation + "ValidateServiceName (IsDNS1035Label)"}
		case TypeCluster:
			// CloudNativePG names pods <cluster>-<n> and services <cluster>-rw.
			name = rules.Rule{Type: t, Path: "metadata.name", Check: rules.Matches(`^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$`),
				Source: cnpgCRD + "and CloudNativePG's webhook validateName (at most 50 characters, a DNS-1035-compatible label)"}
		}
		out = append(out, name,
			rules.Rule{Type: t, Path: "metadata.labels{keys}", Check: rules.Matches(qualifiedNamePattern),
				Source: apimachinery + "IsQualifiedName (ValidateLabels)"},
			rules.Rule{Type: t, Path: "metadata.labels{}", Check: rules.Matches(labelValuePattern),
				Source: apimachinery + "IsValidLabelValue (ValidateLabels)"},
			rules.Rule{Type: t, Path: "metadata.labels{}", Check: rules.Length(0, 63),
				Source: apimachinery + "IsValidLabelValue (LabelValueMaxLength 63)"},
			rules.Rule{Type: t, Path: "metadata.annotations{keys}", Check: rules.Matches(qualifiedNamePattern),
				Source: "k8s.io/apimachinery v0.34.4 pkg/api/validation/objectmeta.go ValidateAnnotations (IsQualifiedName)"},
		)
	}
	return out
}()

// containers is the path of a Deployment's containers.
const containers = "spec.template.spec.containers[*]"

var workloadRules = []rules.Rule{
	{Type: TypeDeployment, Path: containers + ".name", Check: rules.Matches(dns1123LabelPattern),
		Source: coreValidation + "validateContainers (IsDNS1123Label)"},
	{Type: TypeDeployment, Path: containers + ".env[*].name", Check: rules.Matches(envVarNamePattern),
		Source: coreValidation + "ValidateEnv (IsEnvVarName)"},
	{Type: TypeDeployment, Path: containers + ".ports[*].containerPort", Check: rules.Between(1, 65535),
		Source: coreValidation + "validateContainerPorts (IsValidPortNum)"},
	{Type: TypeDeployment, Path: containers + ".resources.requests{}", Check: rules.Matches(quantityPattern), Source: quantity},
	{Type: TypeDeployment, Path: containers + ".resources.limits{}", Check: rules.Matches(quantityPattern), Source: quantity},
	{Type: TypeDeployment, Path: containers + ".image", Check: rules.Length(1, 0),
		Source: coreValidation + "validateContainerCommon (image required for Deployments' templates)"},
	{Type: TypeDeployment, Path: "", Check: rules.Func("the selector matches the pod template's labels", selectorMatchesTemplate),
		Source: appsValidation + "ValidateDeploymentSpec (selector does not match template labels)"},
	{Type: TypeDeployment, Path: "spec.replicas", Check: rules.Between(0, 1<<31-1),
		Source: appsValidation + "ValidateDeploymentSpec (ValidateNonnegativeField)"},
	{Type: TypeDeployment, Path: containers + ".env[*]", Check: rules.Func("a value or a valueFrom, never both", envValueOrFrom),
		Source: coreValidation + "validateEnvVarValueFrom (may not be specified when `value` is not empty)"},
	{Type: TypeService, Path: "spec.ports[*].port", Check: rules.Between(1, 65535),
		Source: coreValidation + "ValidateService (IsValidPortNum)"},
	{Type: TypeService, Path: "spec.ports[*].targetPort", Check: rules.Between(1, 65535),
		Source: coreValidation + "ValidateService targetPort (IsValidPortNum)"},
	{Type: TypeService, Path: "spec.type", Check: rules.OneOf("ClusterIP"),
		Source: coreValidation + "supportedServiceType; the namespace's quota (services.loadbalancers, services.nodeports 0) refuses the others"},
	{Type: TypeAutoscaler, Path: "spec.minReplicas", Check: rules.Between(1, 1<<31-1),
		Source: hpaValidation + "validateHorizontalPodAutoscalerSpec (minReplicas must be greater than 0)"},
	{Type: TypeAutoscaler, Path: "spec", Check: rules.Func("maxReplicas >= minReplicas", func(v resource.PropertyValue) string {
		lo, ok1 := rules.Int(v, "minReplicas")
		hi, ok2 := rules.Int(v, "maxReplicas")
		if ok1 && ok2 && hi < lo {
			return fmt.Sprintf("maxReplicas %d is below minReplicas %d", hi, lo)
		}
		return ""
	}), Source: hpaValidation + "validateHorizontalPodAutoscalerSpec (must be greater than or equal to `minReplicas`)"},
	{Type: TypeIngress, Path: "spec.rules[*].host", Check: rules.Matches(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`),
		Source: netValidation + "validateIngressRules (IsDNS1123Subdomain, not an IP)"},
	{Type: TypeIngress, Path: "spec.rules[*].host", Check: rules.Length(1, 253), Source: apimachinery + "IsDNS1123Subdomain (DNS1123SubdomainMaxLength 253)"},
	{Type: TypeIngress, Path: "spec.rules[*].http.paths[*].pathType", Check: rules.OneOf("Exact", "Prefix", "ImplementationSpecific"),
		Source: netValidation + "validateHTTPIngressPath (supportedPathTypes)"},
}

var networkRules = []rules.Rule{
	{Type: TypeNetworkPolicy, Path: "spec.policyTypes", Check: rules.Each(rules.OneOf("Ingress", "Egress")),
		Source: netValidation + "ValidateNetworkPolicySpec (allowed policyTypes)"},
	{Type: TypeNetworkPolicy, Path: "spec.ingress[*].ports[*].protocol", Check: rules.OneOf("TCP", "UDP", "SCTP"),
		Source: netValidation + "ValidateNetworkPolicyPort (supportedProtocols)"},
	{Type: TypeNetworkPolicy, Path: "spec.egress[*].ports[*].protocol", Check: rules.OneOf("TCP", "UDP", "SCTP"),
		Source: netValidation + "ValidateNetworkPolicyPort (supportedProtocols)"},
	{Type: TypeNetworkPolicy, Path: "spec.ingress[*].ports[*].port", Check: rules.Between(1, 65535),
		Source: netValidation + "ValidateNetworkPolicyPort (IsValidPortNum)"},
	{Type: TypeNetworkPolicy, Path: "spec.egress[*].ports[*].port", Check: rules.Between(1, 65535),
		Source: netValidation + "ValidateNetworkPolicyPort (IsValidPortNum)"},
}

var quotaRules = []rules.Rule{
	{Type: TypeResourceQuota, Path: "spec.hard{}", Check: rules.Matches(quantityPattern),
		Source: coreValidation + "ValidateResourceQuotaSpec (ValidateResourceQuantityValue); " + quantity},
	{Type: TypeResourceQuota, Path: "spec.hard{keys}", Check: rules.OneOf("requests.cpu", "limits.cpu", "requests.memory", "limits.memory",
		"requests.storage", "persistentvolumeclaims", "pods", "services.loadbalancers", "services.nodeports"),
		Source: coreValidation + "validateResourceQuotaResourceName (standard quota resource names the adapter uses)"},
	{Type: TypeLimitRange, Path: "spec.limits[*].type", Check: rules.OneOf("Container", "Pod", "PersistentVolumeClaim"),
		Source: coreValidation + "ValidateLimitRange (supported limit types)"},
	{Type: TypeLimitRange, Path: "spec.limits[*].max{}", Check: rules.Matches(quantityPattern), Source: quantity},
	{Type: TypeLimitRange, Path: "spec.limits[*].default{}", Check: rules.Matches(quantityPattern), Source: quantity},
	{Type: TypeLimitRange, Path: "spec.limits[*].defaultRequest{}", Check: rules.Matches(quantityPattern), Source: quantity},
}

var operatorRules = []rules.Rule{
	{Type: TypeCluster, Path: "spec.instances", Check: rules.Between(1, 10),
		Source: cnpgCRD + "spec.instances (minimum 1; tenantfleet's tiers run 1 to 3)"},
	{Type: TypeCluster, Path: "spec.storage.size", Check: rules.Matches(quantityPattern), Source: cnpgCRD + "spec.storage.size; " + quantity},
	{Type: TypeCluster, Path: "spec.resources.requests{}", Check: rules.Matches(quantityPattern), Source: cnpgCRD + "spec.resources; " + quantity},
	{Type: TypeCluster, Path: "spec.imageName", Check: rules.Matches(`^[a-z0-9./:_-]+:[0-9]+$`),
		Source: "CloudNativePG webhook validateImageName: a tag that names the PostgreSQL major version"},
	{Type: TypeCluster, Path: "spec.bootstrap.initdb.owner", Check: rules.Matches(`^[a-z_][a-z0-9_]{0,62}$`),
		Source: "CloudNativePG: the owner role is created unquoted (a plain PostgreSQL identifier, at most 63 bytes)"},
	{Type: TypeCluster, Path: "spec.bootstrap.initdb.database", Check: rules.NotReserved("a database CloudNativePG creates itself", "postgres", "template0", "template1"),
		Source: "CloudNativePG webhook validateBootstrapMethod (the application database may not be postgres or a template)"},
	{Type: TypeStream, Path: "spec.retention", Check: rules.OneOf("limits", "interest", "workqueue"), Source: nackCRD + "Stream spec.retention enum"},
	{Type: TypeStream, Path: "spec.storage", Check: rules.OneOf("file", "memory"), Source: nackCRD + "Stream spec.storage enum"},
	{Type: TypeStream, Path: "spec.discard", Check: rules.OneOf("old", "new"), Source: nackCRD + "Stream spec.discard enum"},
	{Type: TypeStream, Path: "spec.name", Check: rules.Matches(`^[^.*>/\\ ]+$`), // the CRD's pattern is ^[^.*>]*$
		Source: "nats-io/nats-server server/stream.go isValidName (no '.', '*', '>', path separators or whitespace)"},
	{Type: TypeStream, Path: "spec.maxAge", Check: rules.Matches(goDurationPattern), Source: nackCRD + "Stream spec.maxAge (time.ParseDuration)"},
	{Type: TypeStream, Path: "spec.replicas", Check: rules.Between(1, 5), Source: "nats-io/nats-server server/stream.go (StreamMaxReplicas 5)"},
	{Type: TypeConsumer, Path: "spec.ackPolicy", Check: rules.OneOf("none", "all", "explicit", "flow_control"), Source: nackCRD + "Consumer spec.ackPolicy enum"},
	{Type: TypeConsumer, Path: "spec.deliverPolicy", Check: rules.OneOf("all", "last", "new", "byStartSequence", "byStartTime", "lastPerSubject"),
		Source: nackCRD + "Consumer spec.deliverPolicy enum"},
	{Type: TypeConsumer, Path: "spec.ackWait", Check: rules.Matches(goDurationPattern), Source: nackCRD + "Consumer spec.ackWait (time.ParseDuration)"},
	{Type: TypeConsumer, Path: "spec.maxDeliver", Check: rules.Func("-1 (no limit) or positive", func(v resource.PropertyValue) string {
		if !v.IsNumber() || v.NumberValue() == 0 || v.NumberValue() < -1 {
			return "must be -1 or positive"
		}
		return ""
	}), Source: nackCRD + "Consumer spec.maxDeliver (minimum -1); nats-io/nats-server server/consumer.go (0 is not a limit)"},
	{Type: TypeStream, Path: "spec.duplicateWindow", Check: rules.Matches(goDurationPattern), Source: nackCRD + "Stream spec.duplicateWindow (time.ParseDuration)"},
	{Type: TypeConsumer, Path: "spec.durableName", Check: rules.Matches(`^[^.*>/\\ ]+$`),
		Source: "nats-io/nats-server server/consumer.go (durable names: no '.', '*', '>', path separators or whitespace)"},
}

// selectorMatchesTemplate checks a Deployment's selector labels are among its template's.
func selectorMatchesTemplate(v resource.PropertyValue) string {
	sel, ok := rules.Lookup(v, "spec.selector.matchLabels")
	if !ok || !sel.IsObject() {
		return ""
	}
	tmpl, _ := rules.Lookup(v, "spec.template.metadata.labels")
	for k, want := range sel.ObjectValue() {
		if !tmpl.IsObject() {
			return "the pod template has no labels"
		}
		got, ok := tmpl.ObjectValue()[k]
		if !ok || !got.IsString() || !want.IsString() || got.StringValue() != want.StringValue() {
			return fmt.Sprintf("selector label %s is not the template's", k)
		}
	}
	return ""
}

// envValueOrFrom checks one env entry sets value or valueFrom, not both.
func envValueOrFrom(v resource.PropertyValue) string {
	if rules.Present(v, "value") && rules.Present(v, "valueFrom") {
		return "has both value and valueFrom"
	}
	return ""
}
