package gcp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/cloudrunv2"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/pubsub"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/secretmanager"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// Roles a workload's service account gets, each on one resource of its tenant.
const (
	roleSecretAccessor = "roles/secretmanager.secretAccessor"
	roleCloudSQLClient = "roles/cloudsql.client"
)

// Cloud Run settings shared by both workloads.
const (
	// Direct VPC egress sends only private ranges (the database) through
	// the platform VPC; Google APIs and the internet go the default way.
	egressPrivateRanges = "PRIVATE_RANGES_ONLY"
	// The second generation has a full Linux network stack and faster CPU.
	executionEnvironment = "EXECUTION_ENVIRONMENT_GEN2"
)

// service is one Cloud Run service to build for a workload.
type service struct {
	role    string // "web" or "worker": container name and name suffix
	image   string
	command []string
	// cpu and memory are Cloud Run limits ("1", "512Mi").
	cpu, memory string
	// port is the container port Cloud Run routes to and sets as PORT; 0
	// declares none (Cloud Run still sets PORT=8080, see the package doc).
	port int
	// publishes lets the workload publish to the tenant's queue topic.
	publishes bool
	ingress   string
	// cpuIdle throttles the CPU between requests (request-based billing).
	cpuIdle  bool
	min, max int
	liveness *cloudrunv2.ServiceTemplateContainerLivenessProbeArgs
}

// cloudRunService creates the workload's service account, its grants (its
// own tenant's queue, password secret and database only), and the Cloud Run
// service with the environment contract: plain variables as values,
// DATABASE_PASSWORD from Secret Manager (valueSource.secretKeyRef), and
// Direct VPC egress into the platform subnet to reach the database.
func (a *Adapter) cloudRunService(ctx *pulumi.Context, name string, w components.Workload, s service, opts []pulumi.ResourceOption) (*cloudrunv2.Service, map[string]pulumi.Resource, error) {
	p, err := platformOf(w.Platform)
	if err != nil {
		return nil, nil, err
	}
	password, instance, err := passwordOf(w.Database)
	if err != nil {
		return nil, nil, err
	}
	native := map[string]pulumi.Resource{}
	identity, err := serviceaccount.NewAccount(ctx, name+"-identity", &serviceaccount.AccountArgs{
		AccountId:   pulumi.String(physical(naming.GCP.ServiceAccount, w.Scope, s.role)),
		Project:     a.project(),
		DisplayName: pulumi.String(fmt.Sprintf("tenantfleet %s of tenant %s", s.role, w.Scope.Tenant)),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s service account: %w", s.role, err)
	}
	native[s.role+"-identity"] = identity
	var grants []pulumi.Resource
	grant := func(key string, r pulumi.Resource, err error) error {
		if err != nil {
			return fmt.Errorf("%s %s grant: %w", s.role, key, err)
		}
		grants = append(grants, r)
		native[s.role+"-"+key] = r
		return nil
	}
	secretAccess, err := secretmanager.NewSecretIamMember(ctx, name+"-password-accessor", &secretmanager.SecretIamMemberArgs{
		SecretId: password.secret.ID(), Project: a.project(), Role: pulumi.String(roleSecretAccessor), Member: identity.Member,
	}, opts...)
	if err := grant("password-accessor", secretAccess, err); err != nil {
		return nil, nil, err
	}
	// roles/cloudsql.client (what the Cloud SQL connectors need to fetch the
	// instance's certificate and connect with verified TLS) exists only on
	// the project; the condition narrows it to the tenant's instance.
	sqlClient, err := projects.NewIAMMember(ctx, name+"-database-client", &projects.IAMMemberArgs{
		Project: a.project(), Role: pulumi.String(roleCloudSQLClient), Member: identity.Member,
		Condition: &projects.IAMMemberConditionArgs{
			Title:       pulumi.String(fmt.Sprintf("tenant %s database only", w.Scope.Tenant)),
			Description: pulumi.String("tenantfleet: the workload may connect to its own tenant's Cloud SQL instance only"),
			Expression:  pulumi.Sprintf(`resource.name == "projects/%s/instances/%s"`, instance.Project, instance.Name),
		},
	}, opts...)
	if err := grant("database-client", sqlClient, err); err != nil {
		return nil, nil, err
	}
	consumes, err := pubsub.NewSubscriptionIAMMember(ctx, name+"-queue-subscriber", &pubsub.SubscriptionIAMMemberArgs{
		Subscription: w.Queue.URL, Project: a.project(), Role: pulumi.String(roleSubscriber), Member: identity.Member,
	}, opts...)
	if err := grant("queue-subscriber", consumes, err); err != nil {
		return nil, nil, err
	}
	if s.publishes {
		produces, err := pubsub.NewTopicIAMMember(ctx, name+"-queue-publisher", &pubsub.TopicIAMMemberArgs{
			Topic: w.Queue.ID, Project: a.project(), Role: pulumi.String(rolePublisher), Member: identity.Member,
		}, opts...)
		if err := grant("queue-publisher", produces, err); err != nil {
			return nil, nil, err
		}
	}

	envs := cloudrunv2.ServiceTemplateContainerEnvArray{}
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		// Cloud Run refuses PORT in the env: it sets PORT to the container port.
		if k == components.EnvPort {
			continue
		}
		envs = append(envs, cloudrunv2.ServiceTemplateContainerEnvArgs{Name: pulumi.String(k), Value: w.Env[k].ToStringOutput()})
	}
	envs = append(envs, cloudrunv2.ServiceTemplateContainerEnvArgs{
		Name: pulumi.String(components.EnvDatabasePassword),
		ValueSource: &cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs{
			SecretKeyRef: &cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs{
				// The version this program wrote, so a new password rolls out
				// as a new revision rather than on the next cold start.
				Secret: password.secret.SecretId, Version: password.version.Version,
			},
		},
	})
	container := cloudrunv2.ServiceTemplateContainerArgs{
		Name:  pulumi.String(s.role),
		Image: pulumi.String(s.image),
		Envs:  envs,
		Resources: &cloudrunv2.ServiceTemplateContainerResourcesArgs{
			Limits:          pulumi.StringMap{"cpu": pulumi.String(s.cpu), "memory": pulumi.String(s.memory)},
			CpuIdle:         pulumi.Bool(s.cpuIdle),
			StartupCpuBoost: pulumi.Bool(true),
		},
		LivenessProbe: s.liveness,
	}
	if s.port != 0 {
		container.Ports = cloudrunv2.ServiceTemplateContainerPortArray{
			cloudrunv2.ServiceTemplateContainerPortArgs{Name: pulumi.String("http1"), ContainerPort: pulumi.Int(s.port)},
		}
	}
	if len(s.command) > 0 {
		container.Commands = pulumi.ToStringArray(s.command[:1])
		container.Args = pulumi.ToStringArray(s.command[1:])
	}
	svc, err := cloudrunv2.NewService(ctx, name+"-service", &cloudrunv2.ServiceArgs{
		Name:     pulumi.String(physical(naming.GCP.CloudRunService, w.Scope, s.role)),
		Project:  a.project(),
		Location: pulumi.String(a.cfg.Region),
		Ingress:  pulumi.String(s.ingress),
		Template: &cloudrunv2.ServiceTemplateArgs{
			ServiceAccount:       identity.Email,
			ExecutionEnvironment: pulumi.String(executionEnvironment),
			Scaling: &cloudrunv2.ServiceTemplateScalingArgs{
				MinInstanceCount: pulumi.Int(s.min), MaxInstanceCount: pulumi.Int(s.max),
			},
			VpcAccess: &cloudrunv2.ServiceTemplateVpcAccessArgs{
				NetworkInterfaces: cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArray{
					cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs{Network: p.network.Name, Subnetwork: p.subnet.Name},
				},
				Egress: pulumi.String(egressPrivateRanges),
			},
			Containers: cloudrunv2.ServiceTemplateContainerArray{container},
		},
		Labels: labels(w.Scope),
	},
		// The first revision starts with its secret and queue rights in place.
		append(opts, pulumi.DependsOn(grants))...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s Cloud Run service: %w", s.role, err)
	}
	native[s.role+"-service"] = svc
	return svc, native, nil
}
