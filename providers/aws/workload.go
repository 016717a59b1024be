package aws

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/naming"
)

// task is one Fargate task definition to build for a workload.
type task struct {
	role      string // "web" or "worker": container name, log stream prefix, IAM role suffix
	image     string
	command   []string
	port      int // 0 for no port mapping
	cpuUnits  int
	memoryMiB int
	// queueActions are the SQS actions the task role gets on the tenant's queue.
	queueActions []string
}

// Both workloads may consume the tenant's queue; the web app may also enqueue work.
var (
	consumeActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
	produceActions = append([]string{"sqs:SendMessage"}, consumeActions...)
)

// taskDefinition creates the task role (its own queue and its own database
// secret, nothing else), grants the execution role the secret for injection,
// and registers the task definition with the environment contract.
func (a *Adapter) taskDefinition(ctx *pulumi.Context, name string, w components.Workload, t task, opts []pulumi.ResourceOption) (*ecs.TaskDefinition, *iam.Role, error) {
	f, err := foundationOf(w.Foundation)
	if err != nil {
		return nil, nil, err
	}
	secretARN, err := databaseSecretARN(w.Database)
	if err != nil {
		return nil, nil, err
	}

	taskRole, err := newRole(ctx, name+"-task-role", w.Scope, t.role, "ecs-tasks.amazonaws.com", opts)
	if err != nil {
		return nil, nil, err
	}
	// The task role reads the secret too: RDS rotates the managed password,
	// and a long-running task re-reads it rather than waiting for a restart.
	policy := pulumi.All(w.Queue.ID, secretARN).ApplyT(func(v []any) (string, error) {
		return jsonString(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{
				{"Effect": "Allow", "Action": t.queueActions, "Resource": v[0]},
				{"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": v[1]},
			},
		})
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name+"-task-policy", &iam.RolePolicyArgs{Role: taskRole.ID(), Policy: policy}, opts...); err != nil {
		return nil, nil, fmt.Errorf("task role policy: %w", err)
	}
	readSecret := secretARN.ApplyT(func(arn string) (string, error) {
		return jsonString(map[string]any{
			"Version":   "2012-10-17",
			"Statement": []map[string]any{{"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": arn}},
		})
	}).(pulumi.StringOutput)
	execPolicy, err := iam.NewRolePolicy(ctx, name+"-execution-secret", &iam.RolePolicyArgs{Role: f.executionRole.ID(), Policy: readSecret}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("execution role secret policy: %w", err)
	}

	containers := pulumi.All(w.Env.ToStringMapOutput(), secretARN, f.logGroup.Name, f.net.region).ApplyT(func(v []any) (string, error) {
		env := v[0].(map[string]string)
		names := make([]string, 0, len(env))
		for k := range env {
			names = append(names, k)
		}
		sort.Strings(names)
		vars := make([]map[string]string, 0, len(names))
		for _, k := range names {
			vars = append(vars, map[string]string{"name": k, "value": env[k]})
		}
		c := map[string]any{
			"name":        t.role,
			"image":       t.image,
			"essential":   true,
			"environment": vars,
			// ECS reads the "password" key of the RDS-managed JSON secret at task start.
			"secrets": []map[string]string{{"name": components.EnvDatabasePassword, "valueFrom": v[1].(string) + ":password::"}},
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]string{
				"awslogs-group": v[2].(string), "awslogs-region": v[3].(string), "awslogs-stream-prefix": t.role,
			}},
		}
		if len(t.command) > 0 {
			c["entryPoint"] = t.command[:1]
			c["command"] = t.command[1:]
		}
		if t.port != 0 {
			c["portMappings"] = []map[string]any{{"containerPort": t.port, "protocol": "tcp"}}
		}
		return jsonString([]any{c})
	}).(pulumi.StringOutput)

	td, err := ecs.NewTaskDefinition(ctx, name+"-task", &ecs.TaskDefinitionArgs{
		Family:                  physical(naming.AWS.TaskFamily, w.Scope, t.role),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.Sprintf("%d", t.cpuUnits),
		Memory:                  pulumi.Sprintf("%d", t.memoryMiB),
		ExecutionRoleArn:        f.executionRole.Arn,
		TaskRoleArn:             taskRole.Arn,
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"), CpuArchitecture: pulumi.String("X86_64"),
		},
		ContainerDefinitions: containers,
		Tags:                 tags(w.Scope),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{execPolicy}))...)
	if err != nil {
		return nil, nil, fmt.Errorf("task definition: %w", err)
	}
	return td, taskRole, nil
}

// service creates the Fargate service running td in the tenant's cluster.
func (a *Adapter) service(ctx *pulumi.Context, name string, w components.Workload, role string, td *ecs.TaskDefinition, desired int, extra *ecs.ServiceArgs, opts []pulumi.ResourceOption) (*ecs.Service, error) {
	f, err := foundationOf(w.Foundation)
	if err != nil {
		return nil, err
	}
	args := &ecs.ServiceArgs{
		Name:           physical(naming.AWS.ECSService, w.Scope, role),
		Cluster:        f.cluster.Arn,
		TaskDefinition: td.Arn,
		LaunchType:     pulumi.String("FARGATE"),
		DesiredCount:   pulumi.Int(desired),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        f.net.privateSubnets,
			SecurityGroups: pulumi.StringArray{f.workloadSG.ID()},
			AssignPublicIp: pulumi.Bool(f.net.assignPublicIP),
		},
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		EnableEcsManagedTags:     pulumi.Bool(true),
		PropagateTags:            pulumi.String("SERVICE"),
		Tags:                     tags(w.Scope),
	}
	if extra != nil {
		args.LoadBalancers = extra.LoadBalancers
		args.HealthCheckGracePeriodSeconds = extra.HealthCheckGracePeriodSeconds
	}
	svc, err := ecs.NewService(ctx, name+"-service", args, opts...)
	if err != nil {
		return nil, fmt.Errorf("ECS service: %w", err)
	}
	return svc, nil
}
