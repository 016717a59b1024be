package kubernetes

import (
	"fmt"
	"slices"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// workload is one Deployment to declare.
type workload struct {
	role     string // components.WorkloadWeb or WorkloadWorker
	image    string
	command  []string
	cpu, mem int
	port     int // the web app's; 0 for the worker
	replicas int // set when no autoscaler manages the count
}

// WebApp implements components.WebAppProvisioner: a ServiceAccount, a
// Deployment probed on /healthz, a ClusterIP Service, an Ingress on the
// config's class and base domain, a HorizontalPodAutoscaler between
// minInstances and maxInstances on CPU (which holds a fixed count when they
// are equal), and the network policy admitting only the ingress controller
// (and, with a ClusterIssuer, to cert-manager's HTTP-01 solver).
func (a *Adapter) WebApp(ctx *pulumi.Context, name string, in components.WebAppInput, parent pulumi.Resource) (*components.WebApp, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	f, err := foundationOf(in.Foundation)
	if err != nil {
		return nil, err
	}
	spec := in.Spec
	opts := childOptions(parent, p.provider)
	// The autoscaler owns the replica count, min = max included: a
	// Deployment that declared it would drop to 1 replica (server-side
	// apply's default) when a fixed count became a range.
	w := workload{role: components.WorkloadWeb, image: spec.Image, cpu: spec.CPU, mem: spec.MemoryMiB, port: spec.Port}
	native, deployment, err := a.deployment(ctx, name, in.Workload, f, w, opts)
	if err != nil {
		return nil, err
	}
	scope := in.Scope
	selector := pulumi.StringMap{workloadLabel: pulumi.String(components.WorkloadWeb)}

	svc, err := corev1.NewService(ctx, name+"-service", &corev1.ServiceArgs{
		Metadata: a.metadata(scope, components.WorkloadWeb, f.namespace),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: selector,
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name: pulumi.String("http"), Protocol: pulumi.String("TCP"),
				Port: pulumi.Int(webServicePort), TargetPort: pulumi.Int(spec.Port),
			}},
		},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes web service: %w", err)
	}
	native["web-service"] = svc

	host := naming.Kubernetes.Host.Unique(a.project, scope.Stack, scope.Tenant) + "." + a.cfg.Ingress.BaseDomain
	ingMeta := a.metadata(scope, components.WorkloadWeb, f.namespace)
	ingSpec := &networkingv1.IngressSpecArgs{
		IngressClassName: pulumi.String(a.cfg.Ingress.ClassName),
		Rules: networkingv1.IngressRuleArray{networkingv1.IngressRuleArgs{
			Host: pulumi.String(host),
			Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{networkingv1.HTTPIngressPathArgs{
				Path: pulumi.String("/"), PathType: pulumi.String("Prefix"),
				Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
					Name: svc.Metadata.Name().Elem(),
					Port: &networkingv1.ServiceBackendPortArgs{Number: pulumi.Int(webServicePort)},
				}},
			}}},
		}},
	}
	scheme := "http"
	if a.cfg.Ingress.ClusterIssuer != "" {
		scheme = "https"
		ann := ingMeta.Annotations.(pulumi.StringMap)
		ann["cert-manager.io/cluster-issuer"] = pulumi.String(a.cfg.Ingress.ClusterIssuer)
		ingSpec.Tls = networkingv1.IngressTLSArray{networkingv1.IngressTLSArgs{
			Hosts: pulumi.ToStringArray([]string{host}), SecretName: pulumi.String("web-tls"),
		}}
	}
	ing, err := networkingv1.NewIngress(ctx, name+"-ingress", &networkingv1.IngressArgs{Metadata: ingMeta, Spec: ingSpec}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes web ingress: %w", err)
	}
	native["web-ingress"] = ing

	{
		hpa, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, name+"-autoscaler", &autoscalingv2.HorizontalPodAutoscalerArgs{
			Metadata: a.metadata(scope, components.WorkloadWeb, f.namespace),
			Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
				ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
					ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: deployment.Metadata.Name().Elem(),
				},
				MinReplicas: pulumi.Int(spec.MinInstances),
				MaxReplicas: pulumi.Int(spec.MaxInstances),
				Metrics: autoscalingv2.MetricSpecArray{autoscalingv2.MetricSpecArgs{
					Type: pulumi.String("Resource"),
					Resource: &autoscalingv2.ResourceMetricSourceArgs{
						Name:   pulumi.String("cpu"),
						Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(webCPUTargetPercentage)},
					},
				}},
			},
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("kubernetes web autoscaler: %w", err)
		}
		native["web-autoscaler"] = hpa
	}

	ingress := networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
		From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: namespaceSelector(a.cfg.Ingress.Namespace)}},
		Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{
			Protocol: pulumi.String("TCP"), Port: pulumi.Int(spec.Port),
		}},
	}}
	policy, err := a.workloadPolicy(ctx, name+"-policy", scope, f, components.WorkloadWeb, ingress, opts)
	if err != nil {
		return nil, err
	}
	native["web-policy"] = policy
	if a.cfg.Ingress.ClusterIssuer != "" {
		// cert-manager answers an HTTP-01 challenge from a solver pod in
		// the Ingress's namespace, which the ingress controller (and the
		// issuer, through it) must reach on the solver's port.
		solver, err := networkingv1.NewNetworkPolicy(ctx, name+"-acme-solver", &networkingv1.NetworkPolicyArgs{
			Metadata: a.metadata(scope, "acme-http01-solver", f.namespace),
			Spec: &networkingv1.NetworkPolicySpecArgs{
				PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"acme.cert-manager.io/http01-solver": pulumi.String("true")}},
				PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
				Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
					From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: namespaceSelector(a.cfg.Ingress.Namespace)}},
					Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{
						Protocol: pulumi.String("TCP"), Port: pulumi.Int(acmeSolverPort),
					}},
				}},
			},
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("kubernetes acme solver network policy: %w", err)
		}
		native["web-acme-solver-policy"] = solver
	}
	return &components.WebApp{URL: pulumi.String(scheme + "://" + host).ToStringOutput(), Native: native}, nil
}

// Container implements components.ContainerProvisioner: a ServiceAccount,
// a Deployment of one replica, and the network policy admitting nothing.
func (a *Adapter) Container(ctx *pulumi.Context, name string, in components.ContainerInput, parent pulumi.Resource) (*components.Container, error) {
	p, err := platformOf(in.Platform)
	if err != nil {
		return nil, err
	}
	f, err := foundationOf(in.Foundation)
	if err != nil {
		return nil, err
	}
	opts := childOptions(parent, p.provider)
	native, _, err := a.deployment(ctx, name, in.Workload, f, workload{
		role: components.WorkloadWorker, image: in.Spec.Image, command: in.Spec.Command,
		cpu: in.Spec.CPU, mem: in.Spec.MemoryMiB, replicas: 1,
	}, opts)
	if err != nil {
		return nil, err
	}
	policy, err := a.workloadPolicy(ctx, name+"-policy", in.Scope, f, components.WorkloadWorker, nil, opts)
	if err != nil {
		return nil, err
	}
	native["worker-policy"] = policy
	return &components.Container{Native: native}, nil
}

// deployment declares a workload's ServiceAccount (no API token mounted:
// the apps never call the Kubernetes API) and its Deployment: the plain
// environment contract as values, DATABASE_PASSWORD from the database's
// Secret, requests equal to limits, and the restricted Pod Security
// profile (non-root, no privilege escalation, every capability dropped, a
// read-only root filesystem, the runtime's seccomp profile).
func (a *Adapter) deployment(ctx *pulumi.Context, name string, in components.Workload, f *foundation, w workload, opts []pulumi.ResourceOption) (map[string]pulumi.Resource, *appsv1.Deployment, error) {
	if in.Database == nil || in.Queue == nil {
		return nil, nil, fmt.Errorf("kubernetes %s: the workload has no database or queue", w.role)
	}
	db, err := components.DatabaseState[*database](in.Database, Name)
	if err != nil {
		return nil, nil, err
	}
	q, err := components.QueueState[*queue](in.Queue, Name)
	if err != nil {
		return nil, nil, err
	}
	scope := in.Scope
	labels := map[string]string{workloadLabel: w.role, "app.kubernetes.io/name": w.role, "app.kubernetes.io/part-of": "tenantfleet"}
	sa, err := corev1.NewServiceAccount(ctx, name+"-account", &corev1.ServiceAccountArgs{
		Metadata:                     a.metadata(scope, w.role, f.namespace),
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes %s service account: %w", w.role, err)
	}

	keys := make([]string, 0, len(in.Env))
	for k := range in.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	env := corev1.EnvVarArray{}
	for _, k := range keys {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(k), Value: in.Env[k]})
	}
	env = append(env, secretEnv(components.EnvDatabasePassword, db.secretName), secretEnv(components.EnvQueuePassword, q.credentials))

	container := corev1.ContainerArgs{
		Name:            pulumi.String(w.role),
		Image:           pulumi.String(w.image),
		Env:             env,
		Resources:       &corev1.ResourceRequirementsArgs{Requests: resources(w.cpu, w.mem), Limits: resources(w.cpu, w.mem)},
		SecurityContext: restrictedContainer(),
		VolumeMounts:    corev1.VolumeMountArray{corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
	}
	if len(w.command) > 0 {
		container.Command = pulumi.ToStringArray(w.command)
	}
	if w.port != 0 {
		container.Ports = corev1.ContainerPortArray{corev1.ContainerPortArgs{
			Name: pulumi.String("http"), ContainerPort: pulumi.Int(w.port), Protocol: pulumi.String("TCP"),
		}}
		probe := func(period, failures int) *corev1.ProbeArgs {
			return &corev1.ProbeArgs{
				HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String("/healthz"), Port: pulumi.Int(w.port)},
				PeriodSeconds:    pulumi.Int(period),
				FailureThreshold: pulumi.Int(failures),
			}
		}
		container.ReadinessProbe = probe(5, 3)
		container.LivenessProbe = probe(10, 6)
	}
	spec := &appsv1.DeploymentSpecArgs{
		Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{workloadLabel: pulumi.String(w.role)}},
		Strategy: &appsv1.DeploymentStrategyArgs{
			Type: pulumi.String("RollingUpdate"),
			RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{
				MaxSurge: pulumi.Int(1), MaxUnavailable: pulumi.Int(0),
			},
		},
		Template: &corev1.PodTemplateSpecArgs{
			Metadata: a.metadata(scope, "", nil, labels),
			Spec: &corev1.PodSpecArgs{
				ServiceAccountName:           sa.Metadata.Name().Elem(),
				AutomountServiceAccountToken: pulumi.Bool(false),
				// A numeric user, which the kubelet needs to check
				// runAsNonRoot against an image whose USER is a name
				// (nonroot): 65532, the user tenantfleet's images run as.
				SecurityContext: &corev1.PodSecurityContextArgs{
					RunAsNonRoot:   pulumi.Bool(true),
					RunAsUser:      pulumi.Int(nonRootUser),
					RunAsGroup:     pulumi.Int(nonRootUser),
					FsGroup:        pulumi.Int(nonRootUser),
					SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
				},
				// The root filesystem is read-only: /tmp is the pod's own.
				Volumes: corev1.VolumeArray{corev1.VolumeArgs{
					Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("256Mi")},
				}},
				Containers: corev1.ContainerArray{container},
			},
		},
	}
	if w.replicas > 0 {
		// Left unset under an autoscaler, which owns the count.
		spec.Replicas = pulumi.Int(w.replicas)
	}
	// After the database (its Secret db-app holds DATABASE_PASSWORD) and
	// the queue (its user's Secret holds QUEUE_PASSWORD; the app declares
	// nothing, its user may not) are ready.
	d, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: a.metadata(scope, w.role, f.namespace, labels),
		Spec:     spec,
	}, append(opts, pulumi.DependsOn(append([]pulumi.Resource{db.cluster}, q.ready...)))...)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes %s deployment: %w", w.role, err)
	}
	return map[string]pulumi.Resource{w.role + "-account": sa, w.role: d}, d, nil
}

// secretEnv is an environment variable taken from key password of a
// Secret by reference: the value is never in the Deployment or in Pulumi's state.
func secretEnv(name, secret string) corev1.EnvVarArgs {
	return corev1.EnvVarArgs{
		Name: pulumi.String(name),
		ValueFrom: &corev1.EnvVarSourceArgs{SecretKeyRef: &corev1.SecretKeySelectorArgs{
			Name: pulumi.String(secret), Key: pulumi.String("password"),
		}},
	}
}

// acmeSolverPort is the port cert-manager's HTTP-01 solver pods listen on.
const acmeSolverPort = 8089

// nonRootUser is the uid and gid the workloads run as.
const nonRootUser = 65532

// restrictedContainer is the container security context the restricted
// Pod Security level requires (k8s.io/pod-security-admission policy
// checks: allowPrivilegeEscalation false, capabilities drop ALL, runAsNonRoot).
func restrictedContainer() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		RunAsNonRoot:             pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
	}
}

// workloadPolicy is a workload's network policy: the given ingress (none
// for the worker), and egress to the tenant's database pods and to
// RabbitMQ's pods (on the AMQP port) only.
func (a *Adapter) workloadPolicy(ctx *pulumi.Context, name string, scope components.Scope, f *foundation, role string, ingress networkingv1.NetworkPolicyIngressRuleArray, opts []pulumi.ResourceOption) (*networkingv1.NetworkPolicy, error) {
	spec := &networkingv1.NetworkPolicySpecArgs{
		PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{workloadLabel: pulumi.String(role)}},
		PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
		Egress: networkingv1.NetworkPolicyEgressRuleArray{
			networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
					PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{cnpgClusterLabel: pulumi.String(databaseClusterName)}},
				}},
				Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(postgresPort)}},
			},
			networkingv1.NetworkPolicyEgressRuleArgs{
				To:    networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: namespaceSelector(a.cfg.Queue.Namespace)}},
				Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(a.amqp.Port)}},
			},
		},
	}
	if len(ingress) > 0 {
		spec.Ingress = ingress
	}
	np, err := networkingv1.NewNetworkPolicy(ctx, name, &networkingv1.NetworkPolicyArgs{
		Metadata: a.metadata(scope, role, f.namespace),
		Spec:     spec,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes %s network policy: %w", role, err)
	}
	return np, nil
}
