package kubernetes

import (
	"fmt"
	"regexp"
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
	TypeSecret         = "kubernetes:core/v1:Secret"
	TypeVhost          = "kubernetes:" + rabbitAPIVersion + ":Vhost"
	TypeUser           = "kubernetes:" + rabbitAPIVersion + ":User"
	TypePermission     = "kubernetes:" + rabbitAPIVersion + ":Permission"
	TypePolicy         = "kubernetes:" + rabbitAPIVersion + ":Policy"
	TypeQueue          = "kubernetes:" + rabbitAPIVersion + ":Queue"
	TypeExchange       = "kubernetes:" + rabbitAPIVersion + ":Exchange"
	TypeBinding        = "kubernetes:" + rabbitAPIVersion + ":Binding"
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
	topologyCRD    = "rabbitmq/messaging-topology-operator v1.16.0 rabbitmq.com CRDs (kubetest/crds) "
	// rabbitPolicies is where RabbitMQ validates a policy's definition.
	rabbitPolicies = "rabbitmq-server v3.10 deps/rabbit/src/rabbit_policies.erl validate_policy0 "
	// shortstr is AMQP 0-9-1's short string, which names queues and
	// exchanges on the wire.
	shortstr = "AMQP 0-9-1 specification §4.2.5.3 (queue and exchange names are short strings, at most 255 octets)"
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
)

// Rules are what the API server and the operators' CRDs refuse about the
// inputs the adapter registers, each with its source.
var Rules = slices.Concat(metadataRules, workloadRules, networkRules, quotaRules, operatorRules, rabbitRules)

// namedTypes are the types whose metadata the API server validates with
// ValidateObjectMeta: names DNS-1123 subdomains (labels for namespaces,
// DNS-1035 labels for services), labels and annotations qualified.
var namedTypes = []string{
	TypeNamespace, TypeResourceQuota, TypeLimitRange, TypeServiceAccount, TypeService,
	TypeNetworkPolicy, TypeIngress, TypeDeployment, TypeAutoscaler, TypeCluster, TypeSecret,
	TypeVhost, TypeUser, TypePermission, TypePolicy, TypeQueue, TypeExchange, TypeBinding,
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
}

// rabbitRules are what RabbitMQ and the topology operator's CRDs refuse of
// the objects declaring the queues and topics.
var rabbitRules = []rules.Rule{
	{Type: TypeQueue, Path: "spec.type", Check: rules.OneOf("quorum", "classic", "stream"),
		Source: "rabbitmq-server v3.10 deps/rabbit/src/rabbit_amqqueue.erl (x-queue-type); the adapter declares quorum queues"},
	{Type: TypeQueue, Path: "spec.name", Check: rules.Bytes(255), Source: shortstr},
	{Type: TypeExchange, Path: "spec.name", Check: rules.Bytes(255), Source: shortstr},
	{Type: TypeQueue, Path: "spec.name", Check: rules.NotMatches(`^amq\.`, `names starting "amq." are reserved`),
		Source: "rabbitmq-server v3.10 deps/rabbit/src/rabbit_channel.erl check_name (ACCESS_REFUSED for amq.*)"},
	{Type: TypeExchange, Path: "spec.name", Check: rules.NotMatches(`^amq\.`, `names starting "amq." are reserved`),
		Source: "rabbitmq-server v3.10 deps/rabbit/src/rabbit_channel.erl check_name (ACCESS_REFUSED for amq.*)"},
	{Type: TypeExchange, Path: "spec.type", Check: rules.OneOf("direct", "fanout", "topic", "headers"),
		Source: "rabbitmq-server v3.10 built-in exchange types (rabbit_exchange_type_*)"},
	{Type: TypeBinding, Path: "spec.destinationType", Check: rules.OneOf("exchange", "queue"), Source: topologyCRD + "Binding spec.destinationType enum"},
	{Type: TypeBinding, Path: "spec.arguments{keys}", Check: rules.Length(1, 128),
		Source: "AMQP 0-9-1 specification §4.2.5.5 (field-table names at most 128 characters)"},
	{Type: TypePolicy, Path: "spec.applyTo", Check: rules.OneOf("queues", "exchanges", "all"),
		Source: "rabbitmq-server v3.10 deps/rabbit/src/rabbit_policy.erl (apply-to: queues, exchanges or all; the CRD's classic_queues, quorum_queues and streams need 3.12, and 3.10 refuses them, as the API-server test saw)"},
	{Type: TypePolicy, Path: "spec.pattern", Check: rules.Func("a regular expression", regexCompiles), Source: "rabbitmq-server v3.10 deps/rabbit/src/rabbit_policy.erl (pattern must compile)"},
	{Type: TypePolicy, Path: "spec.definition{keys}", Check: rules.OneOf("message-ttl", "expires", "max-length", "max-length-bytes", "overflow",
		"dead-letter-exchange", "dead-letter-routing-key", "dead-letter-strategy", "delivery-limit"),
		Source: rabbitPolicies + "and rabbit_quorum_queue.erl (the keys a 3.10 broker accepts that apply to quorum queues; an unknown key fails the whole policy)"},
	{Type: TypePolicy, Path: "spec.definition.delivery-limit", Check: rules.Between(0, 1<<31-1), Source: rabbitPolicies + "(delivery-limit a non-negative integer)"},
	{Type: TypePolicy, Path: "spec.definition.message-ttl", Check: rules.Between(0, 1<<32-1), Source: rabbitPolicies + "(message-ttl a non-negative integer of milliseconds, at most 2^32-1)"},
	{Type: TypePolicy, Path: "spec.definition.dead-letter-strategy", Check: rules.OneOf("at-most-once", "at-least-once"), Source: rabbitPolicies},
	{Type: TypePolicy, Path: "spec.definition.overflow", Check: rules.OneOf("drop-head", "reject-publish", "reject-publish-dlx"), Source: rabbitPolicies},
	{Type: TypePermission, Path: "spec.permissions{}", Check: rules.Func("a regular expression", regexCompiles),
		Source: "rabbitmq-server v3.10 deps/rabbit/src/rabbit_auth_backend_internal.erl set_permissions (each must compile)"},
	{Type: TypeVhost, Path: "spec.name", Check: rules.Length(1, 0), Source: topologyCRD + "Vhost spec.name (required)"},
}

// regexCompiles checks a string is a regular expression (RE2's syntax is
// the subset of PCRE the adapter writes).
func regexCompiles(v resource.PropertyValue) string {
	if !v.IsString() {
		return "is not a string"
	}
	if _, err := regexp.Compile(v.StringValue()); err != nil {
		return err.Error()
	}
	return ""
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
